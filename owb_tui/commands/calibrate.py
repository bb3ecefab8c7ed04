"""`owb calibrate` (the Optimize INT8 page as a command) and `owb jobs`."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .targets import add_target_flag, run_on_target
from .common import (OwbArgumentParser, add_command, add_infer_precision, cli_table, emit, number, positive_int,
                     styled, workspace)


def _names(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def register(sub: Any) -> None:
    p = add_command(sub, "calibrate", "optimize a model to INT8 with NNCF (a child model is created)", cmd_calibrate)
    p.add_argument("model", help="FP32 model name or id")
    p.add_argument("--dataset", required=True, help="the project's dataset (validation for AccuracyAware)")
    p.add_argument("--calibration-dataset", help="a separate dataset for statistics (default: --dataset)")
    p.add_argument("--method", choices=("default", "accuracy-aware", "speed-aware"), default="default",
                   help="speed-aware keeps in floating point the quantizer groups INT8 makes slower on this CPU")
    p.add_argument("--preset", choices=("performance", "mixed"), default="performance")
    p.add_argument("--subset", type=number, default=100.0, metavar="PCT", help="percent of the calibration images (default 100)")
    p.add_argument("--max-drop", type=number, default=0.5, metavar="PP",
                   help="accuracy-/speed-aware: max drop (default 0.5); on unannotated data, the drop in "
                        "agreement with the parent (100%% for the parent)")
    p.add_argument("--search-time", type=number, default=600.0, metavar="S",
                   help="speed-aware: seconds the search may take (default 600)")
    p.add_argument("--search-run-time", type=number, default=1.0, metavar="S",
                   help="speed-aware: seconds of each interleaved benchmark run in the search (default 1)")
    p.add_argument("--drop-type", choices=("absolute", "relative"), default="absolute")
    p.add_argument("--ranking-subset", type=positive_int, metavar="N", help="AccuracyAware: images used to rank layers")
    p.add_argument("--no-fast-bias-correction", action="store_true")
    p.add_argument("--ignore-types", type=_names, default=[], metavar="T1,T2", help="op types kept in FP32")
    p.add_argument("--ignore-names", type=_names, default=[], metavar="N1,N2", help="op names kept in FP32")
    p.add_argument("--ignore-patterns", type=_names, default=[], metavar="RE1,RE2", help="op name regexes kept in FP32")
    p.add_argument("--name", help="name of the INT8 child model")
    p.add_argument("--bench-time", type=number, default=10.0, metavar="S",
                   help="seconds of benchmarking shared by parent and child afterwards; 0 skips it")
    p.add_argument("--rounds", type=positive_int, default=3, metavar="N",
                   help="interleaved parent/child rounds the benchmark time is split into (default 3)")
    add_infer_precision(p, what="benchmark after calibration (where auto means bf16, f32 is measured too)")
    p.add_argument("--fail-on-drop", type=number, metavar="PP", help="exit 3 when the measured accuracy drop exceeds PP points")
    add_target_flag(p)

    group = sub.add_parser("jobs", help="list jobs; `owb jobs log ID` prints a job's log",
                           parents=[_common()])
    group.set_defaults(func=cmd_jobs)
    jsub = group.add_subparsers(dest="jobs_command", metavar="ACTION", parser_class=OwbArgumentParser)
    p = add_command(jsub, "log", "print a job's whole log", cmd_job_log)
    p.add_argument("job", help="job id")
    p = add_command(jsub, "retry", "run a failed, cancelled or interrupted calibration again", cmd_job_retry)
    p.add_argument("job", help="job id")


def _common() -> argparse.ArgumentParser:
    from .common import common_options

    return common_options()


def cmd_calibrate(args: argparse.Namespace) -> int:
    from engine import limits
    from engine.calibration import Calibration, CalibrationSpec

    ws = workspace(args)
    spec = CalibrationSpec(
        model=args.model, dataset=args.dataset, calibration_dataset=args.calibration_dataset, method=args.method,
        preset=args.preset, subset_pct=args.subset, max_drop=args.max_drop, drop_type=args.drop_type,
        ranking_subset=args.ranking_subset, fast_bias_correction=not args.no_fast_bias_correction,
        ignore_types=args.ignore_types, ignore_names=args.ignore_names, ignore_patterns=args.ignore_patterns,
        name=args.name, search_time=args.search_time, search_run_time=args.search_run_time)
    limits.seconds(args.bench_time, "--bench-time", zero_ok=True)
    if args.fail_on_drop is not None:
        limits.finite(args.fail_on_drop, "--fail-on-drop", low=0)
    check = Calibration(ws, spec, ctx=None)  # refuse bad settings before a job exists
    spec.model, spec.dataset = check.parent.id, check.dataset.id
    spec.calibration_dataset = check.cal_dataset.id if args.calibration_dataset else None
    return _calibrate(args, ws, spec, args.bench_time, args.fail_on_drop, args.infer_precision, args.rounds)


def _calibrate(args: argparse.Namespace, ws: Any, spec: Any, bench_time: float, fail_on_drop: float | None,
               infer_precision: str = "auto", rounds: int = 3) -> int:
    from engine.jobs import JobRunner
    from engine.optimize import run_optimize
    from engine.records import Model

    parent = ws.get(Model, spec.model)
    if getattr(args, "target", None):
        from dataclasses import asdict

        params = {"kind": "calibrate", "model": spec.model, "dataset": spec.dataset, "calibration": asdict(spec),
                  "bench_time": bench_time, "fail_on_drop": fail_on_drop, "infer_precision": infer_precision,
                  "rounds": rounds}
        return _report(args, run_on_target(args, ws, params, f"calibrate {parent.name}"), fail_on_drop)
    runner = JobRunner(ws)
    job = run_foreground(args, runner, "calibrate",
                         lambda ctx: run_optimize(ctx, spec, bench_time=bench_time, infer_precision=infer_precision,
                                                  rounds=rounds),
                         params={**spec.__dict__, "bench_time": bench_time, "fail_on_drop": fail_on_drop,
                                 "infer_precision": infer_precision, "rounds": rounds},
                         name=f"calibrate {parent.name}")
    if job.state != "done":
        from engine.terminal_text import printable

        print(f"error: calibration {job.state}: {printable(job.error)} (log: owb jobs log {job.id})", file=sys.stderr)
        return job.exit_code or 1
    return _report(args, {"job": job.id, **job.result}, fail_on_drop)


def _report(args: argparse.Namespace, result: dict, fail_on_drop: float | None) -> int:
    emit(args, result, lambda c: render_result(c, result))
    drop = (result.get("accuracy") or result.get("agreement") or {}).get("drop")
    if fail_on_drop is not None and drop is not None and drop > fail_on_drop:
        print(f"error: accuracy drop {drop:.2f} pt exceeds --fail-on-drop {fail_on_drop:g}", file=sys.stderr)
        return 3
    return 0


def cmd_job_retry(args: argparse.Namespace) -> int:
    """Run a failed, cancelled or interrupted calibration again with its settings."""
    import dataclasses

    from engine.calibration import Calibration, CalibrationSpec
    from engine.errors import BadInput
    from engine.jobs import mark_interrupted
    from engine.records import Job

    ws = workspace(args)
    mark_interrupted(ws)
    job = ws.get(Job, args.job)
    if job.kind != "calibrate" and not job.params.get("target"):
        raise BadInput(f"job {job.id} is a {job.kind} job; only calibrations and jobs on targets can be retried")
    if job.state not in ("failed", "cancelled", "interrupted"):
        raise BadInput(f"job {job.id} is {job.state}; only failed, cancelled or interrupted jobs can be retried")
    if job.params.get("target"):  # the same remote job again; its assets are cached there already
        args.target = job.params["target"]
        result = run_on_target(args, ws, job.params, job.name.rsplit(" on ", 1)[0])
        if job.kind == "calibrate":
            return _report(args, result, job.params.get("fail_on_drop"))
        return emit(args, result, lambda c: c.print(f"{job.kind} on target {result['target']}: done, job {result['job']}"))
    fields = {f.name for f in dataclasses.fields(CalibrationSpec)}
    spec = CalibrationSpec(**{k: v for k, v in job.params.items() if k in fields})
    Calibration(ws, spec, ctx=None)
    return _calibrate(args, ws, spec, float(job.params.get("bench_time", 10.0)), job.params.get("fail_on_drop"),
                      job.params.get("infer_precision", "auto"), int(job.params.get("rounds", 3)))


def run_foreground(args: argparse.Namespace, runner: Any, kind: str, fn: Any, **kw: Any) -> Any:
    """Run a job while showing its progress; Ctrl+C cancels it cleanly."""
    bar = None
    if not args.json and sys.stderr.isatty():
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        from .common import console

        bar = Progress(TextColumn("{task.description}", markup=False), BarColumn(), MofNCompleteColumn(),
                       TimeRemainingColumn(), console=console(stderr=True), transient=True)
        task = bar.add_task("starting", total=None)
        runner.subscribe(lambda e: bar.update(task, description=e.stage or e.state, completed=e.step,
                                              total=e.total or None))
        bar.start()
    job = runner.submit(kind, fn, **kw)
    try:
        while True:
            try:
                return runner.wait(job.id)
            except KeyboardInterrupt:
                print("cancelling… (waiting for the current step to stop)", file=sys.stderr)
                runner.cancel(job.id)
    finally:
        if bar is not None:
            bar.stop()


def render_result(c: Any, r: dict) -> None:
    from engine.metrics import accuracy_change

    c.print(styled((r["model"], "bold"), f" ({r['id']}): INT8 child of {r['parent']} — {r['method']}/{r['preset']}, "
            f"{r['subset_images']} calibration images, {r['seconds']:.1f} s"))
    if r.get("keep_parent"):
        c.print(styled(("KEEP THE PARENT", "bold yellow"), f": {r['verdict']}; this child is kept for its search "
                       "trace, not as a speed-up"))
    acc = r.get("accuracy")
    if acc:
        c.print(f"accuracy: parent {acc['parent'] * 100:.2f}%, child {acc['child'] * 100:.2f}% "
                f"({accuracy_change(acc['drop'])})")
    agree = r.get("agreement")
    if agree and agree.get("value") is not None:
        c.print(f"agreement with the parent ({agree['metric']}, no labels): {agree['value'] * 100:.2f}% "
                f"({accuracy_change(agree['drop'])})")
    if r.get("speed_aware"):
        render_search(c, r["speed_aware"])
    fps = r.get("throughput_fps")
    if fps:
        from engine.measure.protocol import spread_text

        for precision, f in fps.get("by_precision", {"": fps}).items():
            word = "faster" if f["ratio"] and f["ratio"] >= 1 else "slower"
            spread = f.get("ratio_spread")
            within = f" ({spread_text(spread, '{:.2f}')} paired)" if spread else ""
            ran = f" in {precision}" if precision else ""
            c.print(f"throughput{ran}: parent {f['parent']:.1f} FPS, child {f['child']:.1f} FPS → "
                    f"{f['ratio']:.2f}×{within} ({word}; medians of {len(f['runs']['child'])} interleaved runs)")
        c.print(styled((f"throughput hint, {fps['seconds_per_run']} s per run, on {fps['cpu']}", "dim")))
    size = r["size_bytes"]
    c.print(f"size: {size['parent'] / 1e6:.2f} MB → {size['child'] / 1e6:.2f} MB")
    if r["fp32_ops"]:
        shown = ", ".join(r["fp32_ops"][:8]) + (" …" if len(r["fp32_ops"]) > 8 else "")
        c.print(f"{len(r['fp32_ops'])} compute ops run in FP32: {shown}")


def render_search(c: Any, s: dict) -> None:
    from rich.table import Table

    from engine.quantize.trace import CANDIDATE_COLUMNS, GROUP_COLUMNS, candidate_rows, group_rows, summary

    c.print(summary(s), markup=False)
    for columns, rows in ((CANDIDATE_COLUMNS, candidate_rows(s)), (GROUP_COLUMNS, group_rows(s))):
        if rows:
            t = Table(*columns, box=None)
            for r in rows:
                t.add_row(*(styled(x) for x in r))
            c.print(t)


def cmd_jobs(args: argparse.Namespace) -> int:

    from engine.jobs import mark_interrupted
    from engine.records import Job

    ws = workspace(args)
    mark_interrupted(ws)
    jobs = sorted(ws.all(Job), key=lambda j: j.created)
    data = [{k: v for k, v in j.to_dict().items() if k != "result"} | {"result": j.result} for j in jobs]

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
    from engine.terminal_text import printable

    # a log quotes names and NNCF's messages: each line printed literally
    lines = [printable(line) + "\n" for line in text.splitlines()] if text else [f"job {job.id} has no log\n"]
    sys.stdout.write("".join(lines))
    return 0
