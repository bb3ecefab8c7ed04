"""Accuracy metrics over a stream of predictions: top-k, detection mAP, mIoU.

Each metric is fed one image at a time (``update``) and summarised once
(``result``), which returns plain JSON-ready numbers (fractions 0..1). COCO
mAP@[.5:.95] is delegated to pycocotools; VOC mAP@0.5 is computed here so it
can stream, and a test checks it against pycocotools.
"""
from __future__ import annotations

import contextlib
import io
from collections import defaultdict
from typing import Sequence

import numpy as np

from engine.adapters import ClassPrediction, Detections, SegPrediction, box_iou
from engine.errors import BadInput


class TopK:
    """Top-1 / top-5 accuracy, and top-1 per ground-truth class."""

    def __init__(self) -> None:
        self.images = 0
        self.top1 = 0
        self.top5 = 0
        self.seen: dict[int, int] = defaultdict(int)
        self.hits: dict[int, int] = defaultdict(int)

    def update(self, pred: ClassPrediction, label: int) -> None:
        rank = pred.rank_of(int(label))
        self.images += 1
        self.seen[int(label)] += 1
        if rank == 0:
            self.top1 += 1
            self.hits[int(label)] += 1
        if 0 <= rank < 5:
            self.top5 += 1

    def result(self) -> dict:
        n = max(self.images, 1)
        return {"top1": self.top1 / n, "top5": self.top5 / n, "images": self.images,
                "per_class": {c: self.hits[c] / self.seen[c] for c in sorted(self.seen)}}


def average_precision(tp: np.ndarray, npos: int, voc: bool = True) -> float:
    """AP of detections already sorted by descending score (``tp``: 1 = true positive).

    voc=True: all-point interpolation (VOC2010+): the area under the precision
    envelope. voc=False: COCO's 101 recall points, exactly as pycocotools does.
    """
    if npos == 0:
        return float("nan")
    tp = np.asarray(tp, np.float64)
    tps, fps = np.cumsum(tp), np.cumsum(1 - tp)
    recall = tps / npos
    precision = tps / np.maximum(tps + fps, np.finfo(np.float64).eps)
    if voc:
        mrec = np.concatenate([[0.0], recall, [1.0]])
        mpre = np.concatenate([[0.0], precision, [0.0]])
        mpre = np.maximum.accumulate(mpre[::-1])[::-1]
        steps = np.flatnonzero(mrec[1:] != mrec[:-1])
        return float(np.sum((mrec[steps + 1] - mrec[steps]) * mpre[steps + 1]))
    envelope = np.maximum.accumulate(precision[::-1])[::-1] if precision.size else precision
    at = np.searchsorted(recall, np.linspace(0.0, 1.0, 101), side="left")
    return float(np.sum(envelope[at[at < envelope.size]]) / 101)


