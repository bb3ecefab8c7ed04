"""Optimized vs parent predictions: the accuracy tables with the parent's
predictions as the reference, so it needs no annotations. The filter keeps
the rows where the two models differ.

Summary: how often the models agree — top-1 agreement, mAP@0.5 of the
optimized model's detections against the parent's, or mean IoU of the two
masks."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from engine.choices import DETECTION_FLOOR
from engine.errors import BadInput
from engine.progress import Progress
from engine.records import Dataset, Model
from engine.workspace import Workspace

from .outputs import Ticker, image_names, predictions, probabilities, raw_outputs
from .rows import ClassificationRows, DetectionRows, SegmentationRows
from .spec import ReportSpec
from .table import ReportTable

CLASSIFICATION = [
    "Image Name",
    "Class Predicted by Optimized Model",
    "Class Predicted by Parent Model",
    "Rank of Class Predicted by Parent Model in Optimized Model Predictions",
    "Optimized Model Confidence in Class Predicted by Optimized Model",
    "Optimized Model Confidence in Class Predicted by Parent Model",
]
DETECTION_BASIC = ["Image Name", "A. Optimized Model Detections", "B. Parent Model Detections",
                   "Matches between A and B"]
DETECTION_ADVANCED = [
    "Image Name",
    "Class Predicted by Optimized Model",
    "A. Optimized Model Detections",
    "B. Parent Model Detections",
    "Matches between A and B",
    "Predicted Class Precision",
    "Predicted Class Average Precision",
]
FLAG = "different"


def check_pair(model: Model, reference: Model) -> str:
    task = model.config.task
    if task != reference.config.task:
        raise BadInput(f"{model.name!r} has task {task} but {reference.name!r} has "
                       f"{reference.config.task}; set the same task on both with `owb model configure`")
    if task == "generic":
        raise BadInput(f"model {model.name!r} has task generic, whose outputs have no classes to compare; "
                       "use --kind tensor-distance, or set a task with `owb model configure`")
    return task


def class_labels(model: Model, reference: Model, dataset: Dataset) -> list[str]:
    return list(model.config.labels or reference.config.labels or dataset.labels or [])


def build(ws: Workspace, model: Model, reference: Model, dataset: Dataset, spec: ReportSpec, *,
          cancel: threading.Event | None = None,
          progress: Progress | None = None) -> tuple[dict[str, ReportTable], dict]:
    from engine.dataset_store import load_index
    from engine.metrics import DetectionMAP, SegmentationIoU

    task = check_pair(model, reference)
    index = load_index(ws, dataset)
    mine = raw_outputs(ws, model, dataset, cancel=cancel, progress=progress)
    theirs = raw_outputs(ws, reference, dataset, cancel=cancel, progress=progress)
    labels = class_labels(model, reference, dataset)
    files = [it.file for it in index.items]
    names = image_names(files)
    ticker = Ticker(len(files), "building the report", progress, cancel)
    summary: dict[str, Any] = {"task": task}
    if task == "classification":
        rows = ClassificationRows(CLASSIFICATION, labels, FLAG)
        agree = 0
        for (start, stop, probs), (_, _, ref_probs) in zip(probabilities(model, mine), probabilities(reference, theirs)):
            ref = ref_probs.argmax(axis=1)
            rows.add(np.arange(start, stop), names[start:stop], probs, ref)
            agree += int(np.count_nonzero(probs.argmax(axis=1) == ref))
            ticker.tick(stop - start)
        tables = {"basic": rows.table()}
        summary.update(metric="top1 agreement", value=agree / max(len(files), 1))
    elif task == "detection":
        det_rows = DetectionRows(DETECTION_BASIC, DETECTION_ADVANCED, labels, spec.conf_threshold, FLAG)
        agreement = DetectionMAP(iou=0.5, voc=True)
        pairs = zip(predictions(model, mine, index.root, files, conf_threshold=DETECTION_FLOOR),
                    predictions(reference, theirs, index.root, files, conf_threshold=spec.conf_threshold))
        for (i, det), (_, ref) in pairs:
            det_rows.add(i, names[i], det, ref.boxes, ref.labels)
            agreement.update(det, ref.boxes, ref.labels)
            ticker.tick()
        tables = det_rows.tables()
        summary.update(metric="mAP@0.5 vs parent", value=agreement.result()["map"])
    else:
        seg_rows = SegmentationRows(labels, spec.threshold(), FLAG)
        pairs = zip(predictions(model, mine, index.root, files), predictions(reference, theirs, index.root, files))
        accumulated: SegmentationIoU | None = None
        for (i, pred), (_, ref) in pairs:
            n = seg_rows.classes_for(pred.classes, ref.classes)
            if accumulated is None or accumulated.num_classes < n:
                accumulated = _grown(accumulated, n)
            seg_rows.add(i, names[i], pred.classes, ref.classes)
            accumulated.update(pred.classes, ref.classes)
            ticker.tick()
        tables = seg_rows.tables()
        summary.update(metric="mean IoU vs parent", value=accumulated.result()["mean_iou"] if accumulated else None)
    summary.update(images=len(files), flag=FLAG, options=spec.options(),
                   flagged={mode: int(t.flags[FLAG].sum()) for mode, t in tables.items()})
    return tables, summary


def _grown(old: Any, classes: int) -> Any:
    """A SegmentationIoU over more classes, keeping what was counted so far."""
    from engine.metrics import SegmentationIoU

    new = SegmentationIoU(classes)
    if old is not None:
        k = old.num_classes
        new.confusion[:k, :k] = old.confusion[:, :k]
        new.confusion[:k, classes] = old.confusion[:, k]
        new.images = old.images
    return new
