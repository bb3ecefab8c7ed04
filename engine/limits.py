"""Bounds on what a user (or a hostile file) can ask owb to allocate or wait
for, each refused with one line that names the limit.

The numbers are far above real use: ImageNet-21k has 21,841 classes, a
benchmark_app run uses a few requests and seconds, and a 1×3×4096×4096 input
is 50 M elements. They exist so that a typo or a crafted file (a label of
2,000,000,000, --time 1e308, a 50 MB line, /dev/zero as a labels file)
fails at once instead of eating the machine or the workspace DB."""

from __future__ import annotations

import math
import os
import stat
from pathlib import Path

from .errors import BadInput

MAX_CLASSES = 100_000  # named in a labels file
# Classes numbered by val.txt alone (no labels.txt): ImageNet's 1,000 fit; a
# typo such as 3000000 must not make three million classes, nor 99,999 a
# 2 MB record that every later command re-reads.
MAX_NUMBERED_CLASSES = 1000
MAX_LINE_CHARS = 4096  # one line of val.txt or labels.txt
MAX_NOTE_CHARS = 300  # one problem line kept in a dataset's summary
MAX_TEXT_FILE_BYTES = 256 << 20  # val.txt, labels.txt, a --labels file
MAX_BATCH = 4096
MAX_REQUESTS = 256
MAX_STREAMS = 256
MAX_SECONDS = 3600.0  # one benchmark, one explore cell
MAX_RUNS = 100_000  # per-layer profiling inferences
MAX_INPUT_ELEMENTS = 1 << 28  # one input tensor, batch included: 1 GiB of f32


def finite(value: float, flag: str, *, low: float | None = None, high: float | None = None,
           low_open: bool = False) -> float:
    """``value`` when finite and in range, else BadInput naming ``flag``."""
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        raise BadInput(f"{flag} must be a finite number, not {value}")
    if low is not None and (value < low or (low_open and value == low)):
        raise BadInput(f"{flag} must be {'over' if low_open else 'at least'} {low:g}, not {value:g}")
    if high is not None and value > high:
        raise BadInput(f"{flag} must be at most {high:g}, not {value:g}")
    return value


def seconds(value: float, flag: str, *, zero_ok: bool = False) -> float:
    return finite(value, flag, low=0.0, low_open=not zero_ok, high=MAX_SECONDS)


def count(value: int | None, flag: str, high: int) -> int | None:
    if value is not None and not 1 <= value <= high:
        raise BadInput(f"{flag} must be between 1 and {high:,}, not {value:,}")
    return value


def shape(dims: list[int], flag: str = "--shape") -> list[int]:
    """Positive dimensions whose product (one input tensor) stays bounded."""
    if any(not isinstance(d, int) or d <= 0 for d in dims):
        raise BadInput(f"{flag} {dims} must have positive dimensions, like 1,3,224,224")
    total = math.prod(dims)
    if total > MAX_INPUT_ELEMENTS:
        raise BadInput(f"{flag} {dims} has {total:,} elements, over owb's limit of {MAX_INPUT_ELEMENTS:,} "
                       f"({MAX_INPUT_ELEMENTS * 4 >> 30} GiB of f32) per input")
    return dims


def regular_file(path: Path, what: str) -> os.stat_result:
    """stat of ``path`` (links followed) when it is a regular file: a FIFO
    would block the read for ever, a device (/dev/zero) never ends."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise BadInput(f"{what} {path} does not exist") from None
    except OSError as exc:
        raise BadInput(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(st.st_mode):
        kind = "a folder" if stat.S_ISDIR(st.st_mode) else "a pipe" if stat.S_ISFIFO(st.st_mode) else "not a regular file"
        raise BadInput(f"{what} {path} is {kind}; give a file")
    return st


def read_text_file(path: Path, what: str, limit: int = MAX_TEXT_FILE_BYTES) -> bytes:
    """The bytes of a small text file, refused when it is not a regular file or too big."""
    st = regular_file(path, what)
    if st.st_size > limit:
        raise BadInput(f"{what} {path} is {st.st_size / (1 << 20):.0f} MB, over owb's limit of "
                       f"{limit >> 20} MB for a text file")
    try:
        with open(path, "rb") as fh:
            return fh.read(limit + 1)[:limit]
    except OSError as exc:
        raise BadInput(f"cannot read {what} {path}: {exc.strerror or exc}") from None


def note(text: str) -> str:
    """One line for a stored summary: long lines (a 50 MB val.txt line) cut."""
    return text if len(text) <= MAX_NOTE_CHARS else text[: MAX_NOTE_CHARS - 1] + "…"
