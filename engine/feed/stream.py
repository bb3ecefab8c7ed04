"""Images of a dataset, streamed in input order as u8 pixels ready for a model.

A thread pool, sized to the cores the compiled model leaves free, decodes (or
reads from the decode cache) a bounded window ahead of the consumer, so memory
does not grow with the dataset and the host half of preprocessing overlaps
inference. Work goes to the pool a group of chunks at a time: one future per
image costs more in executor hand-offs than reading a cached row."""

from __future__ import annotations

import os
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from ..predictions import ImageMeta
from ..preprocess import Preprocessor, geometry
from .cache import DecodeCache

DECODE_GROUP = 8  # chunks per pool task
MAX_WORKERS = 8
WORKERS_ENV = "OWB_DECODE_WORKERS"

Chunk = tuple[list[int], np.ndarray, list[ImageMeta]]  # positions, model input, geometry


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def decode_workers(compiled: Any = None, threads_used: int = 0) -> int:
    """Cores the model's inference threads leave free: decode threads beyond
    that only take time from the streams they feed. At least one, and at
    least a quarter of the cores, so that on a large machine full-size JPEGs
    the cache cannot hold do not starve a model that takes every core.
    ``OWB_DECODE_WORKERS`` overrides (for measuring)."""
    forced = os.environ.get(WORKERS_ENV, "")
    if forced.isdigit() and int(forced) > 0:
        return min(MAX_WORKERS, int(forced))
    used = threads_used
    if compiled is not None:
        try:
            used = int(compiled.get_property("INFERENCE_NUM_THREADS"))
        except (RuntimeError, TypeError, ValueError):
            used = 0
    cores = usable_cores()
    return min(MAX_WORKERS, max(1, cores // 4, cores - used))


class ImageFeed:
    """Streams chunks of images as model inputs: the host half (or a cached
    copy of it) in the pool, then ``finish`` (u8 B×H×W×C → model input)."""

    def __init__(self, pre: Preprocessor, finish: Callable[[np.ndarray], np.ndarray], *,
                 workers: int = 1, cache: DecodeCache | None = None) -> None:
        self.pre, self.finish, self.workers, self.cache = pre, finish, workers, cache

    def pixels(self, path: Path, key: int | None, out: np.ndarray) -> ImageMeta:
        """Item ``path``'s host pixels into ``out``, from the cache when it holds them."""
        cache = self.cache if key is not None else None
        if cache is None:
            pixels, meta = self.pre.decode(path)
            out[...] = pixels
            return meta
        try:
            sig = cache.signature(path)
        except OSError:
            sig = (-1, -1)  # missing: decode says so in owb's words
        size = cache.read(key, sig, out)
        if size is not None:
            return geometry(self.pre.config, self.pre.w, self.pre.h, *size)
        pixels, meta = self.pre.decode(path)
        out[...] = pixels
        if sig[0] >= 0:
            cache.write(key, sig, out, meta.orig_w, meta.orig_h)
        return meta

    def prepare(self, paths: Sequence[Path], keys: Sequence[int] | None, chunk: list[int], batch: int) -> Chunk:
        pixels = np.empty((batch, *self.pre.host_shape), np.uint8)
        metas = [self.pixels(paths[i], None if keys is None else keys[i], pixels[j]) for j, i in enumerate(chunk)]
        pixels[len(chunk):] = pixels[len(chunk) - 1]  # pad the last batch; its extra outputs are dropped
        return chunk, self.finish(pixels), metas

    def chunks(self, paths: Sequence[Path], *, keys: Sequence[int] | None = None, batch: int = 1,
               window: int = 4) -> Iterator[Chunk]:
        """Chunks of ``batch`` positions in order, at most about ``window``
        chunks prepared ahead. ``keys[i]`` is item i's row in the cache."""
        chunks = [list(range(i, min(i + batch, len(paths)))) for i in range(0, len(paths), batch)]
        groups = [chunks[i:i + DECODE_GROUP] for i in range(0, len(chunks), DECODE_GROUP)]
        ahead = max(2, -(-window // DECODE_GROUP))

        def prepare_group(group: list[list[int]]) -> list[Chunk]:
            return [self.prepare(paths, keys, chunk, batch) for chunk in group]

        try:
            with ThreadPoolExecutor(self.workers, thread_name_prefix="owb-decode") as pool:
                pending: deque = deque(pool.submit(prepare_group, g) for g in groups[:ahead])
                feed = iter(groups[ahead:])
                try:
                    while pending:
                        fut = pending.popleft()
                        nxt = next(feed, None)
                        if nxt is not None:
                            pending.append(pool.submit(prepare_group, nxt))
                        yield from fut.result()
                finally:
                    for fut in pending:
                        fut.cancel()
        finally:
            if self.cache is not None:
                self.cache.commit()  # rows decoded before a cancel or an error are kept too
