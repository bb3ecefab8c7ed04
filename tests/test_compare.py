"""Compare: PP-OCRv5 cls against its INT8 child, with real (short) benchmarks
and per-layer profiles; the verdict must follow from the numbers it used."""

from __future__ import annotations

import json

import pytest
from conftest import CLS_CONFIG, cls_with_children
from ocr_fixtures import ppocr_model
from test_reports import owb

from engine.benchmark import BenchmarkSettings, run_benchmark
from engine.compare import compare, default_b, default_pair, family, verdict
from engine.measure.attribution import canonical, kernel_table
from engine.measure.diagnosis import diagnose
from engine.errors import BadInput
from engine.evaluate import evaluate
from engine.models import import_model
from engine.records import InferenceResult


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    ws, parent, dataset, (child,) = cls_with_children(tmp_path_factory.mktemp("compare"), 16, 50)
    accuracy = {m.id: evaluate(ws, m, dataset)["value"] for m in (parent, child)}
    return ws, parent, child, dataset, accuracy


def test_compare_measures_both_interleaved_and_the_verdict_follows(pair):
    ws, parent, child, _, accuracy = pair
    result = compare(ws, parent, child, bench_time=0.4, layer_runs=3, rounds=2)
    a, b = result["a"], result["b"]
    assert a["measured_now"] and b["measured_now"] and a["benchmark_runs"] == b["benchmark_runs"] == 2
    speed = result["speed"]
    assert speed["source"] == "interleaved" and speed["ratio"]["paired"] and speed["rounds"] == 2
    stored = {r.id: r for r in ws.all(InferenceResult)}
    runs = sorted((stored[i] for i in a["benchmarks"] + b["benchmarks"]), key=lambda r: r.created)
    assert [r.model for r in runs] == [parent.id, child.id, child.id, parent.id]  # A B B A
    assert a["inference_precision"] == b["inference_precision"] == speed["settings"]["inference_precision"]
    ratio = result["throughput_ratio"]
    assert ratio == round(b["throughput_fps"] / a["throughput_fps"], 3)
    spread = result["throughput_ratio_spread"]
    assert spread["runs"] == 2 and spread["low"] <= spread["high"]
    assert result["size_ratio"] == round(child.size_bytes / parent.size_bytes, 3)
    assert result["accuracy_drop"] == round((accuracy[parent.id] - accuracy[child.id]) * 100, 3)
    line = result["verdict"]
    assert line.startswith("INT8 ") and f"{ratio:.2f}× ({spread['low']:.2f}–{spread['high']:.2f} over 2 runs)" in line
    assert "top1 " in line and ("faster" in line) == (ratio >= 1) and ("the parent's throughput" in line) == (ratio < 1)
    why = result["why"]
    assert why["delta_ms"] == pytest.approx(sum(c["ms"] for c in why["contributors"]), abs=1e-3)
    assert why["delta_ms"] == pytest.approx(result["layers"]["total_ms"]["b"] - result["layers"]["total_ms"]["a"],
                                            abs=1e-3)
    assert why["cpu"]["notes"] and why["summary"].startswith("INT8 is ")
    layers = result["layers"]
    assert layers["hint"] == "throughput" and layers["measured_latency_ms"]["a"] == a["latency_ms_median"]
    assert layers["sum_vs_measured"]["b"] == round(layers["total_ms"]["b"] / b["latency_ms_median"], 3)


def test_compare_from_history_only_with_identical_settings_and_labelled(pair):
    ws, parent, child, _, _ = pair
    compare(ws, parent, child, bench_time=0.4, layer_runs=2, rounds=2)  # both in the history now
    result = compare(ws, parent, child, bench_time=0.4, layer_runs=2, from_history=True)
    speed = result["speed"]
    assert speed["source"] == "history" and not speed["ratio"]["paired"] and set(speed["dates"]) == {"a", "b"}
    assert not result["a"]["measured_now"] and not result["b"]["measured_now"]
    with pytest.raises(BadInput, match="no benchmarks with identical settings"):
        compare(ws, parent, child, bench_time=0.4, layer_runs=2, from_history=True, hint="latency")


