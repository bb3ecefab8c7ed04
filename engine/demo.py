"""`owb demo`: the embedded default — a small CNN owb trained itself
(tools/train_demo.py) and datasets generated deterministically at run time."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from .records import Dataset, Model
from .workspace import Workspace

MODEL_NAME = "demo-cnn"
ANNOTATED_NAME = "demo-shapes"
UNANNOTATED_NAME = "demo-unannotated"
ANNOTATED_IMAGES = 500
UNANNOTATED_IMAGES = 100
VALIDATION_SEED = 20261122  # not a training seed: the demo measures held-out accuracy


def asset(name: str) -> Path:
    return Path(str(resources.files("engine") / "assets" / name))


def demo_config() -> dict:
    return json.loads(asset("demo_cnn.json").read_text())


def run_demo(ws: Workspace) -> dict:
    """Create the demo model and datasets unless they exist; idempotent."""
    from . import synth
    from .dataset_store import import_dataset
    from .models import import_model

    created = []
    model = ws.maybe(Model, MODEL_NAME)
    if model is None:
        cfg = demo_config()
        model = import_model(ws, asset("demo_cnn.onnx"), name=MODEL_NAME, **{
            k: cfg[k] for k in ("task", "shape", "layout", "color", "mean", "scale", "resize", "labels")
        })
        created.append(MODEL_NAME)
    datasets = {}
    for name, count, writer in (
        (ANNOTATED_NAME, ANNOTATED_IMAGES, synth.write_imagenet),
        (UNANNOTATED_NAME, UNANNOTATED_IMAGES, synth.write_unannotated),
    ):
        ds = ws.maybe(Dataset, name)
        if ds is None:
            scratch = ws.tmp_dir("demo-")
            writer(scratch / name, count, VALIDATION_SEED)
            ds = import_dataset(ws, scratch / name, name=name, move=True)
            scratch.rmdir()
            created.append(name)
        datasets[name] = ds
    return {"model": model, "datasets": datasets, "created": created}
