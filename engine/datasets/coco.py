"""COCO detection: images plus ``annotations/instances_*.json``. Category ids
(often non-contiguous: COCO's 80 classes use ids 1..90) become contiguous
indices in id order; boxes go from xywh to xyxy; crowd regions are left out
of the index (evaluation tools treat them as "ignore") but counted. Plain
json is enough to read the file; pycocotools adds nothing for an index."""

from __future__ import annotations

import json
import os
from pathlib import Path

from engine.errors import BadInput

from .base import DatasetIndex, Item, Problems, finalize
from .images import safe_relpath
from .voc_detection import report_boxes_outside


def annotation_file(root: Path) -> Path:
    folder = root / "annotations"
    found = sorted(
        Path(e.path) for e in os.scandir(folder) if e.name.startswith("instances_") and e.name.endswith(".json")
    ) if folder.is_dir() else []
    if len(found) > 1:
        val = [p for p in found if "val" in p.name]
        found = val if len(val) == 1 else found
    if not found:
        raise BadInput(f"{root} has no annotations/instances_*.json; a coco dataset needs one")
    if len(found) > 1:
        raise BadInput(
            f"{root} has several COCO files ({', '.join(p.name for p in found)}); keep only the one to evaluate on"
        )
    return found[0]


def load(root: Path) -> DatasetIndex:
    root = Path(root)
    path = annotation_file(root)
    rel = path.relative_to(root).as_posix()
    try:
        doc = json.loads(path.read_bytes())
    except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError is a ValueError
        raise BadInput(f"{rel} is not valid JSON ({exc}); re-export it") from None
    except RecursionError:
        raise BadInput(f"{rel} nests arrays or objects too deeply to be a COCO file; re-export it") from None
    if not isinstance(doc, dict) or not all(isinstance(doc.get(k), list) for k in ("images", "categories")):
        raise BadInput(f"{rel} is not a COCO instances file: it needs 'images' and 'categories' lists")
    labels, cat_index = _categories(doc["categories"], rel)
    problems = Problems()
    split = path.stem.removeprefix("instances_")
    folders = ["", "images/", f"{split}/", f"images/{split}/"]

    images: dict[int, Item] = {}
    stated: dict[str, tuple[int, int] | None] = {}
    for number, image in enumerate(doc["images"]):
        if not isinstance(image, dict) or not isinstance(image.get("id"), int) or not isinstance(image.get("file_name"), str):
            problems.add(f"{rel}: images[{number}] needs an integer 'id' and a 'file_name'")
            continue
        name = safe_relpath(image["file_name"])
        if name is None:
            problems.add(f"{rel}: image {image['id']}: file_name {image['file_name'][:60]!r} leaves the dataset folder")
            continue
        folder = next((f for f in folders if os.path.isfile(root / (f + name))), None)
        if folder is None:
            problems.add(f"{rel}: image {image['id']}: {name} is missing")
            continue
        if image["id"] in images:
            problems.add(f"{rel}: image id {image['id']} appears twice; the first counts")
            continue
        # The folder that matched goes first: the other images live there too.
        folders.remove(folder)
        folders.insert(0, folder)
        file = folder + name
        images[image["id"]] = Item(file, boxes=[], box_labels=[])
        width, height = image.get("width"), image.get("height")
        stated[file] = (width, height) if isinstance(width, int) and isinstance(height, int) else None

    listed = {i["id"] for i in doc["images"] if isinstance(i, dict) and isinstance(i.get("id"), int)}
    annotations = doc.get("annotations") or []
    if not isinstance(annotations, list):
        raise BadInput(f"{rel}: 'annotations' is not a list; it needs one object per box")
    crowd = 0
    for number, ann in enumerate(annotations):
        if not isinstance(ann, dict):
            problems.add(f"{rel}: annotations[{number}] is not an object")
            continue
        if ann.get("iscrowd"):
            crowd += 1
            continue
        image_id, cat_id, box = ann.get("image_id"), ann.get("category_id"), ann.get("bbox")
        if not isinstance(image_id, int) or image_id not in listed:
            problems.add(f"{rel}: annotation {ann.get('id')}: unknown image_id {image_id!r}")
            continue
        item = images.get(image_id)
        if item is None:  # the image was skipped and already reported
            continue
        index = cat_index.get(cat_id) if isinstance(cat_id, int) else None
        if index is None:
            problems.add(f"{rel}: annotation {ann.get('id')}: unknown category_id {cat_id!r}")
        elif not _is_box(box) or box[2] <= 0 or box[3] <= 0:
            problems.add(f"{rel}: annotation {ann.get('id')}: bbox {box!r} is not [x, y, w, h] with w, h > 0")
        else:
            x, y, w, h = (float(v) for v in box)
            item.boxes.append([x, y, x + w, y + h])
            item.box_labels.append(index)

    def check(item: Item, size: tuple[int, int]) -> bool:
        if stated[item.file] is not None and stated[item.file] != size:
            problems.add(f"{item.file}: {rel} says {stated[item.file][0]}x{stated[item.file][1]}, image is {size[0]}x{size[1]}")
        report_boxes_outside(item, size, problems)
        return True

    extra = {"crowd_ignored": crowd, "annotation_file": rel}
    return finalize("coco", root, list(images.values()), labels, problems, check=check, extra=extra)


def _categories(categories: list, rel: str) -> tuple[list[str], dict[int, int]]:
    by_id: dict[int, str] = {}
    for number, cat in enumerate(categories):
        if not isinstance(cat, dict) or not isinstance(cat.get("id"), int) or not isinstance(cat.get("name"), str):
            raise BadInput(f"{rel}: categories[{number}] needs an integer 'id' and a 'name'")
        if cat["id"] in by_id:
            raise BadInput(f"{rel}: category id {cat['id']} appears twice; ids must be unique")
        by_id[cat["id"]] = cat["name"]
    if not by_id:
        raise BadInput(f"{rel} has no categories")
    ids = sorted(by_id)
    return [by_id[i] for i in ids], {cat_id: index for index, cat_id in enumerate(ids)}


def _is_box(box: object) -> bool:
    return (
        isinstance(box, list)
        and len(box) == 4
        # abs() < 1e300 refuses NaN, infinities and ints too large for a float
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) and abs(v) < 1e300 for v in box)
    )
