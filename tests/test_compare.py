"""Compare: PP-OCRv5 cls against its INT8 child, with real (short) benchmarks
and per-layer profiles; the verdict must follow from the numbers it used."""

from __future__ import annotations

import json

import pytest
from conftest import CLS_CONFIG, cls_with_children
from ocr_fixtures import ppocr_model
from test_reports import owb

from engine.benchmark import BenchmarkSettings, run_benchmark
from engine.compare import canonical, compare, default_b, default_pair, family, kernel_table, verdict
from engine.errors import BadInput
from engine.evaluate import evaluate
from engine.models import import_model
from engine.records import InferenceResult


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    ws, parent, dataset, (child,) = cls_with_children(tmp_path_factory.mktemp("compare"), 16, 50)
    accuracy = {m.id: evaluate(ws, m, dataset)["value"] for m in (parent, child)}
    return ws, parent, child, dataset, accuracy


def test_compare_takes_history_benchmarks_what_is_missing_and_says_so(pair):
    ws, parent, child, _, accuracy = pair
    _, stored = run_benchmark(ws, parent, BenchmarkSettings(time_s=0.5))
    result = compare(ws, parent, child, bench_time=0.5, layer_runs=3)
    a, b = result["a"], result["b"]
    assert a["benchmarks"] == [stored["id"]] and not a["measured_now"]
    assert b["measured_now"] and len(b["benchmarks"]) == 1
    fps_b = ws.get(InferenceResult, b["benchmarks"][0]).result["throughput_fps"]
    assert (a["throughput_fps"], b["throughput_fps"]) == (stored["throughput_fps"], fps_b)
    ratio = result["throughput_ratio"]
    assert ratio == round(fps_b / stored["throughput_fps"], 3)
    assert result["size_ratio"] == round(child.size_bytes / parent.size_bytes, 3)
    assert result["accuracy_drop"] == round((accuracy[parent.id] - accuracy[child.id]) * 100, 3)
    assert a["inference_precision"] and b["inference_precision"]
    line = result["verdict"]
    assert line.startswith("INT8 ") and f"{ratio:.2f}×" in line and "top1 " in line
    assert ("faster" in line) == (ratio >= 1) and ("the parent's throughput" in line) == (ratio < 1)
    size = result["size_ratio"]
    assert (f"{1 / size:.1f}× smaller" if size < 1 else f"{size:.2f}× larger") in line
    named = line.split("time is in: ")[1].split(", ") if "time is in: " in line else []
    deltas = {t["type"]: t["delta_ms"] for t in result["layers"]["by_type"]}
    assert all((deltas[t] > 0) == (ratio < 1) for t in named)  # lost time explains a slowdown, gains a speed-up


def test_layers_per_precision_and_kernels(pair):
    ws, parent, child, _, _ = pair
    result = compare(ws, parent, child, bench_time=0.5, layer_runs=3)
    assert not result["a"]["measured_now"] and not result["b"]["measured_now"]  # both in the history now
    layers = result["layers"]
    precisions = {r["precision"]: r for r in layers["by_precision"]}
    assert any(p in precisions and precisions[p]["b_count"] > 0 for p in ("u8", "i8"))
    assert all(precisions[p]["a_count"] == 0 for p in ("u8", "i8") if p in precisions)
    kernels = layers["kernels"]
    assert {k["only_in"] for k in kernels} >= {None, "B"}  # shared layers, and quantize/reorder nodes INT8 adds
    for k in kernels:
        assert k["delta_ms"] == pytest.approx((k["time_b_ms"] or 0) - (k["time_a_ms"] or 0), abs=1e-4)
    shared = [k for k in kernels if k["only_in"] is None and k["type"] == "Convolution"]
    assert shared and any(k["precision_b"] in ("u8", "i8") for k in shared)
    executed_a = layers["executed"]["a"]
    assert sum(1 for k in kernels if k["time_a_ms"] is not None) <= executed_a


def test_cli_compare_json_and_text(pair, capsys):
    ws, parent, child, dataset, _ = pair
    code, out, _ = owb(capsys, ws.home, "compare", parent.name, child.name, "--dataset", dataset.name,
                       "--time", "0.5", "--runs", "2", "--json")
    doc = json.loads(out)
    assert code == 0 and {"a", "b", "throughput_ratio", "size_ratio", "accuracy_drop", "verdict", "layers"} <= set(doc)
    code, out, _ = owb(capsys, ws.home, "compare", parent.name, child.name, "--time", "0.5", "--runs", "2")
    assert code == 0 and "verdict: INT8" in out.replace("\n", " ") and "throughput FPS" in out
    code, _, err = owb(capsys, ws.home, "compare", parent.name, parent.name)
    assert code == 2 and err.startswith("error: both sides are 'cls'")