class DetectionMAP:
    """Mean AP at one IoU threshold, streamed image by image.

    voc=True is the VOC2010+ protocol: each detection is judged against the
    ground truth of its class it overlaps most; a match to a taken box is a false
    positive, a match to a ``difficult`` box is ignored; all-point interpolation.
    voc=False follows pycocotools instead (best still-unmatched box, at most 100
    detections per image and class, 101-point interpolation; difficult boxes act
    as ignored regions), so it reproduces COCO's AP at this IoU.
    IoU uses continuous coordinates (no VOC "+1" pixel), like pycocotools.
    Only per-class (score, is-true-positive) pairs are kept, not boxes.
    """

    def __init__(self, iou: float = 0.5, voc: bool = True) -> None:
        self.iou = float(iou)
        self.voc = voc
        self.images = 0
        self.npos: dict[int, int] = defaultdict(int)
        self.scores: dict[int, list[np.ndarray]] = defaultdict(list)
        self.tp: dict[int, list[np.ndarray]] = defaultdict(list)

    def update(self, det: Detections, gt_boxes, gt_labels, difficult=None) -> None:
        gt_boxes = np.asarray(gt_boxes if gt_boxes is not None else [], np.float64).reshape(-1, 4)
        gt_labels = np.asarray(gt_labels if gt_labels is not None else [], np.int64).reshape(-1)
        hard = (np.zeros(len(gt_labels), bool) if difficult is None
                else np.asarray(difficult, bool).reshape(-1))
        if not len(gt_boxes) == len(gt_labels) == len(hard):
            raise BadInput(f"annotation has {len(gt_boxes)} boxes, {len(gt_labels)} labels and "
                           f"{len(hard)} difficult flags; they must match, fix the dataset")
        self.images += 1
        for c in np.union1d(np.unique(gt_labels), np.unique(det.labels)):
            g = gt_labels == c
            self.npos[int(c)] += int(np.count_nonzero(~hard[g]))
            d = np.flatnonzero(det.labels == c)
            if d.size == 0:
                continue
            d = d[np.argsort(-det.scores[d], kind="stable")]
            if not self.voc:
                d = d[:100]
            verdict = self._match(box_iou(det.boxes[d], gt_boxes[g]), hard[g])
            counted = verdict >= 0
            self.scores[int(c)].append(det.scores[d][counted].astype(np.float64))
            self.tp[int(c)].append(verdict[counted].astype(np.int8))

    def _match(self, ious: np.ndarray, hard: np.ndarray) -> np.ndarray:
        """Per detection, in score order: 1 true positive, 0 false positive, -1 ignored."""
        verdict = np.zeros(ious.shape[0], np.int8)
        taken = np.zeros(ious.shape[1], bool)
        for j, row in enumerate(ious):
            if row.size == 0:
                continue
            if self.voc:
                k = int(np.argmax(row))
                if row[k] >= self.iou:
                    if hard[k]:
                        verdict[j] = -1
                    elif not taken[k]:
                        verdict[j], taken[k] = 1, True
                continue
            free = np.where(~hard & ~taken, row, -1.0)
            k = int(np.argmax(free))
            if free[k] >= self.iou:
                verdict[j], taken[k] = 1, True
            elif np.any(hard & (row >= self.iou)):
                verdict[j] = -1
        return verdict

    def result(self) -> dict:
        per_class: dict[int, float] = {}
        for c in sorted(self.npos):
            if self.npos[c] == 0:
                continue  # no countable ground truth: AP undefined, as in VOC and COCO
            scores = np.concatenate(self.scores[c]) if self.scores[c] else np.zeros(0)
            tp = np.concatenate(self.tp[c]) if self.tp[c] else np.zeros(0)
            tp = tp[np.argsort(-scores, kind="mergesort")]
            per_class[c] = average_precision(tp, self.npos[c], self.voc)
        mean = float(np.mean(list(per_class.values()))) if per_class else None
        return {"map": mean, "per_class": per_class, "images": self.images, "iou": self.iou,
                "interpolation": "all-point" if self.voc else "101-point"}


