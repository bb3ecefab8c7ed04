"""`owb calibrate`: the Optimize INT8 page as a command, run as a job."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .common import add_command, add_infer_precision, emit, number, positive_int, styled
from .jobs import add_detach, run_job


def _names(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def register(sub: Any) -> None:
    p = add_command(sub, "calibrate", "optimize a model to INT8 with NNCF (a child model is created)", cmd_calibrate)
    p.add_argument("model", help="FP32 model name or id")
    p.add_argument("--dataset", required=True, help="the project's dataset (validation for AccuracyAware)")
    p.add_argument("--calibration-dataset", help="a separate dataset for statistics (default: --dataset)")
    p.add_argument("--method", choices=("default", "accuracy-aware"), default="default")
    p.add_argument("--preset", choices=("performance", "mixed"), default="performance")
    p.add_argument("--subset", type=number, default=100.0, metavar="PCT", help="percent of the calibration images (default 100)")
    p.add_argument("--max-drop", type=number, default=0.5, metavar="PP", help="AccuracyAware: max accuracy drop (default 0.5)")
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

    add_detach(p)


def cmd_calibrate(args: argparse.Namespace) -> int:
    params = dict(
        model=args.model, dataset=args.dataset, calibration_dataset=args.calibration_dataset, method=args.method,
        preset=args.preset, subset_pct=args.subset, max_drop=args.max_drop, drop_type=args.drop_type,
        ranking_subset=args.ranking_subset, fast_bias_correction=not args.no_fast_bias_correction,
        ignore_types=args.ignore_types, ignore_names=args.ignore_names, ignore_patterns=args.ignore_patterns,
        name=args.name, bench_time=args.bench_time, fail_on_drop=args.fail_on_drop,
        infer_precision=args.infer_precision, rounds=args.rounds)
    result = run_job(args, "calibrate", params)
    if isinstance(result, int):
        return result
    emit(args, result, lambda c: render_result(c, result))
    return drop_gate(result, args.fail_on_drop)


def drop_gate(result: dict, fail_on_drop: float | None) -> int:
    """Exit 3 when the measured accuracy drop exceeds --fail-on-drop (a CI gate)."""
    drop = (result.get("accuracy") or {}).get("drop")
    if fail_on_drop is not None and drop is not None and drop > fail_on_drop:
        print(f"error: accuracy drop {drop:.2f} pt exceeds --fail-on-drop {fail_on_drop:g}", file=sys.stderr)
        return 3
    return 0


def render_result(c: Any, r: dict) -> None:
    c.print(styled((r["model"], "bold"), f" ({r['id']}): INT8 child of {r['parent']} — {r['method']}/{r['preset']}, "
            f"{r['subset_images']} calibration images, {r['seconds']:.1f} s"))
    acc = r.get("accuracy")
    if acc:
        c.print(f"accuracy: parent {acc['parent'] * 100:.2f}%, child {acc['child'] * 100:.2f}%, drop {acc['drop']:.2f} pt")
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
