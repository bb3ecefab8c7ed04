"""The validation function NNCF's accuracy control calls.

NNCF passes the *raw* validation items (here: dataset item indices; its
transform_fn is not applied) and a compiled model. Returning
``(metric, per_item_values)`` lets NNCF rank layers from one pass instead of
calling the function once per item, which is what makes AccuracyAware usable."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .adapters import model_adapter
from .choices import DETECTION_FLOOR
from .evaluate import Metric, load_mask
from .progress import named
from .records import Dataset, Model
from .workspace import Workspace


def per_item_score(task: str, pred: Any, item: Any, root: Any, num_classes: int) -> float:
    """How right one prediction is, on the task metric's own scale."""
    from . import metrics

    if task == "classification":
        return 1.0 if pred.rank_of(int(item.label)) == 0 else 0.0
    if task == "segmentation":
        ious = metrics.image_iou(pred, load_mask(root / item.mask), num_classes)
        return float(np.mean(list(ious.values()))) if ious else 1.0
    one = metrics.DetectionMAP(iou=0.5, voc=True)
    one.update(pred, item.boxes or [], item.box_labels or [], item.difficult)
    value = one.result()["map"]
    return float(value) if value is not None else 1.0


def make_validation(ws: Workspace, model: Model, dataset: Dataset, index: Any, runner_cls: Any,
                    ctx: Any) -> Callable[[Any, Any], tuple[float, list[float]]]:
    task = model.config.task
    options = {"conf_threshold": DETECTION_FLOOR} if task == "detection" else {}
    num_classes = max(len(index.labels), 2)
    caches: dict[str, Any] = {}  # one decode cache entry serves every validation pass

    def validation_fn(compiled: Any, items: Any) -> tuple[float, list[float]]:
        chosen = [int(i) for i in items]
        runner = runner_cls(ws, model, compiled=compiled)
        adapter = model_adapter(model, runner.output_shapes(), **options)
        metric = Metric(task, index.labels, index.root)
        scores = [0.0] * len(chosen)
        paths = [index.root / index.items[i].file for i in chosen]

        if "entry" not in caches:
            caches["entry"] = runner.open_cache(dataset, index)
        report = named(ctx.progress, "validation")
        for b in runner.run(paths, cancel=ctx.cancel, progress=report, cache=caches["entry"], keys=chosen):
            for pos, pred in zip(b.indices, adapter.process(b.outputs, b.metas)):
                item = index.items[chosen[pos]]
                metric.update(pred, item)
                scores[pos] = per_item_score(task, pred, item, index.root, num_classes)
        value = metric.result()["value"]
        ctx.log.info("validation: %s = %.4f on %d images", metric.result()["metric"], value, len(chosen))
        return float(value), scores

    return validation_fn
