"""What the CLI and the TUI do with jobs: submit, follow, cancel, retry.

Clients and the runner talk only through the workspace: a job is submitted
by adding a queued record to the DB; progress is read from the job's progress
file (and the record); a cancel is asked for by creating jobs/ID.cancel. So
any number of clients (a TUI here, a CLI over another SSH session) see the
same queue, and none of them has to stay for a job to finish."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Iterator

from ..errors import BadInput, WorkspaceError
from ..records import Job, now
from ..workspace import Workspace
from .executor import ACTIVE, FINAL, JobEvent, mark_interrupted, read_progress, write_progress
from .kinds import get_kind
from .runner import cancel_path, file_lock, log_path, ring, runner_alive, runner_info, start_lock_path

RETRYABLE = ("failed", "cancelled", "interrupted")
START_TIMEOUT_S = 60.0
CHECK_RECORD_S = 2.0  # how often a follower re-reads the record, to notice a runner that died


def submit(ws: Workspace, kind: str, params: dict, *, start: bool = True, retry_of: str | None = None) -> Job:
    """Check the settings, queue the job, and make sure a runner will run it."""
    params, title = get_kind(kind).prepare(ws, dict(params))
    job = Job(name=title, kind=kind, params=params, retry_of=retry_of)
    job.name = f"{title} {job.id}"
    job.log = f"jobs/{job.id}.log"
    ws.add(job)
    write_progress(ws, JobEvent(job.id, "queued"))
    ring(ws)
    if start:
        ensure_runner(ws)
    return job


def ensure_runner(ws: Workspace) -> None:
    """Start the workspace's runner unless one holds the runner lock.

    The start lock makes two clients starting at once start one runner: the
    second finds the lock held by the runner the first one waited for."""
    from filelock import Timeout

    try:
        with file_lock(start_lock_path(ws)).acquire(timeout=START_TIMEOUT_S):
            _start_unless_running(ws)
    except Timeout:
        raise WorkspaceError(f"another owb has been starting the job runner for over {START_TIMEOUT_S:.0f} s; "
                             f"see {log_path(ws)}") from None


def _start_unless_running(ws: Workspace) -> None:
    if runner_alive(ws):
        return
    proc = spawn_runner(ws)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if runner_info(ws).get("pid") == proc.pid and runner_alive(ws):  # it wrote its pid file after locking
            return
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    raise WorkspaceError(f"the job runner did not start; its log is {log_path(ws)}")


def spawn_runner(ws: Workspace) -> subprocess.Popen:
    """The runner, detached: its own session (no controlling terminal, no
    SIGHUP from ours), stdin from /dev/null, output into its log."""
    source = str(Path(__file__).resolve().parents[2])  # where `engine` is importable from
    path = os.environ.get("PYTHONPATH", "")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (source, path) if p)}
    with open(log_path(ws), "ab") as out:
        proc = subprocess.Popen([sys.executable, "-m", "engine.jobs.runner", str(ws.home)],
                                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                cwd=str(ws.home), env=env, start_new_session=True, close_fds=True)
    # Reap it when it exits, or it would stay a zombie of this (long-lived TUI) process.
    threading.Thread(target=proc.wait, name="owb-runner-reaper", daemon=True).start()
    return proc


def stop_runner(ws: Workspace, timeout: float = 30.0) -> bool:
    """Ask the runner to cancel its jobs and exit; kill it after ``timeout``."""
    if not runner_alive(ws):
        return False
    pid = int(runner_info(ws).get("pid") or 0)
    if pid <= 0:
        return False
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 10.0)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return True
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not runner_alive(ws):
                return True
            time.sleep(0.05)
    return not runner_alive(ws)


def active(ws: Workspace) -> list[Job]:
    """Queued and running jobs, oldest first, after marking dead owners' jobs."""
    mark_interrupted(ws)
    return sorted((j for j in ws.all(Job) if j.state in ACTIVE), key=lambda j: j.created)


def cancel(ws: Workspace, job_id: str) -> Job:
    """Cancel a job: a queued one at once, a running one at its next step."""
    mark_interrupted(ws)
    with ws.locked():
        job = ws.get(Job, job_id)
        if job.state in FINAL:
            raise BadInput(f"job {job.id} is {job.state}; there is nothing to cancel")
        if job.state == "queued" and not job.owner:
            ws.update(job, state="cancelled", error="cancelled before it started", exit_code=130, finished=now())
            write_progress(ws, JobEvent(job.id, "cancelled", message=job.error))
            return job
        cancel_path(ws, job.id).touch()
    return job


def events(ws: Workspace, job_id: str, poll_s: float = 0.25) -> Iterator[JobEvent]:
    """The job's progress as it changes, ending with its final state."""
    last: JobEvent | None = None
    checked = time.monotonic()
    while True:
        event = read_progress(ws, job_id)
        if event is not None and event != last:
            last = event
            yield event
            if event.state in FINAL:
                return
        if time.monotonic() - checked > CHECK_RECORD_S:
            checked = time.monotonic()
            job = ws.get(Job, job_id)
            if job.state in ACTIVE:
                mark_interrupted(ws)  # its runner died (kill -9)?
                job = ws.get(Job, job_id)
            if job.state in FINAL:
                yield JobEvent(job.id, job.state, job.stage, job.step, job.total, message=job.error)
                return
            if job.state == "queued" and not job.owner and not runner_alive(ws):
                ensure_runner(ws)  # the runner went away (killed) while this job waited
        time.sleep(poll_s)


def wait(ws: Workspace, job_id: str, on_event: Callable[[JobEvent], None] | None = None) -> Job:
    for event in events(ws, job_id):
        if on_event is not None:
            on_event(event)
    return ws.get(Job, job_id)


def retry(ws: Workspace, job_id: str, *, start: bool = True) -> Job:
    """Queue a failed, cancelled or interrupted job again with its settings.

    A calibration resumes: the child an earlier attempt saved is kept, and
    only the stages it still lacks run (see engine.optimize)."""
    mark_interrupted(ws)
    old = ws.get(Job, job_id)
    if old.state not in RETRYABLE:
        raise BadInput(f"job {old.id} is {old.state}; only failed, cancelled or interrupted jobs can be retried")
    params = dict(old.params)
    if old.kind == "calibrate":
        params["resume_jobs"] = [old.id, *(params.get("resume_jobs") or [])]
    return submit(ws, old.kind, params, start=start, retry_of=old.id)


def live_event(ws: Workspace, job: Job) -> JobEvent:
    """The freshest progress known for ``job``: its file, else its record."""
    event = read_progress(ws, job.id)
    if event is not None and (event.state in ACTIVE) == (job.state in ACTIVE):
        return event
    return JobEvent(job.id, job.state, job.stage, job.step, job.total or None, message=job.error)
