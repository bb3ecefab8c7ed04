"""Pascal VOC detection: ``Annotations/*.xml``, ``JPEGImages/`` and an
optional split list in ``ImageSets/Main/``. XML goes through defusedxml with
DTDs forbidden: VOC files never carry one, and a DOCTYPE is how XXE and
billion-laughs attacks begin."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree.ElementTree import Element, ParseError

import defusedxml
import defusedxml.ElementTree as SafeET

from engine.errors import BadInput

from .base import DatasetIndex, Item, Problems, finalize
from .imagenet import read_text_lines
from .images import is_ignored, is_utf8_name, printable_name, safe_relpath

VOC_CLASSES = (
    "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
    "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa",
    "train", "tvmonitor",
)  # fmt: skip
SPLIT_LISTS = ("val.txt", "test.txt", "trainval.txt")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".JPG", ".JPEG", ".PNG")


@dataclass
class _Record:
    image: str
    size: tuple[int, int] | None  # as the XML states it
    boxes: list[list[float]] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    difficult: list[bool] = field(default_factory=list)


def read_split(folder: Path, root: Path, lists: tuple[str, ...]) -> tuple[list[str], str] | None:
    """Image ids from the first split list present, with its relative path."""
    for name in lists:
        path = folder / name
        if path.is_file():
            ids = [line.split()[0] for line in read_text_lines(path, root) if line.strip()]
            return list(dict.fromkeys(ids)), path.relative_to(root).as_posix()
    return None


def find_image(root: Path, folder: str, stem: str) -> str | None:
    for suffix in IMAGE_SUFFIXES:
        rel = f"{folder}/{stem}{suffix}"
        if os.path.isfile(root / rel):  # False, not OSError, for names too long to exist
            return rel
    return None


def load(root: Path) -> DatasetIndex:
    root = Path(root)
    for needed in ("Annotations", "JPEGImages"):
        if not (root / needed).is_dir():
            raise BadInput(f"{root} has no {needed}/ folder; a voc-detection dataset needs Annotations/ and JPEGImages/")
    problems = Problems()
    split = read_split(root / "ImageSets" / "Main", root, SPLIT_LISTS)
    if split is not None:
        ids, source = split
    else:
        ids, source = [], "Annotations/"
        for entry in sorted(os.scandir(root / "Annotations"), key=lambda e: e.name):
            if is_ignored(entry.name) or not entry.name.lower().endswith(".xml"):
                continue
            if is_utf8_name(entry.name):
                ids.append(entry.name[:-4])
            else:
                problems.add(f"skipped Annotations/{printable_name(entry.name)}: name is not valid UTF-8")
    records: list[_Record] = []
    for image_id in ids:
        xml = root / "Annotations" / f"{image_id}.xml"
        if safe_relpath(image_id) is None or not os.path.isfile(xml):
            problems.add(f"{source}: Annotations/{image_id}.xml is missing")
            continue
        record = _parse(xml, image_id, root, problems)
        if record is not None:
            records.append(record)
    if not records:
        detail = f": {problems.lines[0]}" if problems.lines else ""
        raise BadInput(f"no usable VOC annotations in {root}{detail}")

    found = {name for r in records for name in r.names}
    labels = list(VOC_CLASSES) if found <= set(VOC_CLASSES) else sorted(found)
    index = {name: i for i, name in enumerate(labels)}
    items = [
        Item(r.image, boxes=r.boxes, box_labels=[index[n] for n in r.names], difficult=r.difficult)
        for r in records
    ]
    stated = {r.image: r.size for r in records}

    def check(item: Item, size: tuple[int, int]) -> bool:
        if stated[item.file] is not None and stated[item.file] != size:
            problems.add(f"{item.file}: XML says {stated[item.file][0]}x{stated[item.file][1]}, image is {size[0]}x{size[1]}")
        report_boxes_outside(item, size, problems)
        return True

    return finalize("voc-detection", root, items, labels, problems, check=check)


def report_boxes_outside(item: Item, size: tuple[int, int], problems: Problems) -> None:
    """Boxes past the image edge are kept (clipping is the metric's call) but reported."""
    width, height = size
    for box in item.boxes or ():
        x1, y1, x2, y2 = box
        if x1 < 0 or y1 < 0 or x2 > width or y2 > height:
            problems.add(f"{item.file}: box {[round(v, 1) for v in box]} is outside the {width}x{height} image")


def _parse(xml: Path, image_id: str, root: Path, problems: Problems) -> _Record | None:
    rel = xml.relative_to(root).as_posix()
    try:
        tree = SafeET.parse(xml, forbid_dtd=True)
    except defusedxml.DefusedXmlException:
        raise BadInput(
            f"{rel} declares a DTD or entities (an XXE / billion-laughs risk); owb refuses it: remove the DOCTYPE"
        ) from None
    except (ParseError, LookupError) as exc:  # LookupError: an encoding Python does not know
        problems.add(f"{rel}: malformed XML ({exc})")
        return None
    except OSError as exc:
        problems.add(f"{rel}: cannot read ({exc.strerror or exc})")
        return None
    ann = tree.getroot()
    filename = safe_relpath(_text(ann, "filename") or "")
    image = f"JPEGImages/{filename}" if filename and os.path.isfile(root / "JPEGImages" / filename) else None
    image = image or find_image(root, "JPEGImages", image_id)
    if image is None:
        problems.add(f"{rel}: image JPEGImages/{_text(ann, 'filename') or image_id + '.jpg'} is missing")
        return None
    size = None
    try:
        size = (int(float(_text(ann, "size/width") or 0)), int(float(_text(ann, "size/height") or 0)))
        size = size if size[0] > 0 and size[1] > 0 else None
    except (ValueError, OverflowError):  # OverflowError: 'inf'
        problems.add(f"{rel}: <size> is not numeric")
    record = _Record(image, size)
    for number, obj in enumerate(ann.iter("object"), 1):
        name = _text(obj, "name")
        try:
            box = [float(_text(obj, f"bndbox/{k}") or "") for k in ("xmin", "ymin", "xmax", "ymax")]
            difficult = bool(int(float(_text(obj, "difficult") or 0)))
            if not all(math.isfinite(v) for v in box):
                raise ValueError("not finite")
        except (ValueError, OverflowError):
            problems.add(f"{rel}: object {number} has a missing or non-numeric bndbox/difficult")
            continue
        if not name:
            problems.add(f"{rel}: object {number} has no <name>")
        elif box[2] <= box[0] or box[3] <= box[1]:
            problems.add(f"{rel}: object {number} ({name}) has an empty box {box}; dropped")
        else:
            record.boxes.append(box)
            record.names.append(name)
            record.difficult.append(difficult)
    return record


def _text(node: Element, path: str) -> str | None:
    found = node.find(path)
    return found.text.strip() if found is not None and found.text else None
