"""Raw outputs of a model over a dataset, computed once and reused.

Every report is derived from stored raw outputs (engine.inference.OutputStore),
so a model runs over a dataset once, however many reports (accuracy,
optimized vs parent, tensor distance) are built on it. A fingerprint of the
model's input configuration is kept beside the outputs, so outputs made under
another configuration (a new mean, shape or colour order) are recomputed
rather than silently reused."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from engine.adapters import ImageMeta, make_adapter, model_adapter
from engine.errors import BadInput
from engine.progress import Progress, named
from engine.records import Dataset, InputConfig, Model
from engine.workspace import Workspace

FINGERPRINT = "owb-report-fingerprint.json"
CHUNK = 256


def fingerprint(model: Model) -> str:
    from engine.precision import ACCURACY

    # The precision is part of it: outputs stored when accuracy ran in the
    # plugin's default (bf16 on some CPUs) are not f32 reference outputs.
    doc = json.dumps({"path": model.path, "config": model.config.to_dict(), "precision": ACCURACY}, sort_keys=True)
    return hashlib.sha256(doc.encode()).hexdigest()[:16]


def raw_outputs(ws: Workspace, model: Model, dataset: Dataset, *, cancel: threading.Event | None = None,
                progress: Progress | None = None) -> dict[str, np.ndarray]:
    """The model's raw outputs for every dataset item, as read-only memmaps
    indexed by item; inference runs only when none are stored yet."""
    from engine.dataset_store import load_index
    from engine.inference import DatasetRunner, OutputStore

    index = load_index(ws, dataset)
    stored = stored_outputs(ws, model, dataset, len(index.items))
    if stored is not None:
        return stored
    folder = OutputStore.folder_for(ws, model.id, dataset.id)
    runner = DatasetRunner(ws, model)
    paths = [index.root / it.file for it in index.items]
    (folder / "complete.json").unlink(missing_ok=True)
    sink = OutputStore(folder)
    cache = runner.open_cache(dataset, index)
    keys = range(len(paths))
    for batch in runner.run(paths, cancel=cancel, progress=named(progress, f"inference {model.name}"), cache=cache,
                            keys=keys):
        sink.write(batch, len(paths))
    sink.finish()
    (folder / FINGERPRINT).write_text(json.dumps({"fingerprint": fingerprint(model)}))
    out = OutputStore.open(folder)
    assert out is not None
    return out


def stored_outputs(ws: Workspace, model: Model, dataset: Dataset, count: int) -> dict[str, np.ndarray] | None:
    """The stored raw outputs when complete and made under the model's current
    configuration (outputs stored without a fingerprint are trusted)."""
    from engine.inference import OutputStore

    folder = OutputStore.folder_for(ws, model.id, dataset.id)
    stored = OutputStore.open(folder)
    if stored is None or not _usable(stored, model, count):
        return None
    marker = folder / FINGERPRINT
    try:
        seen = json.loads(marker.read_text())["fingerprint"] if marker.exists() else None
    except (OSError, ValueError, KeyError):
        return None
    return stored if seen in (None, fingerprint(model)) else None


def _usable(stored: dict[str, np.ndarray], model: Model, count: int) -> bool:
    names = {o["name"] for o in model.outputs}
    return set(stored) == names and all(a.shape[0] == count for a in stored.values())


def output_shapes(model: Model, stored: dict[str, np.ndarray]) -> dict[str, tuple]:
    """Per-image output shapes with the batch dimension put back, for make_adapter."""
    return {name: (1, *arr.shape[1:]) for name, arr in stored.items()}


def input_size(model: Model) -> tuple[int, int]:
    shape = model.config.shape or model.inputs[0]["shape"]
    layout = model.config.layout
    return int(shape[layout.index("W")]), int(shape[layout.index("H")])


def image_meta(config: InputConfig, in_w: int, in_h: int, orig_w: int, orig_h: int) -> ImageMeta:
    """The geometry engine.preprocess.Preprocessor records for an image of
    this size, computed from the size alone (the same resize-mode placement)."""
    from engine.preprocess import geometry

    return geometry(config, in_w, in_h, orig_w, orig_h)


def image_sizes(root: Path, files: list[str]) -> list[tuple[int, int]]:
    """Width and height from each image's header (no decode), in a thread pool."""
    from PIL import Image

    def size(rel: str) -> tuple[int, int]:
        try:
            with Image.open(root / rel) as img:
                return img.size
        except OSError as exc:
            raise BadInput(f"cannot read image {rel}: {exc}") from None

    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(size, files, chunksize=64))


