"""Which format a dataset folder is in, decided from marker files; refuses to
guess when the folder fits more than one and nothing (a resolving val.txt, the
model's task) settles it."""

from __future__ import annotations

import os
from pathlib import Path

from engine.errors import AmbiguousFormat, BadInput
from engine.records import TASK_FORMATS

from .images import is_ignored, is_image_name, safe_relpath

# Folders that belong to a marker-based layout, never classes of an imagefolder.
_LAYOUT_DIRS = frozenset(
    {"annotations", "Annotations", "JPEGImages", "ImageSets", "SegmentationClass", "SegmentationObject"}
)


def detect_format(root: Path, task: str | None = None) -> str:
    """The folder's format. ``task`` (of the model the dataset is for) picks
    between formats that both fit, such as a VOC2012 tree with Annotations/
    and SegmentationClass/."""
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
        if _val_txt_resolves(root):
            # Its entries name the images, wherever they sit (images/x.png, class/x.png):
            # folders beside it are where the images live, not classes.
            return "imagenet"
        found["imagenet"] = "val.txt"

    class_dirs = [
        e.name
        for e in sorted(entries, key=lambda e: e.name)
        if e.name not in _LAYOUT_DIRS and e.is_dir(follow_symlinks=False) and _has_image(Path(e.path))
    ]
    if found.keys() & {"voc-detection", "voc-segmentation"} and "JPEGImages" not in names:
        fmt = next(f for f in found if f.startswith("voc"))
        raise BadInput(f"{root} has {found[fmt]} but no JPEGImages/ folder; a {fmt} dataset needs both")
    if "imagenet" in found and class_dirs:
        found["imagefolder"] = f"class folders {_few(class_dirs)}"
    if not found and class_dirs and top_images:
        found = {"imagefolder": f"class folders {_few(class_dirs)}",
                 "unannotated": f"{top_images} images at the top level"}
    if len(found) > 1 and task in TASK_FORMATS:
        fitting = [fmt for fmt in found if fmt in TASK_FORMATS[task]]
        if len(fitting) == 1:
            return fitting[0]
    if len(found) > 1:
        listed = " and ".join(f"{fmt} ({evidence})" for fmt, evidence in found.items())
        raise AmbiguousFormat(f"{root} fits several formats: {listed}; choose one with --format",
                              list(found), tui=f"{root} fits several formats: {listed}; choose one under format")
    if found:
        return next(iter(found))
    if class_dirs:
        return "imagefolder"
    if top_images:
        return "unannotated"
    raise BadInput(
        f"no dataset found in {root}: no images, class folders, val.txt, VOC or COCO annotations "
        f"(it holds {_few(sorted(names))})"
    )


def _val_txt_resolves(root: Path, sample: int = 50) -> bool:
    """The first lines of val.txt are '<file> <label>' naming files that exist."""
    checked = 0
    try:
        with open(root / "val.txt", encoding="utf-8-sig") as f:
            for raw in f:
                line = raw.strip()
                if not line or line.startswith("#"):
                    continue
                parts = line.rsplit(None, 1)
                rel = safe_relpath(parts[0]) if len(parts) == 2 else None
                if rel is None or not parts[1].lstrip("-").isdigit() or not (root / rel).is_file():
                    return False
                checked += 1
                if checked >= sample:
                    break
    except (OSError, UnicodeDecodeError):
        return False
    return checked > 0


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
