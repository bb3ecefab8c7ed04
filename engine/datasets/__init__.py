"""Dataset import: turn a folder or archive into a normalized DatasetIndex.

``materialize`` copies or safely extracts the source into a destination the
caller owns; ``detect_format`` names the layout; ``load_dataset`` parses and
validates it into items plus a summary of counts and problems."""

from __future__ import annotations

from pathlib import Path

from engine.choices import DATASET_FORMATS as FORMATS
from engine.errors import BadInput

from . import coco, imagefolder, imagenet, unannotated, voc_detection, voc_segmentation
from .archive import ArchiveLimits, materialize
from .base import DatasetIndex, Item
from .detect import detect_format

_LOADERS = {
    "imagenet": imagenet.load,
    "imagefolder": imagefolder.load,
    "voc-detection": voc_detection.load,
    "voc-segmentation": voc_segmentation.load,
    "coco": coco.load,
    "unannotated": unannotated.load,
}

__all__ = ["FORMATS", "ArchiveLimits", "DatasetIndex", "Item", "detect_format", "load_dataset", "materialize"]


def load_dataset(root: Path, fmt: str = "auto", task: str | None = None) -> DatasetIndex:
    """``task``: the task of the model the dataset is for, which settles a
    folder that fits two formats."""
    root = Path(root)
    if not root.is_dir():
        raise BadInput(f"{root} is not a folder; materialize an archive first")
    if fmt == "auto":
        fmt = detect_format(root, task)
    elif fmt not in _LOADERS:
        raise BadInput(f"unknown dataset format {fmt!r}; use auto or one of {', '.join(FORMATS)}")
    return _LOADERS[fmt](root)
