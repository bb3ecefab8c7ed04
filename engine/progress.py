"""The one shape progress takes in owb: ``progress(stage, done, total)``.

It is the shape of a job's ``ctx.progress`` and of NNCF's tracked loops
(engine.nncf_progress), so a job hands its ``ctx.progress`` straight down to
the engine and no caller reorders arguments. A loop that is one step of a
larger whole reports through ``named`` (its stage as the caller says it) or
``within`` (its count as part of one bar over the whole job). Raising from
the callback (Cancelled) stops the loop that called it."""

from __future__ import annotations

from typing import Callable

Progress = Callable[[str, int, "int | None"], None]  # (stage, done, total); total None when unknown


def named(progress: Progress | None, stage: str) -> Progress | None:
    """``progress`` with every report said as ``stage``: a general loop
    (inference, a timed benchmark) told what it is part of."""
    if progress is None:
        return None
    return lambda _stage, done, total: progress(stage, done, total)


def within(progress: Progress | None, stage: str | None, base: int, total: int) -> Progress | None:
    """A step's own count as ``base + done`` out of the whole job's ``total``,
    under ``stage`` (the step's own stage when None), so one bar runs over
    several loops instead of restarting at each."""
    if progress is None:
        return None
    return lambda own, done, _total: progress(own if stage is None else stage, base + done, total)
