"""Run a compiled model over a dataset, keeping every core busy.

Decode/preprocess runs ahead in a small thread pool with a bounded window, an
AsyncInferQueue of the plugin's optimal number of requests runs the model, and
results stream back to the caller batch by batch, so memory does not grow with
the dataset."""

from __future__ import annotations

import os
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from .predictions import ImageMeta
from .errors import Cancelled
from .model_facts import tensor_infos
from .precision import ACCURACY
from .preprocess import Preprocessor
from .records import Model
from .workspace import Workspace

Progress = Callable[[int, int], None]
DECODE_GROUP = 8  # inference chunks decoded per pool task


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
    """One compiled model, ready to run over lists of image files."""

    def __init__(self, ws: Workspace, model: Model, *, batch: int = 1, device: str = "CPU",
                 compiled: Any = None, ov_model: Any = None, precision: str = ACCURACY) -> None:
        from . import models

        self.model = model
        self.batch = batch
        if compiled is None:
            compiled = compile_model(ov_model if ov_model is not None else models.load(ws, model, batch), device,
                                     precision=precision)
        self.compiled = compiled
        port = compiled.inputs[0]
        shape = [d.get_length() for d in port.get_partial_shape()]
        n = model.config.layout.find("N")
        single = list(shape)
        if n >= 0:
            single[n] = 1
        dtype = "u8" if port.get_element_type().get_type_name() == "u8" else "f32"
        self.pre = Preprocessor(model.config, single, dtype)
        self.output_infos = tensor_infos(compiled.outputs)
        self.output_names = [o["name"] for o in self.output_infos]
        # Twice the plugin's optimum: while the host thread decodes, adapts
        # and hands results over, each stream still has a request queued, so
        # no stream idles waiting for Python (benchmark_app never has that gap).
        self.requests = 2 * int(compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS"))
        self.workers = max(1, min(2, os.cpu_count() or 1))

    def output_shapes(self) -> dict[str, tuple]:
        return {o["name"]: tuple(o["shape"]) for o in self.output_infos}

    def _prepare(self, paths: Sequence[Path], chunk: list[int]) -> tuple[np.ndarray, list[ImageMeta]]:
        arrays, metas = [], []
        for i in chunk:
            arr, meta = self.pre.load(paths[i])
            arrays.append(arr)
            metas.append(meta)
        while len(arrays) < self.batch:  # pad the last batch; its extra outputs are dropped
            arrays.append(arrays[-1])
        return (np.concatenate(arrays, axis=0) if len(arrays) > 1 else arrays[0]), metas

    def run(self, paths: Sequence[Path], *, cancel: threading.Event | None = None,
            progress: Progress | None = None) -> Iterator[Batch]:
        """Yield a Batch per inference as it completes (not in dataset order).

        No Python completion callback: results are read from a request when it
        is next found idle, as benchmark_app does. A callback would need the
        GIL on OpenVINO's threads, and one still pending when the compiled
        model is freed (under the GIL) deadlocks its destructor."""
        import openvino as ov

        infer_queue = ov.AsyncInferQueue(self.compiled, self.requests)
        inflight: dict[int, tuple[list[int], list[ImageMeta]]] = {}
        chunks = [list(range(i, min(i + self.batch, len(paths)))) for i in range(0, len(paths), self.batch)]
        total, finished = len(paths), 0
        lookahead = self.requests * 2 + self.workers

        def collect(rid: int) -> Batch:
            nonlocal finished
            chunk, metas = inflight.pop(rid)
            request = infer_queue[rid]
            outs = {name: request.get_output_tensor(i).data[: len(chunk)].copy()
                    for i, name in enumerate(self.output_names)}
            finished += len(chunk)
            if progress:
                progress(finished, total)
            return Batch(chunk, outs, metas)

        # Decode work goes to the pool a group of chunks at a time: one future
        # per image costs more in executor hand-offs than a small JPEG decode.
        groups = [chunks[i:i + DECODE_GROUP] for i in range(0, len(chunks), DECODE_GROUP)]
        window = max(2, -(-lookahead // DECODE_GROUP))

        def prepare_group(group: list[list[int]]) -> list[tuple[list[int], np.ndarray, list[ImageMeta]]]:
            return [(chunk, *self._prepare(paths, chunk)) for chunk in group]

        with ThreadPoolExecutor(self.workers, thread_name_prefix="owb-decode") as pool:
            pending: deque = deque(pool.submit(prepare_group, g) for g in groups[:window])
            feed = iter(groups[window:])
            try:
                while pending:
                    fut = pending.popleft()
                    nxt = next(feed, None)
                    if nxt is not None:
                        pending.append(pool.submit(prepare_group, nxt))
                    for chunk, arr, metas in fut.result():
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
                for fut in pending:
                    fut.cancel()
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
