"""`owb jobs [log|follow|cancel|retry]`, and how every long command runs: as
a job of the workspace's runner, followed in the foreground with a progress
bar (Ctrl+C cancels it), or left to run with --detach."""

from __future__ import annotations

import argparse
import sys
from typing import Any, Callable

from .common import OwbArgumentParser, add_command, cli_table, common_options, emit, workspace

# How `owb jobs follow` prints a finished job: the command's own renderer.
RENDERERS: dict[str, tuple[str, str]] = {
    "calibrate": ("calibrate", "render_result"),
    "benchmark": ("perf", "render_benchmark"),
    "explore": ("perf", "render_explore"),
    "layers": ("perf", "render_layers"),
    "accuracy": ("accuracy", "render_accuracy"),
    "compare": ("compare", "render_compare"),
    "export": ("export", "render_export"),
    "report": ("reports", "render_report_job"),
    "dataset-import": ("datasets", "render_import_job"),
}


def register(sub: Any) -> None:
    group = sub.add_parser("jobs", help="list jobs (every client's); log, follow, cancel or retry one",
                           description="list jobs: queued, running and ended, from the TUI and the CLI alike",
                           parents=[common_options()])
    group.set_defaults(func=cmd_jobs)
    jsub = group.add_subparsers(dest="jobs_command", metavar="ACTION", parser_class=OwbArgumentParser)
    p = add_command(jsub, "log", "print a job's whole log", cmd_job_log)
    p.add_argument("job", help="job id")
    p = add_command(jsub, "follow", "show a job's progress until it ends, then its result", cmd_job_follow)
    p.add_argument("job", help="job id")
    p = add_command(jsub, "cancel", "cancel a queued or running job", cmd_job_cancel)
    p.add_argument("job", help="job id")
    p = add_command(jsub, "retry", "run a failed, cancelled or interrupted job again with its settings "
                    "(a calibration resumes where it stopped)", cmd_job_retry)
    p.add_argument("job", help="job id")
    add_detach(p)


def add_detach(p: argparse.ArgumentParser) -> None:
    p.add_argument("--detach", action="store_true",
                   help="queue the job and return at once with its id (`owb jobs follow ID` re-attaches)")


def run_job(args: argparse.Namespace, kind: str, params: dict, say: str = "") -> dict | int:
    """Submit a job of ``kind``; with --detach return 0 at once, else follow it.
    Returns the job's result, or the exit code to return. ``say`` is one line
    printed once the settings are accepted, not a spinner: a refreshing display
    would take CPU from what a job measures."""
    from engine.jobs import client

    ws = workspace(args)
    job = client.submit(ws, kind, params)
    if say and not getattr(args, "detach", False):
        from .common import say as say_line

        say_line(args, say)
    return finish(args, ws, job)


def finish(args: argparse.Namespace, ws: Any, job: Any) -> dict | int:
    if getattr(args, "detach", False):
        data = {"job": job.id, "kind": job.kind, "name": job.name, "state": job.state}
        return emit(args, data, lambda c: c.print(f"job {job.id} queued: {job.name}\n"
                                                  f"follow it with `owb jobs follow {job.id}`, "
                                                  f"cancel it with `owb jobs cancel {job.id}`"))
    job = follow(args, ws, job.id)
    if job.state != "done":
        return failed(job)
    from engine.jobs import job_result

    from .targets import upload_note

    result = job_result(ws, job)
    upload_note(args, result)
    return {"job": job.id, **result} if job.kind == "calibrate" else result


def failed(job: Any) -> int:
    if job.state == "cancelled":
        print(f"error: job {job.id} cancelled", file=sys.stderr)
        return job.exit_code or 130
    where = f" (log: owb jobs log {job.id})" if job.exit_code != 2 else ""
    print(f"error: {job.error or job.state}{where}", file=sys.stderr)
    return job.exit_code or 1


def follow(args: argparse.Namespace, ws: Any, job_id: str) -> Any:
    """Follow a job to its end with a progress bar on stderr; Ctrl+C cancels it."""
    from engine.errors import BadInput
    from engine.jobs import client

    bar, update = _bar(args)
    try:
        while True:
            try:
                return client.wait(ws, job_id, update)
            except KeyboardInterrupt:
                print("cancelling… (the job stops at its next step)", file=sys.stderr)
                try:
                    client.cancel(ws, job_id)
                except BadInput:  # it ended meanwhile
                    pass
    finally:
        if bar is not None:
            bar.stop()


