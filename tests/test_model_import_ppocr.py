"""Importing the PP-OCRv5 models (real, from the wheel): dynamic shapes, then
a fixed shape; FLOPs that scale with the input area; the stored IR computes
what the ONNX source does."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine import models
from engine.workspace import Workspace
from import_cli import CORE, cli_json, infer
from ocr_fixtures import ppocr_model

OCR_SHAPES = {"cls": [1, 3, 48, 192], "det": [1, 3, 640, 640], "rec": [1, 3, 48, 320]}


@pytest.fixture(scope="module")
def ocr_home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("ocr") / "ws"


@pytest.mark.parametrize("kind", list(OCR_SHAPES))
def test_ppocr_imports_dynamic_then_with_shape(ocr_home, capsys, kind):
    home = str(ocr_home)
    plain = cli_json(capsys, "--home", home, "model", "import", str(ppocr_model(kind)), "--name", kind)
    assert plain["source_format"] == "onnx" and plain["precision"] == "FP32"
    assert -1 in plain["inputs"][0]["shape"] and plain["config"]["shape"] is None
    assert plain["gflops"] is None  # dynamic shapes: no guessed figure
    assert plain["params"] > 100_000 and plain["size_bytes"] > 4 * plain["params"]

    shape = OCR_SHAPES[kind]
    shaped = cli_json(capsys, "--home", home, "model", "import", str(ppocr_model(kind)),
                      "--name", f"{kind}-static", "--shape", ",".join(map(str, shape)))
    assert shaped["inputs"][0]["shape"] == shape and shaped["config"]["shape"] == shape
    assert all(d > 0 for o in shaped["outputs"] for d in o["shape"])
    assert shaped["gflops"] is not None and shaped["gflops"] > 0.01
    assert shaped["params"] == plain["params"]
    shown = cli_json(capsys, "--home", home, "model", "show", f"{kind}-static")
    assert shown["inputs"][0]["shape"] == shape and shown["gflops"] == shaped["gflops"]


def test_ppocr_det_gflops_scale_with_area(tmp_path):
    """Conv FLOPs grow with H×W: 640² must cost 4× 320² (both divide by the 32× stride)."""
    ws = Workspace(tmp_path / "ws")
    big = models.import_model(ws, ppocr_model("det"), name="big", shape=[1, 3, 640, 640])
    small = models.import_model(ws, ppocr_model("det"), name="small", shape=[1, 3, 320, 320])
    assert big.gflops == pytest.approx(4 * small.gflops, rel=2e-3)


def test_ppocr_cls_stored_ir_matches_onnx(tmp_path):
    ws = Workspace(tmp_path / "ws")
    record = models.import_model(ws, ppocr_model("cls"), shape=OCR_SHAPES["cls"])
    x = np.random.default_rng(3).uniform(-1, 1, OCR_SHAPES["cls"]).astype(np.float32)
    source = CORE.read_model(str(ppocr_model("cls")))
    source.reshape(OCR_SHAPES["cls"])
    assert np.allclose(infer(models.load(ws, record), x), infer(source, x), rtol=1e-4, atol=1e-5)
