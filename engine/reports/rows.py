"""Row builders shared by the accuracy report and the optimized-vs-parent
report: the same tables, judged against a reference that is either the
dataset's annotations or the parent model's predictions.

Builders collect plain per-row values and hand back ReportTables; the
classification one works on whole chunks of probability rows at once."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from engine.adapters import Detections, box_iou
from engine.metrics import DetectionMAP, image_iou

from .table import FLOAT, INT, TEXT, ReportTable, as_column

MATCH_IOU = 0.5
SEGMENTATION_BASIC = ["Image Name", "Average Result"]
SEGMENTATION_ADVANCED = ["Image Name", "Class", "Result"]


def class_names(indices: np.ndarray, labels: list[str]) -> np.ndarray:
    """Class names for class indices; indices outside ``labels`` stay numbers."""
    idx = np.asarray(indices, np.int64)
    names = np.asarray([str(x) for x in labels] or ["?"], dtype=np.str_)
    inside = (idx >= 0) & (idx < len(labels))
    out = np.where(inside, names[np.clip(idx, 0, max(len(labels) - 1, 0))], idx.astype(np.str_))
    return out.astype(np.str_)


def label_of(c: int, labels: list[str]) -> str:
    return labels[c] if 0 <= c < len(labels) else str(c)


@dataclass
class ClassificationRows:
    """Predicted class, reference class, the reference's rank in the
    prediction (0-based; -1 when the reference lies outside the model's
    classes) and the model's confidence in both. Flag: top-1 differs."""

    titles: list[str]
    labels: list[str]
    flag: str
    parts: list[tuple] = field(default_factory=list)

    def add(self, items: np.ndarray, names: list[str], probs: np.ndarray, ref: np.ndarray) -> None:
        probs = np.asarray(probs, np.float32)
        ref = np.asarray(ref, np.int64)
        n, classes = probs.shape
        rows = np.arange(n)
        pred = probs.argmax(axis=1)
        inside = (ref >= 0) & (ref < classes)
        safe = np.where(inside, ref, 0)
        p_ref = probs[rows, safe]
        # The tie rule of ClassPrediction.rank_of: equal scores rank by class index.
        above = np.count_nonzero(probs > p_ref[:, None], axis=1)
        tied_before = np.count_nonzero((probs == p_ref[:, None]) & (np.arange(classes)[None, :] < safe[:, None]), axis=1)
        rank = np.where(inside, above + tied_before, -1)
        conf_ref = np.where(inside, p_ref, np.nan)
        self.parts.append((np.asarray(items, np.int64), np.asarray(names, np.str_), pred, ref, rank,
                           probs[rows, pred].astype(np.float64), conf_ref.astype(np.float64)))

    def table(self) -> ReportTable:
        if not self.parts:
            empty = [as_column([], k) for k in (TEXT, TEXT, TEXT, INT, FLOAT, FLOAT)]
            return ReportTable(list(self.titles), empty, np.zeros(0, np.int64), {self.flag: np.zeros(0, bool)})
        items, names, pred, ref, rank, conf_pred, conf_ref = (np.concatenate(c) for c in zip(*self.parts))
        data = [names, class_names(pred, self.labels), class_names(ref, self.labels), rank.astype(np.int64),
                conf_pred, conf_ref]
        return ReportTable(list(self.titles), data, items, {self.flag: pred != ref})


def match_count(det: Detections, ref_boxes: np.ndarray, ref_labels: np.ndarray, iou: float = MATCH_IOU) -> np.ndarray:
    """Per detection (in score order): True when it matches a still-unmatched
    reference object of its class with IoU >= ``iou`` (best overlap wins)."""
    matched = np.zeros(len(det), bool)
    if len(det) == 0 or len(ref_labels) == 0:
        return matched
    ious = box_iou(det.boxes, ref_boxes)
    same = det.labels[:, None] == ref_labels[None, :]
    ious = np.where(same, ious, -1.0)
    taken = np.zeros(len(ref_labels), bool)
    for j in np.argsort(-det.scores, kind="stable"):
        row = np.where(taken, -1.0, ious[j])
        k = int(np.argmax(row))
        if row[k] >= iou:
            matched[j], taken[k] = True, True
    return matched


