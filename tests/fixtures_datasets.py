"""Builders for small, real datasets in each import format (32x32 images made
with PIL), archive packers, and a guard that proves nothing was written
outside a destination. Each builder returns what the importer must find,
counted from what it wrote."""

from __future__ import annotations

import io
import json
import os
import tarfile
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import Image

from engine.datasets.voc_detection import VOC_CLASSES
from engine.datasets.voc_segmentation import VOC_SEGMENTATION_CLASSES

SIZE = 32
CLASS_COUNTS = {"cat": 150, "dog": 120, "bird": 80, "fish": 50}  # 400, deliberately uneven


@dataclass
class Expected:
    format: str
    images: int
    labels: list[str]
    per_class: dict[str, int]


@lru_cache(maxsize=None)
def image_bytes(shade: int, fmt: str = "JPEG", mode: str = "RGB", size: int = SIZE) -> bytes:
    color = (shade * 37 % 256, shade * 91 % 256, shade * 13 % 256)
    img = Image.new("RGB", (size, size), color)
    for x in range(0, size, 4):  # some structure, so encoders do real work
        img.putpixel((x, x), (255 - color[0], 0, 255))
    buf = io.BytesIO()
    img.convert(mode).save(buf, fmt)
    return buf.getvalue()


def write_image(path: Path, shade: int, fmt: str = "JPEG") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(image_bytes(shade % 16, fmt))


def make_imagenet(root: Path) -> Expected:
    names = list(CLASS_COUNTS)
    lines, i = [], 0
    for label, (name, count) in enumerate(CLASS_COUNTS.items()):
        for _ in range(count):
            file = f"ILSVRC_val_{i:05d}.JPEG"
            write_image(root / file, label)
            lines.append(f"{file} {label}")
            i += 1
    (root / "val.txt").write_text("\n".join(lines) + "\n")
    (root / "labels.txt").write_text("\n".join(names) + "\n")
    return Expected("imagenet", 400, names, dict(CLASS_COUNTS))


def make_imagefolder(root: Path) -> Expected:
    for label, (name, count) in enumerate(CLASS_COUNTS.items()):
        for i in range(count):
            write_image(root / name / f"{i:04d}.{'png' if i % 5 == 0 else 'jpg'}", label, "PNG" if i % 5 == 0 else "JPEG")
    return Expected("imagefolder", 400, sorted(CLASS_COUNTS), dict(CLASS_COUNTS))


def voc_xml(filename: str, objects: list[tuple[str, list[int], int]], size: int = SIZE) -> str:
    objs = "".join(
        f"<object><name>{name}</name><difficult>{difficult}</difficult><bndbox><xmin>{b[0]}</xmin>"
        f"<ymin>{b[1]}</ymin><xmax>{b[2]}</xmax><ymax>{b[3]}</ymax></bndbox></object>"
        for name, b, difficult in objects
    )
    return (
        f"<annotation><folder>VOC2012</folder><filename>{filename}</filename><size><width>{size}</width>"
        f"<height>{size}</height><depth>3</depth></size>{objs}</annotation>"
    )


def make_voc_detection(root: Path, n: int = 400, extra_outside_split: int = 10) -> Expected:
    """The split list names n images; a few more annotations exist outside it
    and must not be imported."""
    per_class = dict.fromkeys(VOC_CLASSES, 0)
    ids = []
    for i in range(n + extra_outside_split):
        image_id = f"2012_{i:06d}"
        write_image(root / "JPEGImages" / f"{image_id}.jpg", i)
        objects = []
        for j in range(1 + i % 3):
            name = VOC_CLASSES[(i * 7 + j * 3) % 6]
            objects.append((name, [2 + j, 3 + j, 20 + j, 25], int(j == 2)))
            if i < n:
                per_class[name] += 1
        (root / "Annotations").mkdir(parents=True, exist_ok=True)
        (root / "Annotations" / f"{image_id}.xml").write_text(voc_xml(f"{image_id}.jpg", objects))
        if i < n:
            ids.append(image_id)
    (root / "ImageSets" / "Main").mkdir(parents=True, exist_ok=True)
    (root / "ImageSets" / "Main" / "val.txt").write_text("\n".join(ids) + "\n")
    return Expected("voc-detection", n, list(VOC_CLASSES), per_class)


def mask_image(classes: list[int], size: int = SIZE, ignore_border: bool = False) -> Image.Image:
    """A palette mask: background, then one stripe per class, 255 at the edge."""
    mask = Image.new("P", (size, size), 0)
    mask.putpalette([v for i in range(256) for v in (i * 5 % 256, i * 11 % 256, i * 17 % 256)])
    for k, cls in enumerate(classes):
        mask.paste(cls, (4 + 6 * k, 4, 9 + 6 * k, 28))
    if ignore_border:
        mask.paste(255, (0, 0, size, 1))
    return mask


