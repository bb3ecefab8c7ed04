"""Dataset import: the six formats from folders and archives, auto-detection,
the validation summary, and hostile or broken inputs."""

from __future__ import annotations

import io
import json
import os
import shutil
import struct
import time
import zlib
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.datasets import FORMATS, DatasetIndex, Item, detect_format, load_dataset, materialize
from engine.datasets.images import check_images
from engine.errors import AmbiguousFormat, BadInput
from fixtures_datasets import (
    BUILDERS,
    CLASS_COUNTS,
    coco_document,
    image_bytes,
    make_coco,
    make_imagefolder,
    make_imagenet,
    make_voc_detection,
    make_voc_segmentation,
    mask_image,
    pack,
    snapshot,
    voc_xml,
    write_image,
)


@pytest.fixture(scope="session")
def built(tmp_path_factory):
    """Each format's 400-image dataset, built once for the session."""
    base = tmp_path_factory.mktemp("built")
    sets = {}
    for fmt, build in BUILDERS.items():
        root = base / fmt
        root.mkdir()
        sets[fmt] = (root, build(root))
    return sets


@contextmanager
def untouched(base: Path, dest: Path | None = None):
    """Asserts that nothing under base changed, except inside dest."""
    if dest is not None:
        dest.mkdir(parents=True, exist_ok=True)
    before = snapshot(base, dest or base / "\0none")
    yield
    assert snapshot(base, dest or base / "\0none") == before


# --- the six formats ---------------------------------------------------------------


@pytest.mark.parametrize("source", ["folder", ".zip", ".tar", ".tar.gz"])
@pytest.mark.parametrize("fmt", FORMATS)
def test_format_imports_from_folder_and_archives(built, tmp_path, fmt, source):
    root, expected = built[fmt]
    if source != "folder":
        # zip with the content at the top, tars wrapped in a folder, as packers do both
        src = pack(root, tmp_path / f"data{source}", "" if source == ".zip" else "wrapped/")
    else:
        src = root
    dest = tmp_path / "ws" / "data"
    with untouched(tmp_path, dest):
        dataset_root = materialize(src, dest)
    assert dataset_root.is_relative_to(dest)
    assert detect_format(dataset_root) == fmt
    index = load_dataset(dataset_root)
    assert index.format == fmt
    assert index.summary["images"] == len(index.items) == expected.images
    assert index.labels == expected.labels
    assert index.summary["classes"] == len(expected.labels)
    assert index.summary["per_class"] == expected.per_class
    assert index.summary["problems"] == [] and index.summary["unreadable"] == []
    assert index.annotated == (fmt != "unannotated")
    assert all((dataset_root / it.file).is_file() for it in index.items)


@pytest.mark.parametrize("fmt", FORMATS)
def test_inspect_shows_what_import_records_and_writes_nothing(built, tmp_path, fmt):
    """The Import Dataset form's look before confirming: same figures as the import."""
    from engine.dataset_store import import_dataset, inspect_dataset
    from engine.workspace import Workspace

    root, _ = built[fmt]
    with untouched(root.parent):
        found = inspect_dataset(root)
    ws = Workspace(tmp_path / "ws")
    assert ws.all(type(found)) == []  # nothing saved anywhere
    imported = import_dataset(ws, root)
    for field in ("format", "images", "labels", "classes", "annotated", "summary"):
        assert getattr(found, field) == getattr(imported, field), field
    assert inspect_dataset(pack(root, tmp_path / "a.zip", "")) is None  # an archive is read once extracted
    if fmt in ("voc-detection", "imagefolder"):  # wrapped in a lone folder, as 'VOCdevkit/VOC2012'
        wrapped = tmp_path / "outer"
        shutil.copytree(root, wrapped / "inner")
        found, imported = inspect_dataset(wrapped), import_dataset(ws, wrapped, name="wrapped")
        assert (found.format, found.images, found.labels) == (imported.format, imported.images, imported.labels)
        assert found.format == fmt


def test_items_carry_the_annotations(built):
    idx = load_dataset(built["imagenet"][0])
    assert {it.label for it in idx.items} == {0, 1, 2, 3}
    voc = load_dataset(built["voc-detection"][0])
    first = next(it for it in voc.items if len(it.boxes) == 3)
    assert first.file.startswith("JPEGImages/") and first.boxes[2] == [4.0, 5.0, 22.0, 25.0]
    assert first.difficult == [False, False, True] and len(first.box_labels) == 3
    seg = load_dataset(built["voc-segmentation"][0])
    assert seg.items[0].mask == "SegmentationClass/2007_000000.png"