def test_layers_per_precision_and_kernels(pair):
    ws, parent, child, _, _ = pair
    result = compare(ws, parent, child, bench_time=0.4, layer_runs=3, from_history=True)
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
    assert verdict(a, b, 1.21, 1 / 3.9, 0.2, types, "AVX-512, AVX-512 VNNI",
                   {"low": 1.1, "high": 1.3, "runs": 3}) == (
        "INT8 runs 1.21× (1.10–1.30 over 3 runs) faster than the parent on this CPU (AVX-512, AVX-512 VNNI), "
        "3.9× smaller, top1 −0.20 pt; most of the gained time is in: Convolution")
    # a negative drop is a gain, rounded as the Compare table rounds it
    assert ", top1 +0.75 pt;" in verdict(a, b, 1.21, 1 / 3.9, -0.754, types, "AVX2")
    assert verdict(a, b, 0.67, 1.12, None, types, "AVX2, no VNNI") == (
        "INT8 runs at 0.67× the parent's throughput on this CPU (AVX2, no VNNI), 1.12× larger; "
        "most of the lost time is in: Reorder")


def node(name, kind, prec, ms, originals, consumers=(), outs=None):
    return {"name": name, "type": kind, "runtime_precision": prec, "exec_ms": ms, "executed": True,
            "original_layers": originals, "consumers": list(consumers), "output_precisions": outs or [prec],
            "primitive": ""}


def test_kernel_rows_pair_layers_by_original_names():
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


def test_inserted_work_is_charged_to_the_layer_it_serves_and_explained():
    """Synthetic tables (selection logic only): a Reorder with no original
    layer joins the convolution it feeds; the diagnosis buckets add up to the
    whole difference and name the depthwise convolution the plugin kept in bf16."""
    fp = {"inference_precision": "bf16", "layers": [
        node("conv.0", "Convolution", "bf16", 1.0, ["conv.0"]),
        node("dw.1", "Convolution", "bf16", 0.5, ["dw.1"]),
    ]}
    q = {"inference_precision": "bf16", "layers": [
        node("x/fq_output_0", "Subgraph", "f32", 0.2, ["x/fq_output_0"], ["x_reorder"], ["u8"]),
        node("x_reorder", "Reorder", "u8", 0.1, [], ["conv.0"]),
        node("conv.0", "Convolution", "u8", 0.4, ["conv.0"], ["conv.0_bf16_u8"], ["bf16"]),
        node("dw.1", "Convolution", "bf16", 0.5, ["dw.1"], ["dw_to_u8"]),
        node("dw_to_u8", "Reorder", "bf16", 0.05, [], [], ["u8"]),
    ]}
    q["layers"][3]["primitive"] = "brgconv_avx512_dw_bf16"
    rows = {r["layer"]: r for r in kernel_table(fp, q)}
    conv = rows["conv.0"]
    assert conv["time_b_ms"] == pytest.approx(0.5) and conv["added_b"] == ["x_reorder"]
    why = diagnose(fp, q, facts={"vnni": True}, bf16=True)
    kinds = {c["kind"]: c for c in why["contributors"]}
    assert why["delta_ms"] == pytest.approx(1.25 - 1.5) and sum(c["ms"] for c in why["contributors"]) == \
        pytest.approx(why["delta_ms"])
    assert kinds["int8"]["ms"] == pytest.approx(-0.6) and kinds["fake_quantize"]["layers"] == ["x/fq_output_0"]
    assert kinds["layout"]["ms"] == pytest.approx(0.1) and kinds["transitions"]["layers"] == ["dw_to_u8"]
    assert "no int8 depthwise-convolution kernel" in kinds["float"]["why"] and kinds["float"]["layers"] == ["dw.1"]
    assert "INT8 competes with BF16" in why["cpu"]["notes"][0] and why["faster"]
    kept = diagnose(fp, q, kept_by_nncf={"dw.1"})
    assert "kept in floating point by NNCF" in next(c for c in kept["contributors"] if c["kind"] == "float")["why"]


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
