"""The "Optimize INT8" flow as one job: calibrate, then, as DL Workbench did,
benchmark the child against its parent and measure both accuracies.

Parent and child are benchmarked interleaved with identical settings
(engine.measure.protocol), because single runs on a busy machine swing by
±15–25%; the ratio is a ratio of medians of what was measured, with the
spread of the per-round ratios. Where ``auto`` runs the parent in bf16, both
bf16 and f32 are measured, so INT8 is seen against BF16 and FP32."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from .calibration import Calibration, CalibrationSpec
from .choices import PAIR_TIME_S, ROUNDS
from .errors import environment_error
from .precision import SPEED_DEFAULT
from .progress import named
from .records import Dataset, Model


def _accuracy(ctx: Any, model: Model, dataset: Dataset, stage: str) -> float:
    from .evaluate import evaluate

    result = evaluate(ctx.ws, model, dataset, cancel=ctx.cancel, progress=named(ctx.progress, stage))
    ctx.log.info("%s: %s = %.4f", stage, result["metric"], result["value"])
    return float(result["value"])


def speed_precisions(infer_precision: str, device: str = "CPU") -> list[str]:
    """The precisions the speed stage measures: the one asked for, and also
    f32 where ``auto`` means bf16, so the user sees whether INT8 beats BF16
    and FP32 alike."""
    from .precision import resolved

    if infer_precision == "auto" and resolved(device, "auto") != "f32":
        return ["auto", "f32"]
    return [infer_precision]


def compare_speed(ctx: Any, parent: Model, child: Model, bench_time: float, rounds: int = ROUNDS, *,
                  infer_precision: str = SPEED_DEFAULT) -> dict:
    """Parent and child interleaved with identical settings, per precision
    (engine.measure.protocol); the first precision is the headline figure."""
    from .device import cpu_summary
    from .measure.benchmark import BenchmarkSettings
    from .measure.protocol import measure_pair, planned_ms

    precisions = speed_precisions(infer_precision)
    per = {}
    span = planned_ms(BenchmarkSettings(), rounds, bench_time)
    for k, precision in enumerate(precisions):
        settings = BenchmarkSettings(infer_precision=precision)
        pair = measure_pair(ctx.ws, parent, child, settings, rounds=rounds, total_time_s=bench_time, cancel=ctx.cancel,
                            progress=lambda stage, d, t, k=k: ctx.progress(f"{stage} (ms)", k * span + d,
                                                                            len(precisions) * span),
                            label=precision)
        ran = pair["settings"]["inference_precision"]
        ctx.log.info("speed in %s: parent %.2f FPS, child %.2f FPS, ratio %s", ran, pair["a"]["throughput_fps"],
                     pair["b"]["throughput_fps"], pair["ratio"])
        per[ran] = {
            "parent": pair["a"]["throughput_fps"], "child": pair["b"]["throughput_fps"],
            "ratio": pair["ratio"]["value"], "ratio_spread": pair["ratio"]["spread"],
            "parent_spread": pair["a"]["throughput_spread"], "child_spread": pair["b"]["throughput_spread"],
            "runs": {"parent": [r["throughput_fps"] for r in pair["a"]["per_run"]],
                     "child": [r["throughput_fps"] for r in pair["b"]["per_run"]]},
            "disturbed_runs": pair["a"]["disturbed_runs"] + pair["b"]["disturbed_runs"],
            "settings": pair["settings"], "requested_precision": precision,
        }
    head = next(iter(per.values()))
    return {**head, "inference_precision": {"parent": head["settings"]["inference_precision"],
                                            "child": head["settings"]["inference_precision"]},
            "seconds_per_run": head["settings"]["seconds_per_run"], "cpu": cpu_summary(), "by_precision": per}


def plan(ctx: Any, calibration: Calibration, spec: CalibrationSpec, bench_time: float, measure: bool,
         infer_precision: str) -> None:
    """Expected seconds per stage, for a job-wide ETA: NNCF's set-up, one
    parent inference per calibration image per pass, both accuracies over the
    dataset, and the benchmark stage's known length."""
    from .measure.protocol import latest_figure

    fig = latest_figure(ctx.ws, calibration.parent, "throughput")
    per_image = (fig["latency_ms"]["median"] / 1000 if fig else 0.02) * 3  # python-side work per image
    n = calibration.cal_dataset.images * spec.subset_pct / 100
    phases = [("preparing", 8.0), ("Statistics", n * per_image), ("Applying", n * per_image / 2)]
    if spec.method == "speed-aware":  # time-boxed: its stages all report as "search · …"
        phases = [("search", spec.search_time)]
    if measure:
        # agreement with the parent (no labels) or both accuracies: two passes over the dataset
        names = ("parent outputs", "agreement child") if calibration.agreement else ("accuracy parent",
                                                                                      "accuracy child")
        phases += [(name, calibration.dataset.images * per_image) for name in names]
    if measure and bench_time > 0:
        phases.append(("benchmark", 2 * bench_time * len(speed_precisions(infer_precision)) * 1.2))
    ctx.plan(phases)


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