def test_coco_non_contiguous_category_ids_work(built):
    idx = load_dataset(built["coco"][0])
    assert idx.labels == ["person", "car", "train", "toothbrush"]  # ids 1, 3, 7, 90 in id order
    assert idx.summary["crowd_ignored"] == 16
    by_file = {it.file: it for it in idx.items}
    # image 3: annotations j=0 -> category (3+0)%4 = id 90, j=1 -> id 1; xywh [1+j, 2, 10.5, 12] -> xyxy
    item = by_file["val2017/000000000003.jpg"]
    assert item.box_labels == [3, 0]
    assert item.boxes == [[1.0, 2.0, 11.5, 14.0], [2.0, 2.0, 12.5, 14.0]]


def test_index_round_trip_and_stays_small(built, tmp_path):
    idx = load_dataset(built["coco"][0])
    idx.save(tmp_path / "index.json")
    back = DatasetIndex.load(tmp_path / "index.json")
    assert back == idx
    items = [Item(f"ILSVRC2012_val_{i:08d}.JPEG", label=i % 1000) for i in range(50_000)]
    big = DatasetIndex("imagenet", tmp_path, items, [str(i) for i in range(1000)], True, {"images": 50_000})
    start = time.perf_counter()
    big.save(tmp_path / "big.json")
    again = DatasetIndex.load(tmp_path / "big.json")
    elapsed = time.perf_counter() - start
    assert again.items == items
    assert (tmp_path / "big.json").stat().st_size < 2_500_000
    assert elapsed < 5.0, f"50k-item index took {elapsed:.2f}s to save and load"


# --- detection and ambiguity --------------------------------------------------------


def test_resolving_val_txt_is_decisive_beside_other_folders(tmp_path):
    make_imagenet(tmp_path)
    write_image(tmp_path / "extra" / "a.jpg", 1)
    with untouched(tmp_path):
        assert detect_format(tmp_path) == "imagenet"  # its entries name the images: extra/ is no class
    assert load_dataset(tmp_path).summary["images"] == 400


def test_imagenet_with_images_in_a_subfolder_is_detected(tmp_path):
    lines = []
    for i in range(6):
        write_image(tmp_path / "images" / f"x{i}.png", i % 2, "PNG")
        lines.append(f"images/x{i}.png {i % 2}")
    (tmp_path / "val.txt").write_text("\n".join(lines) + "\n")
    (tmp_path / "labels.txt").write_text("cat\ndog\n")
    assert detect_format(tmp_path) == "imagenet"
    index = load_dataset(tmp_path)
    assert index.format == "imagenet" and len(index.items) == 6 and index.labels == ["cat", "dog"]


def test_unresolving_val_txt_beside_class_folders_stays_ambiguous(tmp_path):
    make_imagenet(tmp_path)
    (tmp_path / "val.txt").write_text("gone/a.jpg 0\n")
    write_image(tmp_path / "extra" / "a.jpg", 1)
    with untouched(tmp_path), pytest.raises(AmbiguousFormat, match=r"imagenet \(val.txt\) and imagefolder \(class folders extra\)") as err:
        load_dataset(tmp_path)
    assert err.value.candidates == ["imagenet", "imagefolder"]
    assert "--" not in err.value.tui


def test_ambiguous_voc_detection_and_segmentation(tmp_path):
    make_voc_detection(tmp_path, n=3, extra_outside_split=0)
    make_voc_segmentation(tmp_path, n=3)
    with pytest.raises(AmbiguousFormat, match="voc-detection.*voc-segmentation.*choose one with --format") as err:
        detect_format(tmp_path)
    assert err.value.candidates == ["voc-detection", "voc-segmentation"] and "--" not in err.value.tui
    assert load_dataset(tmp_path, "voc-segmentation").format == "voc-segmentation"
    # the task of the model the dataset is for settles it; a task that fits neither does not
    assert detect_format(tmp_path, "segmentation") == "voc-segmentation"
    assert detect_format(tmp_path, "detection") == "voc-detection"
    with pytest.raises(AmbiguousFormat):
        detect_format(tmp_path, "classification")


