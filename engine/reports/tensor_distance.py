"""Tensor distance: how far each raw output of a model lies from the same
output of its parent, per image: MSE, cosine similarity, max abs difference
and SQNR (signal = the parent's output, noise = the difference).

Works for any task and any dataset, annotated or not, because it compares
raw tensors. Values are computed in float64, a chunk of images at a time."""

from __future__ import annotations

import threading

import numpy as np

from engine.errors import BadInput
from engine.progress import Progress
from engine.records import Dataset, Model
from engine.workspace import Workspace

from .outputs import CHUNK, Ticker, image_names, raw_outputs
from .table import ReportTable, json_value

TITLES = ["Image Name", "Output", "MSE", "Cosine Similarity", "Max Abs Diff", "SQNR (dB)"]
METRICS = ("mse", "cosine", "max_abs_diff", "sqnr_db")
WORST = {"mse": np.argmax, "cosine": np.argmin, "max_abs_diff": np.argmax, "sqnr_db": np.argmin}


def distances(out: np.ndarray, ref: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per row (image) of two [n, ...] arrays: MSE, cosine, max |diff|, SQNR dB.

    Identical rows have SQNR +inf; cosine is 1 for two all-zero rows and 0
    when only one is all zero."""
    with np.errstate(all="ignore"):  # a model may output inf/nan; the figures say so, stderr need not
        return _distances(np.asarray(out, np.float64).reshape(out.shape[0], -1),
                          np.asarray(ref, np.float64).reshape(ref.shape[0], -1))


def _distances(a: np.ndarray, r: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    d = a - r
    noise = np.einsum("ij,ij->i", d, d)
    signal = np.einsum("ij,ij->i", r, r)
    mse = noise / max(a.shape[1], 1)
    norms = np.sqrt(np.einsum("ij,ij->i", a, a) * signal)
    dot = np.einsum("ij,ij->i", a, r)
    both_zero = (norms == 0) & (noise == 0)
    cosine = np.where(norms > 0, dot / np.where(norms > 0, norms, 1), np.where(both_zero, 1.0, 0.0))
    max_abs = np.abs(d).max(axis=1) if d.shape[1] else np.zeros(d.shape[0])
    sqnr = np.where(noise > 0, 10 * np.log10(signal / np.where(noise > 0, noise, 1)), np.inf)
    sqnr = np.where((noise > 0) & (signal == 0), -np.inf, sqnr)
    return mse, np.clip(cosine, -1.0, 1.0), max_abs, sqnr


def pair_outputs(model: Model, reference: Model, mine: dict, theirs: dict) -> list[tuple[str, str]]:
    """Outputs matched by name, else by position when both have as many."""
    if set(mine) == set(theirs):
        pairs = [(n, n) for n in (o["name"] for o in model.outputs) if n in mine]
    elif len(mine) == len(theirs):
        pairs = list(zip((o["name"] for o in model.outputs), (o["name"] for o in reference.outputs)))
    else:
        raise BadInput(f"{model.name!r} has outputs {', '.join(mine)} and {reference.name!r} has "
                       f"{', '.join(theirs)}; tensor distance needs the same outputs")
    for a, b in pairs:
        if mine[a].shape != theirs[b].shape:
            raise BadInput(f"output {a} is {list(mine[a].shape[1:])} in {model.name!r} but "
                           f"{list(theirs[b].shape[1:])} in {reference.name!r}; configure both models "
                           "with the same input shape")
    return pairs


def build(ws: Workspace, model: Model, reference: Model, dataset: Dataset, *,
          cancel: threading.Event | None = None,
          progress: Progress | None = None) -> tuple[dict[str, ReportTable], dict]:
    from engine.dataset_store import load_index

    index = load_index(ws, dataset)
    mine = raw_outputs(ws, model, dataset, cancel=cancel, progress=progress)
    theirs = raw_outputs(ws, reference, dataset, cancel=cancel, progress=progress)
    pairs = pair_outputs(model, reference, mine, theirs)
    n = len(index.items)
    ticker = Ticker(n * len(pairs), "measuring tensor distance", progress, cancel)
    per_output: list[np.ndarray] = []  # [4, n] per output
    for a, b in pairs:
        values = np.zeros((4, n))
        for start in range(0, n, CHUNK):
            stop = min(n, start + CHUNK)
            values[:, start:stop] = distances(mine[a][start:stop], theirs[b][start:stop])
            ticker.tick(stop - start)
        per_output.append(values)
    files = np.asarray(image_names([it.file for it in index.items]), dtype=np.str_)
    m = len(pairs)
    # Image-major rows: image 0's outputs, then image 1's, ...
    stacked = np.stack(per_output, axis=1) if per_output else np.zeros((4, 0, n))  # [4, m, n]
    columns = [np.repeat(files, m), np.tile(np.asarray([a for a, _ in pairs], dtype=np.str_), n)]
    columns += [stacked[k].T.reshape(-1) for k in range(4)]
    table = ReportTable(list(TITLES), columns, np.repeat(np.arange(n, dtype=np.int64), m))
    summary = {
        "task": model.config.task,
        "images": n,
        "outputs": {a: output_summary(values, files) for (a, _), values in zip(pairs, per_output)},
        "output_pairs": [[a, b] for a, b in pairs],
    }
    return {"basic": table}, summary


def output_summary(values: np.ndarray, files: np.ndarray) -> dict:
    """Mean and worst (with its image) of each measure over the images."""
    out = {}
    for k, key in enumerate(METRICS):
        col = values[k]
        if not len(col):
            out[key] = {"mean": None, "worst": None, "worst_image": None}
            continue
        with np.errstate(invalid="ignore"):
            mean = float(np.mean(col))
        worst = int(WORST[key](col))
        out[key] = {"mean": json_value(mean), "worst": json_value(float(col[worst])), "worst_image": str(files[worst])}
    return out
