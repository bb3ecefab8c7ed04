"""Per-thread progress from NNCF, and silence on the terminal owb owns.

NNCF has no progress or cancel API: every long loop goes through
``nncf.common.logging.track_progress.track``, which draws rich progress bars
straight to the console. This module, and only this module, patches that
class so that a thread which registered a callback gets (stage, step, total)
calls instead of bars; other threads see NNCF unchanged. Raising from the
callback aborts NNCF mid-loop, which is how owb cancels.

Tested against nncf 3.4; on another version the patch still applies when the
class has the same shape, else owb falls back to counting in transform_fn."""

from __future__ import annotations

import logging
import threading
from contextlib import contextmanager
from typing import Any, Iterator

from .progress import Progress

TESTED_NNCF = "3.4"

_local = threading.local()
_installed = False
_install_lock = threading.Lock()


def _callback() -> Progress | None:
    return getattr(_local, "callback", None)


def _total(self: Any) -> int | None:
    if self.weights is not None and hasattr(self.sequence, "__len__"):
        return len(self.sequence)  # weighted tracks count items, not weight units
    if self.total is not None:
        return int(self.total)
    return len(self.sequence) if hasattr(self.sequence, "__len__") else None


def install() -> bool:
    """Patch NNCF's track once; returns False when its shape is not the tested one."""
    global _installed
    with _install_lock:
        if _installed:
            return True
        try:
            from nncf.common.logging import track_progress
        except ImportError:
            return False
        track = track_progress.track
        if not all(hasattr(track, a) for a in ("__iter__", "__enter__", "__exit__", "update")):
            return False
        orig_iter, orig_enter, orig_exit, orig_update = track.__iter__, track.__enter__, track.__exit__, track.update

        def __iter__(self: Any) -> Iterator[Any]:
            cb = _callback()
            if cb is None:
                yield from orig_iter(self)
                return
            total = _total(self)
            cb(self.description, 0, total)
            for i, item in enumerate(self.sequence, 1):
                yield item
                cb(self.description, i, total)

        def __enter__(self: Any) -> Any:
            if _callback() is None:
                return orig_enter(self)
            self._owb_done = 0
            _callback()(self.description, 0, _total(self))
            return self

        def __exit__(self: Any, *args: Any) -> Any:
            if _callback() is None:
                return orig_exit(self, *args)
            return None

        def update(self: Any, advance: float, **kwargs: Any) -> None:
            cb = _callback()
            if cb is None:
                return orig_update(self, advance, **kwargs)
            self._owb_done = getattr(self, "_owb_done", 0) + advance
            cb(self.description, int(self._owb_done), _total(self))

        track.__iter__, track.__enter__, track.__exit__, track.update = __iter__, __enter__, __exit__, update
        _installed = True
        return True


@contextmanager
def nncf_reporting(callback: Progress, *log_handlers: logging.Handler) -> Iterator[bool]:
    """Route this thread's NNCF progress to ``callback`` and NNCF's log lines
    to ``log_handlers`` instead of stdout, for the duration of the block."""
    patched = install()
    from nncf.common.logging.logger import nncf_logger

    _local.callback = callback
    stdout_handlers = [h for h in nncf_logger.handlers if isinstance(h, logging.StreamHandler)
                       and not isinstance(h, logging.FileHandler)]
    for h in stdout_handlers:
        nncf_logger.removeHandler(h)
    for h in log_handlers:
        nncf_logger.addHandler(h)
    try:
        yield patched
    finally:
        _local.callback = None
        for h in log_handlers:
            nncf_logger.removeHandler(h)
        for h in stdout_handlers:
            nncf_logger.addHandler(h)
