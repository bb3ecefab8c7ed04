"""Accuracy vs annotations: one table per task (two for detection and
segmentation: basic and advanced), with the task metric as the summary.

The summary is the same Metric `owb accuracy` uses, fed the same predictions
(detections kept from score 0.01, as there), so the two always agree."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from engine.choices import DETECTION_FLOOR
from engine.progress import Progress
from engine.records import Dataset, Model
from engine.workspace import Workspace

from .outputs import Ticker, image_names, predictions, probabilities, raw_outputs
from .rows import ClassificationRows, DetectionRows, SegmentationRows
from .spec import ReportSpec
from .table import ReportTable

CLASSIFICATION = [
    "Image Name",
    "Predicted Class",
    "Class Defined in Dataset Annotations",
    "Rank of Class Defined in Dataset Annotations in Model Predictions",
    "Model Confidence in Predicted Class",
    "Model Confidence in Class Defined in Dataset Annotations",
]
DETECTION_BASIC = ["Image Name", "A. Model Detections", "B. Objects in Dataset Annotations", "Matches between A and B"]
DETECTION_ADVANCED = [
    "Image Name",
    "Class Predicted by Model",
    "A. Model Detections",
    "B. Objects in Dataset Annotations",
    "Matches between A and B",
    "Predicted Class Precision",
    "Predicted Class Average Precision",
]
COCO_LIMIT = 500_000  # detections pycocotools is asked to hold at once
FLAG = "erroneous"


def build(ws: Workspace, model: Model, dataset: Dataset, spec: ReportSpec, *,
          cancel: threading.Event | None = None,
          progress: Progress | None = None) -> tuple[dict[str, ReportTable], dict]:
    from engine.dataset_store import load_index
    from engine.evaluate import Metric, check_compatible, load_mask

    check_compatible(model, dataset)
    index = load_index(ws, dataset)
    stored = raw_outputs(ws, model, dataset, cancel=cancel, progress=progress)
    task = model.config.task
    labels = list(index.labels) or list(model.config.labels or [])
    metric = Metric(task, index.labels, index.root)
    files = [it.file for it in index.items]
    names = image_names(files)
    ticker = Ticker(len(files), "building the report", progress, cancel)
    extra: dict[str, Any] = {}
    if task == "classification":
        from engine.adapters import ClassPrediction

        rows = ClassificationRows(CLASSIFICATION, labels, FLAG)
        for start, stop, probs in probabilities(model, stored):
            ref = np.asarray([index.items[i].label for i in range(start, stop)], np.int64)
            rows.add(np.arange(start, stop), names[start:stop], probs, ref)
            for p, item in zip(probs, index.items[start:stop]):
                metric.update(ClassPrediction(p), item)
            ticker.tick(stop - start)
        tables = {"basic": rows.table()}
    elif task == "detection":
        det_rows = DetectionRows(DETECTION_BASIC, DETECTION_ADVANCED, labels, spec.conf_threshold, FLAG)
        kept: list = []
        for i, det in predictions(model, stored, index.root, files, conf_threshold=DETECTION_FLOOR):
            item = index.items[i]
            det_rows.add(i, names[i], det, item.boxes, item.box_labels)
            metric.update(det, item)
            kept.append(det)
            ticker.tick()
        tables = det_rows.tables()
        extra["coco"] = coco_summary(kept, index.items)
    else:
        seg_rows = SegmentationRows(labels, spec.threshold(), FLAG)
        for i, pred in predictions(model, stored, index.root, files):
            mask = load_mask(index.root / index.items[i].mask)
            seg_rows.add(i, names[i], pred.classes, mask)
            # Metric.update would decode the mask a second time; feed its
            # accumulator the one decoded here.
            metric.impl.update(pred, mask)
            ticker.tick()
        tables = seg_rows.tables()
    result = metric.result()
    summary = {
        "task": task,
        "metric": result["metric"],
        "value": result["value"],
        "per_class": result["per_class"],
        "images": result["images"],
        "details": result["details"],
        "flag": FLAG,
        "flagged": {mode: int(t.flags[FLAG].sum()) for mode, t in tables.items()},
        "options": spec.options(),
        **extra,
    }
    return tables, summary


def coco_summary(dets: list, items: list) -> dict:
    """pycocotools' mAP@[.5:.95], @0.5 and @0.75 over the same detections."""
    from engine.metrics import coco_map

    total = sum(len(d) for d in dets)
    if total > COCO_LIMIT:
        return {"skipped": f"{total} detections exceed the {COCO_LIMIT} pycocotools is given at once"}
    r = coco_map(dets, [it.boxes for it in items], [it.box_labels for it in items], [it.difficult for it in items])
    return {k: r[k] for k in ("map", "map50", "map75", "per_class50")}
