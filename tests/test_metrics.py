"""Metrics against hand-computed values and against pycocotools."""
from __future__ import annotations

import json

import numpy as np
import pytest

from engine.adapters import ClassPrediction, Detections, SegPrediction
from engine.errors import BadInput
from engine.metrics import DetectionMAP, SegmentationIoU, TopK, average_precision, coco_map, image_iou


def dets(rows) -> Detections:
    """rows of (x1, y1, x2, y2, score, label)"""
    a = np.asarray(rows, np.float64).reshape(-1, 6)
    return Detections(a[:, :4].astype(np.float32), a[:, 4].astype(np.float32), a[:, 5].astype(np.int64))


# ---------------------------------------------------------------- top-k

def test_topk_hand_computed():
    metric = TopK()
    probs = np.array([0.05, 0.5, 0.2, 0.1, 0.08, 0.04, 0.03], np.float32)
    metric.update(ClassPrediction(probs), 1)  # rank 0
    metric.update(ClassPrediction(probs), 4)  # rank 4 -> top-5 only
    metric.update(ClassPrediction(probs), 6)  # rank 6 -> neither
    metric.update(ClassPrediction(probs), 99)  # not a class of the model -> miss
    result = metric.result()
    assert result == {"top1": 0.25, "top5": 0.5, "images": 4, "per_class": {1: 1.0, 4: 0.0, 6: 0.0, 99: 0.0}}
    json.dumps(result)


# ---------------------------------------------------------------- AP / mAP

def test_average_precision_interpolations_by_hand():
    # TP, FP, TP over 2 objects: precision 1, 1/2, 2/3 at recall 1/2, 1/2, 1.
    assert average_precision([1, 0, 1], 2, voc=True) == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)
    # 101-point: recall 0..0.50 (51 points) at precision 1, 0.51..1 (50 points) at 2/3
    assert average_precision([1, 0, 1], 2, voc=False) == pytest.approx((51 + 50 * 2 / 3) / 101)
    assert average_precision([], 3) == 0.0


def _constant_envelope_fixture():
    """Per class, every false positive outscores every true positive and recall
    reaches 1, so the precision envelope is flat at the final precision. Then
    VOC's all-point area and COCO's 101-point mean are the same number, which
    makes our VOC AP@0.5 directly comparable with pycocotools' AP@0.5 (on a
    sloped envelope they differ by up to ~1/101 by construction, not by error).
    Class 0: 3 TP of 3 (AP 1). Class 1: FP, TP, FP, TP of 2 (envelope 0.5;
    the second FP is a duplicate of a matched box). Class 2: FP (IoU 0.33 miss),
    FP (no object), TP, TP, TP of 3 (envelope 0.6)."""
    gts = [([[0, 0, 100, 100], [200, 200, 260, 280], [10, 150, 90, 190]], [0, 1, 2]),
           ([[50, 50, 150, 150], [300, 10, 400, 90]], [0, 2]),
           ([[0, 0, 50, 50], [100, 100, 180, 160], [200, 0, 300, 100]], [0, 1, 2])]
    preds = [dets([[2, 0, 100, 98, 0.99, 0], [200, 200, 260, 280, 0.8, 1], [200, 202, 260, 280, 0.7, 1],
                   [10, 150, 40, 190, 0.95, 2], [10, 152, 90, 190, 0.85, 2]]),
             dets([[50, 52, 150, 150, 0.98, 0], [500, 500, 520, 520, 0.9, 1], [600, 0, 700, 50, 0.9, 2],
                   [300, 12, 400, 90, 0.8, 2]]),
             dets([[0, 0, 50, 48, 0.97, 0], [100, 100, 180, 160, 0.6, 1], [200, 0, 300, 104, 0.75, 2]])]
    return preds, [g for g, _ in gts], [c for _, c in gts]


def test_voc_map_agrees_with_pycocotools_ap50():
    preds, boxes, labels = _constant_envelope_fixture()
    voc = DetectionMAP(iou=0.5, voc=True)
    for d, b, c in zip(preds, boxes, labels):
        voc.update(d, b, c)
    ours = voc.result()
    coco = DetectionMAP(iou=0.5, voc=False)
    for d, b, c in zip(preds, boxes, labels):
        coco.update(d, b, c)
    reference = coco_map(preds, boxes, labels)
    assert ours["per_class"] == pytest.approx({0: 1.0, 1: 0.5, 2: 0.6})
    assert ours["map"] == pytest.approx(0.7)
    assert abs(ours["map"] - reference["map50"]) < 0.001
    assert abs(coco.result()["map"] - reference["map50"]) < 0.001
    json.dumps(ours), json.dumps(reference)


