"""Agreement with the parent: the accuracy budget on data without annotations.

With no labels, the only truth owb has is what the FP32 parent says. So the
metric is how closely the INT8 child reproduces it, on the task's own scale,
and the parent scores exactly 100% against itself:

- classification: top-1 agreement (same class as the parent);
- detection: mAP@0.5 with the parent's detections as ground truth;
- segmentation: mean IoU against the parent's masks;
- generic: per output, the share of the parent's output energy the child
  reproduces, 1 − noise/signal (= 1 − 10^(−SQNR/10)), averaged over outputs;
  20 dB SQNR is 99%, 10 dB 90%. The mean SQNR itself is reported beside it.

The parent's outputs are computed once, in true f32 (engine.precision:
accuracy and reference outputs run in f32), and every candidate is compared
with them. NNCF's accuracy control compiles candidates in f32 as well."""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from ..choices import CONF_THRESHOLD, DETECTION_FLOOR
from ..predictions import Detections, RawPrediction
from ..progress import named

NAMES = {
    "classification": "top-1 agreement",
    "detection": "mAP@0.5 vs parent",
    "segmentation": "mean IoU vs parent",
    "generic": "output agreement (1 − noise/signal)",
}
# The parent's own detections count as ground truth from this score on,
# the adapters' default threshold: what the parent would report.
REFERENCE_CONF = CONF_THRESHOLD


def metric_name(task: str) -> str:
    return NAMES[task]


def energy_kept(ref: np.ndarray, out: np.ndarray) -> tuple[float, float]:
    """(1 − noise/signal clipped to [0, 1], SQNR in dB) of one output."""
    ref = np.asarray(ref, np.float64).ravel()
    out = np.asarray(out, np.float64).ravel()
    if out.size != ref.size:
        return 0.0, -math.inf
    signal = float(np.sum(ref * ref))
    noise = float(np.sum((out - ref) ** 2))
    if noise == 0:
        return 1.0, math.inf
    if signal == 0:
        return 0.0, -math.inf
    return max(0.0, 1.0 - noise / signal), 10 * math.log10(signal / noise)


class Agreement:
    """Accumulates one model's predictions against the parent's; per item a
    score on the metric's own scale (what NNCF ranks layers by)."""

    def __init__(self, task: str, num_classes: int = 2) -> None:
        from .. import metrics

        self.task = task
        self.num_classes = max(int(num_classes), 2)
        self.items = 0
        self.matches = 0.0
        self.sqnr: list[float] = []
        self.kept: list[float] = []
        self.det = metrics.DetectionMAP(iou=0.5, voc=True) if task == "detection" else None
        self.seg = metrics.SegmentationIoU(self.num_classes) if task == "segmentation" else None

    def update(self, ref: Any, pred: Any) -> float:
        """Add one item; returns its own score."""
        from .. import metrics

        self.items += 1
        if self.task == "classification":
            score = 1.0 if pred.label == ref.label else 0.0
            self.matches += score
            return score
        if self.task == "detection":
            boxes, labels = reference_boxes(ref)
            self.det.update(pred, boxes, labels)
            one = metrics.DetectionMAP(iou=0.5, voc=True)
            one.update(pred, boxes, labels)
            value = one.result()["map"]
            # No box in either: the child agrees. Boxes only in the child: AP is
            # undefined (no ground truth), so count it as disagreement.
            return float(value) if value is not None else (1.0 if len(pred) == 0 else 0.0)
        if self.task == "segmentation":
            self.seg.update(pred, ref.classes)
            ious = metrics.image_iou(pred, ref.classes, self.num_classes)
            return float(np.mean(list(ious.values()))) if ious else 1.0
        kept, sqnr = zip(*(energy_kept(r, pred.outputs.get(name, np.zeros(0)))
                           for name, r in ref.outputs.items()))
        self.sqnr.extend(sqnr)
        score = float(np.mean(kept))
        self.kept.append(score)
        return score

    def result(self) -> dict:
        """{'metric', 'value' (0..1, 1 = the parent), 'images', details}."""
        out: dict[str, Any] = {"metric": metric_name(self.task), "images": self.items, "against": "parent"}
        if self.task == "classification":
            out["value"] = self.matches / self.items if self.items else None
        elif self.task == "detection":
            value = self.det.result()["map"]
            # The parent found nothing anywhere: the child agrees if it found nothing too.
            out["value"] = value if value is not None else (1.0 if self.items else None)
        elif self.task == "segmentation":
            out["value"] = self.seg.result()["mean_iou"]
        else:
            out["value"] = float(np.mean(self.kept)) if self.kept else None
            # JSON has no infinity: identical outputs are counted, the rest averaged.
            finite = [s for s in self.sqnr if math.isfinite(s)]
            out["sqnr_db_mean"] = round(float(np.mean(finite)), 3) if finite else None
            out["sqnr_db_worst"] = round(min(finite), 3) if finite else None
            out["identical_outputs"] = sum(1 for s in self.sqnr if s == math.inf)
            out["empty_outputs"] = sum(1 for s in self.sqnr if s == -math.inf)
        return out


def reference_boxes(ref: Detections) -> tuple[np.ndarray, np.ndarray]:
    keep = ref.scores >= REFERENCE_CONF
    return ref.boxes[keep], ref.labels[keep]


