"""A decoded, resized u8 copy of a dataset under one host configuration.

Decoding and resizing cost more host time than a small model's inference, and
owb passes over the same dataset again and again (accuracy of the parent and
of each child, reports, AccuracyAware's validation, calibration). One entry
holds, per dataset item, the exact u8 pixels engine.preprocess's host half
made, so a later pass reads them instead of decoding.

- **Where:** ``<home>/cache/decoded/<dataset id>-<key>/``, one fixed-size row
  per item in ``pixels.u8`` and a small ``rows.npy`` (file size, mtime, and
  original width and height per item; all zero for rows never written).
- **Invalidation:** the key hashes the dataset's index, the host half's
  configuration and Pillow's version; a row is used only while its image file
  still has the size and mtime it had when decoded.
- **Bounded:** ``OWB_DECODE_CACHE_MB`` (default 1024; 0 turns it off) caps all
  entries together; an entry that would not fit is not made, and the least
  recently used ones are evicted to make room.
- **Memory:** rows move with pread/pwrite, never a memory map, so reading a
  whole dataset does not grow the process's resident size.
- **Crash safety:** pixels are flushed before ``rows.npy`` is replaced
  atomically, so a row is claimed only once its pixels are on disk; a cache
  failure (disk full, an entry evicted under us) turns the cache off for the
  pass, never fails it."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
from pathlib import Path
from typing import Any

import numpy as np

FORMAT = 1
ENV = "OWB_DECODE_CACHE_MB"
DEFAULT_MB = 1024
FOLDER = Path("cache") / "decoded"
PIXELS, ROWS = "pixels.u8", "rows.npy"


def budget_bytes() -> int:
    try:
        mb = float(os.environ.get(ENV, DEFAULT_MB))
    except ValueError:
        mb = DEFAULT_MB
    return max(0, int(mb * 1024 * 1024))


def entry_key(index_file: Path | None, files: list[str], host: dict) -> str:
    import PIL

    h = hashlib.sha256()
    if index_file is not None and index_file.is_file():
        h.update(index_file.read_bytes())
    else:
        h.update("\n".join(files).encode())
    h.update(json.dumps({"format": FORMAT, "host": host, "pillow": PIL.__version__}, sort_keys=True).encode())
    return h.hexdigest()[:16]


def drop_dataset(ws: Any, dataset_id: str) -> None:
    """Forget every entry of a dataset that is removed."""
    root = ws.home / FOLDER
    for d in root.glob(f"{dataset_id}-*") if root.is_dir() else ():
        shutil.rmtree(d, ignore_errors=True)


def entry_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.iterdir() if p.is_file())


def evict_for(root: Path, needed: int, budget: int, keep: Path | None = None) -> bool:
    """Delete least recently used entries until ``needed`` more bytes fit."""
    entries = []
    for d in root.iterdir() if root.is_dir() else ():
        try:
            if d.is_dir() and d != keep:
                entries.append((d.stat().st_mtime, entry_bytes(d), d))
        except OSError:
            continue
    used = sum(e[1] for e in entries)
    for _, size, d in sorted(entries, key=lambda e: e[0]):
        if used + needed <= budget:
            break
        shutil.rmtree(d, ignore_errors=True)  # a reader with it open keeps its file descriptors
        used -= size
    return used + needed <= budget


class DecodeCache:
    """One entry, open for passes over its dataset; thread-safe for the pool."""

    def __init__(self, folder: Path, count: int, row_shape: tuple[int, int, int]) -> None:
        self.folder, self.count, self.row_shape = folder, count, row_shape
        self.row_bytes = int(np.prod(row_shape))
        self.fd = os.open(folder / PIXELS, os.O_RDWR)
        if os.fstat(self.fd).st_size != count * self.row_bytes:
            os.close(self.fd)
            raise OSError(f"{folder / PIXELS} has the wrong size")
        self.rows = self._read_rows()
        self.pending: dict[int, tuple[int, int, int, int]] = {}
        self.lock = threading.Lock()
        self.enabled = True
        self.hits = self.misses = 0

    @classmethod
    def open(cls, ws: Any, dataset: Any, index: Any, pre: Any) -> DecodeCache | None:
        """The entry for ``dataset`` under ``pre``'s host half, made when it
        fits the budget; None when the cache is off or the entry too big."""
        budget = budget_bytes()
        count = len(index.items)
        row_shape = tuple(int(v) for v in pre.host_shape)
        size = count * int(np.prod(row_shape))
        if budget == 0 or count == 0 or size > budget:
            return None
        root = ws.home / FOLDER
        index_file = ws.path(dataset.index) if getattr(dataset, "index", "") else None
        key = entry_key(index_file, [it.file for it in index.items], pre.host_signature())
        folder = root / f"{dataset.id}-{key}"
        try:
            if not folder.is_dir():
                root.mkdir(parents=True, exist_ok=True)
                if not evict_for(root, size, budget):
                    return None
                scratch = ws.tmp_dir("decoded-")
                with open(scratch / PIXELS, "wb") as fh:
                    fh.truncate(size)  # sparse until rows are written
                try:
                    scratch.rename(folder)
                except OSError:  # another process made it first: use theirs
                    shutil.rmtree(scratch, ignore_errors=True)
            os.utime(folder)  # least recently used goes first
            return cls(folder, count, row_shape)
        except OSError:
            return None

    @classmethod
    def for_paths(cls, ws: Any, paths: Any, pre: Any) -> tuple[DecodeCache, list[int]] | None:
        """The entry of the stored dataset every one of ``paths`` belongs to,
        and their rows in it; None for files from anywhere else. Lets any
        pass over a dataset's files use the cache without knowing about it."""
        from ..dataset_store import load_index
        from ..records import Dataset

        if not paths:
            return None
        datasets = ws.home / "datasets"
        try:
            dataset_id = Path(paths[0]).relative_to(datasets).parts[0]
        except (ValueError, IndexError):
            return None
        record = next((d for d in ws.all(Dataset) if d.id == dataset_id), None)
        if record is None:
            return None
        try:
            index = load_index(ws, record)
        except Exception:  # an index owb cannot read is the caller's to report, not the cache's
            return None
        rows = {str(index.root / item.file): i for i, item in enumerate(index.items)}
        keys = [rows.get(str(p)) for p in paths]
        if any(k is None for k in keys):
            return None
        cache = cls.open(ws, record, index, pre)
        return None if cache is None else (cache, keys)

    def _read_rows(self) -> np.ndarray:
        try:
            rows = np.load(self.folder / ROWS, allow_pickle=False)
            if rows.shape == (self.count, 4) and rows.dtype == np.int64:
                return rows
        except (OSError, ValueError):
            pass
        return np.zeros((self.count, 4), np.int64)

    @staticmethod
    def signature(path: Path) -> tuple[int, int]:
        st = os.stat(path)
        return st.st_size, st.st_mtime_ns

    def read(self, key: int, sig: tuple[int, int], out: np.ndarray) -> tuple[int, int] | None:
        """Fill ``out`` (a contiguous H×W×C u8 view) with item ``key``'s pixels;
        the original (width, height), or None when the row is not valid."""
        row = self.rows[key]
        if not self.enabled or row[2] <= 0 or (int(row[0]), int(row[1])) != sig:
            self.misses += 1
            return None
        try:
            if os.preadv(self.fd, [memoryview(out).cast("B")], key * self.row_bytes) != self.row_bytes:
                raise OSError("short read")
        except OSError:
            self.enabled = False
            self.misses += 1
            return None
        self.hits += 1
        return int(row[2]), int(row[3])

    def write(self, key: int, sig: tuple[int, int], pixels: np.ndarray, ow: int, oh: int) -> None:
        if not self.enabled:
            return
        try:
            data = memoryview(np.ascontiguousarray(pixels)).cast("B")
            if os.pwrite(self.fd, data, key * self.row_bytes) != self.row_bytes:
                raise OSError("short write")
        except OSError:
            self.enabled = False
            return
        with self.lock:
            self.pending[key] = (sig[0], sig[1], ow, oh)

    def commit(self) -> None:
        """Claim the rows written in this pass: pixels first, then the index."""
        with self.lock:
            pending, self.pending = self.pending, {}
        if not pending or not self.enabled:
            return
        try:
            os.fsync(self.fd)
            rows = self._read_rows()  # another process may have claimed rows meanwhile
            keys = np.fromiter(pending, np.int64, len(pending))
            rows[keys] = np.array(list(pending.values()), np.int64)
            tmp = self.folder / f".{ROWS}.{os.getpid()}.{threading.get_ident()}.tmp"
            with open(tmp, "wb") as fh:
                np.save(fh, rows)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.folder / ROWS)
            self.rows = rows
        except OSError:  # evicted meanwhile, disk full: the rows are simply not kept
            self.enabled = False

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __del__(self) -> None:
        try:
            self.close()
        except OSError:
            pass
