"""The "Optimize INT8" flow as one job: calibrate, then, as DL Workbench did,
benchmark the child against its parent and measure both accuracies.

Parent and child are benchmarked interleaved (P, C, P, C) with the same
settings, because single runs on a busy machine swing by ±15–25%; the ratio
is a ratio of medians of what was measured, nothing else."""

from __future__ import annotations

import statistics
from dataclasses import asdict
from typing import Any

from .calibration import Calibration, CalibrationSpec
from .errors import environment_error
from .records import Dataset, Model


def _accuracy(ctx: Any, model: Model, dataset: Dataset, stage: str) -> float:
    from .evaluate import evaluate

    result = evaluate(ctx.ws, model, dataset, cancel=ctx.cancel,
                      progress=lambda d, t: ctx.progress(stage, d, t))
    ctx.log.info("%s: %s = %.4f", stage, result["metric"], result["value"])
    return float(result["value"])


def compare_speed(ctx: Any, parent: Model, child: Model, bench_time: float, rounds: int = 2) -> dict:
    from .benchmark import BenchmarkSettings, run_benchmark

    fps: dict[str, list[float]] = {"parent": [], "child": []}
    precision: dict[str, str] = {}
    per_run = max(bench_time / rounds, 0.2)
    for r in range(rounds):
        for role, model in (("parent", parent), ("child", child)):
            stage = f"benchmark {role} {r + 1}/{rounds} (ms)"
            ctx.progress(stage)
            _, result = run_benchmark(ctx.ws, model, BenchmarkSettings(time_s=per_run), cancel=ctx.cancel,
                                      progress=lambda done, total, stage=stage: ctx.progress(stage, done, total))
            fps[role].append(result["throughput_fps"])
            precision[role] = result.get("inference_precision", "")
            ctx.log.info("%s: %.2f FPS", stage, result["throughput_fps"])
    from .device import cpu_summary

    p, c = statistics.median(fps["parent"]), statistics.median(fps["child"])
    return {"parent": round(p, 2), "child": round(c, 2), "ratio": round(c / p, 3) if p else None,
            "runs": fps, "inference_precision": precision, "seconds_per_run": per_run, "cpu": cpu_summary()}


def run_optimize(ctx: Any, spec: CalibrationSpec, *, bench_time: float = 10.0, measure: bool = True) -> dict:
    """Job body: returns the `owb calibrate` JSON document."""
    try:
        return _optimize(ctx, spec, bench_time, measure)
    except (OSError, RecursionError) as exc:  # a full disk mid-calibration is the machine's, not owb's
        known = environment_error(exc)
        if known is None:
            raise
        raise known from exc


def _optimize(ctx: Any, spec: CalibrationSpec, bench_time: float, measure: bool) -> dict:
    calibration = Calibration(ctx.ws, spec, ctx)
    search = None
    if spec.method == "speed-aware":
        from .quantize.speed_aware import run_speed_aware

        child, search = run_speed_aware(ctx, calibration, bench_time=spec.search_run_time)
    else:
        child = calibration.run()
    parent, dataset = calibration.parent, calibration.dataset
    prov = child.provenance
    out: dict[str, Any] = {
        "model": child.name,
        "id": child.id,
        "parent": parent.name,
        "parent_id": parent.id,
        "method": spec.method,
        "preset": spec.preset,
        "subset_images": prov["subset_images"],
        "seconds": prov["seconds"],
        "fp32_ops": prov["fp32_ops"],
        "reverted_ops": prov["reverted_ops"],
        "size_bytes": {"parent": parent.size_bytes, "child": child.size_bytes},
        "settings": asdict(spec),
    }
    if search is not None:
        out["speed_aware"] = search
        out["keep_parent"] = prov["keep_parent"]
        out["verdict"] = prov["verdict"]
    if measure and calibration.agreement:
        from .quantize.agreement import measure_agreement

        out["agreement"] = measure_agreement(ctx, parent, child, dataset)
    elif measure:
        a_parent = _accuracy(ctx, parent, dataset, "accuracy parent")
        a_child = _accuracy(ctx, child, dataset, "accuracy child")
        out["accuracy"] = {"parent": a_parent, "child": a_child, "drop": round((a_parent - a_child) * 100, 3),
                           "unit": "drop in percentage points"}
    if measure and bench_time > 0:
        out["throughput_fps"] = compare_speed(ctx, parent, child, bench_time)
    post = {k: out[k] for k in ("accuracy", "agreement", "throughput_fps") if k in out}
    ctx.ws.update(child, provenance={**child.provenance, "post": post})
    return out
