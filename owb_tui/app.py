"""The owb terminal UI: one App that owns the workspace and the job runner.

Jobs are started here, never from a screen, so closing a screen never ends a
job. The runner calls its listeners from worker threads; each event is posted
to the App as a JobProgress message (thread-safe, and coalesced while a job
runs) and republished on ``job_signal`` for whichever screens are alive.
Heavy engine modules (openvino, nncf, numpy) are imported inside the actions
that need them, so the UI comes up at once."""

from __future__ import annotations

import logging
import os
import re
import sys
import traceback
from dataclasses import asdict
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, TypeVar

from textual.app import App
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.signal import Signal
from textual.worker import Worker, WorkerState

from engine.errors import OwbError
from engine.jobs import ACTIVE, FINAL, JobEvent, JobRunner
from engine.records import Dataset, Job, Model
from engine.terminal_text import printable
from engine.workspace import Workspace

if TYPE_CHECKING:
    from engine.benchmark import BenchmarkSettings
    from engine.calibration import CalibrationSpec

F = TypeVar("F", bound=Callable[..., Any])
log = logging.getLogger("owb.tui")


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


class JobProgress(Message):
    """A JobEvent delivered on the UI thread."""

    def __init__(self, event: JobEvent) -> None:
        super().__init__()
        self.event = event

    def can_replace(self, message: Message) -> bool:
        # Textual asks the queued message whether the next one may take its
        # place: a running event of a job is stale once a newer one of the same
        # job arrives. State changes (queued, done, failed) are never dropped.
        return (isinstance(message, JobProgress) and message.event.job == self.event.job
                and self.event.state == "running")


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
    ]

    def __init__(self, ws: Workspace, *, heavy_slots: int = 1) -> None:
        super().__init__()
        self.ws = ws
        self.runner = JobRunner(ws, heavy_slots=heavy_slots)
        self.job_events: dict[str, JobEvent] = {}
        self.job_signal: Signal[JobEvent | None] = Signal(self, "job")
        self.foreign_jobs: list[Job] = []
        self._db_mtime = 0.0
        self.runner.subscribe(self._from_worker_thread)
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

    # -- plumbing ------------------------------------------------------------
    def _from_worker_thread(self, event: JobEvent) -> None:
        self.post_message(JobProgress(event))

    def get_default_screen(self) -> Screen:
        # the start screen is the base of the stack: pushing it over Textual's
        # blank default screen composed and laid out two screens before the
        # first paint
        from .screens.projects import ProjectsScreen

        return ProjectsScreen()

    def on_mount(self) -> None:
        self._poll_foreign_jobs()
        self.set_interval(2.0, self._poll_foreign_jobs)

    def _poll_foreign_jobs(self) -> None:
        """Jobs that another owb process (a CLI run over another SSH session)
        is running: they are only seen through the DB."""
        from engine.jobs import pid_alive
        from engine.workspace import DB_NAME

        try:
            mtime = (self.ws.home / DB_NAME).stat().st_mtime
            changed, self._db_mtime = mtime != self._db_mtime, mtime
            if not changed:
                return
            found = [j for j in self.ws.all(Job)
                     if j.state in ACTIVE and j.pid != os.getpid() and pid_alive(j.pid)]
        except (OSError, OwbError):
            return
        self.foreign_jobs = found
        if not self.runner.running():  # own jobs already refresh through their events
            self.job_signal.publish(None)  # None: something changed, re-read the DB

    def on_job_progress(self, message: JobProgress) -> None:
        event = message.event
        self.job_events[event.job] = event
        self.job_signal.publish(event)
        if event.state in FINAL:
            self._announce(event)

    def _announce(self, event: JobEvent) -> None:
        job = self.ws.maybe(Job, event.job)
        if job is None:
            return
        if event.state == "done":
            from .screens.jobs import done_summary

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
        return self.runner.running() + self.foreign_jobs

    # -- jobs ----------------------------------------------------------------
    @reports_errors
    def start_calibration(self, spec: CalibrationSpec, bench_time: float = 10.0,
                          infer_precision: str = "auto", target: str | None = None) -> Job | None:
        from engine.calibration import Calibration
        from engine.errors import BadInput
        from engine.optimize import run_optimize

        if bench_time < 0:
            raise BadInput("benchmark time after calibration must be 0 or more seconds")
        check = Calibration(self.ws, spec, ctx=None)  # refuse bad settings before a job exists
        spec.model, spec.dataset = check.parent.id, check.dataset.id
        spec.calibration_dataset = check.cal_dataset.id if spec.calibration_dataset else None
        if target:
            return self.start_remote({"kind": "calibrate", "model": spec.model, "dataset": spec.dataset,
                                      "calibration": asdict(spec), "bench_time": bench_time,
                                      "infer_precision": infer_precision, "target": target},
                                     f"calibrate {check.parent.name}")
        return self.runner.submit(
            "calibrate", lambda ctx: run_optimize(ctx, spec, bench_time=bench_time, infer_precision=infer_precision),
            params={**asdict(spec), "bench_time": bench_time, "infer_precision": infer_precision},
            name=f"calibrate {check.parent.name}")

    def start_remote(self, params: dict, name: str) -> Job:
        """A job on a remote target (engine.targets): the same body `--target` runs in the CLI."""
        from engine.records import Target
        from engine.targets.remote import remote_job

        target = self.ws.get(Target, params["target"])
        return self.runner.submit(params["kind"], lambda ctx: remote_job(ctx, params), params=params,
                                  name=f"{name} on {target.name}")

    @reports_errors
    def start_benchmark(self, model: Model, dataset: Dataset | None, settings: BenchmarkSettings,
                        target: str | None = None) -> Job | None:
        from engine.measure.protocol import DEFAULT_ROUNDS, figure_document, measure_figure

        settings.validate()
        if target:
            return self.start_remote({"kind": "benchmark", "model": model.id, "settings": asdict(settings),
                                      "dataset": dataset.id if dataset else None, "runs": DEFAULT_ROUNDS,
                                      "target": target},
                                     f"benchmark {model.name}")

        def body(ctx: Any) -> dict:
            ctx.progress("compiling")
            fig = measure_figure(ctx.ws, model, settings, runs=DEFAULT_ROUNDS, total_time_s=settings.time_s,
                                 dataset=dataset, cancel=ctx.cancel,
                                 progress=lambda done, total, stage: ctx.progress(f"{stage} (ms)", done, total))
            return figure_document(ctx.ws, fig)

        return self.runner.submit("benchmark", body, name=f"benchmark {model.name}",
                                  params={"model": model.id, "dataset": dataset.id if dataset else None,
                                          **asdict(settings)})

    @reports_errors
    def start_accuracy(self, model: Model, dataset: Dataset, precision: str = "f32",
                       target: str | None = None) -> Job | None:
        from engine.evaluate import check_compatible, evaluate

        check_compatible(model, dataset)
        if target:
            return self.start_remote({"kind": "accuracy", "model": model.id, "dataset": dataset.id,
                                      "precision": precision, "target": target}, f"accuracy {model.name}")

        def body(ctx: Any) -> dict:
            ctx.progress("compiling")
            return evaluate(ctx.ws, model, dataset, cancel=ctx.cancel, precision=precision,
                            progress=lambda done, total: ctx.progress("inference", done, total))

        return self.runner.submit("accuracy", body, name=f"accuracy {model.name}",
                                  params={"model": model.id, "dataset": dataset.id, "infer_precision": precision})

    @reports_errors
    def start_explore(self, model: Model, batches: list[int], streams: list[int], time_s: float,
                      latency_limit_ms: float | None, dataset: Dataset | None = None,
                      infer_precision: str = "auto") -> Job | None:
        from engine.explore import run_explore, validate_grid

        validate_grid(batches, streams, time_s, latency_limit_ms)

        def body(ctx: Any) -> dict:
            ctx.progress("measuring cells (ms)")
            _, result = run_explore(ctx.ws, model, batches, streams, time_s=time_s,
                                    latency_limit_ms=latency_limit_ms, dataset=dataset, cancel=ctx.cancel,
                                    infer_precision=infer_precision,
                                    progress=lambda done, total: ctx.progress("measuring cells (ms)", done, total))
            return result

        return self.runner.submit("explore", body, name=f"explore {model.name}",
                                  params={"model": model.id, "batches": batches, "streams": streams,
                                          "time_s": time_s, "latency_limit_ms": latency_limit_ms,
                                          "infer_precision": infer_precision})

    @reports_errors
    def start_compare(self, a: Model, b: Model, bench_time: float = 10.0, infer_precision: str = "auto") -> Job | None:
        from engine.compare import compare, validate

        validate(a, b, bench_time)

        def body(ctx: Any) -> dict:
            ctx.progress("starting")
            return compare(ctx.ws, a, b, bench_time=bench_time, cancel=ctx.cancel, infer_precision=infer_precision,
                           progress=lambda done, total, stage: ctx.progress(stage, done, total))

        return self.runner.submit("compare", body, name=f"compare {a.name} {b.name}",
                                  params={"model": b.id, "a": a.id, "b": b.id, "bench_time": bench_time,
                                          "infer_precision": infer_precision})

    @reports_errors
    def start_report(self, spec: Any) -> Job | None:
        from engine.reports import report_job, resolve

        model, reference, dataset = resolve(self.ws, spec)  # BadInput before a job exists
        vs = f" vs {reference.name}" if reference else ""
        return self.runner.submit("report", lambda ctx: report_job(ctx, spec),
                                  name=f"{spec.kind} report {model.name}{vs}",
                                  params={"model": model.id, "kind": spec.kind, "dataset": dataset.id})

    def cancel_job(self, job: Job) -> None:
        if self.runner.cancel(job.id):
            self.notify(f"cancelling {job.name}… (stops at the next step)")
        elif job.state in ACTIVE and job.pid != os.getpid():
            self.notify(f"{job.name} runs in another owb process (pid {job.pid}); cancel it there",
                        severity="warning")
        else:
            self.notify(f"{job.name} is {job.state}; nothing to cancel", severity="warning")

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
        from .screens.dialogs import ConfirmScreen

        running = self.runner.running()
        if not running:
            self.exit(0)
            return

        def decided(yes: bool | None) -> None:
            if yes:
                for job in self.runner.running():
                    self.runner.cancel(job.id)
                self.exit(0)

        names = ", ".join(j.name for j in running[:3])
        self.push_screen(ConfirmScreen(f"{len(running)} job(s) running ({names}). Quitting cancels them. Quit?"),
                         decided)


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
    running = app.runner.running()
    if running:
        print(f"waiting for {len(running)} cancelled job(s) to stop…", file=sys.stderr)
        for job in running:
            app.runner.cancel(job.id)
            app.runner.wait(job.id, timeout=30)  # joins the job thread, so OpenVINO tears down before exit
    return int(code or 0)
