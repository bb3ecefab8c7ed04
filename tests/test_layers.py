"""owb layers: the runtime graph's per-layer precision, kernel and real time,
and the CPU facts that explain them."""

from __future__ import annotations

import json

import numpy as np
import openvino as ov
import openvino.opset13 as ops
import pytest

from engine.device import cpuinfo_flags, isa_summary
from engine.layers import layer_table, slowest, summarize
from engine.workspace import Workspace
from owb_tui.cli import main


def conv(x, cout: int, cin: int, seed: int, fq: bool = False):
    w = ops.constant(np.random.default_rng(seed).standard_normal((cout, cin, 3, 3)).astype(np.float32))
    if fq:  # symmetric 8-bit weights, as NNCF writes them
        w = ops.fake_quantize(w, np.float32(-3), np.float32(3), np.float32(-3), np.float32(3), 255)
    return ops.convolution(x, w, [1, 1], [1, 1], [1, 1], [1, 1])


def float_model() -> ov.Model:
    x = ops.parameter([1, 3, 32, 32], np.float32, name="image")
    y = conv(ops.relu(conv(x, 16, 3, 0)), 8, 16, 1)
    return ov.Model([ops.result(y)], [x], "float")


def int8_model() -> ov.Model:
    """FakeQuantize on activations and weights before each Convolution: the
    CPU plugin turns these into u8/i8 convolutions."""
    x = ops.parameter([1, 3, 32, 32], np.float32, name="image")
    a = ops.fake_quantize(x, np.float32(0), np.float32(255), np.float32(0), np.float32(255), 256)
    y = ops.relu(conv(a, 16, 3, 0, fq=True))
    y = ops.fake_quantize(y, np.float32(0), np.float32(50), np.float32(0), np.float32(50), 256)
    y = conv(y, 8, 16, 1, fq=True)
    return ov.Model([ops.result(y)], [x], "int8")


@pytest.fixture(scope="module")
def float_table():
    return layer_table(float_model(), runs=5)


def test_layer_table_has_real_times_and_summaries(float_table):
    t = float_table
    executed = [r for r in t["layers"] if r["executed"]]
    assert executed and t["executed_layers"] == len(executed) <= t["graph_nodes"]
    convs = [r for r in executed if r["type"] == "Convolution"]
    assert len(convs) == 2 and all(r["exec_ms"] > 0 for r in convs)
    assert all(r["primitive"] and r["runtime_precision"] and r["output_precisions"] for r in convs)
    # the fused ReLU is named among the first convolution's original layers
    assert any(any("Relu" in n for n in r["original_layers"]) for r in convs)
    assert [r["exec_order"] for r in t["layers"]] == sorted(r["exec_order"] for r in t["layers"])
    by_prec = {g["runtime_precision"]: g for g in t["by_precision"]}
    assert t["inference_precision"] in by_prec
    assert sum(g["count"] for g in t["by_precision"]) == len(executed)
    assert sum(g["count"] for g in t["by_type"]) == len(executed)
    assert sum(g["total_ms"] for g in t["by_type"]) == pytest.approx(t["total_ms"], abs=1e-3)
    assert sum(g["share"] for g in t["by_type"]) == pytest.approx(1.0, abs=1e-3)
    assert t["total_ms"] > 0 and t["latency_ms_avg"] > 0 and t["runs"] >= 5  # and at least MIN_PROFILE_S of them
    assert slowest(t, 1)[0]["exec_ms"] == max(r["exec_ms"] for r in executed)


def test_int8_model_runs_integer_kernels():
    t = layer_table(int8_model(), runs=3)
    precisions = {r["runtime_precision"] for r in t["layers"] if r["executed"]}
    assert precisions & {"i8", "u8"}, precisions
    convs = [r for r in t["layers"] if r["executed"] and r["type"] == "Convolution"]
    assert convs and all(r["runtime_precision"] in ("u8", "i8") for r in convs)
    assert {g["runtime_precision"] for g in t["by_precision"]} & {"i8", "u8"}


def test_summarize_groups_only_executed_layers():
    layers = [
        {"type": "Convolution", "runtime_precision": "u8", "exec_ms": 2.0, "executed": True},
        {"type": "Convolution", "runtime_precision": "f32", "exec_ms": 1.0, "executed": True},
        {"type": "Reorder", "runtime_precision": "u8", "exec_ms": 1.0, "executed": True},
        {"type": "Const", "runtime_precision": "f32", "exec_ms": 0.0, "executed": False},
    ]
    assert summarize(layers, "type") == [
        {"type": "Convolution", "count": 2, "total_ms": 3.0, "share": 0.75},
        {"type": "Reorder", "count": 1, "total_ms": 1.0, "share": 0.25},
    ]
    assert [(g["runtime_precision"], g["count"]) for g in summarize(layers, "runtime_precision")] == [("u8", 2), ("f32", 1)]


def test_layers_command(tmp_path, capsys):
    from engine.models import import_model

    ov.save_model(int8_model(), str(tmp_path / "q.xml"), compress_to_fp16=False)
    home = tmp_path / "home"
    import_model(Workspace(home), tmp_path / "q.xml", name="q", task="generic")
    assert main(["--home", str(home), "layers", "q", "--runs", "3", "--json"]) == 0
    t = json.loads(capsys.readouterr().out)
    assert t["model"] == "q" and t["layers"] and t["by_precision"] and t["cpu"]
    row = next(r for r in t["layers"] if r["executed"])
    assert set(row) >= {"name", "type", "runtime_precision", "output_precisions", "primitive", "exec_ms",
                        "original_layers", "exec_order"}
    assert main(["--home", str(home), "layers", "q", "--runs", "2", "--top", "3"]) == 0
    out = capsys.readouterr().out
    assert "by runtime precision" in out and "slowest" in out
    assert main(["--home", str(home), "layers", "q", "--runs", "0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and "--runs" in err[0]


@pytest.mark.parametrize("flags, expected", [
    ({"sse4_2", "avx", "avx2", "fma"}, "AVX2, no VNNI"),
    ({"avx2", "avx_vnni"}, "AVX2, AVX-VNNI"),
    ({"avx2", "avx512f", "avx512_vnni"}, "AVX-512, AVX-512 VNNI"),
    ({"avx512f", "avx512_vnni", "amx_tile", "amx_bf16", "amx_int8", "avx512_bf16"},
     "AVX-512, AVX-512 VNNI, AMX (BF16, INT8), AVX-512 BF16"),
    (set(), "no AVX, no VNNI"),
])
def test_isa_summary(flags, expected):
    assert isa_summary(flags) == expected


def test_cpuinfo_flags_reads_the_first_processor(tmp_path):
    f = tmp_path / "cpuinfo"
    f.write_text("processor\t: 0\nflags\t\t: fpu avx2 amx_int8\n\nprocessor\t: 1\nflags\t\t: fpu\n")
    assert cpuinfo_flags(f) == {"fpu", "avx2", "amx_int8"}
    assert cpuinfo_flags(tmp_path / "missing") is None
    assert "unknown" in isa_summary(None)