def predictions(model: Model, stored: dict[str, np.ndarray], root: Path, files: list[str],
                **adapter_options: Any) -> Iterator[tuple[int, Any]]:
    """(item index, prediction) for every item, from stored raw outputs."""
    adapter = model_adapter(model, output_shapes(model, stored), **adapter_options)
    n = len(files)
    if model.config.task in ("classification", "generic"):
        # These adapters never look at the geometry; skip reading image headers.
        for start in range(0, n, CHUNK):
            stop = min(n, start + CHUNK)
            metas = [ImageMeta.unscaled(1, 1)] * (stop - start)
            preds = adapter.process({k: np.asarray(v[start:stop]) for k, v in stored.items()}, metas)
            yield from zip(range(start, stop), preds)
        return
    in_w, in_h = input_size(model)
    for start in range(0, n, CHUNK):
        stop = min(n, start + CHUNK)
        sizes = image_sizes(root, files[start:stop])
        for i, (w, h) in zip(range(start, stop), sizes):
            # One image at a time: SSD outputs carry no per-image batch dimension.
            meta = image_meta(model.config, in_w, in_h, w, h)
            (pred,) = adapter.process({k: np.asarray(v[i:i + 1]) for k, v in stored.items()}, [meta])
            yield i, pred


def probabilities(model: Model, stored: dict[str, np.ndarray]) -> Iterator[tuple[int, int, np.ndarray]]:
    """(start, stop, probability rows) of a classification model, chunk by
    chunk, through the classification adapter (softmax where needed)."""
    adapter = make_adapter("classification", output_shapes(model, stored))
    n = next(iter(stored.values())).shape[0]
    for start in range(0, n, CHUNK):
        stop = min(n, start + CHUNK)
        preds = adapter.process({k: np.asarray(v[start:stop]) for k, v in stored.items()},
                                [ImageMeta.unscaled(1, 1)] * (stop - start))
        yield start, stop, np.stack([p.probs for p in preds]) if preds else np.zeros((0, 0), np.float32)


class Ticker:
    """Progress and cancel for a pass over rows: reports every ``every`` rows."""

    def __init__(self, total: int, stage: str, progress: Progress | None,
                 cancel: threading.Event | None, every: int = 64) -> None:
        self.total, self.stage, self.progress, self.cancel, self.every = total, stage, progress, cancel, every
        self.done = 0

    def tick(self, n: int = 1) -> None:
        before = self.done
        self.done += n
        if self.done // self.every != before // self.every or self.done == self.total:
            if self.cancel is not None and self.cancel.is_set():
                from engine.errors import Cancelled

                raise Cancelled("report cancelled")
            if self.progress is not None:
                self.progress(self.stage, self.done, self.total)


def image_names(files: list[str]) -> list[str]:
    """Item paths without the folders every item shares (VOC's JPEGImages/,
    COCO's val2017/), so the Image Name column says what tells images apart."""
    if not files:
        return []
    parts = [f.split("/")[:-1] for f in files]
    common = parts[0]
    for p in parts[1:]:
        k = 0
        while k < min(len(common), len(p)) and common[k] == p[k]:
            k += 1
        common = common[:k]
        if not common:
            return list(files)
    cut = len("/".join(common)) + 1
    return [f[cut:] for f in files]