def _bar(args: argparse.Namespace) -> tuple[Any, Callable[[Any], None] | None]:
    if args.json or not sys.stderr.isatty():
        return None, None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from .common import console

    bar = Progress(TextColumn("{task.description}", markup=False), BarColumn(), MofNCompleteColumn(),
                   TimeRemainingColumn(), console=console(stderr=True), transient=True)
    task = bar.add_task("queued", total=None)
    bar.start()
    return bar, lambda e: bar.update(task, description=e.stage or e.state, completed=e.step,
                                     total=e.total or None)


def cmd_jobs(args: argparse.Namespace) -> int:
    from engine.jobs import client
    from engine.records import Job

    ws = workspace(args)
    client.active(ws)  # marks the jobs of dead runners interrupted first
    jobs = sorted(ws.all(Job), key=lambda j: j.created)
    data = [j.to_dict() for j in jobs]

    def render(c: Any) -> None:
        t = cli_table("id", "job", "state", "stage", "progress", "error", key=1)
        for j in jobs:
            prog = f"{j.step}/{j.total}" if j.total else ""
            t.add_row(j.id, j.name, j.state, j.stage, prog, j.error)
        c.print(t if jobs else "no jobs yet")

    return emit(args, data, render)


def cmd_job_log(args: argparse.Namespace) -> int:
    from engine.jobs import read_log
    from engine.records import Job

    ws = workspace(args)
    job = ws.get(Job, args.job)
    text = read_log(ws, job)
    if args.json:
        return emit(args, {"id": job.id, "state": job.state, "error": job.error, "log": text}, lambda c: None)
    sys.stdout.write(text or f"job {job.id} has no log\n")
    return 0


def cmd_job_follow(args: argparse.Namespace) -> int:
    from engine.records import Job

    ws = workspace(args)
    job = ws.get(Job, args.job)
    return show(args, ws, job)


def show(args: argparse.Namespace, ws: Any, job: Any) -> int:
    """Follow ``job`` (unless detached) and print its result as its command would."""
    from importlib import import_module

    out = finish(args, ws, job)
    if isinstance(out, int):
        return out
    if job.kind == "calibrate":  # printed, and held against --fail-on-drop, as `owb calibrate` does
        from .calibrate import _report

        return _report(args, out, job.params.get("fail_on_drop"))
    module, name = RENDERERS[job.kind]
    return emit(args, out, lambda c: getattr(import_module(f"owb_tui.commands.{module}"), name)(c, out))


def cmd_job_cancel(args: argparse.Namespace) -> int:
    import time

    from engine.jobs import FINAL, client
    from engine.records import Job

    ws = workspace(args)
    job = client.cancel(ws, args.job)
    deadline = time.monotonic() + 30
    while job.state not in FINAL and time.monotonic() < deadline:
        time.sleep(0.1)
        job = ws.get(Job, job.id)
    if job.state not in FINAL:
        print(f"error: job {job.id} was asked to stop but still runs after 30 s; see `owb jobs log {job.id}`",
              file=sys.stderr)
        return 1
    return emit(args, {"job": job.id, "state": job.state},
                lambda c: c.print(f"job {job.id} {job.state}: {job.name}"))


def runner_job(job: Any) -> bool:
    """Whether the workspace's runner can run ``job`` again: every job but a
    remote one that an older owb ran in the command's own process, whose
    settings are nested only (the runner's own remote jobs carry them flat too)."""
    p = job.params
    return not (("calibration" in p and "method" not in p) or ("explore" in p and "batches" not in p)
                or ("layers" in p and "hint" not in p))


def cmd_job_retry(args: argparse.Namespace) -> int:
    from engine.errors import BadInput
    from engine.jobs import client
    from engine.records import Job

    ws = workspace(args)
    old = ws.get(Job, args.job)
    if old.params.get("target") and not runner_job(old):  # ran in the command's own process (owb < 0.2)
        if old.state not in client.RETRYABLE:
            raise BadInput(f"job {old.id} is {old.state}; only failed, cancelled or interrupted jobs can be retried")
        from .calibrate import retry_on_target

        return retry_on_target(args, ws, old)
    return show(args, ws, client.retry(ws, args.job))
