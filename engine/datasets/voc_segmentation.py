"""Pascal VOC segmentation: ``JPEGImages/``, ``SegmentationClass/*.png``
whose pixel values (palette indices) are class indices, 255 = ignore, and an
optional ``ImageSets/Segmentation/val.txt`` and ``labels.txt``. Masks are
decoded in full (in a thread pool) because the classes they hold are both
the per-class counts and the out-of-range check."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from engine.errors import BadInput

from .base import DatasetIndex, Item, Problems, finalize
from .imagenet import read_label_names
from .images import CHECK_WORKERS, is_ignored, is_utf8_name, printable_name, safe_relpath
from .voc_detection import VOC_CLASSES, find_image, read_split

IGNORE_INDEX = 255
VOC_SEGMENTATION_CLASSES = ("background", *VOC_CLASSES)
_INDEX_MODES = {"P": 256, "L": 256, "1": 2, "I;16": 65536, "I": 65536}


@dataclass(frozen=True)
class _Mask:
    size: tuple[int, int] | None = None
    classes: frozenset[int] = frozenset()
    error: str | None = None


def read_mask(path: Path) -> _Mask:
    try:
        with Image.open(path) as img:
            limit = _INDEX_MODES.get(img.mode)
            if limit is None:
                return _Mask(error=f"mask mode {img.mode} holds colors, not class indices; save it as a palette or grayscale PNG")
            colors = img.getcolors(limit) or []
            return _Mask(size=img.size, classes=frozenset(int(value) for _, value in colors))
    except Image.DecompressionBombError as exc:
        return _Mask(error=f"possible decompression bomb: {exc}")
    except Exception as exc:  # noqa: BLE001 - any decoder failure means the mask is unusable
        return _Mask(error=f"unreadable mask ({type(exc).__name__}: {exc})")


def load(root: Path) -> DatasetIndex:
    root = Path(root)
    for needed in ("JPEGImages", "SegmentationClass"):
        if not (root / needed).is_dir():
            raise BadInput(
                f"{root} has no {needed}/ folder; a voc-segmentation dataset needs JPEGImages/ and SegmentationClass/"
            )
    problems = Problems()
    split = read_split(root / "ImageSets" / "Segmentation", root, ("val.txt",))
    if split is not None:
        ids, source = split
    else:
        ids, source = [], "SegmentationClass/"
        for entry in sorted(os.scandir(root / "SegmentationClass"), key=lambda e: e.name):
            if is_ignored(entry.name) or not entry.name.lower().endswith(".png"):
                continue
            if is_utf8_name(entry.name):
                ids.append(entry.name[:-4])
            else:
                problems.add(f"skipped SegmentationClass/{printable_name(entry.name)}: name is not valid UTF-8")
    pairs: list[tuple[str, str]] = []
    for image_id in ids:
        mask = f"SegmentationClass/{image_id}.png"
        image = find_image(root, "JPEGImages", image_id) if safe_relpath(image_id) else None
        if safe_relpath(image_id) is None or not os.path.isfile(root / mask):
            problems.add(f"{source}: {mask} is missing")
        elif image is None:
            problems.add(f"{source}: JPEGImages/{image_id}.jpg is missing")
        else:
            pairs.append((image, mask))
    if not pairs:
        detail = f": {problems.lines[0]}" if problems.lines else ""
        raise BadInput(f"no image/mask pairs in {root}{detail}")

    with ThreadPoolExecutor(max_workers=max(1, min(CHECK_WORKERS, len(pairs)))) as pool:
        masks = dict(zip((m for _, m in pairs), pool.map(read_mask, (root / m for _, m in pairs), chunksize=16)))
    names = read_label_names(root / "labels.txt", root)
    if names is None:
        top = max((c for m in masks.values() for c in m.classes if c != IGNORE_INDEX), default=0)
        names = list(VOC_SEGMENTATION_CLASSES) if top < len(VOC_SEGMENTATION_CLASSES) else [str(i) for i in range(top + 1)]
    items: list[Item] = []
    present: dict[str, frozenset[int]] = {}
    for image, mask_rel in pairs:
        mask = masks[mask_rel]
        if mask.error is not None:
            problems.add(f"{mask_rel}: {mask.error}")
            continue
        outside = sorted(c for c in mask.classes if c != IGNORE_INDEX and c >= len(names))
        if outside:
            problems.add(f"{mask_rel}: class indices {outside[:5]} are out of range 0..{len(names) - 1} (255 = ignore)")
            continue
        items.append(Item(image, mask=mask_rel))
        present[image] = mask.classes - {IGNORE_INDEX}

    def check(item: Item, size: tuple[int, int]) -> bool:
        mask_size = masks[item.mask].size
        if mask_size != size:
            problems.add(f"{item.mask}: mask is {mask_size[0]}x{mask_size[1]}, image is {size[0]}x{size[1]}")
            return False
        return True

    return finalize("voc-segmentation", root, items, names, problems, check=check, present=present)