def test_coco_style_map_matches_pycocotools_on_random_boxes():
    """voc=False reproduces pycocotools' matching and 101-point AP at any IoU."""
    rng = np.random.default_rng(7)
    preds, boxes, labels = [], [], []
    for _ in range(40):
        n = int(rng.integers(0, 5))
        xy = rng.uniform(0, 400, (n, 2))
        gt = np.hstack([xy, xy + rng.uniform(10, 120, (n, 2))])
        cls = rng.integers(0, 4, n)
        rows = []
        for box, c in zip(gt, cls):
            for _ in range(int(rng.integers(0, 3))):  # 0-2 detections per object, some poor
                sigma = rng.choice([2.0, 25.0])
                score = rng.uniform(0.3, 1) if sigma < 5 else rng.uniform(0.05, 0.8)
                rows.append([*(box + rng.normal(0, sigma, 4)), score, c if rng.random() > 0.1 else (c + 1) % 4])
        for _ in range(int(rng.integers(0, 3))):  # background false positives
            x, y = rng.uniform(0, 400, 2)
            rows.append([x, y, x + 40, y + 30, rng.uniform(0.05, 1), rng.integers(0, 4)])
        d = dets(rows)
        d.boxes[:, 2:] = np.maximum(d.boxes[:, 2:], d.boxes[:, :2] + 1)
        preds.append(d), boxes.append(gt), labels.append(cls)
    reference = coco_map(preds, boxes, labels)
    for iou, key in ((0.5, "map50"), (0.75, "map75")):
        ours = DetectionMAP(iou=iou, voc=False)
        for d, b, c in zip(preds, boxes, labels):
            ours.update(d, b, c)
        assert ours.result()["map"] == pytest.approx(reference[key], abs=1e-3)
    ours = DetectionMAP(iou=0.5, voc=False)
    for d, b, c in zip(preds, boxes, labels):
        ours.update(d, b, c)
    assert ours.result()["per_class"] == pytest.approx(reference["per_class50"], abs=1e-3)
    assert 0.1 < reference["map50"] < 0.9  # the fixture is neither trivial nor hopeless


def test_voc_and_coco_matching_differ_on_overlapping_objects():
    boxes, labels = [[0, 0, 10, 10], [0, 0, 10, 12]], [0, 0]
    # The second detection overlaps the taken box best (0.95) and the free one well (0.875).
    pred = dets([[0, 0, 10, 10, 0.9, 0], [0, 0, 10, 10.5, 0.8, 0]])
    voc, coco = DetectionMAP(voc=True), DetectionMAP(voc=False)
    voc.update(pred, boxes, labels), coco.update(pred, boxes, labels)
    assert voc.result()["map"] == pytest.approx(0.5)  # VOC: a duplicate, false positive
    assert coco.result()["map"] == pytest.approx(1.0)  # COCO: takes the free box
    assert coco_map([pred], [boxes], [labels])["map50"] == pytest.approx(1.0)


def test_difficult_boxes_are_ignored():
    boxes, labels = [[0, 0, 10, 10], [50, 50, 60, 60]], [3, 3]
    pred = dets([[100, 100, 110, 110, 0.95, 3], [50, 50, 60, 60, 0.9, 3], [0, 0, 10, 10, 0.8, 3]])
    with_flag, without = DetectionMAP(), DetectionMAP()
    with_flag.update(pred, boxes, labels, difficult=[False, True])
    without.update(pred, boxes, labels)
    assert with_flag.result()["map"] == pytest.approx(0.5)  # FP, (ignored), TP of 1
    assert without.result()["map"] == pytest.approx(2 / 3)  # FP, TP, TP of 2
    with pytest.raises(BadInput, match="difficult flags"):
        with_flag.update(pred, boxes, labels, difficult=[True])


def test_coco_map_over_iou_thresholds_and_empty_cases():
    # IoU 0.78: a hit at thresholds 0.50..0.75 (6 of 10)
    result = coco_map([dets([[0, 0, 100, 78, 0.9, 1]])], [[[0, 0, 100, 100]]], [[1]])
    assert result["map"] == pytest.approx(0.6, abs=1e-6)
    assert result["map50"] == pytest.approx(1.0) and result["per_class"] == {1: pytest.approx(0.6)}
    missed = coco_map([Detections.empty()], [[[0, 0, 5, 5]]], [[2]])
    assert missed["map"] == 0.0 and missed["per_class"] == {2: 0.0} == missed["per_class50"]
    assert coco_map([dets([[0, 0, 5, 5, 0.5, 0]])], [[]], [[]])["map"] is None
    empty = DetectionMAP()
    empty.update(Detections.empty(), [], [])
    assert empty.result()["map"] is None and empty.result()["images"] == 1


# ---------------------------------------------------------------- segmentation

def test_segmentation_iou_hand_computed_confusion():
    metric = SegmentationIoU(num_classes=4)
    gt = np.array([[0, 0, 1], [1, 2, 255]], np.uint8)
    pred = np.array([[0, 1, 1], [1, 1, 0]], np.uint8)
    # (gt, pred): (0,0) (0,1) (1,1) (1,1) (2,1); the 255 pixel is skipped
    # class 0: tp 1 / union 2; class 1: tp 2 / union 4; class 2: 0 / 1; class 3 absent
    assert image_iou(pred, gt, 4) == pytest.approx({0: 0.5, 1: 0.5, 2: 0.0})
    metric.update(SegPrediction(pred), gt)
    metric.update(np.array([[7]]), np.array([[2]]))  # a class the dataset does not have: wrong
    result = metric.result()
    assert result["per_class"] == pytest.approx({0: 0.5, 1: 0.5, 2: 0.0})
    assert result["mean_iou"] == pytest.approx(1 / 3)
    assert result["pixel_accuracy"] == pytest.approx(3 / 6)
    assert result["images"] == 2
    assert metric.confusion[2].tolist() == [0, 1, 0, 0, 1]
    json.dumps(result)
    with pytest.raises(BadInput, match="mask is 3x2 but its image is 2x2"):
        metric.update(np.zeros((2, 2)), gt)


def test_accuracy_change_reads_in_the_readers_direction():
    from engine.metrics import accuracy_change

    assert accuracy_change(0.4) == "−0.40 pt"  # a drop of 0.4 points is a loss
    assert accuracy_change(-0.75) == "+0.75 pt"  # a negative drop is a gain
    assert accuracy_change(-0.001) == accuracy_change(0.0) == accuracy_change(-0.0) == "±0.00 pt"
    assert accuracy_change(1.005) in ("−1.00 pt", "−1.01 pt")  # two decimals, like every table