def make_voc_segmentation(root: Path, n: int = 400) -> Expected:
    counts = [0] * len(VOC_SEGMENTATION_CLASSES)
    ids = []
    for i in range(n):
        image_id = f"2007_{i:06d}"
        write_image(root / "JPEGImages" / f"{image_id}.jpg", i)
        classes = sorted({1 + i % 7, 1 + (i * 3) % 11}) if i % 10 else []
        (root / "SegmentationClass").mkdir(parents=True, exist_ok=True)
        mask_image(classes, ignore_border=i % 2 == 0).save(root / "SegmentationClass" / f"{image_id}.png")
        for cls in [0, *classes]:
            counts[cls] += 1
        ids.append(image_id)
    (root / "ImageSets" / "Segmentation").mkdir(parents=True, exist_ok=True)
    (root / "ImageSets" / "Segmentation" / "val.txt").write_text("\n".join(ids) + "\n")
    return Expected("voc-segmentation", n, list(VOC_SEGMENTATION_CLASSES), dict(zip(VOC_SEGMENTATION_CLASSES, counts)))


COCO_CATEGORIES = [(1, "person"), (3, "car"), (7, "train"), (90, "toothbrush")]  # ids as sparse as COCO's


def coco_document(n: int, crowd_every: int = 25) -> tuple[dict, dict[str, int]]:
    images, anns, per_class = [], [], {name: 0 for _, name in COCO_CATEGORIES}
    for i in range(n):
        images.append({"id": 1000 + i, "file_name": f"{i:012d}.jpg", "width": SIZE, "height": SIZE})
        for j in range(1 + i % 2):
            cat_id, name = COCO_CATEGORIES[(i + j) % len(COCO_CATEGORIES)]
            anns.append({"id": len(anns) + 1, "image_id": 1000 + i, "category_id": cat_id,
                         "bbox": [1 + j, 2, 10.5, 12], "area": 126.0, "iscrowd": 0})  # fmt: skip
            per_class[name] += 1
        if i % crowd_every == 0:
            anns.append({"id": len(anns) + 1, "image_id": 1000 + i, "category_id": 1,
                         "bbox": [0, 0, 30, 30], "area": 900.0, "iscrowd": 1})  # fmt: skip
    categories = [{"id": cid, "name": name, "supercategory": "x"} for cid, name in reversed(COCO_CATEGORIES)]
    return {"images": images, "annotations": anns, "categories": categories}, per_class


def make_coco(root: Path, n: int = 400) -> Expected:
    doc, per_class = coco_document(n)
    for i, image in enumerate(doc["images"]):
        write_image(root / "val2017" / image["file_name"], i)
    (root / "annotations").mkdir(parents=True, exist_ok=True)
    (root / "annotations" / "instances_val2017.json").write_text(json.dumps(doc))
    return Expected("coco", n, [name for _, name in COCO_CATEGORIES], per_class)


def make_unannotated(root: Path, n: int = 400) -> Expected:
    for i in range(n):
        write_image(root / f"frame_{i:04d}.{'png' if i % 4 == 0 else 'jpg'}", i, "PNG" if i % 4 == 0 else "JPEG")
    return Expected("unannotated", n, [], {})


BUILDERS = {
    "imagenet": make_imagenet,
    "imagefolder": make_imagefolder,
    "voc-detection": make_voc_detection,
    "voc-segmentation": make_voc_segmentation,
    "coco": make_coco,
    "unannotated": make_unannotated,
}


def pack(folder: Path, archive: Path, wrapper: str = "") -> Path:
    """Zip or tar (by the archive's suffix) the folder's contents, optionally
    under one top-level folder, as packers usually do."""
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    name = archive.name
    if name.endswith(".zip"):
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
            for p in files:
                zf.write(p, f"{wrapper}{p.relative_to(folder).as_posix()}")
    else:
        mode = "w:gz" if name.endswith((".tar.gz", ".tgz")) else "w"
        with tarfile.open(archive, mode) as tf:
            for p in files:
                tf.add(p, f"{wrapper}{p.relative_to(folder).as_posix()}")
    return archive


def snapshot(base: Path, skip: Path) -> dict[str, tuple[int, int]]:
    """Every path under base except those under skip, with size and mtime."""
    seen = {}
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames[:] = [d for d in dirnames if Path(dirpath, d) != skip]
        for name in dirnames + filenames:
            st = os.lstat(os.path.join(dirpath, name))
            seen[os.path.relpath(os.path.join(dirpath, name), base)] = (st.st_size, st.st_mtime_ns)
    return seen


# --- archives -----------------------------------------------------------------


def write_zip(path: Path, members: list[tuple[str | zipfile.ZipInfo, bytes]], method: int = zipfile.ZIP_DEFLATED) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", method) as zf:
        for name, data in members:
            zf.writestr(name, data)
    return path


def write_tar(path: Path, members: list[tarfile.TarInfo | tuple[str, bytes]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz" if path.name.endswith(".gz") else "w", errors="surrogateescape") as tf:
        for member in members:
            if isinstance(member, tarfile.TarInfo):
                tf.addfile(member)
            else:
                info = tarfile.TarInfo(member[0])
                info.size = len(member[1])
                tf.addfile(info, io.BytesIO(member[1]))
    return path


def tar_link(name: str, target: str, kind: bytes) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info
