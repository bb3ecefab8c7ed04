"""Which picture protocol the terminal speaks, asked before Textual owns it.

textual-image asks on import, one question at a time, each waiting up to
0.1 s for an answer many terminals never send (Kitty graphics, cell size),
and it pulls numpy and PIL in with it: 0.5-0.85 s before owb's first paint.
Here every question is written at once, first thing, and the answers are read
just before ``App.run()``: the terminal answers while Python imports Textual.
Terminals answer in order and all answer the primary device attributes
(DA1, asked last), so its answer ends the wait; a terminal that answers
nothing costs at most ``DEADLINE_S`` counted from the questions.

textual-image itself is imported when a picture is first drawn and is told
the answers (``picture_widget``) instead of asking again, which it could not
do anyway once Textual reads stdin."""

from __future__ import annotations

import atexit
import os
import re
import select
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

try:
    import fcntl
    import termios
except ImportError:  # not a POSIX terminal: nothing is asked, pictures use the fallback
    fcntl = termios = None  # type: ignore[assignment]

FAILURES: tuple[type[BaseException], ...] = (OSError, ValueError) + ((termios.error,) if termios else ())
DEADLINE_S = 0.5  # room for a slow SSH link; costs only where no answer ever comes
TGP_QUERY = b"\x1b_Gi=31,s=1,v=1,a=q,t=d,f=24;AAAA\x1b\\"  # textual-image's own Kitty query
CELL_QUERY = b"\x1b[16t"
DA1_QUERY = b"\x1b[c"
DA1_ANSWER = re.compile(rb"\x1b\[\?([0-9;]*)c")
CELL_ANSWER = re.compile(rb"\x1b\[6;(\d+);(\d+)t")
TGP_ANSWER = re.compile(rb"\x1b_Gi=31;([^\x1b]*)\x1b\\")


@dataclass
class TerminalAnswer:
    method: str  # sixel, tgp (Kitty), halfcell or unicode: textual-image's names
    cell: tuple[int, int] | None  # (width, height) of a cell in pixels, when known


class _Probe:
    def __init__(self) -> None:
        self.fd = sys.__stdin__.fileno()
        self.out = sys.__stdout__.fileno()
        self.saved = None
        self.asked_at = 0.0
        self.cell: tuple[int, int] | None = None

    def ask(self) -> None:
        import struct

        rows, cols, width, height = struct.unpack("HHHH", fcntl.ioctl(self.out, termios.TIOCGWINSZ, b"\0" * 8))
        if width and height and rows and cols:
            self.cell = (width // cols, height // rows)
        self.saved = termios.tcgetattr(self.fd)
        quiet = termios.tcgetattr(self.fd)
        quiet[3] &= ~(termios.ICANON | termios.ECHO)  # answers must not be echoed or wait for a newline
        termios.tcsetattr(self.fd, termios.TCSANOW, quiet)
        atexit.register(self.restore)
        os.write(self.out, TGP_QUERY + (b"" if self.cell else CELL_QUERY) + DA1_QUERY)
        self.asked_at = time.monotonic()

    def restore(self) -> None:
        if self.saved is not None:
            saved, self.saved = self.saved, None
            try:
                termios.tcsetattr(self.fd, termios.TCSANOW, saved)
            except FAILURES:  # the terminal went away: nothing left to put back
                pass

    def read(self) -> TerminalAnswer:
        got = b""
        try:
            while not DA1_ANSWER.search(got):
                left = self.asked_at + DEADLINE_S - time.monotonic()
                ready, _, _ = select.select([self.fd], [], [], max(left, 0))
                if not ready:
                    break
                chunk = os.read(self.fd, 1024)
                if not chunk:
                    break
                got += chunk
        finally:
            self.restore()
        da1 = DA1_ANSWER.search(got)
        tgp = TGP_ANSWER.search(got)
        size = CELL_ANSWER.search(got)
        if self.cell is None and size:
            self.cell = (int(size.group(2)), int(size.group(1)))
        if da1 and "4" in da1.group(1).decode().split(";"):
            method = "sixel"
        elif tgp and tgp.group(1) == b"OK":
            method = "tgp"
        else:
            method = "halfcell"
        return TerminalAnswer(method, self.cell)


_probe: _Probe | None = None
_answer: TerminalAnswer | None = None


def ask() -> None:
    """Write the questions; only where both ends are a terminal (not in pipes or tests)."""
    global _probe
    if _probe is not None or termios is None or not (sys.__stdin__ and sys.__stdout__):
        return
    try:
        if not (sys.__stdin__.isatty() and sys.__stdout__.isatty()):
            return
        probe = _Probe()
    except FAILURES:
        return
    try:
        probe.ask()
    except FAILURES:
        probe.restore()
        return
    _probe = probe


def answer() -> TerminalAnswer | None:
    """Read the answers (once); None when nothing was asked."""
    global _probe, _answer
    if _probe is not None:
        probe, _probe = _probe, None
        try:
            _answer = probe.read()
        except FAILURES:
            probe.restore()
            _answer = TerminalAnswer("halfcell", probe.cell)
    return _answer


@contextmanager
def _not_a_terminal() -> Iterator[None]:
    """textual-image decides on import and would query a terminal Textual reads."""
    real = sys.__stdout__

    class Quiet:
        def isatty(self) -> bool:
            return False

        def __getattr__(self, name: str):
            return getattr(real, name)

    sys.__stdout__ = Quiet()  # type: ignore[misc]
    try:
        yield
    finally:
        sys.__stdout__ = real  # type: ignore[misc]


def picture_widget() -> tuple[type, str]:
    """textual-image's widget class for this terminal, and the method's name.
    Without an answer (tests, pipes) it is the Unicode fallback, as before."""
    found = answer()
    if "textual_image.widget" not in sys.modules:
        from textual_image import _terminal

        if found is not None and found.cell:
            _terminal.get_cell_size._result = _terminal.CellSize(*found.cell)  # type: ignore[attr-defined]
        with _not_a_terminal():
            import textual_image.widget  # noqa: F401
    import textual_image.widget as widgets

    method = found.method if found is not None else "unicode"
    classes = {"sixel": widgets.SixelImage, "tgp": widgets.TGPImage, "halfcell": widgets.HalfcellImage,
               "unicode": widgets.UnicodeImage}
    return classes[method], method
