"""How faithfully a model reproduces another's outputs on a dataset, labels
or not: the task's agreement metric (engine.quantize.agreement) and, per
output, cosine similarity and SQNR of the raw tensors. Compare uses it for
its verdict where there is no annotated accuracy to speak of.

Both models run in f32 (engine.precision: reference outputs are f32), on an
evenly spread subset of the dataset, so the figure costs seconds."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from ..progress import Progress, named

# Below this cosine between the raw outputs, the copy is not faithful
# whatever the task metric says (U²-Net's INT8 at 0.69 drew wrong masks).
FAITHFUL_COSINE = 0.95
FAITHFUL_AGREEMENT = 0.95
DEFAULT_ITEMS = 64


def _outputs(ws: Any, model: Any, paths: list, cancel: threading.Event | None,
             progress: Progress | None) -> tuple[Any, dict[int, dict], dict[int, Any]]:
    from ..inference import DatasetRunner

    runner = DatasetRunner(ws, model)
    outs: dict[int, dict] = {}
    metas: dict[int, Any] = {}
    for b in runner.run(paths, cancel=cancel, progress=progress):
        for row, (pos, meta) in enumerate(zip(b.indices, b.metas)):
            outs[pos] = {name: arr[row] for name, arr in b.outputs.items()}
            metas[pos] = meta
    return runner, outs, metas


def fidelity(ws: Any, a: Any, b: Any, dataset: Any, *, items: int = DEFAULT_ITEMS,
             cancel: threading.Event | None = None, progress: Progress | None = None) -> dict:
    """B's outputs against A's (the reference) on up to ``items`` images."""
    from ..adapters import model_adapter
    from ..calibration import subset_indices
    from ..dataset_store import load_index
    from ..reports.tensor_distance import distances
    from .agreement import Agreement, adapter_options, num_classes_of

    index = load_index(ws, dataset)
    chosen = subset_indices(len(index.items), min(100.0, items / max(len(index.items), 1) * 100))
    paths = [index.root / index.items[i].file for i in chosen]
    ra, outs_a, metas = _outputs(ws, a, paths, cancel, named(progress, f"outputs of {a.name} on {dataset.name}"))
    rb, outs_b, _ = _outputs(ws, b, paths, cancel, named(progress, f"outputs of {b.name} on {dataset.name}"))
    names_a, names_b = list(ra.output_names), list(rb.output_names)
    pairs = [(n, n) for n in names_a if n in names_b] or list(zip(names_a, names_b))
    per_output = {}
    for na, nb in pairs:
        ref = np.stack([outs_a[i][na] for i in range(len(paths))])
        out = np.stack([outs_b[i][nb] for i in range(len(paths))])
        if ref.shape != out.shape:
            continue
        _, cosine, _, sqnr = distances(out, ref)
        finite = sqnr[np.isfinite(sqnr)]
        # Identical rows have an infinite SQNR: averaged over the others, and counted.
        per_output[na] = {"cosine": round(float(cosine.mean()), 4),
                          "sqnr_db": round(float(finite.mean()), 2) if finite.size else None,
                          "identical_images": int(sqnr.size - finite.size)}
    task = a.config.task
    agreement = Agreement(task, num_classes_of(task, ra.output_shapes()))
    adapt_a = model_adapter(a, ra.output_shapes(), **adapter_options(task, "parent"))
    adapt_b = model_adapter(b, rb.output_shapes(), **adapter_options(task, "candidate"))
    for i in range(len(paths)):
        pa = adapt_a.process({k: v[None] for k, v in outs_a[i].items()}, [metas[i]])[0]
        pb = adapt_b.process({k: v[None] for k, v in outs_b[i].items()}, [metas[i]])[0]
        agreement.update(pa, pb)
    result = agreement.result()
    cosine = min((o["cosine"] for o in per_output.values()), default=None)
    value = result["value"]
    faithful = (cosine is None or cosine >= FAITHFUL_COSINE) and (value is None or value >= FAITHFUL_AGREEMENT)
    return {"dataset": dataset.name, "dataset_id": dataset.id, "images": len(paths), "metric": result["metric"],
            "agreement": value, "cosine": cosine, "outputs": per_output, "faithful": faithful,
            "reference": a.name}


def words(f: dict, reference: str | None = None) -> str:
    """The clause Compare's verdict adds about fidelity; ``reference`` names
    A in the verdict's words ("the parent")."""
    who = reference or f["reference"]
    if not f["faithful"]:
        cos = f" (cosine {f['cosine']:.2f})" if f["cosine"] is not None else ""
        return f"but its outputs diverge from {who}'s{cos}: not a faithful copy"
    value = f"{f['agreement'] * 100:.1f}%" if f["agreement"] is not None else "n/a"
    cos = f", cosine {f['cosine']:.3f}" if f["cosine"] is not None else ""
    return f"{f['metric']} {value} against {who} on {f['images']} unlabelled images{cos}"
