"""Accuracy of a model on an annotated dataset: inference → adapter → metric.

The same streaming pass serves `owb accuracy`, automatic accuracy after
calibration, and NNCF's validation function under accuracy control."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from .adapters import model_adapter
from .choices import DETECTION_FLOOR
from .errors import BadInput
from .device import precision_name
from .inference import DatasetRunner, OutputStore
from .precision import ACCURACY
from .precision import validate as validate_precision
from .progress import Progress
from .records import TASK_FORMATS, Dataset, InferenceResult, Model
from .workspace import Workspace


def check_compatible(model: Model, dataset: Dataset) -> None:
    task = model.config.task
    if task == "generic":
        raise BadInput(f"model {model.name!r} has task generic, which has no accuracy metric; "
                       f"set one with `owb model configure {model.name} --task ...`")
    if not dataset.annotated:
        raise BadInput(f"dataset {dataset.name!r} has no annotations; accuracy needs an annotated dataset "
                       f"({', '.join(TASK_FORMATS[task])} for {task})")
    if dataset.format not in TASK_FORMATS[task]:
        raise BadInput(f"a {task} model needs a {' or '.join(TASK_FORMATS[task])} dataset; "
                       f"{dataset.name!r} is {dataset.format}")


class Metric:
    """The task's metric behind one interface: feed items, read a result."""

    def __init__(self, task: str, labels: list[str], root: Path) -> None:
        from . import metrics

        self.task, self.labels, self.root = task, labels, root
        if task == "classification":
            self.impl: Any = metrics.TopK()
        elif task == "detection":
            self.impl = metrics.DetectionMAP(iou=0.5, voc=True)
        else:
            self.impl = metrics.SegmentationIoU(num_classes=max(len(labels), 2))

    def update(self, pred: Any, item: Any) -> None:
        if self.task == "classification":
            self.impl.update(pred, item.label)
        elif self.task == "detection":
            self.impl.update(pred, item.boxes or [], item.box_labels or [], item.difficult)
        else:
            self.impl.update(pred, load_mask(self.root / item.mask))

    def result(self) -> dict:
        raw = self.impl.result()
        if self.task == "classification":
            name, value = "top1", raw["top1"]
        elif self.task == "detection":
            name, value = "mAP@0.5", raw["map"]
        else:
            name, value = "mean_iou", raw["mean_iou"]
        per_class = {self._label(k): v for k, v in raw.get("per_class", {}).items()}
        extra = {k: v for k, v in raw.items() if k not in ("per_class", "images")}
        return {"metric": name, "value": value, "per_class": per_class, "images": raw["images"], "details": extra}

    def _label(self, k: Any) -> str:
        i = int(k)
        return self.labels[i] if 0 <= i < len(self.labels) else str(i)


def load_mask(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as img:
        # Palette PNGs hold class indices directly; anything else is read as L.
        return np.asarray(img if img.mode in ("P", "L") else img.convert("L"))


def predictions(ws: Workspace, model: Model, dataset: Dataset, *, batch: int = 1,
                cancel: threading.Event | None = None, progress: Progress | None = None,
                items: list[int] | None = None, store: bool = False,
                runner: DatasetRunner | None = None, index: Any = None,
                **adapter_options: Any) -> Iterator[tuple[int, Any]]:
    """(item index, prediction) for every chosen item, as inference completes."""
    from .dataset_store import load_index

    index = index if index is not None else load_index(ws, dataset)
    chosen = list(range(len(index.items))) if items is None else items
    paths = [index.root / index.items[i].file for i in chosen]
    runner = runner or DatasetRunner(ws, model, batch=batch)
    adapter = model_adapter(model, runner.output_shapes(), **adapter_options)
    sink = OutputStore(OutputStore.folder_for(ws, model.id, dataset.id)) if store and items is None else None
    cache = runner.open_cache(dataset, index)
    for b in runner.run(paths, cancel=cancel, progress=progress, cache=cache, keys=chosen):
        if sink:
            sink.write(b, len(paths))
        for pos, pred in zip(b.indices, adapter.process(b.outputs, b.metas)):
            yield chosen[pos], pred
    if sink:
        sink.finish()


def evaluate(ws: Workspace, model: Model, dataset: Dataset, *, batch: int = 1,
             cancel: threading.Event | None = None, progress: Progress | None = None,
             record: bool = True, precision: str = ACCURACY) -> dict:
    """Measure the task metric; stores the result in the project's history.
    ``precision`` is the floating-point precision inference runs in (true f32
    by default, engine.precision says why)."""
    from .dataset_store import load_index
    from .projects import ensure_project

    check_compatible(model, dataset)
    index = load_index(ws, dataset)
    options = {"conf_threshold": DETECTION_FLOOR} if model.config.task == "detection" else {}
    metric = Metric(model.config.task, index.labels, index.root)
    validate_precision(precision)
    runner = DatasetRunner(ws, model, batch=batch, precision=precision)
    start = time.perf_counter()  # after compiling: images/s is the streaming rate
    stream = predictions(ws, model, dataset, cancel=cancel, progress=progress, runner=runner, index=index, **options)
    if model.config.task == "detection":
        # mAP breaks score ties by the order images were fed; dataset order
        # keeps it independent of which request finished first.
        stream = iter(sorted(stream, key=lambda pair: pair[0]))
    for i, pred in stream:
        metric.update(pred, index.items[i])
    result = metric.result()
    result["seconds"] = round(time.perf_counter() - start, 3)
    result["images_per_s"] = round(result["images"] / max(result["seconds"], 1e-9), 2)
    result["inference_precision"] = precision_name(runner.compiled.get_property("INFERENCE_PRECISION_HINT"))
    if record:
        project = ensure_project(ws, model, dataset)
        ws.add(InferenceResult(kind="accuracy", project=project.id, model=model.id, dataset=dataset.id, result=result))
    return result