def test_ambiguous_class_folders_and_loose_images(tmp_path):
    make_imagefolder(tmp_path)
    write_image(tmp_path / "loose.jpg", 2)
    with pytest.raises(BadInput, match="imagefolder .* and unannotated"):
        detect_format(tmp_path)


def test_empty_folder_and_unknown_format(tmp_path):
    with untouched(tmp_path), pytest.raises(BadInput, match="empty"):
        load_dataset(tmp_path)
    (tmp_path / "notes.txt").write_text("no images here")
    with pytest.raises(BadInput, match="no dataset found"):
        load_dataset(tmp_path)
    with pytest.raises(BadInput, match="unknown dataset format 'yolo'"):
        load_dataset(tmp_path, "yolo")


# --- annotation problems -------------------------------------------------------------


def test_val_txt_out_of_range_and_missing_files(tmp_path):
    for i in range(6):
        write_image(tmp_path / f"{i}.jpg", i)
    (tmp_path / "labels.txt").write_text("a\nb\nc\n")
    (tmp_path / "val.txt").write_text("0.jpg 0\n1.jpg 2\n2.jpg 3\n3.jpg -1\ngone.jpg 1\n../../etc/passwd 0\n4.jpg x\n")
    idx = load_dataset(tmp_path)
    assert [it.file for it in idx.items] == ["0.jpg", "1.jpg"]
    problems = "\n".join(idx.summary["problems"])
    assert "val.txt:3: label 3 of 2.jpg is out of range 0..2" in problems
    assert "val.txt:4: label -1" in problems
    assert "val.txt:5: gone.jpg is missing" in problems
    assert "leaves the dataset folder" in problems and "is not an integer" in problems
    assert "2 images in the folder are not in val.txt" in problems
    assert idx.summary["per_class"] == {"a": 1, "b": 0, "c": 1}
    (tmp_path / "val.txt").write_text("2.jpg 7\ngone.jpg 0\n")
    with pytest.raises(BadInput, match="no usable annotated images.*out of range"):
        load_dataset(tmp_path)


def test_problem_list_is_capped_but_counted(tmp_path):
    write_image(tmp_path / "ok.jpg", 0)
    (tmp_path / "val.txt").write_text("ok.jpg 0\n" + "".join(f"missing{i}.jpg 0\n" for i in range(120)))
    summary = load_dataset(tmp_path).summary
    assert summary["problem_count"] == 120
    assert len(summary["problems"]) == 51 and summary["problems"][-1] == "... and 70 more problems"


