"""Compare two models side by side: speed, size, accuracy, executed precision,
where the time goes per precision and per kernel, and a one-line verdict.

Every figure comes from a measurement: throughput and latency from the stored
benchmark history (engine.benchmark), or from a benchmark run now when a model
has none; accuracy only where `owb accuracy` (or calibration) measured it on
the same dataset; per-layer times from engine.layers. The verdict is written
from those numbers and nothing else."""

from __future__ import annotations

import statistics
import threading
from collections.abc import Callable

from .errors import BadInput
from .records import Dataset, InferenceResult, Model
from .workspace import Workspace

HISTORY_RUNS = 5  # the most recent comparable benchmarks, whose median is used
LAYER_RUNS = 20
StageProgress = Callable[[int, int, str], None]


def _comparable(result: dict, cpu: str) -> bool:
    """Runs with benchmark_app's defaults on this CPU: throughput hint, streams,
    requests and batch left to OpenVINO (a sweep cell is not a baseline)."""
    s = result.get("settings") or {}
    return (result.get("hint") == "throughput" and s.get("streams") is None and s.get("requests") is None
            and s.get("batch") is None and result.get("device", "CPU") == "CPU" and result.get("cpu") == cpu)


def recent_benchmarks(ws: Workspace, model: Model) -> list[InferenceResult]:
    """The model's latest HISTORY_RUNS comparable benchmarks on this CPU, oldest first."""
    from .benchmark import history
    from .device import cpu_summary

    cpu = cpu_summary()
    return [r for r in history(ws, model, "benchmark") if _comparable(r.result, cpu)][-HISTORY_RUNS:]


def speed(ws: Workspace, model: Model, *, bench_time: float, cancel: threading.Event | None = None,
          progress: StageProgress | None = None) -> dict:
    """Median throughput and latency of the model's latest comparable benchmarks,
    benchmarking it now (``bench_time`` seconds) when there are none."""
    from .benchmark import BenchmarkSettings, run_benchmark

    runs = recent_benchmarks(ws, model)
    measured_now = not runs
    if measured_now:
        stage = f"benchmarking {model.name} for {bench_time:g} s"
        report = (lambda d, t: progress(d, t, stage)) if progress else None
        record, _ = run_benchmark(ws, model, BenchmarkSettings(time_s=bench_time), cancel=cancel, progress=report)
        runs = [record]
    results = [r.result for r in runs]
    return {
        "throughput_fps": round(statistics.median(r["throughput_fps"] for r in results), 3),
        "latency_ms_median": round(statistics.median(r["latency_ms"]["median"] for r in results), 4),
        "inference_precision": results[-1].get("inference_precision"),
        "benchmarks": [r.id for r in runs],
        "benchmark_runs": len(runs),
        "measured_now": measured_now,
    }


def accuracies(ws: Workspace, a: Model, b: Model, dataset: Dataset | None) -> tuple[dict | None, dict | None]:
    """The latest accuracy of each model on one dataset both were measured on:
    the given one, else the one most recently measured for both."""
    def latest(model: Model) -> dict[str, InferenceResult]:
        out: dict[str, InferenceResult] = {}
        for r in sorted(ws.find(InferenceResult, model=model.id, kind="accuracy"), key=lambda r: r.created):
            out[r.dataset or ""] = r
        return out

    mine, theirs = latest(a), latest(b)
    if dataset is not None:
        shared = [dataset.id] if dataset.id in mine and dataset.id in theirs else []
    else:
        shared = sorted(set(mine) & set(theirs), key=lambda d: max(mine[d].created, theirs[d].created))
    if shared:
        return _acc(mine[shared[-1]]), _acc(theirs[shared[-1]])

    def own(found: dict[str, InferenceResult]) -> InferenceResult | None:
        # Shown for each side, but no drop: the datasets differ.
        if dataset is not None:
            return found.get(dataset.id)
        return max(found.values(), key=lambda r: r.created, default=None)

    return _acc(own(mine)), _acc(own(theirs))


def _acc(r: InferenceResult | None) -> dict | None:
    if r is None:
        return None
    return {"metric": r.result.get("metric"), "value": r.result.get("value"), "dataset": r.dataset,
            "images": r.result.get("images"), "result": r.id}


def side(model: Model, perf: dict, acc: dict | None) -> dict:
    return {"name": model.name, "id": model.id, "precision": model.precision, "size_bytes": model.size_bytes,
            "parent": model.parent, **perf, "accuracy": acc}


def per_precision(ta: dict, tb: dict) -> list[dict]:
    rows: dict[str, dict] = {}
    for tag, table in (("a", ta), ("b", tb)):
        for g in table["by_precision"]:
            row = rows.setdefault(g["runtime_precision"], {"precision": g["runtime_precision"], "a_count": 0,
                                                             "a_ms": 0.0, "b_count": 0, "b_ms": 0.0})
            row[f"{tag}_count"], row[f"{tag}_ms"] = g["count"], g["total_ms"]
    return sorted(rows.values(), key=lambda r: -(r["a_ms"] + r["b_ms"]))


