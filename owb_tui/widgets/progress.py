"""Job progress as plain ASCII, so it reads the same in any terminal and
font over SSH, plus the status line every main screen shows."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.widgets import Static

from engine.terminal_text import printable

if TYPE_CHECKING:
    from engine.jobs import JobEvent
    from engine.records import Job


def ascii_bar(step: int, total: int, width: int = 10) -> str:
    """``[####------]``; an unknown total shows ``[  ....  ]`` (indeterminate)."""
    if not total:
        return "[" + "....".center(width) + "]"
    filled = max(0, min(width, round(width * step / total)))
    return "[" + "#" * filled + "-" * (width - filled) + "]"


def format_eta(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"


def progress_text(job: "Job", event: "JobEvent | None", width: int = 10) -> str:
    """One line: name, stage, bar, step/total, ETA. Live numbers come from the
    last event; the record is the fallback (it is written at most once a second)."""
    stage = (event.stage if event else job.stage) or job.state
    step = event.step if event else job.step
    total = (event.total if event else job.total) or 0
    count = f" {step}/{total}" if total else ""
    eta = format_eta(event.eta_s if event else None)
    eta = f" ETA {eta}" if eta else ""
    return f"{job.name}: {stage} {ascii_bar(step, total, width)}{count}{eta}"


class JobStatus(Static):
    """Running jobs, one line each; hidden while nothing runs. Every main
    screen has one, so progress stays in sight while browsing elsewhere."""

    DEFAULT_CSS = """
    JobStatus { height: auto; max-height: 3; padding: 0 1; background: $boost; color: $text-muted; }
    JobStatus.-idle { display: none; }
    """

    def on_mount(self) -> None:
        self.app.job_signal.subscribe(self, lambda _event: self.refresh_jobs())
        self.refresh_jobs()

    def refresh_jobs(self) -> None:
        app = self.app
        running = app.active_jobs()
        self.set_class(not running, "-idle")
        lines = [progress_text(job, app.job_events.get(job.id)) for job in running[:3]]
        if len(running) > 3:
            lines[-1] = f"… and {len(running) - 2} more jobs (j: jobs)"
        self.update(Text("\n".join(printable(line) for line in lines)))  # job names are user text