XXE = """<?xml version="1.0"?>
<!DOCTYPE annotation [<!ENTITY secret SYSTEM "file://{secret}">]>
<annotation><filename>a.jpg</filename><object><name>&secret;</name>
<bndbox><xmin>1</xmin><ymin>1</ymin><xmax>5</xmax><ymax>5</ymax></bndbox></object></annotation>"""
LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<annotation><filename>a.jpg</filename><object><name>&lol3;</name></object></annotation>"""


@pytest.mark.parametrize("attack", [XXE, LAUGHS], ids=["xxe", "billion-laughs"])
def test_voc_xml_attacks_are_bad_input(tmp_path, attack):
    make_voc_detection(tmp_path, n=5, extra_outside_split=0)
    secret = tmp_path / "secret.txt"
    secret.write_text("aeroplane")
    (tmp_path / "Annotations" / "2012_000002.xml").write_text(attack.format(secret=secret))
    with untouched(tmp_path), pytest.raises(BadInput, match="2012_000002.xml declares a DTD or entities"):
        load_dataset(tmp_path)


def test_voc_broken_xml_and_boxes_are_problems(tmp_path):
    make_voc_detection(tmp_path, n=6, extra_outside_split=0)
    (tmp_path / "Annotations" / "2012_000001.xml").write_text("<annotation><object>")
    (tmp_path / "Annotations" / "2012_000002.xml").write_text(
        voc_xml("2012_000002.jpg", [("dog", [10, 10, 40, 20], 0), ("cat", [9, 9, 3, 20], 0)])
    )
    idx = load_dataset(tmp_path)
    problems = "\n".join(idx.summary["problems"])
    assert idx.summary["images"] == 5
    assert "2012_000001.xml: malformed XML" in problems
    assert "object 2 (cat) has an empty box" in problems
    assert "box [10.0, 10.0, 40.0, 20.0] is outside the 32x32 image" in problems


def test_malformed_coco_json_is_bad_input(tmp_path):
    make_coco(tmp_path, n=4)
    ann = tmp_path / "annotations" / "instances_val2017.json"
    ann.write_text(ann.read_text()[:-40])
    with untouched(tmp_path), pytest.raises(BadInput, match="instances_val2017.json is not valid JSON"):
        load_dataset(tmp_path)
    ann.write_text("[1, 2, 3]")
    with pytest.raises(BadInput, match="not a COCO instances file"):
        load_dataset(tmp_path)


def test_coco_unknown_ids_and_bad_boxes_are_problems(tmp_path):
    make_coco(tmp_path, n=4)
    ann = tmp_path / "annotations" / "instances_val2017.json"
    doc, _ = coco_document(4)
    doc["annotations"] += [
        {"id": 900, "image_id": 1000, "category_id": 2, "bbox": [1, 1, 2, 2], "iscrowd": 0},
        {"id": 901, "image_id": 77, "category_id": 1, "bbox": [1, 1, 2, 2], "iscrowd": 0},
        {"id": 902, "image_id": 1001, "category_id": 1, "bbox": [1, 1, 0, 2], "iscrowd": 0},
    ]
    doc["images"].append({"id": 5000, "file_name": "nowhere.jpg", "width": 32, "height": 32})
    ann.write_text(json.dumps(doc))
    idx = load_dataset(tmp_path)
    problems = "\n".join(idx.summary["problems"])
    assert idx.summary["images"] == 4
    assert "annotation 900: unknown category_id 2" in problems
    assert "annotation 901: unknown image_id 77" in problems
    assert "annotation 902: bbox [1, 1, 0, 2]" in problems
    assert "image 5000: nowhere.jpg is missing" in problems


def test_segmentation_masks_out_of_range_and_rgb(tmp_path):
    make_voc_segmentation(tmp_path, n=5)
    (tmp_path / "labels.txt").write_text("background\nthing\nstuff\n")
    mask_image([2]).save(tmp_path / "SegmentationClass" / "2007_000000.png")
    mask_image([9]).save(tmp_path / "SegmentationClass" / "2007_000001.png")
    mask_image([1]).convert("RGB").save(tmp_path / "SegmentationClass" / "2007_000002.png")
    mask_image([1], size=16).save(tmp_path / "SegmentationClass" / "2007_000003.png")
    mask_image([1, 2], ignore_border=True).save(tmp_path / "SegmentationClass" / "2007_000004.png")
    idx = load_dataset(tmp_path)
    problems = "\n".join(idx.summary["problems"])
    assert [it.mask for it in idx.items] == ["SegmentationClass/2007_000000.png", "SegmentationClass/2007_000004.png"]
    assert "2007_000001.png: class indices [9] are out of range 0..2" in problems
    assert "2007_000002.png: mask mode RGB holds colors" in problems
    assert "2007_000003.png: mask is 16x16, image is 32x32" in problems
    assert idx.summary["per_class"] == {"background": 2, "thing": 1, "stuff": 2}


# --- image checks --------------------------------------------------------------------


def _noise_image(fmt: str, size: int = 64) -> bytes:
    rng = np.random.default_rng(0)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8)).save(buf, fmt)
    return buf.getvalue()


def _forged_png(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width x height: a decompression bomb's shape."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def test_corrupt_and_truncated_images_are_listed_and_skipped(tmp_path):
    for i in range(4):
        write_image(tmp_path / f"good{i}.jpg", i)
    jpeg, png = _noise_image("JPEG"), _noise_image("PNG")
    (tmp_path / "garbage.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg" * 10)
    (tmp_path / "cut.jpg").write_bytes(jpeg[: len(jpeg) * 2 // 3])
    (tmp_path / "cut.png").write_bytes(png[: len(png) * 2 // 3])
    (tmp_path / "bomb.png").write_bytes(_forged_png(100_000, 100_000))
    (tmp_path / "trailer.jpg").write_bytes(jpeg + b"\0" * 10_000)  # data after EOI, as cameras append
    for cut in ("cut.jpg", "cut.png"):
        assert Image.open(tmp_path / cut).size == (64, 64)  # the header alone does not give them away
    with untouched(tmp_path):
        idx = load_dataset(tmp_path)
    assert idx.format == "unannotated"
    assert sorted(idx.summary["unreadable"]) == ["bomb.png", "cut.jpg", "cut.png", "garbage.jpg"]
    assert idx.summary["images"] == 5 and "trailer.jpg" in {it.file for it in idx.items}
    problems = "\n".join(idx.summary["problems"])
    assert "unreadable image bomb.png: possible decompression bomb" in problems
    assert "unreadable image cut.png:" in problems and "truncated" in problems


def test_pixel_limit_between_warning_and_error_is_unreadable(tmp_path, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # 32x32 = 1024: Pillow only warns here
    path = tmp_path / "a.png"
    path.write_bytes(image_bytes(1, "PNG"))
    result = check_images(tmp_path, ["a.png"])["a.png"]
    assert result.size is None and "over Pillow's MAX_IMAGE_PIXELS (1000)" in result.error


def test_all_images_unreadable_is_bad_input(tmp_path):
    (tmp_path / "a.jpg").write_bytes(b"not an image")
    (tmp_path / "b.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    with pytest.raises(BadInput, match="none of the 2 images .* could be read"):
        load_dataset(tmp_path)


def test_unusual_but_valid_images_are_readable(tmp_path):
    Image.fromarray(np.arange(32 * 32, dtype=np.uint16).reshape(32, 32) * 60).save(tmp_path / "deep16.png")
    Image.new("CMYK", (32, 32), (0, 255, 255, 0)).save(tmp_path / "cmyk.jpg")
    Image.new("RGB", (32, 32), "red").convert("P", palette=Image.Palette.ADAPTIVE).save(tmp_path / "palette.png")
    Image.new("RGBA", (32, 32), (1, 2, 3, 100)).save(tmp_path / "alpha.png")
    Image.new("LA", (32, 32), (9, 50)).save(tmp_path / "gray_alpha.png")
    Image.new("L", (32, 32), 9).save(tmp_path / "gray.jpg")
    assert Image.open(tmp_path / "deep16.png").mode == "I;16"
    idx = load_dataset(tmp_path)
    assert idx.summary["unreadable"] == [] and idx.summary["images"] == 6
    for it in idx.items:  # and the decoder downstream can turn each into RGB
        assert Image.open(tmp_path / it.file).convert("RGB").size == (32, 32)


def test_non_utf8_file_name_is_skipped_with_a_problem(tmp_path):
    make_imagefolder(tmp_path)
    bad = os.path.join(os.fsencode(tmp_path / "cat"), b"caf\xe9.jpg")
    with open(bad, "wb") as fh:
        fh.write(image_bytes(3))
    idx = load_dataset(tmp_path)
    assert idx.summary["per_class"] == CLASS_COUNTS
    assert any("cat/caf\\xe9.jpg: file name is not valid UTF-8" in p for p in idx.summary["problems"])
    idx.save(tmp_path / "index.json")  # nothing unencodable reached the index
    assert DatasetIndex.load(tmp_path / "index.json").summary == idx.summary


def test_cli_detects_subfolder_imagenet_and_follows_the_models_task(tmp_path, capsys):
    import model_builders as mb
    from owb_tui.cli import main

    home = str(tmp_path / "home")
    layout = tmp_path / "layout"
    for i in range(4):
        write_image(layout / "images" / f"x{i}.png", i % 2, "PNG")
    (layout / "val.txt").write_text("".join(f"images/x{i}.png {i % 2}\n" for i in range(4)))
    (layout / "labels.txt").write_text("a\nb\n")
    assert main(["--home", home, "dataset", "import", str(layout), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["format"] == "imagenet"

    voc = tmp_path / "VOC2012"
    make_voc_detection(voc, n=3, extra_outside_split=0)
    make_voc_segmentation(voc, n=3)
    assert main(["--home", home, "dataset", "import", str(voc)]) == 2
    assert "choose one with --format" in capsys.readouterr().err
    onnx = mb.build_onnx(tmp_path)
    assert main(["--home", home, "model", "import", str(onnx), "--name", "seg", "--task", "segmentation"]) == 0
    capsys.readouterr()
    assert main(["--home", home, "dataset", "import", str(voc), "--model", "seg", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["format"] == "voc-segmentation"
