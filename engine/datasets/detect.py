"""Which format a dataset folder is in, decided from marker files; refuses to
guess when the folder fits more than one."""

from __future__ import annotations

import os
from pathlib import Path

from engine.errors import BadInput

from .images import is_ignored, is_image_name

# Folders that belong to a marker-based layout, never classes of an imagefolder.
_LAYOUT_DIRS = frozenset(
    {"annotations", "Annotations", "JPEGImages", "ImageSets", "SegmentationClass", "SegmentationObject"}
)


def detect_format(root: Path) -> str:
    root = Path(root)
    if not root.is_dir():
        raise BadInput(f"{root} is not a folder; give the dataset folder or archive")
    entries = [e for e in os.scandir(root) if not is_ignored(e.name)]
    if not entries:
        raise BadInput(f"dataset folder {root} is empty; it holds no images")
    names = {e.name for e in entries}
    top_images = sum(1 for e in entries if is_image_name(e.name) and e.is_file(follow_symlinks=False))

    found: dict[str, str] = {}  # format -> the evidence, for messages
    coco = _coco_evidence(root)
    if coco:
        found["coco"] = coco
    if _has_suffix(root / "Annotations", ".xml"):
        found["voc-detection"] = "Annotations/*.xml"
    if _has_suffix(root / "SegmentationClass", ".png"):
        found["voc-segmentation"] = "SegmentationClass/*.png"
    if "val.txt" in names and (root / "val.txt").is_file():
        found["imagenet"] = "val.txt"

    class_dirs = [
        e.name
        for e in sorted(entries, key=lambda e: e.name)
        if e.name not in _LAYOUT_DIRS and e.is_dir(follow_symlinks=False) and _has_image(Path(e.path))
    ]
    if found.keys() & {"voc-detection", "voc-segmentation"} and "JPEGImages" not in names:
        fmt = next(f for f in found if f.startswith("voc"))
        raise BadInput(f"{root} has {found[fmt]} but no JPEGImages/ folder; a {fmt} dataset needs both")
    if len(found) > 1:
        listed = " and ".join(f"{fmt} ({evidence})" for fmt, evidence in found.items())
        raise BadInput(f"{root} fits several formats: {listed}; choose one with --format")
    if found:
        fmt, evidence = next(iter(found.items()))
        if fmt == "imagenet" and class_dirs:
            raise BadInput(
                f"{root} fits imagenet ({evidence}) and imagefolder (class folders {_few(class_dirs)}); "
                "choose one with --format"
            )
        return fmt
    if class_dirs and top_images:
        raise BadInput(
            f"{root} fits imagefolder (class folders {_few(class_dirs)}) and unannotated "
            f"({top_images} images at the top level); choose one with --format"
        )
    if class_dirs:
        return "imagefolder"
    if top_images:
        return "unannotated"
    raise BadInput(
        f"no dataset found in {root}: no images, class folders, val.txt, VOC or COCO annotations "
        f"(it holds {_few(sorted(names))})"
    )


def _coco_evidence(root: Path) -> str | None:
    folder = root / "annotations"
    if not folder.is_dir():
        return None
    for entry in os.scandir(folder):
        if entry.name.startswith("instances_") and entry.name.endswith(".json"):
            return f"annotations/{entry.name}"
    return None


def _has_suffix(folder: Path, suffix: str) -> bool:
    if not folder.is_dir():
        return False
    return any(e.name.lower().endswith(suffix) for e in os.scandir(folder) if not is_ignored(e.name))


def _has_image(folder: Path) -> bool:
    """Stops at the first image, so a huge class folder costs one listing."""
    for dirpath, dirnames, filenames in os.walk(folder):
        if any(is_image_name(n) and not is_ignored(n) for n in filenames):
            return True
        dirnames[:] = [d for d in dirnames if not is_ignored(d)]
    return False


def _few(names: list[str], limit: int = 3) -> str:
    shown = ", ".join(n.encode("utf-8", "backslashreplace").decode() for n in names[:limit])
    return shown + (f", ... ({len(names)} in all)" if len(names) > limit else "")
