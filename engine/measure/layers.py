"""Per-layer runtime facts: what the CPU plugin actually executed, in which
precision, with which kernel, and for how long.

The runtime (executable) graph is what ran, after fusions and inserted
reorders, so it is the one that explains speed: an INT8 model whose depthwise
convolutions stay ``brgconv_avx2_dw_f32`` behind extra quantize/reorder nodes
can be slower than its FP32 parent. A layer's time is its median over several
real inferences with ``PERF_COUNT`` on; the runtime model's own ``execTimeMcs``
is only the last inference's time, so the times come from each run's
``profiling_info``. The result is plain data so two models' tables can be
diffed (Compare)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from .. import limits
from ..choices import LAYER_RUNS
from ..precision import SPEED_DEFAULT
from ..precision import compile_model as compile_pinned
from ..records import Model
from .benchmark import BenchmarkSettings, percentile

if TYPE_CHECKING:
    import numpy as np

    from ..workspace import Workspace

# At least LAYER_RUNS (engine.choices) profiled inferences ...
MIN_PROFILE_S = 1.0  # ... and at least this long, for small models
WARMUP_S = 0.2


def _rt(info: Any, key: str) -> str:
    return info[key].astype(str) if key in info else ""


def _split(text: str) -> list[str]:
    return [t for t in (s.strip() for s in text.split(",")) if t]


def runtime_layers(compiled: Any) -> list[dict]:
    """The executable graph's nodes with their rt_info, in execution order;
    ``consumers`` names the nodes each one feeds, so work the plugin inserted
    (a Reorder has no original layer) can be charged to the layer it serves."""
    rows = []
    for op in compiled.get_runtime_model().get_ordered_ops():
        info = op.get_rt_info()
        order = _rt(info, "execOrder")
        rows.append({
            "name": op.get_friendly_name(),
            "type": _rt(info, "layerType"),
            "runtime_precision": _rt(info, "runtimePrecision"),
            "output_precisions": _split(_rt(info, "outputPrecisions")),
            "primitive": _rt(info, "primitiveType"),
            "exec_order": int(order) if order.lstrip("-").isdigit() else -1,
            "original_layers": _split(_rt(info, "originalLayersNames")),
            "consumers": [t.get_node().get_friendly_name() for out in op.outputs() for t in out.get_target_inputs()],
        })
    rows.sort(key=lambda r: r["exec_order"])
    return rows


def _collect(request: Any, times: dict[str, list[float]], latencies: list[float]) -> None:
    latencies.append(request.latency)
    for p in request.profiling_info:
        if str(p.status).endswith("EXECUTED"):
            times.setdefault(p.node_name, []).append(p.real_time.total_seconds() * 1e6)


def profile(compiled: Any, inputs: dict[int, np.ndarray], runs: int, requests: int = 1,
            min_time_s: float = MIN_PROFILE_S) -> tuple[dict[str, list[float]], list[float]]:
    """Per node, the real time (µs) of each profiled inference, at least
    ``runs`` of them and at least ``min_time_s`` of them, after a warm-up;
    also each inference's total latency (ms).

    The time floor matters for small models: 30 inferences of a 0.2 ms model
    are 6 ms of work, measured while the CPU is still ramping up and its
    caches are cold, and their layer times summed to twice the latency the
    benchmark measured beside them.

    One request runs synchronously (the latency hint); more run as an async
    queue that keeps them all busy, as the throughput benchmark does, so the
    layers compete for the cores as they did in the figure beside them."""
    times: dict[str, list[float]] = {}
    latencies: list[float] = []
    if requests <= 1:
        request = compiled.create_infer_request()
        for i, array in inputs.items():
            request.get_input_tensor(i).data[:] = array
        request.infer()  # the first inference pays one-off allocations; leave it out
        warm = time.perf_counter() + WARMUP_S
        while time.perf_counter() < warm:
            request.infer()
        start = time.perf_counter()
        while len(latencies) < runs or time.perf_counter() - start < min_time_s:
            request.infer()
            _collect(request, times, latencies)
        return times, latencies
    # Plain requests started together and waited for in turn, not an
    # AsyncInferQueue: a queue's Python callback reading profiling_info
    # deadlocked here when the queue was destroyed (OpenVINO 2026.4).
    pool = [compiled.create_infer_request() for _ in range(requests)]
    for request in pool:
        for i, array in inputs.items():
            request.get_input_tensor(i).data[:] = array
        request.infer()
    warm = time.perf_counter() + WARMUP_S
    while time.perf_counter() < warm:
        for request in pool:
            request.start_async()
        for request in pool:
            request.wait()
    start = time.perf_counter()
    while len(latencies) < runs or time.perf_counter() - start < min_time_s:
        for request in pool:
            request.start_async()
        for request in pool:
            request.wait()
            _collect(request, times, latencies)
    return times, latencies


def summarize(layers: list[dict], key: str) -> list[dict]:
    """Executed layers grouped by ``key`` (type or runtime precision): count,
    total time and share, slowest group first."""
    executed = [r for r in layers if r["executed"]]
    total = sum(r["exec_ms"] for r in executed) or 1.0
    groups: dict[str, dict] = {}
    for r in executed:
        g = groups.setdefault(r[key] or "?", {key: r[key] or "?", "count": 0, "total_ms": 0.0})
        g["count"] += 1
        g["total_ms"] += r["exec_ms"]
    out = sorted(groups.values(), key=lambda g: (-g["total_ms"], g[key]))
    for g in out:
        g["total_ms"] = round(g["total_ms"], 4)
        g["share"] = round(g["total_ms"] / total, 4)
    return out


def layer_table(ov_model: Any, *, runs: int = LAYER_RUNS, device: str = "CPU",
                inputs: dict[int, np.ndarray] | None = None, infer_precision: str = SPEED_DEFAULT,
                settings: BenchmarkSettings | None = None) -> dict:
    """Compile with PERF_COUNT and ``settings`` (the benchmark's hint, streams,
    requests and precision; default: the latency hint, one synchronous
    request), run, and return the per-layer table.

    ``sum_ms`` is the per-inference sum of layer times and ``latency_ms_*``
    each profiled inference's own latency: their gap is what the layers do not
    account for (waiting, plugin overhead)."""
    from .benchmark import random_inputs
    from ..device import cpu_facts, precision_name

    limits.count(runs, "--runs", limits.MAX_RUNS)
    settings = settings or BenchmarkSettings(hint="latency", device=device, infer_precision=infer_precision)
    settings.validate()
    t0 = time.perf_counter()
    compiled = compile_pinned(ov_model, settings.device, settings.infer_precision,
                              {**settings.compile_config(), "PERF_COUNT": True})
    compile_ms = (time.perf_counter() - t0) * 1000
    requests = 1 if settings.synchronous else int(settings.requests or
                                                  compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS"))
    times, latencies = profile(compiled, inputs if inputs is not None else random_inputs(compiled), runs, requests)
    layers = runtime_layers(compiled)
    for r in layers:
        samples = times.get(r["name"])
        r["executed"] = samples is not None
        # The median inference's time, not the mean: one inference that other
        # work on the machine stalled would otherwise dominate a layer's row,
        # and the medians' sum is what sits beside the median latency.
        r["exec_ms"] = round(percentile(sorted(samples), 50) / 1000, 5) if samples else 0.0
    executed = [r for r in layers if r["executed"]]
    total_ms = round(sum(r["exec_ms"] for r in executed), 4)
    ordered = sorted(latencies)
    return {
        "layers": layers,
        "by_type": summarize(layers, "type"),
        "by_precision": summarize(layers, "runtime_precision"),
        "total_ms": total_ms,
        "latency_ms_avg": round(sum(latencies) / len(latencies), 4),
        "latency_ms_median": round(percentile(ordered, 50), 4),
        "runs": len(latencies),  # at least the runs asked for; small models get more (MIN_PROFILE_S)
        "executed_layers": len(executed),
        "graph_nodes": len(layers),
        "inference_precision": precision_name(compiled.get_property("INFERENCE_PRECISION_HINT")),
        "compile_ms": round(compile_ms, 2),
        "device": settings.device,
        "hint": settings.hint,
        "streams": int(compiled.get_property("NUM_STREAMS")),
        "requests": requests,
        "cpu": cpu_facts(settings.device)["summary"],
    }


def against_benchmark(table: dict, measured_latency_ms: float | None) -> dict:
    """How the layer times add up against the latency measured without
    profiling in the same settings: their sum, the ratio, and what turning
    PERF_COUNT on cost (profiled latency over measured latency)."""
    table["measured_latency_ms"] = measured_latency_ms
    if measured_latency_ms:
        table["sum_vs_measured"] = round(table["total_ms"] / measured_latency_ms, 3)
        table["profiling_overhead"] = round(table["latency_ms_median"] / measured_latency_ms - 1, 3)
    else:
        table["sum_vs_measured"] = table["profiling_overhead"] = None
    return table


def layers_for_model(ws: Workspace, model: Model, *, runs: int = LAYER_RUNS, batch: int | None = None,
                     device: str = "CPU", infer_precision: str = SPEED_DEFAULT,
                     settings: BenchmarkSettings | None = None) -> dict:
    """``layer_table`` for a workspace model at its configured shape (or
    ``settings.batch``)."""
    from .. import models

    if settings is not None and settings.batch is not None:
        batch = settings.batch
    table = layer_table(models.load(ws, model, batch), runs=runs, device=device, infer_precision=infer_precision,
                        settings=settings)
    table.update({"model": model.name, "model_id": model.id, "model_precision": model.precision})
    return table


def slowest(table: dict, n: int = 10) -> list[dict]:
    return sorted((r for r in table["layers"] if r["executed"]), key=lambda r: -r["exec_ms"])[:n]