def run_optimize(ctx: Any, spec: CalibrationSpec, *, bench_time: float = PAIR_TIME_S, measure: bool = True,
                 infer_precision: str = SPEED_DEFAULT, rounds: int = ROUNDS,
                 resume_jobs: list[str] | tuple = ()) -> dict:
    """Job body: returns the `owb calibrate` JSON document.

    The child carries, from the moment it is saved, the id of this job and the
    stages still owed to it. A retry (``resume_jobs``: the attempts before)
    that finds that child runs only what it lacks, so nothing is calibrated
    twice and no duplicate model appears."""
    try:
        return _optimize(ctx, spec, bench_time, measure, infer_precision, rounds, list(resume_jobs))
    except (OSError, RecursionError) as exc:  # a full disk mid-calibration is the machine's, not owb's
        known = environment_error(exc)
        if known is None:
            raise
        raise known from exc


def _optimize(ctx: Any, spec: CalibrationSpec, bench_time: float, measure: bool, infer_precision: str,
              rounds: int, resume_jobs: list[str]) -> dict:
    calibration = Calibration(ctx.ws, spec, ctx)
    parent, dataset = calibration.parent, calibration.dataset
    search = None
    child = resumable_child(ctx.ws, resume_jobs)
    if child is None:
        if hasattr(ctx, "plan"):
            plan(ctx, calibration, spec, bench_time, measure, infer_precision)
        wanted = {"accuracy": measure, "benchmark": measure and bench_time > 0}
        todo = [s for s in STAGES if wanted[s]]
        job = getattr(ctx, "job", None)  # none on a remote target: its host keeps the job
        calibration.marks = {"job": job.id, "pending": list(todo)} if job is not None else {}
        if spec.method == "speed-aware":
            from .quantize.speed_aware import run_speed_aware

            child, search = run_speed_aware(ctx, calibration, bench_time=spec.search_run_time,
                                            infer_precision=infer_precision)
        else:
            child = calibration.run()
    else:
        ctx.log.info("resuming: %s was calibrated by job %s; still to do: %s", child.name,
                     child.provenance.get("job"), ", ".join(unfinished_stages(child)) or "nothing")
        ctx.ws.update(child, provenance={**child.provenance, "job": ctx.job.id})
        todo = unfinished_stages(child)
    post = dict(child.provenance.get("post") or {})

    def finished(stage: str, key: str, value: dict) -> None:
        post[key] = value
        todo.remove(stage)
        ctx.ws.update(child, provenance={**child.provenance, "post": dict(post), "pending": list(todo)})

    if "accuracy" in todo:
        if calibration.agreement:
            from .quantize.agreement import measure_agreement

            finished("accuracy", "agreement", measure_agreement(ctx, parent, child, dataset))
        else:
            a_parent = _accuracy(ctx, parent, dataset, "accuracy parent")
            a_child = _accuracy(ctx, child, dataset, "accuracy child")
            finished("accuracy", "accuracy", {"parent": a_parent, "child": a_child,
                                              "drop": round((a_parent - a_child) * 100, 3),
                                              "unit": "drop in percentage points"})
    if "benchmark" in todo:
        finished("benchmark", "throughput_fps",
                 compare_speed(ctx, parent, child, bench_time, rounds, infer_precision=infer_precision))
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
    if search is not None or "keep_parent" in prov:  # a speed-aware child (resumed: its search is in its provenance)
        out["speed_aware"] = search if search is not None else prov.get("speed_aware")
        out["keep_parent"] = prov["keep_parent"]
        out["verdict"] = prov["verdict"]
    out.update({k: post[k] for k in ("accuracy", "agreement", "throughput_fps") if k in post})
    return out
