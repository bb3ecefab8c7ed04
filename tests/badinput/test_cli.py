"""The bad-input corpus through the real CLI, one fresh `owb` process per case:
exit 2, exactly one `error:` line, nothing written outside the workspace (cwd
and HOME are fresh folders that must stay empty), and the model and dataset
saved beforehand keep their records and file hashes. Then the inputs that look
odd but must WORK: mixed good and bad images, partly broken val.txt, sparse
COCO category ids, non-UTF-8 names, and 16-bit / CMYK / palette / alpha images
evaluated end to end with a real model."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import model_builders as mb
from engine.dataset_store import import_dataset
from engine.models import import_model
from engine.records import Dataset, Model
from engine.workspace import Workspace
from fixtures_datasets import image_bytes, make_coco

from .cases import CASES, GOOD_DATASET, GOOD_MODEL, NON_UTF8, SEG_MODEL, argv_for, bad_images
from .contract import assert_one_error_line, run_owb_process, tree

CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")  # all but the line's own newline

# Cases where owb breaks the contract today; strict, so a fix turns them red until unmarked.
KNOWN_FAILURES: dict[str, str] = {}


@dataclass
class Arena:
    base: Path  # the workspace and the good dataset's source
    src: Path  # the corpus
    ws: Path
    saved: dict[str, dict]  # the records saved before any bad attempt


def saved_records(home: Path) -> dict[str, dict]:
    ws = Workspace(home)
    return {f"{r.table}/{r.name}": r.to_dict() for cls in (Model, Dataset) for r in ws.all(cls)}


@pytest.fixture(scope="module")
def arena(tmp_path_factory, corpus) -> Arena:
    base, src = tmp_path_factory.mktemp("badinput"), corpus
    ws = Workspace(base / "ws")
    import_model(ws, src / "models" / "good.onnx", name=GOOD_MODEL)
    import_model(ws, src / "models" / "seg.xml", name=SEG_MODEL, task="classification")
    good = base / "good_set"
    for i in range(8):
        (good / f"{i}.jpg").parent.mkdir(exist_ok=True)
        (good / f"{i}.jpg").write_bytes(image_bytes(i))
    (good / "val.txt").write_text("".join(f"{i}.jpg {i % 4}\n" for i in range(8)))
    import_dataset(ws, good, name=GOOD_DATASET)
    return Arena(base, src, ws.home, saved_records(ws.home))


def test_corpus_is_big_and_covers_every_group():
    assert len(CASES) >= 40 + 36 and len({c.name for c in CASES}) == len(CASES)
    assert {c.group for c in CASES} == {"models", "archives", "images", "annotations", "names", "flags", "task",
                                        "hardening"}


@pytest.mark.parametrize("case", [
    pytest.param(c, id=c.name, marks=[pytest.mark.xfail(strict=True, reason=KNOWN_FAILURES[c.name])]
                 if c.name in KNOWN_FAILURES else []) for c in CASES])
def test_bad_input_is_refused_in_one_line_and_changes_nothing(arena, case, tmp_path):
    cwd, home = tmp_path / "cwd", tmp_path / "home"
    cwd.mkdir(), home.mkdir()
    before = tree(arena.base, arena.src)

    proc = run_owb_process(["--home", str(arena.ws), *argv_for(case, arena.src, arena.ws)], cwd, home)

    assert_one_error_line(proc.returncode, proc.stdout, proc.stderr, case.mention)
    assert not CONTROL.search(proc.stderr + proc.stdout), "a control character reached the terminal"
    assert str(arena.ws / "tmp") not in proc.stderr, "the message must name the user's input, not owb's scratch copy"
    assert tree(cwd, home) == {}, "owb wrote outside its workspace"
    assert tree(arena.base, arena.src) == before, "a file changed, appeared or vanished"
    assert not any((arena.ws / "tmp").iterdir()), "scratch left behind"
    assert saved_records(arena.ws) == arena.saved


def test_wrong_task_message_names_the_expected_and_the_actual_shape(arena, tmp_path):
    case = next(c for c in CASES if c.group == "task")
    proc = run_owb_process(["--home", str(arena.ws), *argv_for(case, arena.src)], tmp_path, tmp_path)
    assert "[N, C] or [N, C, 1, 1]" in proc.stderr and "[1, 4, 32, 32]" in proc.stderr


# -- odd inputs that must work ----------------------------------------------------------


def owb_json(ws: Path, tmp: Path, *argv: str) -> dict:
    proc = run_owb_process(["--home", str(ws), *argv, "--json"], tmp, tmp)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_mixed_folder_imports_the_good_and_lists_the_unreadable(arena, tmp_path):
    d = owb_json(tmp_path / "ws", tmp_path, "dataset", "import", str(arena.src / "images" / "mixed"))
    assert d["format"] == "unannotated" and d["images"] == 4
    assert sorted(d["summary"]["unreadable"]) == sorted(bad_images())
    problems = "\n".join(d["summary"]["problems"])
    assert "unreadable image bomb.png: possible decompression bomb" in problems
    assert "unreadable image bomb_warn.png: 10000x10000 pixels is over Pillow's MAX_IMAGE_PIXELS" in problems


def test_val_txt_with_some_bad_lines_keeps_the_good_ones(tmp_path):
    src = tmp_path / "set"
    src.mkdir()
    for i in range(5):
        (src / f"{i}.jpg").write_bytes(image_bytes(i))
    (src / "labels.txt").write_text("a\nb\nc\n")
    (src / "val.txt").write_text("0.jpg 0\n1.jpg 5\n2.jpg 2\ngone.jpg 1\n3.jpg x\n4.jpg 1\n")
    d = owb_json(tmp_path / "ws", tmp_path, "dataset", "import", str(src))
    assert d["format"] == "imagenet" and d["images"] == 3
    assert d["summary"]["per_class"] == {"a": 1, "b": 1, "c": 1}
    assert d["summary"]["problems"] == [
        "val.txt:5: label 'x' is not an integer",
        "val.txt:2: label 5 of 1.jpg is out of range 0..2",
        "val.txt:4: gone.jpg is missing",
        "1 images in the folder are not in val.txt and were ignored",
    ]


def test_coco_with_sparse_category_ids_works(tmp_path):
    expected = make_coco(tmp_path / "coco", n=6)  # category ids 1, 3, 7, 90, listed in reverse
    d = owb_json(tmp_path / "ws", tmp_path, "dataset", "import", str(tmp_path / "coco"))
    assert d["format"] == "coco" and d["images"] == 6 and d["annotated"]
    assert d["labels"] == ["person", "car", "train", "toothbrush"]  # contiguous indices in id order
    assert d["summary"]["per_class"] == expected.per_class and sum(expected.per_class.values()) == 9


def test_non_utf8_names_are_skipped_or_carried(arena, tmp_path):
    folder = os.path.join(os.fsencode(tmp_path), b"caf\xe9 set")
    os.makedirs(folder)
    for i in range(3):
        Path(os.fsdecode(os.path.join(folder, b"%d.jpg" % i))).write_bytes(image_bytes(i))
    Path(os.fsdecode(os.path.join(folder, b"\xff.jpg"))).write_bytes(image_bytes(3))
    d = owb_json(tmp_path / "ws", tmp_path, "dataset", "import", os.fsdecode(folder))
    assert d["images"] == 3 and d["name"] == f"{NON_UTF8} set"
    assert d["summary"]["problems"] == ["skipped \\xff.jpg: file name is not valid UTF-8; rename it"]
    model = Path(os.fsdecode(os.path.join(os.fsencode(tmp_path), b"m\xe9.onnx")))
    model.write_bytes((arena.src / "models" / "good.onnx").read_bytes())
    m = owb_json(tmp_path / "ws", tmp_path, "model", "import", str(model))
    listed = owb_json(tmp_path / "ws", tmp_path, "model", "list")
    assert [x["id"] for x in listed] == [m["id"]] and Path(m["path"]).is_file()


# -- unusual but valid images, evaluated -------------------------------------------------


def unusual_images(root: Path) -> list[str]:
    """32x32 images (the model's input size, so no resize blurs the comparison)."""
    rng = np.random.default_rng(5)
    rgb = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    images = {
        "deep16.png": Image.fromarray(rng.integers(0, 65536, (32, 32), dtype=np.uint16)),
        "cmyk.jpg": Image.fromarray(rng.integers(0, 256, (32, 32, 4), dtype=np.uint8), "CMYK"),
        "palette.png": Image.fromarray(rgb).convert("P", palette=Image.Palette.ADAPTIVE, colors=64),
        "palette_transparent.png": Image.fromarray(rgb[::-1]).convert("P", palette=Image.Palette.ADAPTIVE),
        "rgba.png": Image.fromarray(rng.integers(0, 256, (32, 32, 4), dtype=np.uint8), "RGBA"),
        "gray_alpha.png": Image.fromarray(rng.integers(0, 256, (32, 32, 2), dtype=np.uint8), "LA"),
        "gray.png": Image.fromarray(rng.integers(0, 256, (32, 32), dtype=np.uint8), "L"),
        "rgb.png": Image.fromarray(rgb),
    }
    for name, img in images.items():
        img.save(root / name, **({"transparency": 0} if name == "palette_transparent.png" else {}))
    assert Image.open(root / "deep16.png").mode == "I;16" and Image.open(root / "cmyk.jpg").mode == "CMYK"
    assert "transparency" in Image.open(root / "palette_transparent.png").info
    return list(images)


def by_hand(path: Path) -> np.ndarray:
    """8-bit RGB, HWC, from the stored samples with the textbook formulas."""
    with Image.open(path) as img:
        mode, raw = img.mode, np.asarray(img)
        palette = np.asarray(img.getpalette() or [], np.uint8).reshape(-1, 3)
    if mode == "I;16":
        gray = (raw >> 8).astype(np.uint8)  # the top byte of each 16-bit sample
        return np.repeat(gray[..., None], 3, axis=2)
    if mode == "CMYK":
        cmyk = raw.astype(np.float64)
        return ((255 - cmyk[..., :3]) * (255 - cmyk[..., 3:]) / 255).round().astype(np.uint8)
    if mode == "P":
        return palette[raw]  # the colour table, whatever the transparency
    if mode in ("RGBA", "RGB"):
        return raw[..., :3]
    if mode in ("LA", "L"):
        gray = raw[..., 0] if raw.ndim == 3 else raw
        return np.repeat(gray[..., None], 3, axis=2)
    raise AssertionError(f"no hand conversion for {mode}")


def test_unusual_images_import_and_evaluate_correctly(arena, tmp_path):
    from engine.preprocess import Preprocessor

    src = tmp_path / "unusual"
    src.mkdir()
    names = unusual_images(src)
    inputs = {n: by_hand(src / n).transpose(2, 0, 1)[None].astype(np.float32) for n in names}
    # Labels from the numpy forward pass of the same network: the even images
    # get its answer, the odd ones a wrong one, so top1 must be exactly 1/2.
    predicted = {n: int(np.argmax(mb.reference(x))) for n, x in inputs.items()}
    labels = {n: predicted[n] if k % 2 == 0 else (predicted[n] + 1) % mb.CLASSES for k, n in enumerate(names)}
    (src / "val.txt").write_text("".join(f"{n} {labels[n]}\n" for n in names))
    (src / "labels.txt").write_text("".join(f"class{i}\n" for i in range(mb.CLASSES)))

    ws = tmp_path / "ws"
    owb_json(ws, tmp_path, "model", "import", str(arena.src / "models" / "good.onnx"), "--name", "tiny")
    d = owb_json(ws, tmp_path, "dataset", "import", str(src), "--name", "unusual")
    assert d["images"] == len(names) and d["summary"]["unreadable"] == [] and d["summary"]["problems"] == []
    result = owb_json(ws, tmp_path, "accuracy", "tiny", "--dataset", "unusual")
    assert result["images"] == len(names)
    assert result["value"] == pytest.approx(0.5)

    model = Workspace(ws).get(Model, "tiny")
    pre = Preprocessor(model.config, [1, 3, 32, 32])
    for n in names:
        array, _ = pre.load(Path(d["path"]) / n)
        tolerance = 1.0 if n == "cmyk.jpg" else 0.0  # Pillow's CMYK maths rounds its own way
        assert np.abs(array - inputs[n]).max() <= tolerance, n
