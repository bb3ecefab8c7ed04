"""Per-layer runtime facts: what the CPU plugin actually executed, in which
precision, with which kernel, and for how long.

The runtime (executable) graph is what ran, after fusions and inserted
reorders, so it is the one that explains speed: an INT8 model whose depthwise
convolutions stay ``brgconv_avx2_dw_f32`` behind extra quantize/reorder nodes
can be slower than its FP32 parent. Times are averaged over several real
inferences with ``PERF_COUNT`` on; the runtime model's own ``execTimeMcs`` is
only the last inference's time, so the average comes from each run's
``profiling_info``. The result is plain data so two models' tables can be
diffed (Compare)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from . import limits
from .precision import SPEED_DEFAULT
from .precision import compile_model as compile_pinned
from .records import Model

if TYPE_CHECKING:
    import numpy as np

    from .workspace import Workspace

DEFAULT_RUNS = 30


def _rt(info: Any, key: str) -> str:
    return info[key].astype(str) if key in info else ""


def _split(text: str) -> list[str]:
    return [t for t in (s.strip() for s in text.split(",")) if t]


def runtime_layers(compiled: Any) -> list[dict]:
    """The executable graph's nodes with their rt_info, in execution order."""
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
        })
    rows.sort(key=lambda r: r["exec_order"])
    return rows


def profile(compiled: Any, inputs: dict[int, np.ndarray], runs: int) -> tuple[dict[str, list[float]], list[float]]:
    """Per node, the real time (µs) of each of ``runs`` inferences after one
    warm-up; also each inference's total latency (ms)."""
    request = compiled.create_infer_request()
    for i, array in inputs.items():
        request.get_input_tensor(i).data[:] = array
    request.infer()  # the first inference pays one-off allocations; leave it out
    times: dict[str, list[float]] = {}
    latencies = []
    for _ in range(runs):
        request.infer()
        latencies.append(request.latency)
        for p in request.profiling_info:
            if str(p.status).endswith("EXECUTED"):
                times.setdefault(p.node_name, []).append(p.real_time.total_seconds() * 1e6)
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


def layer_table(ov_model: Any, *, runs: int = DEFAULT_RUNS, device: str = "CPU",
                inputs: dict[int, np.ndarray] | None = None, infer_precision: str = SPEED_DEFAULT) -> dict:
    """Compile with PERF_COUNT and the latency hint (one stream, so layers do
    not compete with each other), run, and return the per-layer table."""
    from .benchmark import random_inputs
    from .device import cpu_facts, precision_name

    limits.count(runs, "--runs", limits.MAX_RUNS)
    t0 = time.perf_counter()
    compiled = compile_pinned(ov_model, device, infer_precision, {"PERF_COUNT": True, "PERFORMANCE_HINT": "LATENCY"})
    compile_ms = (time.perf_counter() - t0) * 1000
    times, latencies = profile(compiled, inputs if inputs is not None else random_inputs(compiled), runs)
    layers = runtime_layers(compiled)
    for r in layers:
        samples = times.get(r["name"])
        r["executed"] = samples is not None
        r["exec_ms"] = round(sum(samples) / len(samples) / 1000, 5) if samples else 0.0
    executed = [r for r in layers if r["executed"]]
    return {
        "layers": layers,
        "by_type": summarize(layers, "type"),
        "by_precision": summarize(layers, "runtime_precision"),
        "total_ms": round(sum(r["exec_ms"] for r in executed), 4),
        "latency_ms_avg": round(sum(latencies) / len(latencies), 4),
        "runs": runs,
        "executed_layers": len(executed),
        "graph_nodes": len(layers),
        "inference_precision": precision_name(compiled.get_property("INFERENCE_PRECISION_HINT")),
        "compile_ms": round(compile_ms, 2),
        "device": device,
        "hint": "latency",
        "cpu": cpu_facts(device)["summary"],
    }


def layers_for_model(ws: Workspace, model: Model, *, runs: int = DEFAULT_RUNS, batch: int | None = None,
                     device: str = "CPU", infer_precision: str = SPEED_DEFAULT) -> dict:
    """``layer_table`` for a workspace model at its configured shape."""
    from . import models

    table = layer_table(models.load(ws, model, batch), runs=runs, device=device, infer_precision=infer_precision)
    table.update({"model": model.name, "model_id": model.id, "model_precision": model.precision})
    return table


def slowest(table: dict, n: int = 10) -> list[dict]:
    return sorted((r for r in table["layers"] if r["executed"]), key=lambda r: -r["exec_ms"])[:n]
