"""Run a compiled model over a dataset, keeping every core busy.

Decode runs ahead in a small thread pool with a bounded window (engine.feed), an
AsyncInferQueue of the plugin's optimal number of requests runs the model, and
results stream back to the caller batch by batch, so memory does not grow with
the dataset."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from .predictions import ImageMeta
from .errors import Cancelled
from .feed import DecodeCache, ImageFeed, decode_workers
from .model_facts import tensor_infos
from .precision import ACCURACY
from .preprocess import Preprocessor
from .progress import Progress
from .records import Model
from .workspace import Workspace


@dataclass
class Batch:
    indices: list[int]  # dataset item indices, in the same order as the outputs' first dim
    outputs: dict[str, np.ndarray]
    metas: list[ImageMeta]


def compile_model(ov_model: Any, device: str = "CPU", hint: str = "THROUGHPUT", extra: dict | None = None,
                  precision: str = ACCURACY) -> Any:
    """Compiled for a pass over a dataset: accuracy and reference outputs run
    in true f32 by default (engine.precision says why)."""
    from .precision import compile_model as compile_pinned

    return compile_pinned(ov_model, device, precision, {"PERFORMANCE_HINT": hint, **(extra or {})})


class DatasetRunner:
    """One compiled model, ready to run over lists of image files.

    When the model is compiled here, the tensor half of preprocessing is
    folded into it (engine.preprocess.Preprocessor.fold, on a clone: the
    model a caller passes in stays as it is), so the host feeds u8 pixels. A
    model compiled elsewhere (NNCF's, under accuracy control) gets them
    converted in numpy instead, in the decode pool."""

    def __init__(self, ws: Workspace, model: Model, *, batch: int = 1, device: str = "CPU",
                 compiled: Any = None, ov_model: Any = None, precision: str = ACCURACY) -> None:
        from . import models

        self.ws, self.model = ws, model
        self.batch = batch
        self.folded = False
        if compiled is None:
            source = ov_model.clone() if ov_model is not None else models.load(ws, model, batch)
            self.pre = self._preprocessor(model, source.inputs[0])
            self.folded = self.pre.fold(source)
            compiled = compile_model(source, device, precision=precision)
        else:
            self.pre = self._preprocessor(model, compiled.inputs[0])
        self.compiled = compiled
        self.finish = self.pre.folded_input if self.folded else self.pre.to_tensor
        self.output_infos = tensor_infos(compiled.outputs)
        self.output_names = [o["name"] for o in self.output_infos]
        # Twice the plugin's optimum: while the host thread decodes, adapts
        # and hands results over, each stream still has a request queued, so
        # no stream idles waiting for Python (benchmark_app never has that gap).
        self.requests = 2 * int(compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS"))
        self.workers = decode_workers(compiled)

    def _preprocessor(self, model: Model, port: Any) -> Preprocessor:
        shape = [d.get_length() for d in port.get_partial_shape()]
        n = model.config.layout.find("N")
        if n >= 0:
            shape[n] = 1
        dtype = "u8" if port.get_element_type().get_type_name() == "u8" else "f32"
        return Preprocessor(model.config, shape, dtype)

    def output_shapes(self) -> dict[str, tuple]:
        return {o["name"]: tuple(o["shape"]) for o in self.output_infos}

    def load(self, path: Path) -> tuple[np.ndarray, ImageMeta]:
        """One image as this runner's compiled model takes it."""
        pixels, meta = self.pre.decode(path)
        return self.finish(pixels[None]), meta

    def open_cache(self, dataset: Any, index: Any) -> DecodeCache | None:
        return DecodeCache.open(self.ws, dataset, index, self.pre)

    def run(self, paths: Sequence[Path], *, cancel: threading.Event | None = None,
            progress: Progress | None = None, cache: DecodeCache | None = None,
            keys: Sequence[int] | None = None) -> Iterator[Batch]:
        """Yield a Batch per inference as it completes (not in dataset order).
        With ``cache`` (from ``open_cache``), ``keys[i]`` is the dataset item
        index of ``paths[i]``; without, files of a stored dataset find its
        decode cache entry themselves.

        No Python completion callback: results are read from a request when it
        is next found idle, as benchmark_app does. A callback would need the
        GIL on OpenVINO's threads, and one still pending when the compiled
        model is freed (under the GIL) deadlocks its destructor."""
        import openvino as ov

        infer_queue = ov.AsyncInferQueue(self.compiled, self.requests)
        inflight: dict[int, tuple[list[int], list[ImageMeta]]] = {}
        total, finished = len(paths), 0
        if cache is None or keys is None:
            found = DecodeCache.for_paths(self.ws, paths, self.pre)
            cache, keys = found if found is not None else (None, None)
        feed = ImageFeed(self.pre, self.finish, workers=self.workers, cache=cache)

        def collect(rid: int) -> Batch:
            nonlocal finished
            chunk, metas = inflight.pop(rid)
            request = infer_queue[rid]
            outs = {name: request.get_output_tensor(i).data[: len(chunk)].copy()
                    for i, name in enumerate(self.output_names)}
            finished += len(chunk)
            if progress:
                progress("inference", finished, total)
            return Batch(chunk, outs, metas)

        stream = feed.chunks(paths, keys=keys, batch=self.batch, window=self.requests * 2 + self.workers)
        try:
            for chunk, arr, metas in stream:
                if cancel is not None and cancel.is_set():
                    raise Cancelled("cancelled")
                rid = infer_queue.get_idle_request_id()
                if rid in inflight:
                    yield collect(rid)
                # A plain copy into the request's own tensor, cheaper
                # than start_async's generic input dispatch.
                infer_queue[rid].get_input_tensor(0).data[...] = arr
                infer_queue.start_async()
                inflight[rid] = (chunk, metas)
        finally:
            stream.close()
            infer_queue.wait_all()
        for rid in sorted(inflight):
            yield collect(rid)


class OutputStore:
    """Raw outputs of one model over one dataset, as .npy memmaps, so that
    reports reuse them instead of running inference again."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.arrays: dict[str, np.ndarray] = {}

    @staticmethod
    def folder_for(ws: Workspace, model_id: str, dataset_id: str) -> Path:
        return ws.home / "outputs" / f"{model_id}-{dataset_id}"

    def _file(self, name: str) -> Path:
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
        return self.folder / f"{safe}.npy"

    def write(self, batch: Batch, total: int) -> None:
        for name, arr in batch.outputs.items():
            mm = self.arrays.get(name)
            if mm is None:
                self.folder.mkdir(parents=True, exist_ok=True)
                mm = np.lib.format.open_memmap(self._file(name), "w+", arr.dtype, (total, *arr.shape[1:]))
                self.arrays[name] = mm
            mm[batch.indices] = arr

    def finish(self) -> None:
        import json

        for mm in self.arrays.values():
            mm.flush()
        (self.folder / "complete.json").write_text(json.dumps({"outputs": list(self.arrays)}))

    @classmethod
    def open(cls, folder: Path) -> dict[str, np.ndarray] | None:
        import json

        marker = folder / "complete.json"
        if not marker.exists():
            return None
        store = cls(folder)
        names = json.loads(marker.read_text())["outputs"]
        return {n: np.load(store._file(n), mmap_mode="r") for n in names}
