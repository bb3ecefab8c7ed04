"""Property tests for the annotation and label parsers: whatever the bytes of
val.txt, a VOC XML, a COCO JSON or a labels file, the parser either returns an
index or raises owb's own error (an OwbError with a one-line message); never a
raw exception, which the CLI would turn into an 'internal error'."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from engine.datasets import coco, imagenet, voc_detection
from engine.datasets.base import DatasetIndex
from engine.errors import OwbError
from engine.models import read_labels
from fixtures_datasets import image_bytes, voc_xml

# The @example lines replay what the fuzzing found, in a fresh clone too.
FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
IMAGES = ("a.jpg", "b.jpg", "sub/c.jpg")
LONG_NAME = "x" * 300  # over NAME_MAX: the OS answers ENAMETOOLONG, not "no such file"


def parsed_or_refused(load, root: Path) -> DatasetIndex | None:
    """The contract: an index, or an OwbError whose message is one line."""
    try:
        index = load(root)
    except OwbError as exc:
        assert str(exc) and "\n" not in str(exc), repr(str(exc))
        return None
    assert isinstance(index, DatasetIndex) and index.items
    return index


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    """One dataset folder whose annotation files each example rewrites; the
    images it may name are real."""
    base = tmp_path_factory.mktemp("fuzz")
    for i, name in enumerate(IMAGES):
        for folder in (base, base / "JPEGImages", base / "val2017"):
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_bytes(image_bytes(i))
    (base / "Annotations").mkdir()
    (base / "annotations").mkdir()
    return base


# -- val.txt and labels.txt ---------------------------------------------------------

NAMES = st.one_of(st.sampled_from([*IMAGES, "missing.jpg", "../a.jpg", "/etc/passwd", f"sub/{LONG_NAME}.jpg",
                                   LONG_NAME, "a.jpg\x00", "sub\\c.jpg", "C:/a.jpg"]), st.text(max_size=30))
LABELS = st.one_of(st.integers(-3, 6).map(str), st.sampled_from(["1e3", "0x1", "1_0", "٣", "9" * 5000, ""]),
                   st.text(max_size=8))
VAL_LINES = st.lists(st.tuples(NAMES, st.sampled_from([" ", "\t", "  "]), LABELS).map("".join), max_size=12)


@FUZZ
@given(lines=VAL_LINES, labels=st.one_of(st.none(), st.lists(st.text(max_size=10), max_size=6)))
@example(lines=[f"sub/{LONG_NAME}.jpg 0"], labels=None)
@example(lines=["a.jpg 0"], labels=["", " "])
def test_val_txt_lines(root, lines, labels):
    (root / "val.txt").write_text("\n".join(lines), encoding="utf-8", errors="surrogatepass")
    if labels is None:
        (root / "labels.txt").unlink(missing_ok=True)
    else:
        (root / "labels.txt").write_text("\n".join(labels), encoding="utf-8", errors="surrogatepass")
    index = parsed_or_refused(imagenet.load, root)
    if index is not None:
        assert all(0 <= it.label < len(index.labels) and (root / it.file).is_file() for it in index.items)


@FUZZ
@given(val=st.binary(max_size=300), labels=st.binary(max_size=100))
@example(val=b"\xef\xbb\xbfa.jpg 0", labels=b"\xff\xfe")
def test_val_txt_bytes(root, val, labels):
    (root / "val.txt").write_bytes(val)
    (root / "labels.txt").write_bytes(labels)
    parsed_or_refused(imagenet.load, root)


@FUZZ
@given(data=st.one_of(st.binary(max_size=200), st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass"))))
def test_labels_file(tmp_path_factory, data):
    path = tmp_path_factory.getbasetemp() / "labels-fuzz.txt"
    path.write_bytes(data)
    try:
        labels = read_labels(path)
    except OwbError as exc:
        assert "\n" not in str(exc)
        return
    assert labels and all(label == label.strip() and label for label in labels)


def test_labels_file_that_is_a_folder_or_missing(tmp_path):
    for path in (tmp_path, tmp_path / "nothing.txt", tmp_path / LONG_NAME):
        with pytest.raises(OwbError):
            read_labels(path)


# -- VOC XML ----------------------------------------------------------------------------

NUMBERS = st.one_of(st.integers(-50, 80).map(str), st.sampled_from(["inf", "-inf", "nan", "1e400", "", " 3 ", "x"]),
                    st.floats(allow_nan=True, allow_infinity=True).map(repr))
OBJECTS = st.lists(st.tuples(st.sampled_from(["dog", "cat", "", "person", "<x/>"]),
                             st.lists(NUMBERS, min_size=4, max_size=4), NUMBERS), max_size=4)


def voc_document(filename: str, objects: list, width: str, height: str) -> str:
    objs = "".join(
        f"<object><name>{name}</name><difficult>{difficult}</difficult><bndbox><xmin>{b[0]}</xmin>"
        f"<ymin>{b[1]}</ymin><xmax>{b[2]}</xmax><ymax>{b[3]}</ymax></bndbox></object>"
        for name, b, difficult in objects
    )
    return (f"<annotation><filename>{filename}</filename><size><width>{width}</width>"
            f"<height>{height}</height></size>{objs}</annotation>")


def write_voc(root: Path, xml: bytes, split: str | None) -> None:
    (root / "Annotations" / "a.xml").write_bytes(xml)
    (root / "Annotations" / "b.xml").write_text(voc_xml("b.jpg", [("dog", [1, 2, 20, 25], 0)]))
    split_file = root / "ImageSets" / "Main" / "val.txt"
    if split is None:
        shutil.rmtree(root / "ImageSets", ignore_errors=True)
    else:
        split_file.parent.mkdir(parents=True, exist_ok=True)
        split_file.write_text(split, encoding="utf-8", errors="surrogatepass")


@FUZZ
@given(filename=NAMES, objects=OBJECTS, width=NUMBERS, height=NUMBERS,
       split=st.one_of(st.none(), st.lists(NAMES.map(lambda n: n.removesuffix(".jpg")), max_size=4).map("\n".join)))
@example(filename="a.jpg", objects=[("dog", ["1", "2", "3", "4"], "inf")], width="32", height="32", split=None)
@example(filename="a.jpg", objects=[("dog", ["1", "2", "nan", "4"], "0")], width="inf", height="32", split=None)
@example(filename=LONG_NAME, objects=[], width="32", height="32", split=f"a\n{LONG_NAME}")
def test_voc_structured(root, filename, objects, width, height, split):
    xml = voc_document(filename, objects, width, height).encode("utf-8", "surrogatepass")
    write_voc(root, xml, split)
    index = parsed_or_refused(voc_detection.load, root)
    if index is not None:
        for item in index.items:
            for box in item.boxes:
                assert all(math.isfinite(v) for v in box), box


@FUZZ
@given(xml=st.one_of(st.binary(max_size=300), st.text(max_size=300).map(lambda t: t.encode("utf-8", "surrogatepass"))))
@example(xml=b'<?xml version="1.0" encoding="klingon"?><annotation/>')
@example(xml=b"<!DOCTYPE a [<!ENTITY e SYSTEM 'file:///etc/passwd'>]><annotation>&e;</annotation>")
@example(xml=b"<annotation>" * 5000)
def test_voc_bytes(root, xml):
    write_voc(root, xml, None)
    parsed_or_refused(voc_detection.load, root)


# -- COCO JSON --------------------------------------------------------------------------

JSON_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=10),
                         st.just(10**400))
JSON = st.recursive(JSON_SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                          st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                    max_leaves=12)
IDS = st.one_of(st.integers(-2, 4), st.just(10**400), JSON_SCALARS)
IMAGE = st.fixed_dictionaries({"id": IDS, "file_name": NAMES}, optional={"width": IDS, "height": IDS})
CATEGORY = st.fixed_dictionaries({"id": IDS, "name": st.one_of(st.text(max_size=8), JSON_SCALARS)})
BOX = st.one_of(st.lists(st.one_of(st.integers(-5, 40), st.floats(), st.just(10**400), JSON_SCALARS), max_size=5), JSON)
ANNOTATION = st.fixed_dictionaries({"image_id": IDS, "category_id": IDS, "bbox": BOX},
                                   optional={"id": IDS, "iscrowd": JSON_SCALARS})
COCO_DOC = st.fixed_dictionaries(
    {"images": st.lists(st.one_of(IMAGE, JSON), max_size=4), "categories": st.lists(st.one_of(CATEGORY, JSON), max_size=4)},
    optional={"annotations": st.one_of(st.lists(st.one_of(ANNOTATION, JSON), max_size=6), JSON)})


def write_coco(root: Path, data: bytes) -> None:
    (root / "annotations" / "instances_val2017.json").write_bytes(data)


def coco_json(doc: object) -> bytes:
    # allow_nan: Python's json writes and reads NaN/Infinity, so a user's file may hold them
    return json.dumps(doc, ensure_ascii=False).encode("utf-8", "surrogatepass")


@FUZZ
@given(doc=COCO_DOC)
@example(doc={"images": [{"id": 1, "file_name": "a.jpg"}], "categories": [{"id": 1, "name": "x"}],
              "annotations": [{"image_id": 1, "category_id": 1, "bbox": [10**400, 0, 5, 5]}]})
@example(doc={"images": [{"id": 1, "file_name": f"sub/{LONG_NAME}.jpg"}], "categories": [{"id": 1, "name": "x"}]})
@example(doc={"images": [{"id": 1, "file_name": "a.jpg"}], "categories": [{"id": 1, "name": "x"}], "annotations": True})
def test_coco_structured(root, doc):
    write_coco(root, coco_json(doc))
    index = parsed_or_refused(coco.load, root)
    if index is not None:
        assert all(0 <= label < len(index.labels) for item in index.items for label in item.box_labels)


@FUZZ
@given(doc=JSON)
def test_coco_any_json(root, doc):
    write_coco(root, coco_json(doc))
    parsed_or_refused(coco.load, root)


@FUZZ
@given(data=st.binary(max_size=300))
@example(data=b"[" * 100_000)
@example(data=b'{"images": [], "categories": ' + b"[" * 100_000)
@example(data=b"\xef\xbb\xbf{}")
def test_coco_bytes(root, data):
    write_coco(root, data)
    parsed_or_refused(coco.load, root)
