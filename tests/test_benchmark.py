"""owb benchmark / explore / cpu on a tiny real model: benchmark_app's loop,
its statistics, the history records and the one-line errors."""

from __future__ import annotations

import json
import threading

import numpy as np
import openvino as ov
import openvino.opset13 as ops
import pytest

from engine import benchmark as bm
from engine.errors import BadInput, Cancelled
from engine.explore import max_streams, run_explore, sweet_spot
from engine.records import InferenceResult, Model
from engine.workspace import Workspace
from owb_tui.cli import main

LAT_KEYS = {"median", "avg", "min", "max", "p90", "p99"}
T = "0.3"  # seconds per measurement: enough iterations for a tiny model


def tiny_cnn() -> ov.Model:
    rng = np.random.default_rng(0)
    x = ops.parameter([1, 3, 32, 32], np.float32, name="image")
    w1 = ops.constant(rng.standard_normal((8, 3, 3, 3)).astype(np.float32))
    c1 = ops.relu(ops.convolution(x, w1, [1, 1], [1, 1], [1, 1], [1, 1]))
    w2 = ops.constant(rng.standard_normal((4, 8, 3, 3)).astype(np.float32))
    c2 = ops.convolution(c1, w2, [2, 2], [1, 1], [1, 1], [1, 1])
    return ov.Model([ops.result(c2)], [x], "tiny")


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    from engine.models import import_model

    root = tmp_path_factory.mktemp("bench")
    ov.save_model(tiny_cnn(), str(root / "tiny.xml"), compress_to_fp16=False)
    ws = Workspace(root / "home")
    import_model(ws, root / "tiny.xml", name="tiny", task="generic")
    return root / "home"


