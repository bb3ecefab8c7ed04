"""INT8 calibration on the real PP-OCRv5 text-direction classifier: the CLI
contract, refusals, cancel, and a killed process leaving an 'interrupted' job."""

from __future__ import annotations

import hashlib
import json

import pytest

from conftest import assert_cancel_leaves_nothing, kill_then_retry, run_owb
from engine.calibration import CalibrationSpec, subset_indices
from engine.records import Model


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_subset_is_ceil_and_spread():
    assert len(subset_indices(200, 10)) == 20
    assert len(subset_indices(7, 50)) == 4  # ceil(3.5)
    assert subset_indices(5, 100) == [0, 1, 2, 3, 4]
    picked = subset_indices(1000, 1)
    assert picked[0] == 0 and picked[-1] == 999  # spread, not a prefix


@pytest.fixture(scope="module")
def default_child(cls_workspace):
    """One Default/Performance calibration through the CLI, shared by the checks below."""
    ws = cls_workspace
    parent = ws.get(Model, "cls")
    xml = ws.path(parent.path)
    before = (_sha(xml), _sha(xml.with_suffix(".bin")))
    proc = run_owb("calibrate", "cls", "--dataset", "orient", "--subset", "25", "--bench-time", "1",
                   "--fail-on-drop", "0", "--json", home=ws.home)
    return ws, parent, before, proc


def test_default_calibration_contract(default_child):
    ws, parent, before, proc = default_child
    assert proc.returncode in (0, 3), proc.stderr
    out = json.loads(proc.stdout)  # stdout is exactly one JSON document: NNCF printed nothing there
    for key in ("model", "id", "parent", "method", "preset", "subset_images", "seconds", "fp32_ops",
                "accuracy", "throughput_fps"):
        assert key in out
    assert out["parent"] == "cls" and out["method"] == "default" and out["preset"] == "performance"
    assert out["subset_images"] == 50  # ceil(200 × 25 / 100)
    assert isinstance(out["fp32_ops"], list)
    acc = out["accuracy"]
    assert 0.9 < acc["parent"] <= 1 and 0 < acc["child"] <= 1
    assert acc["drop"] == pytest.approx((acc["parent"] - acc["child"]) * 100, abs=1e-6)
    # --fail-on-drop 0 exits 3 exactly when a drop was measured
    assert proc.returncode == (3 if acc["drop"] > 0 else 0)
    fps = out["throughput_fps"]
    assert fps["parent"] > 0 and fps["child"] > 0
    assert fps["ratio"] == pytest.approx(fps["child"] / fps["parent"], rel=0.01)

    child = ws.get(Model, out["id"])
    assert child.precision == "INT8" and child.parent == parent.id
    prov = child.provenance
    assert prov["nncf"] and prov["openvino"] and prov["subset_images"] == 50 and prov["method"] == "default"
    xml = ws.path(parent.path)
    assert (_sha(xml), _sha(xml.with_suffix(".bin"))) == before, "the parent must never be touched"
    # int8 weights: the .bin shrinks (the .xml grows by the FakeQuantize nodes)
    assert ws.path(child.path).with_suffix(".bin").stat().st_size < xml.with_suffix(".bin").stat().st_size


def test_int8_model_is_refused(default_child):
    ws, _, _, proc = default_child
    child = json.loads(proc.stdout)["model"]
    bad = run_owb("calibrate", child, "--dataset", "orient", home=ws.home)
    assert bad.returncode == 2 and bad.stderr.startswith("error:") and "already INT8" in bad.stderr


def test_job_is_listed_with_its_log(default_child):
    ws, _, _, proc = default_child
    job_id = json.loads(proc.stdout)["job"]
    jobs = json.loads(run_owb("jobs", "--json", home=ws.home).stdout)
    job = next(j for j in jobs if j["id"] == job_id)
    assert job["state"] == "done" and job["kind"] == "calibrate"
    log = run_owb("jobs", "log", job_id, home=ws.home).stdout
    assert "Statistics collection" in log and "job ended: done" in log


@pytest.mark.parametrize("flags, words", [
    (["--subset", "0"], "--subset"),
    (["--subset", "150"], "--subset"),
    (["--max-drop", "-1"], "--max-drop"),
    (["--method", "speed-aware", "--search-time", "0"], "--search-time"),
    (["--ignore-names", "no_such_op"], "NNCF refused"),
])
def test_bad_calibration_flags(cls_workspace, tmp_path, flags, words):
    from ocr_fixtures import write_text_folder

    ws = cls_workspace
    if "text" in flags and not any(d == "text" for d in (r["name"] for r in json.loads(
            run_owb("dataset", "list", "--json", home=ws.home).stdout))):
        assert run_owb("dataset", "import", str(write_text_folder(tmp_path / "text", 12)), "--name", "text",
                       home=ws.home).returncode == 0
    args = ["calibrate", "cls", "--dataset", "orient", "--bench-time", "0", "--subset", "10", *flags]
    proc = run_owb(*args, home=ws.home)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and words in lines[0]


def test_cancel_stops_quickly_and_leaves_nothing(cls_workspace):
    spec = CalibrationSpec(model="cls", dataset="orient", subset_pct=100)
    assert_cancel_leaves_nothing(cls_workspace, spec, lambda e: e.stage == "Statistics collection" and e.step >= 2,
                                 "statistics collection")


def test_killed_process_leaves_an_interrupted_job_that_retries(cls_workspace):
    kill_then_retry(cls_workspace, ["cls", "--dataset", "orient", "--subset", "100", "--bench-time", "0"], "killed",
                    lambda job: job.stage == "Statistics collection", "statistics collection")