def test_verdict_reads_the_numbers():
    a = {"id": "p", "name": "net", "precision": "FP32", "parent": None, "accuracy": {"metric": "top1"}}
    b = {"id": "c", "name": "net-int8", "precision": "INT8", "parent": "p"}
    types = [{"type": "Convolution", "delta_ms": -0.5}, {"type": "Reorder", "delta_ms": 0.1}]
    assert verdict(a, b, 1.21, 1 / 3.9, 0.2, types, "AVX-512, AVX-512 VNNI") == (
        "INT8 runs 1.21× faster than the parent on this CPU (AVX-512, AVX-512 VNNI), 3.9× smaller, top1 −0.20 pt; "
        "most of the gained time is in: Convolution")
    # a negative drop is a gain, rounded as the Compare table rounds it
    assert ", top1 +0.75 pt;" in verdict(a, b, 1.21, 1 / 3.9, -0.754, types, "AVX2")
    assert verdict(a, b, 0.67, 1.12, None, types, "AVX2, no VNNI") == (
        "INT8 runs at 0.67× the parent's throughput on this CPU (AVX2, no VNNI), 1.12× larger; "
        "most of the lost time is in: Reorder")


def test_kernel_rows_pair_layers_by_original_names():
    def node(name, kind, prec, ms, originals):
        return {"name": name, "type": kind, "runtime_precision": prec, "exec_ms": ms, "executed": True,
                "original_layers": originals}

    fp32 = {"layers": [node("Multiply_1", "Convolution", "f32", 1.0, ["Multiply_1", "bn.0", "relu.0"]),
                       node("reorder_a", "Reorder", "f32", 0.1, [])]}
    int8 = {"layers": [node("conv.0", "Convolution", "u8", 0.4, ["conv.0", "bn.0/fq_output_0"]),
                       node("relu.0/fq_output_0", "Subgraph", "i8", 0.2, ["relu.0/fq_output_0"]),
                       node("x/fq_output_0", "Subgraph", "f32", 0.3, ["x/fq_output_0"])]}
    assert canonical("bn.0/fq_output_0") == "bn.0"
    rows = {r["layer"]: r for r in kernel_table(fp32, int8)}
    conv = rows["Multiply_1"]  # conv.0 and the split-off activation belong to the same original layers
    assert (conv["time_a_ms"], conv["time_b_ms"], conv["precision_b"]) == (1.0, pytest.approx(0.6), "i8/u8")
    assert rows["reorder_a"]["only_in"] == "A" and rows["x/fq_output_0"]["only_in"] == "B"
    with pytest.raises(BadInput):
        compare(None, type("M", (), {"id": "x", "name": "m"})(), type("M", (), {"id": "x", "name": "m"})())


@pytest.fixture(scope="module")
def family_ws(tmp_path_factory):
    """cls with two INT8 children, nothing benchmarked yet."""
    ws, parent, _, (first, second) = cls_with_children(tmp_path_factory.mktemp("family"), 8, 50, 100)
    return ws, parent, first, second


def test_b_defaults_to_the_fastest_measured_model_of_the_family(family_ws, capsys):
    ws, parent, first, second = family_ws
    assert [m.id for m in family(ws, second)] == [parent.id, first.id, second.id]
    assert default_pair(ws, first) == (parent, first)  # a child opens against its parent
    assert default_b(ws, parent) == second  # nothing measured: the newest child
    run_benchmark(ws, first, BenchmarkSettings(time_s=0.3))
    assert default_b(ws, parent) == first  # the only one measured
    run_benchmark(ws, second, BenchmarkSettings(time_s=0.3))
    fps = {m.id: ws.find(InferenceResult, model=m.id, kind="benchmark")[-1].result["throughput_fps"]
           for m in (first, second)}
    fastest = max((first, second), key=lambda m: fps[m.id])
    assert default_b(ws, parent) == fastest
    assert default_pair(ws, parent) == (parent, fastest)
    code, out, _ = owb(capsys, ws.home, "compare", "cls", "--time", "0.3", "--runs", "2", "--json")
    assert code == 0 and json.loads(out)["b"]["id"] == fastest.id
    code, out, _ = owb(capsys, ws.home, "compare", first.name, "--time", "0.3", "--runs", "2", "--json")
    doc = json.loads(out)
    assert code == 0 and (doc["a"]["id"], doc["b"]["id"]) == (parent.id, first.id)  # a child: against its parent
    lonely = import_model(ws, ppocr_model("cls"), name="lonely", **CLS_CONFIG)
    assert default_pair(ws, lonely) is None
    code, _, err = owb(capsys, ws.home, "compare", "lonely")
    assert code == 2 and err.startswith("error: lonely has no optimized model to compare with")
