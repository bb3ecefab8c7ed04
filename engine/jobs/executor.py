"""Runs job bodies in worker threads, with progress, cancel and a log.

A job is a record (state, stage, step/total, error, result) plus a log file
that is kept whole, failures included. Heavy jobs run one at a time and the
rest queue. Live progress goes to a small file beside the log
(``jobs/ID.progress.json``), rewritten a few times a second, so that any
process can follow it; the DB record, which TinyDB rewrites whole on every
write, changes only when the stage changes and every few seconds.

The detached runner (runner.py) runs every job of a workspace through one
``JobRunner``; tests and embedders may also run job functions in-process."""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import traceback
from dataclasses import asdict, dataclass
from typing import Callable

from ..errors import Cancelled, OwbError
from ..records import Job, now
from ..workspace import Workspace
from .liveness import process_token, token_alive

ACTIVE = ("queued", "running")
FINAL = ("done", "failed", "cancelled", "interrupted")
PROGRESS_EVERY_S = 0.25  # the progress file: what `owb jobs follow` and the TUI read
# The DB record, between stage changes: rewriting the whole DB in the job's
# thread, mid-measurement, costs the measurement; clients read the progress file.
RECORD_EVERY_S = 30.0
LARGE_RESULT = 64 * 1024  # a result bigger than this lives in jobs/ID.result.json


@dataclass
class JobEvent:
    job: str
    state: str
    stage: str = ""
    step: int = 0
    total: int | None = None
    eta_s: float | None = None
    message: str = ""


def progress_path(ws: Workspace, job_id: str):
    return ws.home / "jobs" / f"{job_id}.progress.json"


def write_progress(ws: Workspace, event: JobEvent) -> None:
    """Replace the progress file; a rename, so readers never see half of it.
    No fsync: it is rewritten many times a second and the record is the truth."""
    path = progress_path(ws, event.job)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        tmp.write_text(json.dumps({**asdict(event), "time": now()}))
        os.replace(tmp, path)
    except OSError:  # progress is a courtesy; the job goes on
        tmp.unlink(missing_ok=True)


def read_progress(ws: Workspace, job_id: str) -> JobEvent | None:
    try:
        data = json.loads(progress_path(ws, job_id).read_text())
        return JobEvent(**{k: v for k, v in data.items() if k in JobEvent.__dataclass_fields__})
    except (OSError, ValueError, TypeError):
        return None


class JobContext:
    """What a job function gets: its record, a cancel flag, progress and a log."""

    def __init__(self, runner: "JobRunner", job: Job) -> None:
        self.runner, self.job = runner, job
        self.ws = runner.ws
        self.cancel = threading.Event()
        self.finished = threading.Event()
        self.log_path = runner.ws.path(job.log)
        self.log_handler = logging.FileHandler(self.log_path, encoding="utf-8")
        self.log_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        self.log = logging.getLogger(f"owb.job.{job.id}")
        self.log.propagate = False
        self.log.setLevel(logging.INFO)
        self.log.addHandler(self.log_handler)
        self._stage_started = time.monotonic()
        self._stage_first_step = 0
        self._last_record = self._last_file = 0.0
        self._started = time.monotonic()
        self._phases: list[tuple[str, float]] = []

    def plan(self, phases: list[tuple[str, float]]) -> None:
        """The job's stages in order, each as (stage-name prefix, expected
        seconds), so its ETA covers the whole job, not only the current stage."""
        self._phases = [(name, max(seconds, 0.1)) for name, seconds in phases]

    def _job_eta(self, stage: str, step: int, total: int | None) -> float | None:
        """Remaining seconds of the whole job: the planned share done so far,
        scaled by the time the job has really taken (so a slow machine's
        slowness carries over to the stages still to come)."""
        index = next((i for i, (name, _) in enumerate(self._phases) if stage.startswith(name)), None)
        if index is None:
            return None
        planned = sum(s for _, s in self._phases)
        done = sum(s for _, s in self._phases[:index]) + self._phases[index][1] * (step / total if total else 0)
        fraction = done / planned
        if fraction < 0.02:
            return None
        elapsed = time.monotonic() - self._started
        return round(elapsed * (1 - fraction) / fraction, 1)

    def check_cancel(self) -> None:
        if self.cancel.is_set():
            raise Cancelled("cancelled by the user")

    def progress(self, stage: str, step: int = 0, total: int | None = None) -> None:
        """Report progress; raises Cancelled when a cancel was asked for."""
        new_stage = stage != self.job.stage
        if new_stage:
            self.log.info("stage: %s", stage)
            self._stage_started, self._stage_first_step = time.monotonic(), step
        eta = self._job_eta(stage, step, total) if self._phases else None
        done = step - self._stage_first_step  # steps seen in this stage, so the rate is real
        if eta is None and total and done > 0:
            elapsed = time.monotonic() - self._stage_started
            eta = round(elapsed / done * (total - step), 1)
        self.job.stage, self.job.step, self.job.total = stage, int(step), int(total or 0)
        event = JobEvent(self.job.id, "running", stage, int(step), total, eta)
        t = time.monotonic()
        if new_stage or t - self._last_record > RECORD_EVERY_S:
            self._last_record = t
            self.ws.update(self.job)
        if new_stage or t - self._last_file > PROGRESS_EVERY_S or step == total:
            self._last_file = t
            write_progress(self.ws, event)
        self.runner._emit(event)
        self.check_cancel()

    def close(self) -> None:
        self.log.removeHandler(self.log_handler)
        self.log_handler.close()


