"""The runner: one detached process per workspace runs every job.

The first job starts it (client.ensure_runner) in a session of its own with
no terminal: stdin from /dev/null, output appended to jobs/runner.log, so the
SIGHUP of a dropped SSH connection never reaches it. For its whole life it
holds jobs/runner.lock, an flock that the kernel releases however the process
ends (kill -9 included), so a lock is never stale; its process token is in
jobs/runner.pid. Clients tell whether it lives by probing the lock.

It claims queued jobs from the DB oldest first, one heavy job at a time,
turns cancel requests (jobs/ID.cancel) into the job's cancel flag, and exits
after ``OWB_RUNNER_IDLE_S`` seconds (default 120) with nothing to do.

Run as ``python -m engine.jobs.runner HOME``."""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path

from ..errors import BadInput
from ..records import Job
from ..workspace import Workspace, atomic_write_bytes
from .executor import JobRunner
from .liveness import process_token

IDLE_S = 120.0
POLL_S = 0.2
CLAIM_IDLE_S, CLAIM_BUSY_S = 2.0, 30.0
log = logging.getLogger("owb.runner")


def lock_path(ws: Workspace) -> Path:
    return ws.home / "jobs" / "runner.lock"


def pid_path(ws: Workspace) -> Path:
    return ws.home / "jobs" / "runner.pid"


def start_lock_path(ws: Workspace) -> Path:
    """Held while a client starts a runner, and while a runner decides to exit."""
    return ws.home / "jobs" / "runner-start.lock"


def log_path(ws: Workspace) -> Path:
    return ws.home / "jobs" / "runner.log"


def doorbell_path(ws: Workspace) -> Path:
    """Touched by a client after it queued a job. The runner looks for new
    jobs when it changes, not whenever the DB changes: a running job writes
    its own record, and re-reading a large DB then would take CPU from the
    measurement it is making."""
    return ws.home / "jobs" / "queued.bell"


def ring(ws: Workspace) -> None:
    path = doorbell_path(ws)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{time.time_ns()}\n")  # content changes even where mtime is coarse


def cancel_path(ws: Workspace, job_id: str) -> Path:
    return ws.home / "jobs" / f"{job_id}.cancel"


def idle_seconds() -> float:
    try:
        return max(0.5, float(os.environ.get("OWB_RUNNER_IDLE_S", IDLE_S)))
    except ValueError:
        return IDLE_S


def file_lock(path: Path):
    from filelock import FileLock

    return FileLock(str(path), thread_local=False)


def runner_info(ws: Workspace) -> dict:
    try:
        data = json.loads(pid_path(ws).read_text())
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def runner_token(ws: Workspace) -> str:
    return str(runner_info(ws).get("token", ""))


def runner_alive(ws: Workspace) -> bool:
    """Whether a runner holds the workspace's runner lock right now."""
    from filelock import Timeout

    probe = file_lock(lock_path(ws))
    try:
        probe.acquire(timeout=0)
    except Timeout:
        return True
    except OSError:  # a read-only workspace: no runner can work there either
        return False
    probe.release()
    return False


