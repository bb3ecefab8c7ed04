"""Classification by folder: one subfolder per class, class names sorted
(torchvision's ImageFolder order), images found at any depth below."""

from __future__ import annotations

import os
from pathlib import Path

from engine.errors import BadInput

from .base import DatasetIndex, Item, Problems, finalize
from .images import is_ignored, is_image_name, is_utf8_name, list_images, printable_name


def load(root: Path) -> DatasetIndex:
    root = Path(root)
    problems = Problems()
    classes: list[str] = []
    top_images = 0
    for entry in sorted(os.scandir(root), key=lambda e: e.name):
        if is_ignored(entry.name):
            continue
        if entry.is_dir(follow_symlinks=False):
            if is_utf8_name(entry.name):
                classes.append(entry.name)
            else:
                problems.add(f"skipped class folder {printable_name(entry.name)}: name is not valid UTF-8")
        elif is_image_name(entry.name):
            top_images += 1
    if not classes:
        raise BadInput(f"{root} has no class subfolders; an imagefolder dataset needs one folder per class")
    items: list[Item] = []
    for index, name in enumerate(classes):
        files = list_images(root, name, problems, recursive=True)
        if not files:
            problems.add(f"class folder {name}/ has no images")
        items.extend(Item(f, label=index) for f in files)
    if top_images:
        problems.add(f"{top_images} images at the top level are in no class folder and were ignored")
    return finalize("imagefolder", root, items, classes, problems)