JobFn = Callable[[JobContext], dict]


class JobRunner:
    """Runs jobs in threads: at most ``heavy_slots`` heavy jobs at once."""

    def __init__(self, ws: Workspace, heavy_slots: int = 1) -> None:
        self.ws = ws
        self.owner = process_token()
        self._slots = threading.Semaphore(heavy_slots)
        self._listeners: list[Callable[[JobEvent], None]] = []
        self._contexts: dict[str, JobContext] = {}
        self._threads: dict[str, threading.Thread] = {}
        mark_interrupted(ws)

    def subscribe(self, listener: Callable[[JobEvent], None]) -> None:
        self._listeners.append(listener)

    def _emit(self, event: JobEvent) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:  # a broken listener must not kill the job
                logging.getLogger("owb.jobs").exception("job listener failed")

    def submit(self, kind: str, fn: JobFn, *, params: dict | None = None, name: str = "",
               project: str | None = None, heavy: bool = True) -> Job:
        """Record a new job owned by this process and start it."""
        job = Job(name=name or kind, kind=kind, params=params or {}, project=project)
        job.name = f"{job.name} {job.id}"
        job.log = f"jobs/{job.id}.log"
        job.pid, job.owner = os.getpid(), self.owner
        self.ws.add(job)
        return self.start(job, fn, heavy=heavy)

    def start(self, job: Job, fn: JobFn, *, heavy: bool = True) -> Job:
        """Run a job whose record exists and that this process owns."""
        ctx = JobContext(self, job)
        self._contexts[job.id] = ctx
        thread = threading.Thread(target=self._run, args=(ctx, fn, heavy), name=f"owb-job-{job.id}", daemon=True)
        self._threads[job.id] = thread
        write_progress(self.ws, JobEvent(job.id, "queued"))
        self._emit(JobEvent(job.id, "queued"))
        thread.start()
        return job

    def _run(self, ctx: JobContext, fn: JobFn, heavy: bool) -> None:
        job = ctx.job
        if heavy:
            while not self._slots.acquire(timeout=0.2):
                if ctx.cancel.is_set():
                    self._finish(ctx, "cancelled", error="cancelled before it started", exit_code=130)
                    return
        try:
            self.ws.update(job, state="running", started=now())
            ctx.progress("starting")
            ctx.log.info("job %s (%s) started with %s", job.id, job.kind, job.params)
            result = fn(ctx)
            self._finish(ctx, "done", result=result)
        except Cancelled:
            ctx.log.info("cancelled")
            self._finish(ctx, "cancelled", error="cancelled by the user", exit_code=130)
        except OwbError as exc:
            ctx.log.error("failed: %s", exc)
            self._finish(ctx, "failed", error=str(exc), exit_code=exc.exit_code)
        except BaseException as exc:  # keep the whole story in the log, never an opaque failure
            ctx.log.error("failed with an unexpected error:\n%s", traceback.format_exc())
            first = (str(exc).strip().splitlines() or [""])[0][:200]
            self._finish(ctx, "failed", error=f"{type(exc).__name__}: {first} (see the job log)", exit_code=1)
        finally:
            if heavy:
                self._slots.release()

    def _finish(self, ctx: JobContext, state: str, *, result: dict | None = None, error: str = "",
                exit_code: int = 0) -> None:
        job = ctx.job
        result = store_result(self.ws, job, result or {})
        try:
            self.ws.update(job, state=state, result=result, error=error, exit_code=exit_code, finished=now())
        except OwbError as exc:  # the record could not be written; the log still says how it ended
            ctx.log.error("could not record the end of the job: %s", exc)
        ctx.log.info("job ended: %s", state)
        ctx.close()
        event = JobEvent(job.id, state, job.stage, job.step, job.total, message=error)
        write_progress(self.ws, event)
        ctx.finished.set()
        self._emit(event)

    def cancel(self, job_id: str) -> bool:
        ctx = self._contexts.get(job_id)
        if ctx is None or ctx.job.state in FINAL:
            return False
        ctx.cancel.set()
        return True

    def wait(self, job_id: str, timeout: float | None = None) -> Job:
        """The job's record once it has ended (or at ``timeout``).

        Waits on an Event in short slices rather than Thread.join: on Python
        < 3.13 a join interrupted by Ctrl+C can later return while the thread
        still runs, and the process would then exit under NNCF's feet."""
        ctx = self._contexts.get(job_id)
        if ctx is not None:
            deadline = None if timeout is None else time.monotonic() + timeout
            while not ctx.finished.wait(0.25):
                if deadline is not None and time.monotonic() > deadline:
                    break
            else:
                # The thread still unwinds (dropping compiled models, infer
                # queues) after 'finished'; a process that exits meanwhile
                # aborts inside OpenVINO's thread teardown.
                self._threads[job_id].join(10)
        job = self.ws.get(Job, job_id)
        job.result = job_result(self.ws, job)  # whole, even when it was large enough for a file
        return job

    def running(self) -> list[Job]:
        return [c.job for c in self._contexts.values() if c.job.state in ACTIVE]

    def unfinished(self) -> list[str]:
        """Ids of the jobs whose threads have not reported their end yet."""
        return [i for i, c in self._contexts.items() if not c.finished.is_set()]


