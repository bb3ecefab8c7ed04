"""Compare two models side by side: speed, size, accuracy, executed precision,
where the time goes per precision and per kernel, why INT8 is slower or
faster here, and a one-line verdict.

Every figure comes from a measurement made under engine.measure.protocol:
by default both models are benchmarked now, interleaved, with identical
settings; with ``from_history`` the ratio comes from stored runs with
identical settings, labelled as history with their dates, or not at all.
Per-layer times are profiled in the same settings as the benchmark beside
them (engine.measure.layers), lined up by original layer (attribution) and
explained (diagnosis). Accuracy only where `owb accuracy` (or calibration)
measured it on the same dataset. The verdict is written from those numbers
and nothing else."""

from __future__ import annotations

import threading

from . import limits
from .choices import COMPARE_LAYER_RUNS, PAIR_TIME_S, ROUNDS
from .errors import BadInput
from .measure.benchmark import BenchmarkSettings
from .measure.protocol import planned_ms
from .precision import SPEED_DEFAULT
from .progress import Progress, within
from .records import Dataset, InferenceResult, Model, Target
from .workspace import Workspace


def speed_pair(ws: Workspace, a: Model, b: Model, settings: BenchmarkSettings, *, bench_time: float,
               rounds: int = ROUNDS, from_history: bool = False, cancel: threading.Event | None = None,
               progress: Progress | None = None, places: tuple[Target | None, Target | None] = (None, None)) -> dict:
    """Both figures and their ratio: measured now, interleaved (``bench_time``
    seconds per side over ``rounds`` rounds), or from comparable history;
    here, on one target (``places`` twice the same), or across machines."""
    from .measure.protocol import history_pair, measure_pair
    from .precision import resolved

    names = tuple(t.name if t else None for t in places)
    if from_history:
        if names[0] != names[1]:
            raise BadInput("--from-history takes runs of one machine; compare across targets without it")
        pair = history_pair(ws, a, b, hint=settings.hint, precision=resolved(settings.device, settings.infer_precision),
                            target=names[0])
        if pair is None:
            raise BadInput(f"{a.name} and {b.name} have no benchmarks with identical settings ({settings.hint} hint, "
                           f"{resolved(settings.device, settings.infer_precision)}) in the history; compare without "
                           "--from-history to measure both now")
        return pair
    if names[0] != names[1]:
        from .targets.measure import separate_pair

        return separate_pair(ws, a, b, settings, places, rounds=rounds, bench_time=bench_time, cancel=cancel,
                             progress=progress)
    if places[0] is not None:
        from .targets.measure import pair_on

        return pair_on(ws, places[0], a, b, settings, rounds=rounds, bench_time=bench_time, cancel=cancel,
                       progress=progress)
    return measure_pair(ws, a, b, settings, rounds=rounds, total_time_s=bench_time, cancel=cancel, progress=progress)