class Runner:
    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self.executor = JobRunner(ws)  # marks the jobs of dead runners interrupted
        self.token = self.executor.owner
        self.heavy: set[str] = set()
        self.cancelled: set[str] = set()
        self.stopping = threading.Event()
        self._bell = ""
        self._claimed_with: set[str] = set()
        self._last_claim = 0.0

    def queued(self) -> list[Job]:
        return sorted((j for j in self.ws.all(Job) if j.state == "queued" and not j.owner), key=lambda j: j.created)

    def claim(self) -> None:
        from .kinds import KINDS

        self.heavy &= set(self.executor.unfinished())
        for job in self.queued():
            kind = KINDS.get(job.kind)
            heavy = kind.heavy if kind is not None else False
            if heavy and self.heavy:
                continue  # one heavy job at a time; it waits, still queued, where every client sees it
            with self.ws.locked():
                fresh = self.ws.maybe(Job, job.id)
                if fresh is None or fresh.state != "queued" or fresh.owner:
                    continue  # cancelled meanwhile
                self.ws.update(fresh, owner=self.token, pid=os.getpid())
            log.info("job %s (%s) claimed", fresh.id, fresh.kind)
            if heavy:
                self.heavy.add(fresh.id)
            self.executor.start(fresh, _body(kind, fresh), heavy=False)

    def watch_cancels(self) -> None:
        for job_id in set(self.executor.unfinished()) - self.cancelled:
            if cancel_path(self.ws, job_id).exists() and self.executor.cancel(job_id):
                self.cancelled.add(job_id)
                log.info("job %s: cancel asked for", job_id)

    def serve(self) -> None:
        idle_since = time.monotonic()
        while True:
            if self.stopping.is_set():
                for job_id in self.executor.unfinished():
                    self.executor.cancel(job_id)
            self.watch_cancels()
            if not self.stopping.is_set() and self.should_claim():
                self._last_claim = time.monotonic()
                self._claimed_with = set(self.executor.unfinished())
                self.claim()
            busy = self.executor.unfinished()
            if busy:
                idle_since = time.monotonic()
            elif self.stopping.is_set() or (time.monotonic() - idle_since > idle_seconds() and self.may_exit()):
                return
            time.sleep(POLL_S)

    def should_claim(self) -> bool:
        """A job was queued (the bell), one ended (a heavy slot may be free),
        or, as a fallback for clients that queue without ringing, a while passed:
        2 s when idle, 30 s while a heavy job measures."""
        try:
            bell = doorbell_path(self.ws).read_text()
        except OSError:
            bell = ""
        if bell != self._bell:
            self._bell = bell
            return True
        if not set(self.executor.unfinished()) >= self._claimed_with:
            return True
        return time.monotonic() - self._last_claim > (CLAIM_BUSY_S if self.heavy else CLAIM_IDLE_S)

    def may_exit(self) -> bool:
        """Exit only when no job was queued meanwhile. Clients add a job
        before they look for a runner, both under the start lock, so a job is
        either seen here or finds no runner and starts a new one."""
        with file_lock(start_lock_path(self.ws)):
            if self.queued():
                return False
            release(self.ws, self.token)
            return True

    def drain(self, timeout: float = 30.0) -> None:
        for job_id in self.executor.unfinished():
            self.executor.wait(job_id, timeout=timeout)


def _body(kind, job: Job):
    if kind is None:
        def unknown(_ctx):
            raise BadInput(f"this owb knows no job kind {job.kind!r}; a newer owb queued it")

        return unknown
    return lambda ctx: kind.run(ctx, dict(job.params))


_lock = None


def release(ws: Workspace, token: str) -> None:
    """Remove our pid file and let go of the runner lock."""
    if runner_token(ws) == token:
        pid_path(ws).unlink(missing_ok=True)
    if _lock is not None and _lock.is_locked:
        _lock.release(force=True)


def main(argv: list[str] | None = None) -> int:
    global _lock
    from filelock import Timeout

    argv = sys.argv[1:] if argv is None else argv
    logging.basicConfig(stream=sys.stderr, level=logging.INFO,
                        format=f"%(asctime)s runner[{os.getpid()}] %(levelname)s %(message)s")
    ws = Workspace(argv[0])
    _lock = file_lock(lock_path(ws))
    try:
        _lock.acquire(timeout=0)
    except Timeout:
        log.info("another runner serves %s; exiting", ws.home)
        return 0
    token = process_token()
    atomic_write_bytes(pid_path(ws), json.dumps({"pid": os.getpid(), "token": token, "idle_s": idle_seconds(),
                                                 "python": sys.executable, "home": str(ws.home)}).encode())
    log.info("serving %s (idle timeout %g s)", ws.home, idle_seconds())
    runner = Runner(ws)

    def stop(signum, _frame):
        log.info("signal %d: cancelling running jobs and exiting", signum)
        runner.stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # no terminal is ours; a stray hangup must not end jobs
    try:
        runner.serve()
        runner.drain()
    finally:
        release(ws, token)
        log.info("exiting")
    return 0


if __name__ == "__main__":
    # Run the module's own copy: executed as __main__ it would be a second
    # module, with a second lock global, beside engine.jobs.runner.
    from engine.jobs.runner import main as runner_main

    sys.exit(runner_main())