def per_type(ta: dict, tb: dict) -> list[dict]:
    rows: dict[str, dict] = {}
    for tag, table in (("a", ta), ("b", tb)):
        for g in table["by_type"]:
            row = rows.setdefault(g["type"], {"type": g["type"], "a_count": 0, "a_ms": 0.0, "b_count": 0, "b_ms": 0.0})
            row[f"{tag}_count"], row[f"{tag}_ms"] = g["count"], g["total_ms"]
    for row in rows.values():
        row["delta_ms"] = round(row["b_ms"] - row["a_ms"], 4)
    return sorted(rows.values(), key=lambda r: -abs(r["delta_ms"]))


def canonical(name: str) -> str:
    """An original layer name without NNCF's quantizer suffixes, so that
    'p2o.Relu.0/fq_output_0' in the INT8 graph matches 'p2o.Relu.0'."""
    return name.split("/fq_", 1)[0]


def kernel_table(ta: dict, tb: dict) -> list[dict]:
    """Executed runtime nodes of A and B grouped by shared original layer names
    (a union-find over both graphs); a group seen in one model only is
    'only in A' or 'only in B' (e.g. the quantize and reorder nodes INT8 adds)."""
    nodes = [("a", r) for r in ta["layers"] if r["executed"]] + [("b", r) for r in tb["layers"] if r["executed"]]
    parent = list(range(len(nodes)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict[str, int] = {}
    for i, (tag, r) in enumerate(nodes):
        names = r["original_layers"] or [f"{tag}:{r['name']}"]  # no originals: a node of its own
        for key in {canonical(n) for n in names}:
            if key in owner:
                parent[find(i)] = find(owner[key])
            else:
                owner[key] = i
    groups: dict[int, list[tuple[str, dict]]] = {}
    for i, node in enumerate(nodes):
        groups.setdefault(find(i), []).append(node)
    rows = []
    for members in groups.values():
        a = [r for t, r in members if t == "a"]
        b = [r for t, r in members if t == "b"]
        # Named after A's slowest node, so rows read in the parent's vocabulary.
        lead = max(a or b, key=lambda r: r["exec_ms"])
        extra = len(a or b) - 1
        ms_a, ms_b = sum(r["exec_ms"] for r in a), sum(r["exec_ms"] for r in b)
        rows.append({
            "layer": lead["name"] + (f" (+{extra})" if extra else ""),
            "type": lead["type"],
            "time_a_ms": round(ms_a, 5) if a else None,
            "time_b_ms": round(ms_b, 5) if b else None,
            "delta_ms": round(ms_b - ms_a, 5),
            "precision_a": _precisions(a),
            "precision_b": _precisions(b),
            "only_in": None if a and b else ("A" if a else "B"),
        })
    return sorted(rows, key=lambda r: -abs(r["delta_ms"]))


def _precisions(rows: list[dict]) -> str | None:
    seen = sorted({r["runtime_precision"] for r in rows if r["runtime_precision"]})
    return "/".join(seen) if rows else None


def verdict(a: dict, b: dict, throughput_ratio: float | None, size_ratio: float | None,
            accuracy_drop: float | None, types: list[dict], isa: str) -> str:
    """One line in plain words, from the measured numbers only."""
    child = b["parent"] == a["id"]
    who_b = b["precision"] if child and b["precision"] != a["precision"] else b["name"]
    who_a = "the parent" if child else a["name"]
    if throughput_ratio is None:
        head = f"{who_b}: throughput not measured"
    elif throughput_ratio >= 1:
        head = f"{who_b} runs {throughput_ratio:.2f}× faster than {who_a} on this CPU ({isa})"
    else:
        owner = "the parent's" if child else f"{a['name']}'s"
        head = f"{who_b} runs at {throughput_ratio:.2f}× {owner} throughput on this CPU ({isa})"
    parts = [head]
    if size_ratio:
        parts.append(f"{1 / size_ratio:.1f}× smaller" if size_ratio < 1 else f"{size_ratio:.2f}× larger")
    if accuracy_drop is not None:
        from .metrics import accuracy_change

        metric = (a.get("accuracy") or {}).get("metric") or "accuracy"
        parts.append(f"{metric} {accuracy_change(accuracy_drop)}")
    line = ", ".join(parts)
    if throughput_ratio is not None and types:
        lost = throughput_ratio < 1
        top = [t["type"] for t in sorted(types, key=lambda t: -t["delta_ms"] if lost else t["delta_ms"])
               if (t["delta_ms"] > 0 if lost else t["delta_ms"] < 0)][:3]
        if top:
            line += f"; most of the {'lost' if lost else 'gained'} time is in: {', '.join(top)}"
    return line


def family(ws: Workspace, model: Model) -> list[Model]:
    """The model's root parent and every model optimized from it, in tree order."""
    from .projects import model_tree

    tree = model_tree(ws)
    by_id = {m.id: m for _, m in tree}
    root = model
    while root.parent in by_id:
        root = by_id[root.parent]
    start = next(i for i, (_, m) in enumerate(tree) if m.id == root.id)
    out = [root]
    for depth, m in tree[start + 1:]:
        if depth == 0:
            break
        out.append(m)
    return out


def measured_throughput(ws: Workspace, model: Model) -> float | None:
    """Median FPS of the model's latest comparable benchmarks on this CPU, or None."""
    runs = recent_benchmarks(ws, model)
    return statistics.median(r.result["throughput_fps"] for r in runs) if runs else None


def default_b(ws: Workspace, a: Model) -> Model | None:
    """B for a given A, as DL Workbench picks it: the model of A's family with
    the best measured throughput; with none measured, A's newest child."""
    others = [m for m in family(ws, a) if m.id != a.id]
    measured = [(fps, m) for m in others if (fps := measured_throughput(ws, m)) is not None]
    if measured:
        return max(measured, key=lambda pair: pair[0])[1]
    children = [m for m in others if m.parent == a.id] or others
    return max(children, key=lambda m: m.created, default=None)


def default_pair(ws: Workspace, model: Model) -> tuple[Model, Model] | None:
    """(A, B) to open Compare on: a child against its parent; a parent against
    the best-throughput model optimized from it. None when there is no B."""
    if model.parent:
        parent = ws.maybe(Model, model.parent)
        return (parent, model) if parent else None
    b = default_b(ws, model)
    return (model, b) if b else None


def validate(a: Model, b: Model, bench_time: float, layer_runs: int = LAYER_RUNS) -> None:
    if a.id == b.id:
        raise BadInput(f"both sides are {a.name!r}; compare two different models")
    if not (bench_time > 0):
        raise BadInput(f"--time must be a positive number of seconds, not {bench_time}")
    if layer_runs < 1:
        raise BadInput(f"--runs must be 1 or more, not {layer_runs}")


def compare(ws: Workspace, a: Model, b: Model, *, dataset: Dataset | None = None, bench_time: float = 10.0,
            layer_runs: int = LAYER_RUNS, cancel: threading.Event | None = None,
            progress: StageProgress | None = None) -> dict:
    """The Compare page as plain data (the `owb compare --json` document)."""
    from .device import cpu_facts
    from .layers import layers_for_model

    validate(a, b, bench_time, layer_runs)
    perf_a = speed(ws, a, bench_time=bench_time, cancel=cancel, progress=progress)
    perf_b = speed(ws, b, bench_time=bench_time, cancel=cancel, progress=progress)
    acc_a, acc_b = accuracies(ws, a, b, dataset)
    sa, sb = side(a, perf_a, acc_a), side(b, perf_b, acc_b)
    if progress:
        progress(0, 2, f"profiling layers of {a.name}")
    ta = layers_for_model(ws, a, runs=layer_runs)
    if progress:
        progress(1, 2, f"profiling layers of {b.name}")
    tb = layers_for_model(ws, b, runs=layer_runs)
    fps_a, fps_b = perf_a["throughput_fps"], perf_b["throughput_fps"]
    throughput_ratio = round(fps_b / fps_a, 3) if fps_a else None
    size_ratio = round(b.size_bytes / a.size_bytes, 3) if a.size_bytes else None
    drop = None
    if acc_a and acc_b and acc_a["dataset"] == acc_b["dataset"] and acc_a["value"] is not None \
            and acc_b["value"] is not None:
        drop = round((acc_a["value"] - acc_b["value"]) * 100, 3)
    types = per_type(ta, tb)
    facts = cpu_facts()
    return {
        "a": sa,
        "b": sb,
        "throughput_ratio": throughput_ratio,
        "latency_ratio": round(perf_b["latency_ms_median"] / perf_a["latency_ms_median"], 3)
        if perf_a["latency_ms_median"] else None,
        "size_ratio": size_ratio,
        "accuracy_drop": drop,
        "accuracy_drop_unit": "percentage points (A − B)",
        "verdict": verdict(sa, sb, throughput_ratio, size_ratio, drop, types, facts["isa"]),
        "layers": {
            "by_precision": per_precision(ta, tb),
            "by_type": types,
            "kernels": kernel_table(ta, tb),
            "total_ms": {"a": ta["total_ms"], "b": tb["total_ms"]},
            "executed": {"a": ta["executed_layers"], "b": tb["executed_layers"]},
            "runs": layer_runs,
        },
        "cpu": facts["summary"],
    }
