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


STAGES = ("accuracy", "benchmark")  # what the job still owes a child after calibration, in order


def unfinished_stages(model: Model) -> list[str]:
    """The stages an interrupted optimize job left undone on ``model``
    (empty for a complete model); a retry runs them, or the model is removed."""
    pending = (model.provenance or {}).get("pending") or []
    return [s for s in STAGES if s in pending]


def resumable_child(ws: Any, jobs: list[str]) -> Model | None:
    """The child an earlier attempt of this job saved (its provenance names the job)."""
    if not jobs:
        return None
    found = [m for m in ws.all(Model) if (m.provenance or {}).get("job") in jobs and m.precision == "INT8"]
    return max(found, key=lambda m: m.created) if found else None


def run_optimize(ctx: Any, spec: CalibrationSpec, *, bench_time: float = 10.0, measure: bool = True,
                 resume_jobs: list[str] | tuple = ()) -> dict:
    """Job body: returns the `owb calibrate` JSON document.

    The child carries, from the moment it is saved, the id of this job and the
    stages still owed to it. A retry (``resume_jobs``: the attempts before)
    that finds that child runs only what it lacks, so nothing is calibrated
    twice and no duplicate model appears."""
    calibration = Calibration(ctx.ws, spec, ctx)
    parent, dataset = calibration.parent, calibration.dataset
    child = resumable_child(ctx.ws, list(resume_jobs))
    if child is None:
        wanted = {"accuracy": measure and dataset.annotated and parent.config.task != "generic",
                  "benchmark": measure and bench_time > 0}
        calibration.marks = {"job": ctx.job.id, "pending": [s for s in STAGES if wanted[s]]}
        child = calibration.run()
    else:
        ctx.log.info("resuming: %s was calibrated by job %s; still to do: %s", child.name,
                     child.provenance.get("job"), ", ".join(unfinished_stages(child)) or "nothing")
        ctx.ws.update(child, provenance={**child.provenance, "job": ctx.job.id})
    post = dict(child.provenance.get("post") or {})

    def finished(stage: str, key: str, value: dict) -> None:
        post[key] = value
        pending = [s for s in unfinished_stages(child) if s != stage]
        ctx.ws.update(child, provenance={**child.provenance, "post": dict(post), "pending": pending})

    if "accuracy" in unfinished_stages(child):
        a_parent = _accuracy(ctx, parent, dataset, "accuracy parent")
        a_child = _accuracy(ctx, child, dataset, "accuracy child")
        finished("accuracy", "accuracy", {"parent": a_parent, "child": a_child,
                                          "drop": round((a_parent - a_child) * 100, 3),
                                          "unit": "drop in percentage points"})
    if "benchmark" in unfinished_stages(child):
        finished("benchmark", "throughput_fps", compare_speed(ctx, parent, child, bench_time))
    prov = child.provenance
    return {
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
        **{k: post[k] for k in ("accuracy", "throughput_fps") if k in post},
    }
