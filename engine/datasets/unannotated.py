"""A folder of images without annotations: usable for calibration, for
comparing a model with its optimized child, and for visualization."""

from __future__ import annotations

from pathlib import Path

from engine.errors import BadInput

from .base import DatasetIndex, Item, Problems, finalize
from .images import list_images


def load(root: Path) -> DatasetIndex:
    root = Path(root)
    problems = Problems()
    files = list_images(root, "", problems, recursive=True)
    if not files:
        detail = f" ({problems.lines[0]})" if problems.lines else ""
        raise BadInput(f"no images in {root}{detail}; add .jpg/.png/... files")
    return finalize("unannotated", root, [Item(f) for f in files], [], problems, annotated=False)
