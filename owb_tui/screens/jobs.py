"""Jobs: every job of the workspace, whoever started it (this owb, another
one, the CLI), with its progress; x cancels, r retries, enter shows the log."""

from __future__ import annotations

import time
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Header, Input, Static, TextArea

from engine.jobs import ACTIVE, read_log
from engine.jobs.client import RETRYABLE
from engine.records import Job
from engine.terminal_text import printable

from ..text import reports_errors
from ..widgets.footer import KeyFooter
from ..widgets.progress import ascii_bar, format_eta
from ..widgets.tables import FilterBar, FilterKeys, RowTable, cell, clip, filter_binding, matches, selected_key

STATE_STYLES = {"running": "bold yellow", "queued": "yellow", "done": "green", "failed": "bold red",
                "cancelled": "dim", "interrupted": "red"}


def stamp(t: float | None) -> str:
    return time.strftime("%m-%d %H:%M:%S", time.localtime(t)) if t else "-"


class JobsScreen(FilterKeys, Screen):
    AUTO_FOCUS = "#jobs"
    HELP_TITLE = "Jobs"
    BINDINGS = [
        Binding("enter", "log", "log", tooltip="Show the selected job's whole log", id="job-log"),
        Binding("x", "cancel_job", "cancel job", tooltip="Cancel the selected job", id="job-cancel"),
        Binding("r", "retry_job", "retry", tooltip="Run the selected failed, cancelled or interrupted job again "
                "(a calibration resumes where it stopped)", id="job-retry"),
        filter_binding("Filter the jobs", "jobs-filter"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._dirty = False

    def compose(self) -> ComposeResult:
        yield Header()
        yield FilterBar("#jobs", id="filter")
        table = RowTable(id="jobs")
        table.add_column("job", key="job")
        table.add_column("state", key="state")
        table.add_column("progress", key="progress")
        table.add_column(Text("step", justify="right"), key="step")
        table.add_column(Text("ETA", justify="right"), key="eta")
        yield table
        yield Static(id="job-detail", classes="detail")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.sub_title = "jobs"
        self.app.job_signal.subscribe(self, self._job_changed)
        # Progress events can come many times a second; redraw at most twice.
        self.set_interval(0.5, self._redraw_if_dirty)
        self.refresh_jobs()

    def on_screen_resume(self) -> None:
        self.refresh_jobs()

    def _job_changed(self, _event: Any) -> None:
        self._dirty = True

    def _redraw_if_dirty(self) -> None:
        if self._dirty:
            self._dirty = False
            self.refresh_jobs()

    def jobs(self) -> list[Job]:
        """Newest first."""
        return sorted(self.app.ws.all(Job), key=lambda j: -j.created)

    @reports_errors
    def refresh_jobs(self) -> None:
        table = self.query_one("#jobs", DataTable)
        selected = self.selected_id()
        query = self.query_one("#filter", FilterBar).value
        table.clear()
        for job in self.jobs():
            if not matches(query, [job.name, job.state, job.stage, job.error]):
                continue
            event = self.app.job_events.get(job.id) if job.state in ACTIVE else None
            step = event.step if event else job.step
            total = (event.total if event else job.total) or 0
            bar = ascii_bar(step, total) if job.state in ACTIVE else ("[" + "#" * 10 + "]" if job.state == "done"
                                                                      else "")
            table.add_row(cell(clip(job.name, 30)), cell(job.state, style=STATE_STYLES.get(job.state, "")),
                          cell(bar), cell(f"{step}/{total}" if total else "", justify="right"),
                          cell(format_eta(event.eta_s) if event else "", justify="right"), key=job.id)
        if selected is not None:
            try:
                table.move_cursor(row=table.get_row_index(selected), animate=False)
            except Exception:  # filtered out
                pass
        self.show_detail()

    def selected_id(self) -> str | None:
        return selected_key(self.query_one("#jobs", DataTable))

    def selected_job(self) -> Job | None:
        key = self.selected_id()
        if key is None:
            return None
        return next((j for j in self.jobs() if j.id == key), None)

    @on(DataTable.RowHighlighted, "#jobs")
    def show_detail(self) -> None:
        detail = self.query_one("#job-detail", Static)
        job = self.selected_job()
        if job is None:
            detail.update("No jobs yet. Optimize, benchmark, accuracy and explore run here as jobs.")
            return
        text = Text()
        text.append(printable(job.name), style="bold")
        text.append(f"  {job.state}", style=STATE_STYLES.get(job.state, ""))
        text.append(f"  stage: {job.stage or '-'}\nstarted {stamp(job.started)}  finished {stamp(job.finished)}")
        if job.error:
            text.append("\n" + printable(job.error), style="red")
        keys = "   x: cancel" if job.state in ACTIVE else "   r: retry" if job.state in RETRYABLE else ""
        text.append(f"\nenter: whole log{keys}", style="dim")
        detail.update(text)

    @on(DataTable.RowSelected, "#jobs")
    @reports_errors
    def action_log(self) -> None:
        job = self.selected_job()
        if job is not None:
            self.app.push_screen(JobLogScreen(job.id))

    def action_cancel_job(self) -> None:
        self._on_selected(self.app.cancel_job)

    def action_retry_job(self) -> None:
        self._on_selected(self.app.retry_job)

    @reports_errors
    def _on_selected(self, act: Any) -> None:
        job = self.selected_job()
        if job is None:
            self.app.notify("no job selected", severity="warning")
            return
        act(job)
        self.refresh_jobs()

    def action_filter(self) -> None:
        self.query_one("#filter", FilterBar).open()

    @on(Input.Changed, "#filter")
    def _filter(self) -> None:
        self.refresh_jobs()


class JobLogScreen(Screen):
    """The job's log, whole: failures keep their traceback here."""

    HELP_TITLE = "Job log"
    BINDINGS = [
        Binding("r", "reload", "reload", tooltip="Read the log file again", id="log-reload"),
        Binding("g", "top", "top", show=False, tooltip="Go to the top of the log", id="log-top"),
        Binding("G", "bottom", "end", show=False, tooltip="Go to the end of the log", id="log-end"),
    ]

    def __init__(self, job_id: str) -> None:
        super().__init__()
        self.job_id = job_id
        self._shown = ""

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="log-title", classes="detail")
        yield TextArea(id="log", read_only=True, soft_wrap=True, show_line_numbers=False)
        yield KeyFooter()

    def on_mount(self) -> None:
        self.sub_title = f"log of job {self.job_id}"
        self.action_reload()
        self.set_interval(1.0, self._follow)
        self.query_one("#log", TextArea).focus()

    @reports_errors
    def _follow(self) -> None:
        job = self.app.ws.maybe(Job, self.job_id)
        if job is not None and job.state in ACTIVE:
            self.action_reload()

    @reports_errors
    def action_reload(self) -> None:
        job = self.app.ws.maybe(Job, self.job_id)
        if job is None:
            self.app.notify(f"job {self.job_id} no longer exists", severity="error")
            return
        title = Text(f"{printable(job.name)}  {job.state}", style="bold")
        if job.error:
            title.append("\n" + printable(job.error), style="red")
        self.query_one("#log-title", Static).update(title)
        text = read_log(self.app.ws, job) or f"job {job.id} has no log yet\n"
        text = "".join(printable(line) + "\n" for line in text.splitlines())  # the log quotes user text
        if text == self._shown:
            return
        log = self.query_one("#log", TextArea)
        follow = not self._shown or log.scroll_y >= log.max_scroll_y - 1
        log.load_text(text)
        self._shown = text
        if follow:  # start at the end, where a failure's traceback is
            log.move_cursor(log.document.end)
            log.scroll_end(animate=False)

    def action_top(self) -> None:
        log = self.query_one("#log", TextArea)
        log.move_cursor((0, 0))
        log.scroll_home(animate=False)

    def action_bottom(self) -> None:
        log = self.query_one("#log", TextArea)
        log.move_cursor(log.document.end)
        log.scroll_end(animate=False)
