"""Speed-aware INT8 end to end on the real PP-OCRv5 text-direction classifier
and an unannotated set: the child, its search trace and the verdict, and the
search as a job (cancel). Asserts what the search did, never how fast."""

from __future__ import annotations

import json

import pytest

from conftest import CLS_CONFIG, assert_cancel_leaves_nothing, kill_then_retry, run_owb
from engine.calibration import CalibrationSpec
from engine.records import Model


@pytest.fixture(scope="module")
def text_ws(tmp_path_factory):
    from ocr_fixtures import ppocr_model, write_text_folder

    from engine.dataset_store import import_dataset
    from engine.models import import_model
    from engine.workspace import Workspace

    tmp = tmp_path_factory.mktemp("speed")
    ws = Workspace(tmp / "home")
    import_model(ws, ppocr_model("cls"), name="cls", **CLS_CONFIG)
    import_dataset(ws, write_text_folder(tmp / "text", 24, seed=4), name="text")
    return ws


def test_speed_aware_child_carries_its_search(text_ws):
    ws = text_ws
    proc = run_owb("calibrate", "cls", "--dataset", "text", "--method", "speed-aware", "--max-drop", "1",
                   "--subset", "50", "--search-time", "60", "--search-run-time", "0.3", "--bench-time", "0",
                   "--name", "cls-fast", "--json", home=ws.home, timeout=1200)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    s = out["speed_aware"]
    assert s["agreement"] and s["metric"] == "top-1 agreement" and s["parent_metric"] == 1.0
    first = s["candidates"][0]
    assert first["label"] == "Default INT8" and first["fp_groups"] == [] and first["accepted"]
    for c in s["candidates"]:
        assert c["ratio"] > 0 and c["ratio_spread"]["runs"] == 3 and len(c["fps"]) == 3
        assert 0 <= c["metric"] <= 1
        if c["accepted"] and c["step"]:
            assert c["drop"] <= 1.0 or not s["candidates"][c["base_step"]]["within_budget"]
    assert s["groups"], "NNCF quantized some groups of this model"
    assert set(s["losses_ms"]) == set(s["groups"])
    chosen = s["chosen"]
    assert [g["group"] for g in s["kept_in_fp"]] == chosen["fp_groups"]
    assert set(chosen["fp_groups"]) <= set(s["groups"])
    assert out["reverted_ops"] == chosen["fp_groups"]  # Compare's "why" reads them as kept out on purpose
    assert out["keep_parent"] == s["keep_parent"]
    if s["keep_parent"]:
        assert out["verdict"].startswith("keep the parent")
    else:
        assert chosen["within_budget"] and chosen["ratio"] >= 1.02
    assert out["agreement"]["metric"] == "top-1 agreement"  # measured after the search on every image
    child = ws.get(Model, "cls-fast")
    assert child.precision == "INT8" and child.provenance["keep_parent"] == s["keep_parent"]
    assert child.provenance["speed_aware"]["candidates"] == s["candidates"]


def test_speed_aware_search_cancels_within_five_seconds(text_ws):
    spec = CalibrationSpec(model="cls", dataset="text", method="speed-aware", subset_pct=50, max_drop=1,
                           search_time=600, search_run_time=2.0)
    assert_cancel_leaves_nothing(text_ws, spec, lambda e: e.stage.startswith("search · benchmark"), "its benchmarks",
                                 wait=300)


def test_killed_search_leaves_an_interrupted_job_that_retries(text_ws):
    out = kill_then_retry(text_ws, ["cls", "--dataset", "text", "--method", "speed-aware", "--subset", "50",
                                    "--search-time", "20", "--search-run-time", "0.3", "--bench-time", "0"],
                          "killed-fast", lambda job: job.stage.startswith("search · benchmark"), "its benchmarks",
                          wait=300)
    assert out["method"] == "speed-aware" and out["speed_aware"]["candidates"]