def coco_map(preds: Sequence[Detections], gts: Sequence, labels: Sequence,
             difficult: Sequence | None = None) -> dict:
    """COCO mAP@[.5:.95], mAP@0.5 and mAP@0.75 by pycocotools, built in memory;
    ``per_class`` AP@[.5:.95] and ``per_class50`` AP@0.5 for classes with ground truth.

    ``gts[i]``/``labels[i]``: image i's xyxy boxes and classes. ``difficult``
    boxes become ``iscrowd`` regions (detections on them are not counted), the
    nearest COCO notion. Needs every image's predictions at once (pycocotools
    holds them all); pass at most 100 detections per image, COCO's maxDets.
    """
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    if not len(preds) == len(gts) == len(labels):
        raise ValueError(f"{len(preds)} predictions for {len(gts)} box lists and {len(labels)} label lists")
    images, anns, dets, cats = [], [], [], set()
    for i, (det, boxes, cls) in enumerate(zip(preds, gts, labels)):
        boxes = np.asarray(boxes if boxes is not None else [], np.float64).reshape(-1, 4)
        cls = np.asarray(cls if cls is not None else [], np.int64).reshape(-1)
        crowd = (np.zeros(len(cls), bool) if difficult is None or difficult[i] is None
                 else np.asarray(difficult[i], bool).reshape(-1))
        images.append({"id": i + 1})
        for b, c, z in zip(boxes, cls, crowd):
            w, h = b[2] - b[0], b[3] - b[1]
            # ids start at 1: pycocotools stores the matched gt id and treats 0 as "no match".
            anns.append({"id": len(anns) + 1, "image_id": i + 1, "category_id": int(c), "iscrowd": int(z),
                         "bbox": [float(b[0]), float(b[1]), float(w), float(h)], "area": float(w * h)})
            cats.add(int(c))
        for b, s, c in zip(det.boxes, det.scores, det.labels):
            dets.append({"image_id": i + 1, "category_id": int(c), "score": float(s),
                         "bbox": [float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1])]})
            cats.add(int(c))
    out = {"map": None, "map50": None, "map75": None, "per_class": {}, "per_class50": {}, "images": len(preds)}
    if not anns:
        return out
    if not dets:
        zeros = {c: 0.0 for c in sorted({a["category_id"] for a in anns})}
        return {**out, "map": 0.0, "map50": 0.0, "map75": 0.0, "per_class": zeros, "per_class50": dict(zeros)}
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints progress
        gt = COCO()
        gt.dataset = {"images": images, "annotations": anns,
                      "categories": [{"id": c, "name": str(c)} for c in sorted(cats)]}
        gt.createIndex()
        ev = COCOeval(gt, gt.loadRes(dets), "bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    # precision: [iou thresholds, recall points, classes, area ranges, maxDets]; -1 = no ground truth
    precision = ev.eval["precision"][:, :, :, 0, -1]
    per_class, per_class50 = {}, {}
    for k, c in enumerate(ev.params.catIds):
        p = precision[:, :, k]
        if np.any(p > -1):
            per_class[int(c)] = float(np.mean(p[p > -1]))
            per_class50[int(c)] = float(np.mean(p[0]))  # row 0 is IoU 0.5
    return {**out, "map": float(ev.stats[0]), "map50": float(ev.stats[1]), "map75": float(ev.stats[2]),
            "per_class": per_class, "per_class50": per_class50}


def _confusion(pred: np.ndarray, gt: np.ndarray, num_classes: int, ignore_index: int) -> np.ndarray:
    """[num_classes, num_classes + 1] counts of (gt, pred); column num_classes
    gathers predictions outside the dataset's classes, which are always wrong."""
    pred = np.asarray(pred.classes if isinstance(pred, SegPrediction) else pred)
    gt = np.asarray(gt)
    if pred.shape != gt.shape:
        raise BadInput(f"segmentation mask is {gt.shape[1]}x{gt.shape[0]} but its image is "
                       f"{pred.shape[1]}x{pred.shape[0]}; masks must match their images' size")
    valid = (gt != ignore_index) & (gt >= 0) & (gt < num_classes)
    g = gt[valid].astype(np.int64)
    p = pred[valid].astype(np.int64)
    p = np.where((p < 0) | (p >= num_classes), num_classes, p)
    return np.bincount(g * (num_classes + 1) + p,
                       minlength=num_classes * (num_classes + 1)).reshape(num_classes, num_classes + 1)


def _ious(conf: np.ndarray) -> dict[int, float]:
    """IoU for each class present in ground truth or prediction."""
    n = conf.shape[0]
    tp = np.diag(conf[:, :n]).astype(np.float64)
    union = conf.sum(axis=1) + conf[:, :n].sum(axis=0) - tp
    return {c: float(tp[c] / union[c]) for c in range(n) if union[c] > 0}


def image_iou(pred, gt, num_classes: int, ignore_index: int = 255) -> dict[int, float]:
    """Per-class IoU of one image, for the classes present in its GT or prediction."""
    return _ious(_confusion(pred, gt, num_classes, ignore_index))


class SegmentationIoU:
    """Mean IoU and pixel accuracy from a confusion matrix accumulated per image."""

    def __init__(self, num_classes: int, ignore_index: int = 255) -> None:
        self.num_classes = int(num_classes)
        self.ignore_index = ignore_index
        self.confusion = np.zeros((self.num_classes, self.num_classes + 1), np.int64)
        self.images = 0

    def update(self, pred, gt) -> None:
        """``pred``: SegPrediction or class map; ``gt``: class map, ``ignore_index`` = unlabeled."""
        self.confusion += _confusion(pred, gt, self.num_classes, self.ignore_index)
        self.images += 1

    def result(self) -> dict:
        per_class = _ious(self.confusion)
        total = int(self.confusion.sum())
        return {"mean_iou": float(np.mean(list(per_class.values()))) if per_class else None,
                "per_class": per_class,
                "pixel_accuracy": float(np.trace(self.confusion[:, :self.num_classes]) / total) if total else None,
                "images": self.images}


def accuracy_change(drop_pt: float) -> str:
    """An accuracy drop (parent − child, in percentage points) in the reader's
    direction, rounded the one way every table and verdict shows it: a loss
    reads "−0.40 pt", a gain "+0.75 pt", no change "±0.00 pt"."""
    change = round(-drop_pt, 2) + 0.0  # + 0.0 turns -0.0 into 0.0
    if change == 0:
        return "±0.00 pt"
    return f"{'+' if change > 0 else '−'}{abs(change):.2f} pt"
