"""Every long command as a job kind, defined once for the CLI and the TUI.

A kind has two halves. ``prepare(ws, params)`` runs in the client before a
job exists: it refuses bad settings (BadInput, one line), resolves names to
ids and paths to absolute ones (the runner works in another folder), and
returns the params as stored plus the job's title. ``run(ctx, params)`` runs
in the runner and returns the JSON document the CLI prints. Both sides import
the heavy engine modules only when called, so the runner starts quickly.

Each params dict carries ``model``, the id of the model the job works on, so
screens can show which models are busy."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Callable

from ..choices import COMPARE_LAYER_RUNS, LAYER_RUNS, PAIR_TIME_S, ROUNDS
from ..errors import BadInput
from ..records import Dataset, Model
from ..workspace import Workspace


@dataclass(frozen=True)
class JobKind:
    name: str
    prepare: Callable[[Workspace, dict], tuple[dict, str]]
    run: Callable[[Any, dict], dict]
    heavy: bool = True  # measures or computes: one at a time, so figures are not disturbed


def get_kind(name: str) -> JobKind:
    try:
        return KINDS[name]
    except KeyError:
        raise BadInput(f"unknown job kind {name!r}; owb knows: {', '.join(sorted(KINDS))}") from None


def _dataset(ws: Workspace, key: str | None) -> Dataset | None:
    return ws.get(Dataset, key) if key else None


# -- calibrate -------------------------------------------------------------------------------

def calibration_spec(params: dict) -> Any:
    from ..quantize.spec import CalibrationSpec

    names = {f.name for f in fields(CalibrationSpec)}
    return CalibrationSpec(**{k: v for k, v in params.items() if k in names})


def calibrate_prepare(ws: Workspace, p: dict) -> tuple[dict, str]:
    from ..calibration import Calibration
    from ..optimize import resumable_child

    from .. import limits
    from ..precision import SPEED_DEFAULT
    from ..precision import validate as validate_precision

    spec = calibration_spec(p)
    bench_time = limits.seconds(p.get("bench_time", PAIR_TIME_S), "--bench-time", zero_ok=True)
    fail_on_drop = p.get("fail_on_drop")
    if fail_on_drop is not None:
        limits.finite(fail_on_drop, "--fail-on-drop", low=0)
    precision = validate_precision(p.get("infer_precision") or SPEED_DEFAULT)
    rounds = limits.count(int(p.get("rounds") or ROUNDS), "--rounds", limits.MAX_RUNS)
    check = Calibration(ws, spec, ctx=None)
    spec.model, spec.dataset = check.parent.id, check.dataset.id
    spec.calibration_dataset = check.cal_dataset.id if spec.calibration_dataset else None
    if fail_on_drop is not None and not check.dataset.annotated:
        raise BadInput("--fail-on-drop needs an annotated --dataset to measure the drop")
    resume = list(p.get("resume_jobs") or [])
    if spec.name and ws.maybe(Model, spec.name) is not None and resumable_child(ws, resume) is None:
        raise BadInput(f"a model named {spec.name!r} already exists; choose another --name")
    return ({**asdict(spec), "bench_time": bench_time, "fail_on_drop": fail_on_drop, "infer_precision": precision,
             "rounds": rounds, "resume_jobs": resume}, f"calibrate {check.parent.name}")


def calibrate_run(ctx: Any, p: dict) -> dict:
    from ..optimize import run_optimize

    return run_optimize(ctx, calibration_spec(p), bench_time=p["bench_time"], infer_precision=p["infer_precision"],
                        rounds=p["rounds"], resume_jobs=p.get("resume_jobs") or [])


# -- speed ------------------------------------------------------------------------------------

def benchmark_prepare(ws: Workspace, p: dict) -> tuple[dict, str]:
    from .. import limits
    from ..measure.benchmark import BenchmarkSettings

    settings = BenchmarkSettings(**p.get("settings", {}))
    settings.validate()
    runs = limits.count(int(p.get("runs") or ROUNDS), "--runs", limits.MAX_RUNS)
    model = ws.get(Model, p["model"])
    dataset = _dataset(ws, p.get("dataset"))
    return ({"model": model.id, "dataset": dataset.id if dataset else None, "settings": asdict(settings),
             "runs": runs}, f"benchmark {model.name}")


def benchmark_run(ctx: Any, p: dict) -> dict:
    from ..measure.benchmark import BenchmarkSettings
    from ..measure.protocol import figure_document, measure_figure

    ctx.progress("compiling")
    settings = BenchmarkSettings(**p["settings"])
    fig = measure_figure(ctx.ws, ctx.ws.get(Model, p["model"]), settings, runs=p["runs"],
                         total_time_s=settings.time_s, dataset=_dataset(ctx.ws, p["dataset"]), cancel=ctx.cancel,
                         progress=lambda stage, done, total: ctx.progress(f"{stage} (ms)", done, total))
    return figure_document(ctx.ws, fig)


def explore_prepare(ws: Workspace, p: dict) -> tuple[dict, str]:
    from .. import limits
    from ..explore import validate_grid
    from ..precision import SPEED_DEFAULT
    from ..precision import validate as validate_precision

    validate_grid(p["batches"], p["streams"], p["time_s"], p.get("latency_limit_ms"))
    precision = p.get("infer_precision") or SPEED_DEFAULT
    validate_precision(precision)
    model = ws.get(Model, p["model"])
    dataset = _dataset(ws, p.get("dataset"))
    runs = limits.count(int(p.get("runs") or 1), "--runs", limits.MAX_RUNS)
    return ({"model": model.id, "batches": list(p["batches"]), "streams": list(p["streams"]),
             "time_s": float(p["time_s"]), "latency_limit_ms": p.get("latency_limit_ms"), "runs": runs,
             "dataset": dataset.id if dataset else None, "infer_precision": precision}, f"explore {model.name}")


def explore_run(ctx: Any, p: dict) -> dict:
    from ..explore import STAGE, run_explore

    ctx.progress(STAGE)
    _, result = run_explore(ctx.ws, ctx.ws.get(Model, p["model"]), p["batches"], p["streams"], time_s=p["time_s"],
                            latency_limit_ms=p["latency_limit_ms"], dataset=_dataset(ctx.ws, p["dataset"]),
                            infer_precision=p["infer_precision"], cancel=ctx.cancel, runs=p.get("runs") or 1,
                            progress=ctx.progress)
    return result


def layers_prepare(ws: Workspace, p: dict) -> tuple[dict, str]:
    from .. import limits
    from ..precision import SPEED_DEFAULT
    from ..precision import validate as validate_precision

    runs_ = limits.count(int(LAYER_RUNS if p.get("runs") is None else p["runs"]), "--runs", limits.MAX_RUNS)
    batch = limits.count(p.get("batch"), "--batch", limits.MAX_BATCH)
    hint = p.get("hint") or "latency"
    if hint not in ("latency", "throughput"):
        raise BadInput(f"unknown hint {hint!r}; layers profile with latency or throughput")
    precision = validate_precision(p.get("infer_precision") or SPEED_DEFAULT)
    model = ws.get(Model, p["model"])
    return ({"model": model.id, "runs": runs_, "batch": batch, "hint": hint, "infer_precision": precision},
            f"layers {model.name}")


def layers_run(ctx: Any, p: dict) -> dict:
    from ..measure.benchmark import BenchmarkSettings
    from ..measure.layers import against_benchmark, layers_for_model
    from ..measure.protocol import latest_figure

    model = ctx.ws.get(Model, p["model"])
    ctx.progress(f"profiling over {p['runs']} inferences")
    settings = BenchmarkSettings(hint=p["hint"], batch=p["batch"], infer_precision=p["infer_precision"])
    table = layers_for_model(ctx.ws, model, runs=p["runs"], settings=settings)
    fig = latest_figure(ctx.ws, model, p["hint"], precision=table["inference_precision"]) if p["batch"] is None \
        else None
    return against_benchmark(table, fig["latency_ms"]["median"] if fig else None)


def compare_prepare(ws: Workspace, p: dict) -> tuple[dict, str]:
    from ..compare import validate
    from ..precision import SPEED_DEFAULT
    from ..precision import validate as validate_precision

    a, b = ws.get(Model, p["a"]), ws.get(Model, p["b"])
    dataset = _dataset(ws, p.get("dataset"))
    bench_time = p.get("bench_time", PAIR_TIME_S)
    layer_runs = int(COMPARE_LAYER_RUNS if p.get("layer_runs") is None else p["layer_runs"])
    rounds = int(p.get("rounds") or ROUNDS)
    from ..records import Target

    target = ws.get(Target, p["target"]) if p.get("target") else None
    target_b = ws.get(Target, p["target_b"]) if p.get("target_b") else None
    validate(a, b, bench_time, layer_runs, rounds, same_place=(target_b or target) == target)
    hint = p.get("hint") or "throughput"
    return ({"model": b.id, "a": a.id, "b": b.id, "dataset": dataset.id if dataset else None,
             "target": target.id if target else None, "target_b": target_b.id if target_b else None,
             "bench_time": float(bench_time), "layer_runs": layer_runs, "rounds": rounds, "hint": hint,
             "infer_precision": validate_precision(p.get("infer_precision") or SPEED_DEFAULT),
             "from_history": bool(p.get("from_history"))}, f"compare {a.name} {b.name}")


def compare_run(ctx: Any, p: dict) -> dict:
    from ..compare import compare as measure

    ctx.progress("starting")
    ws = ctx.ws
    from ..records import Target

    places = {k: ws.get(Target, p[k]) if p.get(k) else None for k in ("target", "target_b")}
    return measure(ws, ws.get(Model, p["a"]), ws.get(Model, p["b"]), dataset=_dataset(ws, p["dataset"]), **places,
                   bench_time=p["bench_time"], layer_runs=p["layer_runs"], cancel=ctx.cancel,
                   infer_precision=p["infer_precision"], hint=p["hint"], rounds=p["rounds"],
                   from_history=p["from_history"],
                   progress=ctx.progress)


# -- accuracy and reports ------------------------------------------------------------------------

def accuracy_prepare(ws: Workspace, p: dict) -> tuple[dict, str]:
    from ..evaluate import check_compatible

    model, dataset = ws.get(Model, p["model"]), ws.get(Dataset, p["dataset"])
    batch = int(1 if p.get("batch") is None else p["batch"])
    if batch < 1:
        raise BadInput(f"--batch must be 1 or more, not {batch}")
    check_compatible(model, dataset)
    from ..precision import ACCURACY
    from ..precision import validate as validate_precision

    precision = validate_precision(p.get("infer_precision") or ACCURACY)
    return ({"model": model.id, "dataset": dataset.id, "batch": batch, "infer_precision": precision},
            f"accuracy {model.name}")


def accuracy_run(ctx: Any, p: dict) -> dict:
    from ..evaluate import evaluate

    model, dataset = ctx.ws.get(Model, p["model"]), ctx.ws.get(Dataset, p["dataset"])
    ctx.progress("compiling")
    result = evaluate(ctx.ws, model, dataset, batch=p["batch"], cancel=ctx.cancel, precision=p["infer_precision"],
                      progress=ctx.progress)
    return {"model": model.name, "dataset": dataset.name, **result}


def report_spec(p: dict) -> Any:
    from ..reports import ReportSpec

    names = {f.name for f in fields(ReportSpec)}
    return ReportSpec(**{k: v for k, v in p.items() if k in names})


def report_prepare(ws: Workspace, p: dict) -> tuple[dict, str]:
    from ..reports import resolve

    spec = report_spec(p)
    model, reference, dataset = resolve(ws, spec)
    spec.model, spec.dataset = model.id, dataset.id
    spec.reference = reference.id if reference else None
    vs = f" vs {reference.name}" if reference else ""
    return {**asdict(spec), "reuse": bool(p.get("reuse", True))}, f"{spec.kind} report {model.name}{vs}"


def report_run(ctx: Any, p: dict) -> dict:
    from ..reports import report_job

    return report_job(ctx, report_spec(p), reuse=p["reuse"])


# -- files in and out -----------------------------------------------------------------------------

def export_prepare(ws: Workspace, p: dict) -> tuple[dict, str]:
    from ..output import output_path

    force = bool(p.get("force"))
    out = output_path(p["out"], force, home=ws.home)  # absolute: the runner works in another folder
    model = ws.get(Model, p["model"])
    return {"model": model.id, "out": str(out), "force": force}, f"export {model.name}"


def export_run(ctx: Any, p: dict) -> dict:
    from ..deploy import export_package

    ctx.progress("packaging")
    return export_package(ctx.ws, ctx.ws.get(Model, p["model"]), p["out"], force=p["force"])


def dataset_import_prepare(ws: Workspace, p: dict) -> tuple[dict, str]:
    from ..datasets import FORMATS

    src = Path(p["path"]).expanduser()
    if not src.exists():
        raise BadInput(f"dataset {src} does not exist")
    fmt = p.get("format") or "auto"
    if fmt != "auto" and fmt not in FORMATS:
        raise BadInput(f"unknown dataset format {fmt!r}; use auto or one of {', '.join(FORMATS)}")
    name = p.get("name")
    if name and ws.maybe(Dataset, name) is not None:
        raise BadInput(f"a dataset named {name!r} already exists; choose another --name")
    return ({"path": str(src.resolve()), "name": name, "format": fmt, "task": p.get("task")},
            f"import dataset {name or src.name}")


def dataset_import_run(ctx: Any, p: dict) -> dict:
    from ..dataset_store import import_dataset

    ctx.progress("reading the archive")
    record = import_dataset(ctx.ws, p["path"], name=p["name"], fmt=p["format"], task=p.get("task"))
    return {"dataset": record.id, "name": record.name, "images": record.images}


TARGET_KINDS = ("calibrate", "benchmark", "accuracy", "explore", "layers")  # compare places its own sides


def on_target(kind: JobKind) -> JobKind:
    """The kind, run on a remote target when its params name one
    (engine.targets): settings are checked here as for a local run, the
    work goes to the target and its results come home tagged with it."""

    def prepare(ws: Workspace, p: dict) -> tuple[dict, str]:
        if not p.get("target"):
            return kind.prepare(ws, p)
        from ..records import Target

        target = ws.get(Target, p["target"])
        params, title = kind.prepare(ws, {k: v for k, v in p.items() if k != "target"})
        if kind.name == "calibrate":
            params = {**params, "calibration": asdict(calibration_spec(params))}
        if "infer_precision" in params and kind.name == "accuracy":
            params["precision"] = params["infer_precision"]
        if kind.name == "explore":  # the target's worker reads the grid as one block
            params["explore"] = {k: params[k] for k in ("batches", "streams", "time_s", "runs", "latency_limit_ms",
                                                        "infer_precision")}
        if kind.name == "layers":
            from ..measure.benchmark import BenchmarkSettings

            settings = BenchmarkSettings(hint=params["hint"], batch=params["batch"],
                                         infer_precision=params["infer_precision"])
            params["layers"] = {"runs": params["runs"], "settings": asdict(settings)}
        return {**params, "kind": kind.name, "target": target.id}, f"{title} on {target.name}"

    def run(ctx: Any, p: dict) -> dict:
        if not p.get("target"):
            return kind.run(ctx, p)
        from ..targets.remote import remote_job

        out = remote_job(ctx, p)
        if kind.name == "accuracy":  # named as accuracy_run names them here (the target's worker says ids)
            out = {**out, "model": ctx.ws.get(Model, p["model"]).name, "dataset": ctx.ws.get(Dataset, p["dataset"]).name}
        if kind.name == "layers" and p.get("batch") is None:  # beside the target's own latest benchmark
            from ..measure.layers import against_benchmark
            from ..measure.protocol import latest_figure

            fig = latest_figure(ctx.ws, ctx.ws.get(Model, p["model"]), p["hint"],
                                precision=out["inference_precision"], target=out.get("target"))
            out = against_benchmark(out, fig["latency_ms"]["median"] if fig else None)
        return out

    return JobKind(kind.name, prepare, run, kind.heavy)


KINDS: dict[str, JobKind] = {k.name: on_target(k) if k.name in TARGET_KINDS else k for k in (
    JobKind("calibrate", calibrate_prepare, calibrate_run),
    JobKind("benchmark", benchmark_prepare, benchmark_run),
    JobKind("explore", explore_prepare, explore_run),
    JobKind("layers", layers_prepare, layers_run),
    JobKind("compare", compare_prepare, compare_run),
    JobKind("accuracy", accuracy_prepare, accuracy_run),
    JobKind("report", report_prepare, report_run),
    JobKind("export", export_prepare, export_run, heavy=False),
    JobKind("dataset-import", dataset_import_prepare, dataset_import_run, heavy=False),
)}