def num_classes_of(task: str, output_shapes: dict[str, tuple]) -> int:
    """Classes a segmentation map can hold: the channel count of a [N, C, H, W]
    score output (2 for a one-channel mask or a class-index map)."""
    if task != "segmentation":
        return 2
    best = 2
    for shape in output_shapes.values():
        if len(shape) == 4 and isinstance(shape[1], int) and shape[1] > 1:
            best = max(best, shape[1])
    return best


def adapter_options(task: str, role: str) -> dict:
    # The child's detections are scored down to the floor, as for accuracy (mAP
    # integrates over the score ranking); the parent's are kept as reported.
    return {"conf_threshold": DETECTION_FLOOR} if task == "detection" and role == "candidate" else {}


class ParentReference:
    """The parent's predictions on the validation items, computed once in f32."""

    def __init__(self, ws: Any, model: Any, index: Any, runner_cls: Any, ctx: Any, ov_model: Any = None) -> None:
        from ..adapters import model_adapter

        self.task, self.model = model.config.task, model
        self.index = index
        runner = unfolded_runner(ws, model, runner_cls, ov_model)
        shapes = runner.output_shapes()
        self.num_classes = num_classes_of(self.task, shapes)
        adapter = model_adapter(model, shapes, **adapter_options(self.task, "parent"))
        paths = [index.root / item.file for item in index.items]
        self.predictions: dict[int, Any] = {}
        for b in runner.run(paths, cancel=ctx.cancel, progress=named(ctx.progress, "parent outputs (f32)")):
            for pos, pred in zip(b.indices, adapter.process(b.outputs, b.metas)):
                self.predictions[pos] = _detach(pred)
        ctx.log.info("parent outputs computed in f32 for %d items (%s)", len(paths), metric_name(self.task))

    def score(self, runner: Any, items: list[int], ctx: Any, stage: str = "validation") -> tuple[dict, list[float]]:
        """Run ``runner`` (a candidate) on ``items``; its agreement and per-item scores."""
        from ..adapters import model_adapter

        # The parent's decoder and input size: a child has the parent's configuration.
        adapter = model_adapter(self.model, runner.output_shapes(), **adapter_options(self.task, "candidate"))
        agreement = Agreement(self.task, self.num_classes)
        scores = [0.0] * len(items)
        paths = [self.index.root / self.index.items[i].file for i in items]
        found: dict[int, Any] = {}
        for b in runner.run(paths, cancel=ctx.cancel, progress=named(ctx.progress, stage)):
            for pos, pred in zip(b.indices, adapter.process(b.outputs, b.metas)):
                found[pos] = pred
        # Dataset order, so mAP's tie-breaking does not depend on which request finished first.
        for pos in sorted(found):
            scores[pos] = agreement.update(self.predictions[items[pos]], found[pos])
        return agreement.result(), scores


def unfolded_runner(ws: Any, model: Any, runner_cls: Any, ov_model: Any = None) -> Any:
    """A runner over the model as stored, compiled in f32, preprocessing in
    numpy: the way NNCF's accuracy control runs its candidates, so the parent
    scores exactly 100% against its own reference."""
    from .. import models
    from ..inference import compile_model

    source = ov_model if ov_model is not None else models.load(ws, model, 1)
    return runner_cls(ws, model, compiled=compile_model(source))


def _detach(pred: Any) -> Any:
    # Raw outputs may be views into a request's tensor, which the next
    # inference overwrites; predictions of other tasks are fresh arrays.
    if isinstance(pred, RawPrediction):
        return RawPrediction({k: np.array(v, copy=True) for k, v in pred.outputs.items()})
    return pred


def make_agreement_validation(reference: ParentReference, ws: Any, model: Any, runner_cls: Any,
                              ctx: Any) -> Callable[[Any, Any], tuple[float, list[float]]]:
    """NNCF's validation_fn on unannotated data: items are raw dataset indices."""

    def validation_fn(compiled: Any, items: Any) -> tuple[float, list[float]]:
        chosen = [int(i) for i in items]
        result, scores = reference.score(runner_cls(ws, model, compiled=compiled), chosen, ctx)
        ctx.log.info("validation: %s = %.4f on %d images", result["metric"], result["value"], len(chosen))
        return float(result["value"]), scores

    return validation_fn


def measure_agreement(ctx: Any, parent: Any, child: Any, dataset: Any) -> dict:
    """The child's agreement with its parent on every item of ``dataset``,
    both in f32: the figure `owb calibrate` reports on unannotated data."""
    from ..dataset_store import load_index
    from ..inference import DatasetRunner

    index = load_index(ctx.ws, dataset)
    reference = ParentReference(ctx.ws, parent, index, DatasetRunner, ctx)
    result, _ = reference.score(unfolded_runner(ctx.ws, child, DatasetRunner), list(range(len(index.items))), ctx,
                                stage="agreement child")
    value = result["value"]
    ctx.log.info("agreement with the parent: %s = %s", result["metric"], value)
    return {**result, "parent": 1.0, "child": value,
            "drop": round((1.0 - value) * 100, 3) if value is not None else None,
            "unit": "drop in percentage points of agreement with the parent (the parent is 100%)"}
