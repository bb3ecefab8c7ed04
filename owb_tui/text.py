"""Words both front ends say, in a module that imports neither: the CLI's
commands and the TUI's screens read them from here, and app.py too, so no
screen imports the App module or a command module to say an error, a size
or what a finished job made."""

from __future__ import annotations

import re
from functools import wraps
from typing import Any, Callable, TypeVar

from engine.errors import OwbError
from engine.records import Job

F = TypeVar("F", bound=Callable[..., Any])

_FLAG = re.compile(r"(?<![\w-])--([a-z][a-z0-9-]*)")


def error_text(exc: BaseException) -> str:
    """An OwbError's own one line; anything else is a bug, said in one line."""
    if isinstance(exc, OwbError):
        # a form has fields, not flags: "--pad-value" is its "pad value" field
        return exc.tui or _FLAG.sub(lambda m: m.group(1).replace("-", " "), str(exc))
    first = (str(exc).strip().splitlines() or [""])[0][:200]
    return f"internal error {type(exc).__name__}: {first}"


def reports_errors(method: F) -> F:
    """Turn an OwbError raised by a UI action into an error notification."""

    @wraps(method)
    def wrapper(self: Any, *args: Any, **kw: Any) -> Any:
        try:
            return method(self, *args, **kw)
        except OwbError as exc:
            self.app.notify(error_text(exc), severity="error", timeout=8)
            return None

    return wrapper  # type: ignore[return-value]


def human_size(n: float) -> str:
    """Bytes as the CLI and the TUI both print them: one decimal, binary units."""
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n:.1f} GB"


def fit_widths(natural: list[int], floors: list[int], room: int) -> list[int]:
    """Column widths within ``room``: the widest columns give way first, down to
    a common cap, so short values (ids, numbers, precisions) stay whole while
    long names end in …; no column goes below its floor."""
    if sum(natural) <= room:
        return list(natural)
    lo, hi = 0, max(natural)
    while lo < hi:  # the largest cap that fits
        cap = (lo + hi + 1) // 2
        if sum(min(n, max(cap, f)) for n, f in zip(natural, floors)) <= room:
            lo = cap
        else:
            hi = cap - 1
    return [min(n, max(lo, f)) for n, f in zip(natural, floors)]


def done_summary(job: Job) -> str:
    """One line on what a finished job made, from its stored result (the App's notification)."""
    from engine.metrics import accuracy_change  # numpy: only when a job is done, not at start-up

    r = job.result or {}
    if job.kind == "calibrate" and "model" in r:
        text = f"INT8 model {r['model']} created from {r.get('parent', '?')}"
        acc = r.get("accuracy")
        if acc:
            text += f"; accuracy {accuracy_change(acc['drop'])}"
        fps = r.get("throughput_fps")
        for precision, f in (fps.get("by_precision") or {"": fps} if fps else {}).items():
            if f.get("ratio"):
                s = f.get("ratio_spread")
                text += f"; {f['ratio']:.2f}x throughput" + (f" in {precision}" if precision else "") + (
                    f" ({s['low']:.2f}-{s['high']:.2f}, {s['runs']} runs)" if s else "")
        return text
    if job.kind == "benchmark" and "throughput_fps" in r:
        from engine.measure.protocol import spread_text

        spread = f" ({spread_text(r['throughput_spread'])})" if r.get("throughput_spread") else ""
        return (f"{job.name}: {r['throughput_fps']:.1f} FPS{spread}, median latency {r['latency_ms']['median']:.2f} ms, "
                f"{r.get('hint', '?')} hint, {r.get('inference_precision', '?')}")
    if job.kind == "accuracy" and "value" in r:
        return f"{job.name}: {r['metric']} {r['value'] * 100:.2f}% on {r['images']} images"
    if job.kind == "report" and "name" in r:
        return f"report ready: {r['name']} (project page, Reports tab)"
    if job.kind == "compare" and "verdict" in r:
        return f"{job.name}: {r['verdict']}"
    if job.kind == "explore" and "sweet_spot_note" in r:
        return f"{job.name}: {r['sweet_spot_note']}"
    if job.kind == "export" and "package" in r:
        return f"deployment package written to {r['package']}"
    if job.kind == "dataset-import" and "name" in r:
        return f"imported dataset {r['name']} ({r['images']} images)"
    return f"{job.name} done"