def perf_of(fig: dict) -> dict:
    """A side's speed, as Compare shows it: the figure and its spread."""
    return {
        "throughput_fps": fig["throughput_fps"],
        "throughput_spread": fig["throughput_spread"],
        "latency_ms_median": fig["latency_ms"]["median"],
        "latency_ms": fig["latency_ms"],
        "latency_spread": fig["latency_spread"],
        "inference_precision": fig["inference_precision"],
        "benchmarks": [r["id"] for r in fig["per_run"]],
        "benchmark_runs": fig["runs"],
        "disturbed_runs": fig["disturbed_runs"],
        "measured_now": fig["source"] != "history",
        "figure": fig,
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


def verdict(a: dict, b: dict, throughput_ratio: float | None, size_ratio: float | None,
            accuracy_drop: float | None, types: list[dict], isa: str, spread: dict | None = None) -> str:
    """One line in plain words, from the measured numbers only."""
    child = b["parent"] == a["id"]
    who_b = b["precision"] if child and b["precision"] != a["precision"] else b["name"]
    who_a = "the parent" if child else a["name"]
    within = f" ({spread['low']:.2f}–{spread['high']:.2f} over {spread['runs']} runs)" if spread else ""
    if throughput_ratio is None:
        head = f"{who_b}: throughput not measured"
    elif throughput_ratio >= 1:
        head = f"{who_b} runs {throughput_ratio:.2f}×{within} faster than {who_a} on this CPU ({isa})"
    else:
        owner = "the parent's" if child else f"{a['name']}'s"
        head = f"{who_b} runs at {throughput_ratio:.2f}×{within} {owner} throughput on this CPU ({isa})"
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


def fidelity_without_labels(ws: Workspace, a: Model, b: Model, dataset: Dataset | None, drop: float | None, *,
                            cancel: threading.Event | None = None,
                            progress: Progress | None = None) -> dict | None:
    """Where no annotated accuracy gives a drop, how faithfully B reproduces
    A's outputs (engine.quantize.fidelity) on the given dataset, else on the
    one B was calibrated with; None when there is neither."""
    if drop is not None:
        return None
    if dataset is None and b.parent == a.id:
        dataset = ws.maybe(Dataset, str(b.provenance.get("dataset") or ""))
    if dataset is None:
        return None
    from .quantize.fidelity import fidelity

    try:
        return fidelity(ws, a, b, dataset, cancel=cancel, progress=progress)
    except BadInput:  # outputs that cannot be paired: no fidelity to speak of
        return None


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
    """The model's latest throughput-hint figure on this CPU (FPS), or None."""
    from .measure.protocol import latest_figure

    fig = latest_figure(ws, model, "throughput")
    return fig["throughput_fps"] if fig else None


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


def validate(a: Model, b: Model, bench_time: float, layer_runs: int = COMPARE_LAYER_RUNS, rounds: int = ROUNDS,
             same_place: bool = True) -> None:
    if a.id == b.id and same_place:
        raise BadInput(f"both sides are {a.name!r} on the same machine; compare two different models, "
                       "or one model on two targets")
    limits.seconds(bench_time, "--time")
    limits.count(layer_runs, "--runs", limits.MAX_RUNS)
    limits.count(rounds, "--rounds", limits.MAX_RUNS)


def compare(ws: Workspace, a: Model, b: Model, *, dataset: Dataset | None = None, bench_time: float = PAIR_TIME_S,
            layer_runs: int = COMPARE_LAYER_RUNS, cancel: threading.Event | None = None,
            progress: Progress | None = None, infer_precision: str = SPEED_DEFAULT, hint: str = "throughput",
            rounds: int = ROUNDS, from_history: bool = False, target: Target | None = None,
            target_b: Target | None = None) -> dict:
    """The Compare page as plain data (the `owb compare --json` document).

    ``target`` measures both sides on that target; ``target_b`` puts B on
    another machine (then A and B may be the same model)."""
    from .device import cpu_facts
    from .measure.attribution import kernel_table
    from .measure.diagnosis import diagnose
    from .measure.layers import against_benchmark, layers_for_model
    from .precision import has_bf16

    places = (target, target_b or target)
    names = tuple(t.name if t else None for t in places)
    validate(a, b, bench_time, layer_runs, rounds, same_place=names[0] == names[1])
    settings = BenchmarkSettings(hint=hint, infer_precision=infer_precision)
    settings.validate()
    # One progress scale for the whole job (ms of timed loops, then each layer
    # profile as its inferences at the measured latency plus a compile), so
    # its ETA covers every stage, not only the current one.
    pair_ms = 0 if from_history else planned_ms(settings, rounds, bench_time)
    layer_guess = 2 * (1000 + layer_runs * 5)
    pair = speed_pair(ws, a, b, settings, bench_time=bench_time, rounds=rounds, from_history=from_history,
                      cancel=cancel, progress=within(progress, None, 0, pair_ms + layer_guess), places=places)
    perf_a, perf_b = perf_of(pair["a"]), perf_of(pair["b"])
    acc_a, acc_b = accuracies(ws, a, b, dataset)
    sa, sb = side(a, perf_a, acc_a), side(b, perf_b, acc_b)
    sa["target"], sb["target"] = names
    tables = {}
    cost = [1000 + layer_runs * (p["latency_ms_median"] or 5) for p in (perf_a, perf_b)]
    for step, (tag, model, perf) in enumerate((("a", a, perf_a), ("b", b, perf_b))):
        if progress:
            progress(f"profiling layers of {model.name} ({settings.hint} hint)", int(pair_ms + sum(cost[:step])),
                     int(pair_ms + sum(cost)))
        if cancel is not None and cancel.is_set():
            from .errors import Cancelled

            raise Cancelled("compare cancelled")
        where = places[0] if tag == "a" else places[1]
        if where is None:
            table = layers_for_model(ws, model, runs=layer_runs, settings=settings)
        else:
            from .targets.measure import layers_on

            table = layers_on(ws, where, model, layer_runs, settings, cancel)
        tables[tag] = against_benchmark(table, perf["latency_ms_median"])
    ta, tb = tables["a"], tables["b"]
    ratio = pair["ratio"]
    throughput_ratio = ratio["value"]
    size_ratio = round(b.size_bytes / a.size_bytes, 3) if a.size_bytes else None
    drop = None
    if acc_a and acc_b and acc_a["dataset"] == acc_b["dataset"] and acc_a["value"] is not None \
            and acc_b["value"] is not None:
        drop = round((acc_a["value"] - acc_b["value"]) * 100, 3)
    types = per_type(ta, tb)
    facts, facts_b = (ws.get(Target, t.id).facts if t else cpu_facts() for t in places)
    kept = set(b.provenance.get("fp32_ops", [])) | set(b.provenance.get("reverted_ops", []))
    bf16 = "BF16" in facts["optimization_capabilities"] if places[0] else has_bf16()
    why = diagnose(ta, tb, kept_by_nncf=kept, facts=facts, bf16=bf16)
    fid = fidelity_without_labels(ws, a, b, dataset, drop, cancel=cancel, progress=progress)
    line = verdict(sa, sb, throughput_ratio, size_ratio, drop,
                   [{"type": c["title"], "delta_ms": c["ms"]} for c in why["contributors"]], facts["isa"],
                   ratio["spread"])
    if fid is not None:
        from .quantize.fidelity import words

        said = words(fid, "the parent" if b.parent == a.id else None)
        line = f"{line}, {said}" if not fid["faithful"] else f"{line}; {said}"
    if b.provenance.get("keep_parent"):
        line = f"keep the parent: the speed-aware search found no INT8 configuration faster than it. {line}"
    return {
        "a": sa,
        "b": sb,
        "speed": {k: pair[k] for k in ("source", "settings", "ratio") if k in pair}
        | ({"dates": pair["dates"]} if "dates" in pair else {}) | ({"rounds": pair["rounds"]} if "rounds" in pair else {}),
        "throughput_ratio": throughput_ratio,
        "throughput_ratio_spread": ratio["spread"],
        "latency_ratio": round(perf_b["latency_ms_median"] / perf_a["latency_ms_median"], 3)
        if perf_a["latency_ms_median"] else None,
        "size_ratio": size_ratio,
        "accuracy_drop": drop,
        "accuracy_drop_unit": "percentage points (A − B)",
        "verdict": line,
        "why": why,
        "agreement": fid,
        "speed_aware": b.provenance.get("speed_aware"),
        "layers": {
            "by_precision": per_precision(ta, tb),
            "by_type": types,
            "kernels": kernel_table(ta, tb),
            "total_ms": {"a": ta["total_ms"], "b": tb["total_ms"]},
            "measured_latency_ms": {"a": ta["measured_latency_ms"], "b": tb["measured_latency_ms"]},
            "profiled_latency_ms": {"a": ta["latency_ms_median"], "b": tb["latency_ms_median"]},
            "sum_vs_measured": {"a": ta["sum_vs_measured"], "b": tb["sum_vs_measured"]},
            "profiling_overhead": {"a": ta["profiling_overhead"], "b": tb["profiling_overhead"]},
            "executed": {"a": ta["executed_layers"], "b": tb["executed_layers"]},
            "hint": ta["hint"],
            "streams": {"a": ta["streams"], "b": tb["streams"]},
            "inference_precision": {"a": ta["inference_precision"], "b": tb["inference_precision"]},
            "runs": layer_runs,
        },
        "cpu": facts["summary"],
        "cpu_b": facts_b["summary"],
        "targets": {"a": names[0], "b": names[1]},
    }
