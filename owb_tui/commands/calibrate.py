"""`owb calibrate`: the Optimize INT8 page as a command, run as a job of the
workspace's runner (or, with --target, on a remote target)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .targets import add_target_flag, run_on_target, target_param
from .common import add_command, add_infer_precision, emit, number, positive_int, styled
from .jobs import add_detach, run_job


def _names(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def register(sub: Any) -> None:
    from engine.choices import (CALIBRATION_METHODS, DROP_TYPES, MAX_DROP, PAIR_TIME_S, PRESETS, ROUNDS,
                                SEARCH_RUN_TIME_S, SEARCH_TIME_S, SUBSET_PCT)

    p = add_command(sub, "calibrate", "optimize a model to INT8 with NNCF (a child model is created)", cmd_calibrate)
    p.add_argument("model", help="FP32 model name or id")
    p.add_argument("--dataset", required=True, help="the project's dataset (validation for AccuracyAware)")
    p.add_argument("--calibration-dataset", help="a separate dataset for statistics (default: --dataset)")
    p.add_argument("--method", choices=CALIBRATION_METHODS, default=CALIBRATION_METHODS[0],
                   help="speed-aware keeps in floating point the quantizer groups INT8 makes slower on this CPU")
    p.add_argument("--preset", choices=PRESETS, default=PRESETS[0])
    p.add_argument("--subset", type=number, default=SUBSET_PCT, metavar="PCT",
                   help=f"percent of the calibration images (default {SUBSET_PCT:g})")
    p.add_argument("--max-drop", type=number, default=MAX_DROP, metavar="PP",
                   help=f"accuracy-/speed-aware: max drop (default {MAX_DROP:g}); on unannotated data, the drop in "
                        "agreement with the parent (100%% for the parent)")
    p.add_argument("--search-time", type=number, default=SEARCH_TIME_S, metavar="S",
                   help=f"speed-aware: seconds the search may take (default {SEARCH_TIME_S:g})")
    p.add_argument("--search-run-time", type=number, default=SEARCH_RUN_TIME_S, metavar="S",
                   help=f"speed-aware: seconds of each interleaved benchmark run in the search (default {SEARCH_RUN_TIME_S:g})")
    p.add_argument("--drop-type", choices=DROP_TYPES, default=DROP_TYPES[0])
    p.add_argument("--ranking-subset", type=positive_int, metavar="N", help="AccuracyAware: images used to rank layers")
    p.add_argument("--no-fast-bias-correction", action="store_true")
    p.add_argument("--ignore-types", type=_names, default=[], metavar="T1,T2", help="op types kept in FP32")
    p.add_argument("--ignore-names", type=_names, default=[], metavar="N1,N2", help="op names kept in FP32")
    p.add_argument("--ignore-patterns", type=_names, default=[], metavar="RE1,RE2", help="op name regexes kept in FP32")
    p.add_argument("--name", help="name of the INT8 child model")
    p.add_argument("--bench-time", type=number, default=PAIR_TIME_S, metavar="S",
                   help="seconds of benchmarking shared by parent and child afterwards; 0 skips it")
    p.add_argument("--rounds", type=positive_int, default=ROUNDS, metavar="N",
                   help=f"interleaved parent/child rounds the benchmark time is split into (default {ROUNDS})")
    add_infer_precision(p, what="benchmark after calibration (where auto means bf16, f32 is measured too)")
    p.add_argument("--fail-on-drop", type=number, metavar="PP", help="exit 3 when the measured accuracy drop exceeds PP points")
    add_target_flag(p)

    add_detach(p)


def cmd_calibrate(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from engine import limits
    from engine.calibration import CalibrationSpec

    spec = CalibrationSpec(
        model=args.model, dataset=args.dataset, calibration_dataset=args.calibration_dataset, method=args.method,
        preset=args.preset, subset_pct=args.subset, max_drop=args.max_drop, drop_type=args.drop_type,
        ranking_subset=args.ranking_subset, fast_bias_correction=not args.no_fast_bias_correction,
        ignore_types=args.ignore_types, ignore_names=args.ignore_names, ignore_patterns=args.ignore_patterns,
        name=args.name, search_time=args.search_time, search_run_time=args.search_run_time)
    limits.seconds(args.bench_time, "--bench-time", zero_ok=True)
    if args.fail_on_drop is not None:
        limits.finite(args.fail_on_drop, "--fail-on-drop", low=0)
    # a job of the workspace's runner (engine.jobs.kinds), with --target too
    result = run_job(args, "calibrate", {**asdict(spec), "bench_time": args.bench_time,
                                         "fail_on_drop": args.fail_on_drop, "infer_precision": args.infer_precision,
                                         "rounds": args.rounds, **target_param(args)})
    return result if isinstance(result, int) else _report(args, result, args.fail_on_drop)


def _report(args: argparse.Namespace, result: dict, fail_on_drop: float | None) -> int:
    emit(args, result, lambda c: render_result(c, result))
    drop = (result.get("accuracy") or result.get("agreement") or {}).get("drop")
    if fail_on_drop is not None and drop is not None and drop > fail_on_drop:
        print(f"error: accuracy drop {drop:.2f} pt exceeds --fail-on-drop {fail_on_drop:g}", file=sys.stderr)
        return 3
    return 0


def retry_on_target(args: argparse.Namespace, ws: Any, job: Any) -> int:
    """The same remote job again; its assets are cached there already."""
    args.target = job.params["target"]
    result = run_on_target(args, ws, job.params, job.name.rsplit(" on ", 1)[0])
    if job.kind == "calibrate":
        return _report(args, result, job.params.get("fail_on_drop"))
    return emit(args, result, lambda c: c.print(f"{job.kind} on target {result['target']}: done, job {result['job']}"))


def run_foreground(args: argparse.Namespace, runner: Any, kind: str, fn: Any, **kw: Any) -> Any:
    """Run a job in this process while showing its progress; Ctrl+C cancels
    it. Only explore and layers on a remote target, and retries of remote
    jobs, run so (engine.targets); every other job, --target benchmark,
    accuracy and calibrate included, is a job of the workspace's runner
    (owb_tui.commands.jobs), which outlives the terminal."""
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