@dataclass
class DetectionRows:
    """Basic: per image, detections at the confidence threshold (A), reference
    objects (B) and one-to-one matches (IoU >= 0.5, same class). Advanced: the
    same per image and class, plus precision (matches / detections) and the
    class's average precision in that image (VOC all-point, over every
    detection the adapter kept, NaN when the image has no reference object of
    that class). Flag: anything unmatched, on either side."""

    basic_titles: list[str]
    advanced_titles: list[str]
    labels: list[str]
    conf_threshold: float
    flag: str
    basic: list[tuple] = field(default_factory=list)
    advanced: list[tuple] = field(default_factory=list)

    def add(self, item: int, name: str, det: Detections, ref_boxes, ref_labels) -> None:
        ref_boxes = np.asarray(ref_boxes if ref_boxes is not None else [], np.float64).reshape(-1, 4)
        ref_labels = np.asarray(ref_labels if ref_labels is not None else [], np.int64).reshape(-1)
        keep = det.scores >= self.conf_threshold
        shown = Detections(det.boxes[keep], det.scores[keep], det.labels[keep])
        matched = match_count(shown, ref_boxes, ref_labels)
        a, b, m = len(shown), len(ref_labels), int(matched.sum())
        self.basic.append((item, name, a, b, m, m < max(a, b)))
        per_image = DetectionMAP(iou=MATCH_IOU, voc=True)
        per_image.update(det, ref_boxes, ref_labels)
        ap = per_image.result()["per_class"]
        for c in np.union1d(shown.labels, ref_labels).astype(np.int64):
            mine = shown.labels == c
            ac, bc, mc = int(mine.sum()), int(np.count_nonzero(ref_labels == c)), int(matched[mine].sum())
            precision = mc / ac if ac else float("nan")
            self.advanced.append((item, name, label_of(int(c), self.labels), ac, bc, mc, precision,
                                  float(ap.get(int(c), float("nan"))), mc < max(ac, bc)))

    def tables(self) -> dict[str, ReportTable]:
        return {"basic": _table(self.basic_titles, self.basic, (TEXT, INT, INT, INT), self.flag),
                "advanced": _table(self.advanced_titles, self.advanced, (TEXT, TEXT, INT, INT, INT, FLOAT, FLOAT),
                                   self.flag)}


@dataclass
class SegmentationRows:
    """Basic: per image, the mean IoU over the classes present in the image
    (in the reference or the prediction). Advanced: per image and class, that
    class's IoU. Flag: a result below ``threshold``."""

    labels: list[str]
    threshold: float
    flag: str
    ignore_index: int = 255
    basic: list[tuple] = field(default_factory=list)
    advanced: list[tuple] = field(default_factory=list)

    def classes_for(self, *maps: np.ndarray) -> int:
        top = max((int(m[m != self.ignore_index].max(initial=0)) for m in maps), default=0)
        return max(len(self.labels), 2, top + 1)

    def add(self, item: int, name: str, pred: np.ndarray, ref: np.ndarray) -> dict[int, float]:
        ious = image_iou(pred, ref, self.classes_for(pred, ref), self.ignore_index)
        mean = float(np.mean(list(ious.values()))) if ious else float("nan")
        self.basic.append((item, name, mean, bool(mean < self.threshold)))
        for c, v in sorted(ious.items()):
            self.advanced.append((item, name, label_of(c, self.labels), v, v < self.threshold))
        return ious

    def tables(self) -> dict[str, ReportTable]:
        return {"basic": _table(SEGMENTATION_BASIC, self.basic, (TEXT, FLOAT), self.flag),
                "advanced": _table(SEGMENTATION_ADVANCED, self.advanced, (TEXT, TEXT, FLOAT), self.flag)}


def _table(titles: list[str], rows: list[tuple], kinds: tuple[str, ...], flag: str) -> ReportTable:
    """Rows of (item, *values, flag) as a ReportTable."""
    cols = list(zip(*rows)) if rows else [()] * (len(kinds) + 2)
    items = np.asarray(cols[0], np.int64)
    data = [as_column(list(c), k) for c, k in zip(cols[1:-1], kinds)]
    return ReportTable(list(titles), data, items, {flag: np.asarray(cols[-1], bool)})