def store_result(ws: Workspace, job: Job, result: dict) -> dict:
    """A large result (a per-layer table) goes to a file; the record points at it."""
    text = json.dumps(result, default=str)
    if len(text) <= LARGE_RESULT:
        return result
    rel = f"jobs/{job.id}.result.json"
    (ws.home / rel).write_text(text)
    return {"result_file": rel}


def job_result(ws: Workspace, job: Job) -> dict:
    """The job's whole result, read back from its file when it was large."""
    rel = job.result.get("result_file") if job.result else None
    if not rel:
        return job.result
    try:
        return json.loads(ws.path(rel).read_text())
    except (OSError, ValueError):
        return {}


def owner_alive(ws: Workspace, job: Job) -> bool:
    """A queued job nobody has claimed waits for the runner: it is not dead."""
    if not job.owner:
        return job.state == "queued" if not job.pid else _legacy_alive(job)
    from .runner import runner_token

    if job.owner == runner_token(ws):
        from .runner import runner_alive

        return runner_alive(ws)  # the runner's lock is the lease: it goes with the process
    return token_alive(job.owner)


def _legacy_alive(job: Job) -> bool:
    # Records from an owb that knew only the pid; pid 1 is what a process in
    # a container records, and it always exists here, so it proves nothing.
    from ..workspace import pid_alive

    return job.pid == os.getpid() or (job.pid > 1 and pid_alive(job.pid))


def mark_interrupted(ws: Workspace) -> list[Job]:
    """Jobs left queued/running by a process that is gone become 'interrupted'."""
    out = []
    for job in ws.all(Job):
        if job.state not in ACTIVE or owner_alive(ws, job):
            continue
        with ws.locked():  # re-read: the owner may have finished it meanwhile
            fresh = ws.maybe(Job, job.id)
            if fresh is None or fresh.state not in ACTIVE or fresh.owner != job.owner:
                continue
            ws.update(fresh, state="interrupted", error="the owb process running it ended", finished=now())
        write_progress(ws, JobEvent(fresh.id, "interrupted", fresh.stage, fresh.step, fresh.total,
                                    message=fresh.error))
        out.append(fresh)
    return out


def read_log(ws: Workspace, job: Job) -> str:
    path = ws.path(job.log) if job.log else None
    if path is None or not path.exists():
        return ""
    return path.read_text(encoding="utf-8", errors="replace")