def run_json(home, capsys, *args: str) -> dict:
    assert main(["--home", str(home), *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def check_sane(doc: dict) -> None:
    """A figure document: its runs are each sane, and the figure is their median with their spread."""
    runs = doc["run_results"]
    assert doc["runs"] == len(runs) >= 1
    fps = sorted(r["throughput_fps"] for r in runs)
    assert doc["throughput_fps"] == pytest.approx(fps[(len(fps) - 1) // 2] if len(fps) % 2 else
                                                  (fps[len(fps) // 2 - 1] + fps[len(fps) // 2]) / 2, rel=1e-3)
    spread = doc["throughput_spread"]
    assert (spread["low"], spread["high"], spread["runs"]) == (pytest.approx(fps[0], rel=1e-3),
                                                               pytest.approx(fps[-1], rel=1e-3), len(runs))
    assert len({r["series"]["id"] for r in runs}) == 1 and [r["series"]["index"] for r in runs] == list(range(len(runs)))
    for r in runs:
        check_run(r)
        assert r["disturbed"] == (r["latency_ms"]["max"] > 10 * r["latency_ms"]["median"])


def check_run(r: dict) -> None:
    lat = r["latency_ms"]
    assert set(lat) == LAT_KEYS
    assert r["throughput_fps"] > 0 and r["iterations"] >= r["requests"] >= 1
    assert 0 < lat["min"] <= lat["median"] <= lat["p90"] <= lat["p99"] <= lat["max"]
    assert lat["min"] <= lat["avg"] <= lat["max"]
    # FPS is iterations x batch over the loop's wall time, as benchmark_app counts it
    assert r["throughput_fps"] == pytest.approx(r["iterations"] * r["batch"] / r["elapsed_s"], rel=1e-3)
    assert r["elapsed_s"] >= r["time_s"]
    assert r["inference_precision"] in ("f32", "bf16", "f16")
    assert r["cpu"] and r["device"] == "CPU"


def test_benchmark_json_keys_sanity_and_history(home, capsys):
    r = run_json(home, capsys, "benchmark", "tiny", "--time", "0.6", "--runs", "2")
    for key in ("throughput_fps", "throughput_spread", "latency_ms", "latency_spread", "runs", "settings", "streams",
                "requests", "batch", "inference_precision", "device", "compile_ms", "first_inference_ms", "threads",
                "hint", "seconds_per_run", "cpu"):
        assert key in r, key
    check_sane(r)
    assert r["runs"] == 2 and r["seconds_per_run"] == 0.3
    assert r["hint"] == "throughput" and r["api"] == "async" and r["batch"] == 1
    compiled = ov.Core().compile_model(tiny_cnn(), "CPU", {"PERFORMANCE_HINT": "THROUGHPUT"})
    assert r["requests"] == compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS")
    assert r["streams"] == compiled.get_property("NUM_STREAMS")
    stored = [x for x in Workspace(home).all(InferenceResult) if x.id == r["id"]]
    assert len(stored) == 1
    s = stored[0]
    assert s.kind == "benchmark" and s.project == "" and s.dataset is None
    assert s.model == Workspace(home).get(Model, "tiny").id
    assert s.result["throughput_fps"] == r["run_results"][-1]["throughput_fps"]


def test_latency_hint_runs_one_synchronous_request(home, capsys):
    r = run_json(home, capsys, "benchmark", "tiny", "--time", T, "--hint", "latency")
    check_sane(r)
    assert (r["api"], r["requests"], r["streams"], r["compiled_hint"]) == ("sync", 1, 1, "LATENCY")


def test_hint_none_and_explicit_requests_and_batch(home, capsys):
    r = run_json(home, capsys, "benchmark", "tiny", "--time", T, "--hint", "none", "--streams", "1")
    check_sane(r)
    assert r["streams"] == 1 and r["api"] == "async"
    r = run_json(home, capsys, "benchmark", "tiny", "--time", T, "--requests", "3", "--batch", "2")
    check_sane(r)
    assert r["requests"] == 3 and r["batch"] == 2 and r["input_shapes"] == [[2, 3, 32, 32]]


def test_text_output_names_fps_latency_and_cpu(home, capsys):
    assert main(["--home", str(home), "benchmark", "tiny", "--time", T]) == 0
    out = capsys.readouterr().out
    assert "FPS" in out and "median" in out and "p90" in out and "AVX" in out.upper()


def test_percentile_matches_benchmark_app():
    from openvino.tools.benchmark.benchmark import percentile as theirs

    rng = np.random.default_rng(1)
    for n in (1, 2, 3, 10, 101):
        values = sorted(rng.random(n).tolist())
        for p in (50, 90, 99):
            assert bm.percentile(values, p) == theirs(values, p)


def test_random_inputs_match_benchmark_app_fill():
    from openvino.tools.benchmark.utils.inputs_filling import fill_tensors_with_random

    compiled = ov.Core().compile_model(tiny_cnn(), "CPU")

    class Info:  # the two fields benchmark_app's filler reads
        element_type = ov.Type.f32
        shapes = [[1, 3, 32, 32]]

    ours = bm.random_inputs(compiled)[0]
    assert np.array_equal(ours, fill_tensors_with_random(Info())[0].data)


def test_dataset_images_feed_the_benchmark_and_the_project(home, tmp_path, capsys):
    from engine import synth
    from engine.dataset_store import import_dataset
    from engine.records import Project

    ws = Workspace(home)
    synth.write_unannotated(tmp_path / "imgs", 5, 7)
    ds = import_dataset(ws, tmp_path / "imgs", name="imgs")
    model = ws.get(Model, "tiny")
    compiled = ov.Core().compile_model(tiny_cnn(), "CPU")
    batches = bm.dataset_inputs(ws, model, ds, compiled, 3)
    assert len(batches) == 3 and batches[0][0].shape == (1, 3, 32, 32)
    assert not np.array_equal(batches[0][0], batches[1][0])  # distinct images per request
    r = run_json(home, capsys, "benchmark", "tiny", "--dataset", "imgs", "--time", T, "--batch", "2")
    check_sane(r)
    assert r["inputs"] == "dataset imgs" and r["batch"] == 2
    project = ws.get(Project, r["project"])
    assert (project.model, project.dataset) == (model.id, ds.id)
    stored = [x for x in ws.all(InferenceResult) if x.id == r["id"]][0]
    assert stored.project == project.id and stored.dataset == ds.id


def test_cancel_stops_the_loop(home):
    ws = Workspace(home)
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        bm.run_benchmark(ws, ws.get(Model, "tiny"), bm.BenchmarkSettings(time_s=5), cancel=cancel)


@pytest.mark.parametrize("args, words", [
    (["benchmark", "tiny", "--batch", "0"], "--batch"),
    (["benchmark", "tiny", "--streams", "0"], "--streams"),
    (["benchmark", "tiny", "--time", "-1"], "--time"),
    (["benchmark", "tiny", "--time", "nan"], "--time"),
    (["benchmark", "tiny", "--requests", "0"], "--requests"),
    (["benchmark", "tiny", "--hint", "latency", "--requests", "4"], "latency"),
    (["benchmark", "tiny", "--hint", "fast"], "hint"),
    (["benchmark", "nosuch"], "nosuch"),
    (["benchmark", "tiny", "--dataset", "nosuch"], "nosuch"),
    (["explore", "tiny", "--batches", "0,1"], "--batches"),
    (["explore", "tiny", "--batches", "-2"], "--batches"),
    (["explore", "tiny", "--streams", "0"], "--streams"),
    (["explore", "tiny", "--time", "0"], "--time"),
    (["explore", "tiny", "--latency-limit", "-5"], "--latency-limit"),
])
def test_bad_flags_exit_2_with_one_error_line(home, capsys, args, words):
    try:
        code = main(["--home", str(home), *args])
    except SystemExit as exc:  # argparse's own refusals (choices, types)
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and words in err[0]


def test_explore_grid_sweet_spot_and_history(home, capsys):
    r = run_json(home, capsys, "explore", "tiny", "--batches", "1,2", "--streams", "1,2", "--time", "0.2")
    assert len(r["cells"]) == 4
    assert {(c["batch"], c["requested_streams"]) for c in r["cells"]} == {(1, 1), (1, 2), (2, 1), (2, 2)}
    for c in r["cells"]:
        check_run({**c, "time_s": 0.2 if c["measured"] else 0, "cpu": "x", "device": "CPU"})
    measured = [c for c in r["cells"] if c["measured"]]
    best = max(measured, key=lambda c: c["throughput_fps"])
    assert r["sweet_spot"]["throughput_fps"] == best["throughput_fps"]
    assert "AVX" in r["cpu"].upper() or "instruction" in r["cpu"]
    stored = [x for x in Workspace(home).all(InferenceResult) if x.id == r["id"]][0]
    assert stored.kind == "explore" and len(stored.result["cells"]) == 4


def test_explore_latency_limit_nothing_fits(home, capsys):
    assert main(["--home", str(home), "explore", "tiny", "--batches", "1", "--streams", "1",
                 "--time", "0.2", "--latency-limit", "0.000001"]) == 0
    out = capsys.readouterr().out
    assert "no sweet spot" in out and "latency limit" in out


def test_explore_reuses_cells_the_cpu_caps(home):
    ws = Workspace(home)
    cap = max_streams()
    _, r = run_explore(ws, ws.get(Model, "tiny"), [1], [cap, cap + 1], time_s=0.2)
    first, second = r["cells"]
    assert first["measured"] and first["streams"] == cap
    assert not second["measured"] and second["same_as"] == {"batch": 1, "streams": cap}
    assert second["throughput_fps"] == first["throughput_fps"]
    assert r["sweet_spot"]["requested_streams"] == cap


def _cell(b: int, s: int, fps: float, median: float, measured: bool = True) -> dict:
    return {"batch": b, "streams": s, "requested_streams": s, "measured": measured, "throughput_fps": fps,
            "latency_ms": {"median": median}}


def test_sweet_spot_respects_the_latency_limit():
    cells = [_cell(1, 1, 100, 5), _cell(2, 2, 300, 20), _cell(4, 2, 350, 40), _cell(8, 4, 999, 1, measured=False)]
    best, note = sweet_spot(cells, None)
    assert best["batch"] == 4 and "350.0 FPS" in note
    best, note = sweet_spot(cells, 25)
    assert best["batch"] == 2 and "25 ms" in note
    best, note = sweet_spot(cells, 2)
    assert best is None and "no configuration meets the 2 ms latency limit" in note and "5.00 ms" in note


def test_settings_validation_is_one_line_bad_input():
    with pytest.raises(BadInput, match="--streams"):
        bm.BenchmarkSettings(streams=0).validate()
    with pytest.raises(BadInput, match="hint"):
        bm.BenchmarkSettings(hint="max").validate()
    assert bm.BenchmarkSettings(hint="none", streams=2).compile_config() == {"NUM_STREAMS": 2}
    assert bm.BenchmarkSettings(requests=3).compile_config() == {
        "PERFORMANCE_HINT": "THROUGHPUT", "PERFORMANCE_HINT_NUM_REQUESTS": 3}


def test_cpu_command_keys(home, capsys):
    r = run_json(home, capsys, "cpu")
    for key in ("full_device_name", "optimization_capabilities", "vnni", "amx", "avx2", "isa", "summary",
                "default_inference_precision", "flags"):
        assert key in r, key
    assert r["full_device_name"] == ov.Core().get_property("CPU", "FULL_DEVICE_NAME").strip()
    assert ("VNNI" in r["isa"]) or ("AMX" in r["isa"]) or r["flags_source"] is None
    assert main(["--home", str(home), "cpu"]) == 0
    assert r["isa"] in capsys.readouterr().out.replace("\n", " ")
