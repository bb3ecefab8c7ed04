"""Agreement with the parent, the accuracy budget on unannotated data: each
task's metric computed against hand-checked values, and AccuracyAware on an
unannotated set of the real PP-OCRv5 text-direction classifier."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from engine.predictions import ClassPrediction, Detections, RawPrediction, SegPrediction
from engine.quantize.agreement import Agreement, energy_kept


def cls(*probs):
    return ClassPrediction(np.array(probs, np.float32))


def dets(*rows):
    rows = np.array(rows, np.float32).reshape(-1, 6)
    return Detections(rows[:, :4], rows[:, 4], rows[:, 5].astype(np.int64))


def test_top1_agreement_counts_same_class_as_the_parent():
    a = Agreement("classification")
    scores = [a.update(cls(0.9, 0.1), cls(0.6, 0.4)), a.update(cls(0.2, 0.8), cls(0.7, 0.3)),
              a.update(cls(0.3, 0.7), cls(0.1, 0.9)), a.update(cls(0.5, 0.4, 0.1), cls(0.5, 0.4, 0.1))]
    assert scores == [1.0, 0.0, 1.0, 1.0]
    assert a.result()["value"] == pytest.approx(0.75)
    assert a.result()["metric"] == "top-1 agreement"


def test_detection_agreement_is_map50_against_the_parents_boxes():
    parent = dets([0, 0, 10, 10, 0.9, 0], [20, 20, 40, 40, 0.8, 1], [50, 50, 60, 60, 0.1, 0])  # last: below 0.25
    a = Agreement("detection")
    # the parent against itself: 100%
    assert a.update(parent, parent) == 1.0
    assert a.result()["value"] == pytest.approx(1.0)
    b = Agreement("detection")
    # class 0 found (IoU 0.81 with a shifted box), class 1 missed: AP 1 and 0
    child = dets([0, 0, 10, 9, 0.9, 0], [60, 60, 70, 70, 0.8, 1])
    assert b.update(parent, child) == pytest.approx(0.5)
    # class 0 found only with IoU < 0.5: nothing agrees
    c = Agreement("detection")
    assert c.update(parent, dets([5, 5, 15, 15, 0.9, 0])) == 0.0
    # the parent found nothing and neither did the child: full agreement
    d = Agreement("detection")
    assert d.update(Detections.empty(), Detections.empty()) == 1.0 and d.result()["value"] == 1.0


def test_segmentation_agreement_is_mean_iou_against_the_parents_masks():
    parent = np.zeros((4, 4), np.uint8)
    parent[:, :2] = 1  # 8 pixels of class 1
    child = parent.copy()
    child[0, 2] = 1  # one extra pixel of class 1
    a = Agreement("segmentation", num_classes=2)
    score = a.update(SegPrediction(parent), SegPrediction(child))
    iou1, iou0 = 8 / 9, 7 / 8
    assert score == pytest.approx((iou0 + iou1) / 2)
    assert a.result()["value"] == pytest.approx((iou0 + iou1) / 2)
    same = Agreement("segmentation", num_classes=2)
    assert same.update(SegPrediction(parent), SegPrediction(parent)) == 1.0


def test_generic_agreement_is_the_output_energy_kept_with_sqnr_beside_it():
    ref = {"a": np.array([3.0, 4.0]), "b": np.array([1.0, 0.0])}  # signal 25 and 1
    out = {"a": np.array([3.0, 4.5]), "b": np.array([1.0, 0.0])}  # noise 0.25 on a: SQNR 20 dB
    a = Agreement("generic")
    score = a.update(RawPrediction(ref), RawPrediction(out))
    assert score == pytest.approx((0.99 + 1.0) / 2)
    r = a.result()
    assert r["value"] == pytest.approx(0.995)
    assert r["sqnr_db_worst"] == pytest.approx(20.0)
    assert r["sqnr_db_mean"] == pytest.approx(20.0) and r["identical_outputs"] == 1
    assert energy_kept(np.ones(3), np.ones(4)) == (0.0, -math.inf)  # shapes differ: no agreement
    assert energy_kept(np.zeros(3), np.zeros(3))[0] == 1.0


def test_accuracy_aware_on_unannotated_data_keeps_top1_agreement(tmp_path):
    from conftest import CLS_CONFIG, run_owb
    from ocr_fixtures import ppocr_model, write_text_folder

    from engine.dataset_store import import_dataset
    from engine.models import import_model
    from engine.workspace import Workspace

    ws = Workspace(tmp_path / "home")
    import_model(ws, ppocr_model("cls"), name="cls", **CLS_CONFIG)
    # Text lines, half of them upside down, with no labels at all.
    folder = write_text_folder(tmp_path / "lines", 80, seed=5)
    from PIL import Image

    for i, path in enumerate(sorted(folder.glob("*.png"))):
        if i % 2:
            Image.open(path).rotate(180).save(path)
    import_dataset(ws, folder, name="lines")
    proc = run_owb("calibrate", "cls", "--dataset", "lines", "--method", "accuracy-aware", "--max-drop", "1",
                   "--subset", "50", "--ranking-subset", "40", "--bench-time", "0", "--json", home=ws.home,
                   timeout=1800)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    agreement = out["agreement"]
    print(json.dumps({k: out.get(k) for k in ("agreement", "reverted_ops", "seconds")}, indent=1))
    assert agreement["metric"] == "top-1 agreement"
    assert agreement["parent"] == 1.0
    assert agreement["child"] >= 0.99
    assert agreement["drop"] <= 1.0


def _tiny(dest, w, name):
    import openvino as ov
    import openvino.opset13 as ops

    import model_builders as mb

    path = dest / f"{name}.xml"
    ov.save_model(mb._ov_model(ops.constant(w.conv_w), w), str(path), compress_to_fp16=False)
    return path


def test_fidelity_tells_a_faithful_copy_from_a_diverging_one(tmp_path):
    from dataclasses import replace

    import model_builders as mb
    from engine import synth
    from engine.compare import fidelity_without_labels
    from engine.dataset_store import import_dataset
    from engine.models import import_model
    from engine.quantize.fidelity import words
    from engine.workspace import Workspace

    ws = Workspace(tmp_path / "home")
    w = mb.weights()
    a = import_model(ws, _tiny(tmp_path, w, "a"), name="a", task="classification")
    same = import_model(ws, _tiny(tmp_path, w, "same"), name="same", task="classification")
    # Logits negated: every class ranking reversed, cosine −1.
    flipped = import_model(ws, _tiny(tmp_path, replace(w, fc_w=-w.fc_w, fc_b=-w.fc_b), "flipped"), name="flipped",
                           task="classification")
    ds = import_dataset(ws, synth.write_unannotated(tmp_path / "imgs", 10, 3), name="imgs")
    good = fidelity_without_labels(ws, a, same, ds, None)
    assert good["faithful"] and good["agreement"] == 1.0 and good["cosine"] == pytest.approx(1.0, abs=1e-6)
    assert good["images"] == 10 and "top-1 agreement 100.0%" in words(good)
    bad = fidelity_without_labels(ws, a, flipped, ds, None)
    assert not bad["faithful"] and bad["cosine"] == pytest.approx(-1.0, abs=1e-4) and bad["agreement"] == 0.0
    assert words(bad) == "but its outputs diverge from a's (cosine -1.00): not a faithful copy"
    assert fidelity_without_labels(ws, a, flipped, ds, 0.5) is None  # an annotated drop exists: no need

    # Compare, child against parent with no annotated accuracy: the verdict says so.
    from engine.compare import compare

    ws.update(flipped, parent=a.id, provenance={"dataset": ds.id})
    result = compare(ws, a, ws.get(type(a), "flipped"), bench_time=0.3, layer_runs=2)
    assert result["agreement"]["faithful"] is False
    assert result["verdict"].endswith("but its outputs diverge from the parent's (cosine -1.00): not a faithful copy")
