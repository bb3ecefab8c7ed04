"""The owb terminal UI: one App that owns the workspace and follows its jobs.

Jobs run in the workspace's runner process (engine.jobs), never in the UI:
quitting, or losing the SSH connection, leaves them running. The App submits
jobs and, twice a second, reads the workspace's job records (when the DB
changed) and the running jobs' progress files; what changed is published on
``job_signal`` for whichever screens are alive, so a second owb on the same
workspace sees the same progress. Heavy engine modules (openvino, nncf,
numpy) are imported inside the actions that need them, so the UI comes up at
once."""

from __future__ import annotations

import logging
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from textual.app import App
from textual.binding import Binding
from textual.screen import Screen
from textual.signal import Signal
from textual.worker import Worker, WorkerState

from engine.errors import OwbError
from engine.jobs import FINAL, JobEvent, read_progress
from engine.records import Job
from engine.terminal_text import printable
from engine.workspace import DB_NAME, Workspace

from .text import error_text, reports_errors

log = logging.getLogger("owb.tui")


def owb_commands() -> type:
    from .screens.help import OwbCommands

    return OwbCommands


class OwbApp(App[int]):
    CSS_PATH = Path(__file__).with_name("app.tcss")  # absolute, so subclasses find it too
    TITLE = "owb"
    SUB_TITLE = "INT8 workbench"
    COMMANDS = App.COMMANDS | {owb_commands}
    BINDINGS = [
        Binding("question_mark", "help", "help", tooltip="Show every key of this screen", id="help"),
        Binding("f1", "help", "help", show=False, id="help-f1"),
        Binding("j", "jobs", "jobs", tooltip="Jobs: progress, cancel, logs", id="jobs"),
        Binding("escape", "back", "back", tooltip="Go back to the previous screen", id="back"),
        Binding("q", "quit", "quit", tooltip="Quit owb (asks first while jobs run)", id="quit"),
        # Textual adds this one at run time when an App declares none; declared here, the help
        # screen reads it from BINDINGS like every other key.
        Binding(App.COMMAND_PALETTE_BINDING, "command_palette", "palette", show=False,
                key_display=App.COMMAND_PALETTE_DISPLAY, priority=True, tooltip="Open the command palette"),
    ]

    FULL_CHECK_S = 3.0  # re-read the jobs this often even when the DB did not change: a runner may have died

    def __init__(self, ws: Workspace) -> None:
        super().__init__()
        self.ws = ws
        self.jobs: list[Job] = []  # queued and running jobs, as last read
        self.job_events: dict[str, JobEvent] = {}
        self.job_signal: Signal[JobEvent | None] = Signal(self, "job")
        self.left_running = 0
        self._watched: set[str] = set()
        # jobs whose outcome the screen that started them tells itself (the
        # import form): announcing them too would say everything twice
        self.told_by_screen: set[str] = set()
        self._db_mtime = -1.0
        self._checked = 0.0
        self.sub_title = str(ws.home)

    # -- user text -----------------------------------------------------------
    def notify(self, message: str, *, title: str = "", severity: Any = "information",  # type: ignore[override]
               timeout: float | None = None, markup: bool = False) -> None:
        """Every notification prints literally: its names are user text (markup
        off, controls visible). It goes to the message line above the footer,
        which takes a line of the layout, so it never covers a table's rows
        (toasts stack over the bottom of an 80x24 screen). A dialog has no
        footer: it gets one small toast, the newest replacing the last."""
        from .widgets.footer import KeyFooter

        footers = list(self.screen.query(KeyFooter)) if not self.screen.is_modal else []
        if not footers:
            self.clear_notifications()
            super().notify(printable(message), title=printable(title), severity=severity, timeout=timeout,
                           markup=markup)
            return
        text = printable(f"{title}: {message}" if title else message)
        footers[0].show_message(text, severity, timeout or self.NOTIFICATION_TIMEOUT)

    def format_title(self, title: str, sub_title: str) -> Any:
        return super().format_title(printable(title), printable(sub_title))

    # -- following jobs ------------------------------------------------------
    def get_default_screen(self) -> Screen:
        # the start screen is the base of the stack: pushing it over Textual's
        # blank default screen composed and laid out two screens before the
        # first paint
        from .screens.projects import ProjectsScreen

        return ProjectsScreen()

    def on_mount(self) -> None:
        self.poll_jobs()
        self.set_interval(0.5, self.poll_jobs)

    def poll_jobs(self, force: bool = False) -> None:
        """Follow every job of the workspace, whoever started it: the DB for
        which jobs are active, their progress files for where they are."""
        from engine.jobs import client

        changed = False
        try:
            mtime = (self.ws.home / DB_NAME).stat().st_mtime
            if force or mtime != self._db_mtime or time.monotonic() - self._checked > self.FULL_CHECK_S:
                self._db_mtime, self._checked = mtime, time.monotonic()
                jobs = client.active(self.ws)  # also marks the jobs of a killed runner interrupted
                changed = [j.to_dict() for j in jobs] != [j.to_dict() for j in self.jobs]
                self.jobs = jobs
        except (OSError, OwbError):
            return
        ids = {j.id for j in self.jobs}
        for ended in self._watched - ids:
            job = self.ws.maybe(Job, ended)
            if job is not None:
                event = JobEvent(job.id, job.state, job.stage, job.step, job.total or None, message=job.error)
                self.job_events[job.id] = event
                self.job_signal.publish(event)
                if job.state in FINAL:
                    self._announce(event)
        self._watched = ids
        for job in self.jobs:
            event = read_progress(self.ws, job.id)
            if event is not None and event != self.job_events.get(job.id):
                self.job_events[job.id] = event
                self.job_signal.publish(event)
        if changed:
            self.job_signal.publish(None)  # None: something changed, re-read the DB
        if any(j.state == "queued" and not j.owner for j in self.jobs):
            self.start_runner()  # queued jobs wait for a runner that is not there (killed, or idle-exited)

    def start_runner(self) -> None:
        """Start the runner off the UI thread; it is a second or so of Python start-up."""
        from engine.jobs import client
        from engine.jobs.runner import runner_alive

        if runner_alive(self.ws) or any(w.group == "runner" and w.is_running for w in self.workers):
            return
        self.run_worker(lambda: client.ensure_runner(self.ws), thread=True, group="runner", exit_on_error=False)

    def _announce(self, event: JobEvent) -> None:
        job = self.ws.maybe(Job, event.job)
        if job is None or event.job in self.told_by_screen:
            self.told_by_screen.discard(event.job)
            return
        if event.state == "done":
            from .text import done_summary

            self.notify(done_summary(job), title="job done", timeout=8)
        elif event.state == "failed":
            self.notify(f"{job.name} failed: {job.error} (j, then enter shows its log)",
                        severity="error", title="job failed", timeout=12)
        else:
            self.notify(f"{job.name}: {event.state}", severity="warning")

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Every thread worker runs with exit_on_error=False; its failure ends here."""
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            self.show_error(event.worker.error)

    def show_error(self, exc: BaseException) -> None:
        if not isinstance(exc, OwbError):
            log.error("".join(traceback.format_exception(exc)))
        self.notify(error_text(exc), severity="error", timeout=10)

    def active_jobs(self) -> list[Job]:
        return list(self.jobs)

    # -- jobs ----------------------------------------------------------------
    @reports_errors
    def start_job(self, kind: str, params: dict) -> Job | None:
        """Submit a job of ``kind`` (engine.jobs.kinds: the CLI submits the
        same); bad settings are refused here, as a notification."""
        from engine.jobs import client

        job = client.submit(self.ws, kind, params, start=False)
        self.poll_jobs(force=True)
        self.start_runner()
        return job

    @reports_errors
    def retry_job(self, job: Job) -> Job | None:
        from engine.jobs import client

        new = client.retry(self.ws, job.id, start=False)
        self.poll_jobs(force=True)
        self.start_runner()
        self.notify(f"{new.name} queued: a retry of {job.id}")
        return new

    @reports_errors
    def cancel_job(self, job: Job) -> None:
        from engine.jobs import client

        client.cancel(self.ws, job.id)
        self.notify(f"cancelling {job.name}… (stops at the next step)")
        self.poll_jobs(force=True)

    # -- actions -------------------------------------------------------------
    def action_help(self) -> None:
        from .screens.help import HelpScreen

        if isinstance(self.screen, HelpScreen):
            self.screen.dismiss()
        else:
            self.push_screen(HelpScreen(self.screen))

    def action_jobs(self) -> None:
        from .screens.jobs import JobsScreen

        if isinstance(self.screen, JobsScreen):
            self.pop_screen()  # j again goes back
        else:
            self.push_screen(JobsScreen())

    def action_targets(self) -> None:
        from .screens.targets import TargetsScreen

        if not isinstance(self.screen, TargetsScreen):
            self.push_screen(TargetsScreen())

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "back":
            from .screens.projects import ProjectsScreen

            return not isinstance(self.screen, ProjectsScreen)  # nothing to go back to there
        return True

    def action_back(self) -> None:
        from .screens.projects import ProjectsScreen

        if len(self.screen_stack) > 1 and not isinstance(self.screen, ProjectsScreen):
            self.pop_screen()

    def go_home(self) -> None:
        """Back to the Projects screen, closing whatever is open above it."""
        from .screens.projects import ProjectsScreen

        while len(self.screen_stack) > 1 and not isinstance(self.screen, ProjectsScreen):
            self.pop_screen()

    async def action_quit(self) -> None:
        from .screens.dialogs import QuitScreen

        self.poll_jobs(force=True)
        running = self.active_jobs()
        if not running:
            self.exit(0)
            return

        def decided(choice: str | None) -> None:
            if choice == "cancel":
                from engine.jobs import client

                for job in running:
                    try:
                        client.cancel(self.ws, job.id)
                    except OwbError:  # ended meanwhile
                        pass
            if choice in ("leave", "cancel"):
                self.left_running = len(running) if choice == "leave" else 0
                self.exit(0)

        self.push_screen(QuitScreen(running), decided)


def run_tui(home: str | None) -> int:
    """`owb` with no command: open the workspace and run the UI until quit."""
    from .terminal_probe import answer

    try:
        ws = Workspace(home)
    except OwbError as exc:
        answer()  # puts the terminal back as it was
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    app = OwbApp(ws)
    answer()  # the picture protocol, asked by cli.main; must be read before App.run() owns stdin
    code = app.run()
    if app.left_running:
        print(f"{app.left_running} job(s) keep running in the background; `owb jobs` lists them, "
              "`owb jobs follow ID` shows one", file=sys.stderr)
    return int(code or 0)
