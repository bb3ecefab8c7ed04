"""owb opts out of OpenVINO's and NNCF's usage telemetry, for its own process.

``import nncf`` and the model converters start openvino_telemetry, which
writes ``~/intel/openvino_ga_cid`` and ``~/intel/stats`` and queues analytics
events on every run, unasked: a tool that must write nothing outside its
workspace cannot allow that. openvino_telemetry has no switch but its consent
check, so owb answers that check with "declined" for its process only (the
user's own consent file, and other programs, are untouched).

Importing openvino_telemetry costs ~40 ms, which the TUI's first paint cannot
spare, so the answer is installed when openvino_telemetry itself is imported,
by a finder that wraps its loader. Checked against openvino-telemetry 2025.2."""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from typing import Any

CHECKER = "openvino_telemetry.utils.opt_in_checker"


def _decline(module: Any) -> None:
    declined = module.ConsentCheckResult.DECLINED
    module.OptInChecker.check = lambda self, *args, **kwargs: declined


class _Loader(importlib.abc.Loader):
    def __init__(self, wrapped: importlib.abc.Loader) -> None:
        self.wrapped = wrapped

    def create_module(self, spec: Any) -> Any:
        return self.wrapped.create_module(spec)

    def exec_module(self, module: Any) -> None:
        self.wrapped.exec_module(module)
        _decline(module)


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname != CHECKER:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is not None and spec.loader is not None:
            spec.loader = _Loader(spec.loader)
        return spec


def opt_out() -> None:
    """Decline telemetry in this process, now or whenever it is first imported."""
    if CHECKER in sys.modules:
        _decline(sys.modules[CHECKER])
    elif not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.insert(0, _Finder())
