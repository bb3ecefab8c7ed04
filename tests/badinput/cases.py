"""Every bad-input case, as files generated into a corpus folder and the `owb`
arguments that feed each one. A case's argv follows `--home WS`; ``{src}``
is the corpus folder. Broken models reuse model_builders.write_broken_sources;
everything else is made here, from real images and real archive formats."""

from __future__ import annotations

import io
import json
import os
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from fixtures_datasets import image_bytes, make_voc_detection, tar_link, write_tar, write_zip  # noqa: F401 (re-exported)

from .hardening_cases import build_hardening, hardening_cases

# The workspace every case runs against holds these, imported beforehand.
GOOD_MODEL, GOOD_DATASET, SEG_MODEL = "good", "good", "seg-as-cls"


@dataclass(frozen=True)
class Case:
    name: str
    group: str
    argv: tuple[str, ...]
    mention: str  # the one error line must contain this (any case)


def argv_for(case: Case, src: Path, ws: Path | None = None) -> list[str]:
    return [a.replace("{src}", str(src)).replace("{ws}", str(ws)) for a in case.argv]


def _case(group: str, name: str, mention: str, *argv: str) -> Case:
    return Case(name, group, tuple(argv), mention)


def _model(name: str, file: str, mention: str) -> Case:
    return _case("models", name, mention, "model", "import", f"{{src}}/models/{file}")


def _dataset(group: str, name: str, rel: str, mention: str, *extra: str) -> Case:
    return _case(group, name, mention, "dataset", "import", f"{{src}}/{rel}", *extra)


_CALIBRATE = ("calibrate", GOOD_MODEL, "--dataset", GOOD_DATASET, "--bench-time", "0")
NON_UTF8 = os.fsdecode(b"caf\xe9")  # a Latin-1 name, as old cameras and zip tools write them

CASES: list[Case] = [
    # models (broken in exactly one way, built from a real model)
    _model("model-truncated-xml", "truncated.xml", "truncated.xml"),
    _model("model-bin-does-not-match", "mismatch.xml", "mismatch.xml"),
    _model("model-ir-without-weights", "nobin.xml", "nobin.bin"),
    _model("model-onnx-garbage", "garbage.onnx", "garbage.onnx"),
    _model("model-onnx-dangling-input", "dangling.onnx", "nowhere"),
    _model("model-zero-byte-file", "empty.onnx", "empty"),
    _model("model-unsupported-extension", "model.txt", "model.txt"),
    # archives
    _dataset("archives", "zip-slip", "archives/slip.zip", "climbs out"),
    _dataset("archives", "tar-slip", "archives/slip.tar", "climbs out"),
    _dataset("archives", "tar-absolute-path", "archives/absolute.tar", "absolute path"),
    _dataset("archives", "zip-symlink", "archives/symlink.zip", "symbolic link"),
    _dataset("archives", "tar-symlink-outside", "archives/symlink.tar", "symbolic link"),
    _dataset("archives", "tar-hardlink-outside", "archives/hardlink.tar", "hard link"),
    _dataset("archives", "zip-bomb-ratio", "archives/bomb.zip", "zip bomb"),
    _dataset("archives", "tar-gz-bomb-ratio", "archives/bomb.tar.gz", "zip bomb"),
    _dataset("archives", "zip-inside-zip", "archives/nested.zip", "itself an archive"),
    _dataset("archives", "tar-gz-inside-tar", "archives/nested.tar", "itself an archive"),
    _dataset("archives", "truncated-tar-gz", "archives/truncated.tar.gz", "truncated.tar.gz"),
    _dataset("archives", "empty-zip", "archives/empty.zip", "no files"),
    # images: each kind alone is skipped and listed; a folder of nothing else is refused
    _dataset("images", "images-all-corrupt-jpeg", "images/corrupt_jpeg", "could be read"),
    _dataset("images", "images-all-truncated-png", "images/truncated_png", "could be read"),
    _dataset("images", "images-all-decompression-bombs", "images/bombs", "decompression bomb"),
    _dataset("images", "imagenet-every-listed-image-bad", "images/imagenet_bad", "could be read"),
    # annotations
    _dataset("annotations", "empty-folder", "annotations/empty", "no files"),
    _dataset("annotations", "val-txt-every-label-out-of-range", "annotations/val_range", "out of range"),
    _dataset("annotations", "val-txt-every-file-missing", "annotations/val_missing", "is missing"),
    _dataset("annotations", "val-txt-not-utf8", "annotations/val_latin1", "UTF-8"),
    _dataset("annotations", "labels-txt-empty", "annotations/labels_empty", "labels.txt is empty"),
    _dataset("annotations", "voc-xxe", "annotations/voc_xxe", "DTD"),
    _dataset("annotations", "voc-billion-laughs", "annotations/voc_laughs", "DTD"),
    _dataset("annotations", "voc-every-xml-malformed", "annotations/voc_malformed", "malformed XML"),
    _dataset("annotations", "coco-malformed-json", "annotations/coco_malformed", "not valid JSON"),
    _dataset("annotations", "coco-not-instances", "annotations/coco_list", "not a COCO instances file"),
    _dataset("annotations", "coco-duplicate-category-id", "annotations/coco_dup", "appears twice"),
    _dataset("annotations", "coco-annotations-not-a-list", "annotations/coco_annotations_dict", "not a list"),
    # file names
    _dataset("names", "every-image-name-not-utf8", "names/latin1", "UTF-8"),
    _dataset("names", "tar-every-member-name-not-utf8", "names/latin1.tar", "UTF-8"),
    # flag values
    _case("flags", "calibrate-subset-0", "--subset", *_CALIBRATE, "--subset", "0"),
    _case("flags", "calibrate-subset-150", "--subset", *_CALIBRATE, "--subset", "150"),
    _case("flags", "calibrate-max-drop-negative", "--max-drop", *_CALIBRATE, "--max-drop", "-1"),
    _case("flags", "benchmark-batch-0", "--batch", "benchmark", GOOD_MODEL, "--batch", "0"),
    _case("flags", "benchmark-streams-0", "--streams", "benchmark", GOOD_MODEL, "--streams", "0"),
    _case("flags", "benchmark-time-negative", "--time", "benchmark", GOOD_MODEL, "--time", "-1"),
    _case("flags", "explore-batches-0", "--batches", "explore", GOOD_MODEL, "--batches", "0"),
    _case("flags", "benchmark-runs-0", "--runs", "benchmark", GOOD_MODEL, "--runs", "0"),
    _case("flags", "benchmark-infer-precision-unknown", "--infer-precision", "benchmark", GOOD_MODEL,
          "--infer-precision", "int4"),
    _case("flags", "accuracy-infer-precision-unknown", "--infer-precision", "accuracy", GOOD_MODEL,
          "--dataset", GOOD_DATASET, "--infer-precision", "fp64"),
    _dataset("flags", "dataset-unknown-format", "images/mixed", "yolo", "--format", "yolo"),
    _case("flags", "model-unknown-task", "poetry", "model", "import", "{src}/models/good.onnx", "--task", "poetry"),
    # a model whose output cannot serve the task it was given
    _case("task", "segmentation-output-as-classification", "[N, C]", "accuracy", SEG_MODEL, "--dataset", GOOD_DATASET),
]
CASES += hardening_cases(_case)  # issue 18: output paths, escapes, markup, limits, names, bundles, messages


# -- builders ------------------------------------------------------------------------


def build_corpus(src: Path) -> Path:
    """Write every file the cases name under ``src``."""
    import model_builders as mb

    models = src / "models"
    good = mb.build_onnx(models, filename="good.onnx")
    mb.write_broken_sources(models, good, mb.build_ir(src / "ir"))
    build_segmentation_shaped_ir(models / "seg.xml")
    _archives(src / "archives")
    _images(src / "images")
    _annotations(src / "annotations")
    _names(src / "names")
    build_hardening(src, good)
    return src


def build_segmentation_shaped_ir(path: Path) -> Path:
    """One conv, output [1, 4, 32, 32]: a per-pixel class map, not class scores."""
    import openvino as ov
    import openvino.opset13 as ops

    image = ops.parameter([1, 3, 32, 32], ov.Type.f32, name="image")
    kernel = np.random.default_rng(0).normal(0, 0.5, (4, 3, 3, 3)).astype(np.float32)
    conv = ops.convolution(image, ops.constant(kernel), [1, 1], [1, 1], [1, 1], [1, 1])
    path.parent.mkdir(parents=True, exist_ok=True)
    ov.save_model(ov.Model([ops.result(conv)], [image], "segmenter"), str(path), compress_to_fp16=False)
    return path


def noise_image(fmt: str, size: int = 32, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8)).save(buf, fmt)
    return buf.getvalue()


def bad_images() -> dict[str, bytes]:
    """One of each unreadable kind: real files, each broken in one way."""
    jpeg, png = noise_image("JPEG", 64), noise_image("PNG", 64)
    return {
        "corrupt.jpg": b"\xff\xd8\xff\xe0" + b"\x00\x10JFIF but then nothing a decoder can use" * 8,
        "truncated.jpg": jpeg[: len(jpeg) * 2 // 3],
        "truncated.png": png[: len(png) * 2 // 3],
        "bomb.png": bomb_png(14_000),  # over twice MAX_IMAGE_PIXELS: Pillow's own DecompressionBombError
        "bomb_warn.png": bomb_png(10_000),  # over MAX_IMAGE_PIXELS, where Pillow only warns
    }


def bomb_png(side: int) -> bytes:
    """A genuine 1-bit PNG of side x side pixels: ~20 KB on disk, hundreds of MB decoded."""
    buf = io.BytesIO()
    Image.new("1", (side, side)).save(buf, "PNG")
    return buf.getvalue()


def _write(root: Path, files: dict[str, bytes | str]) -> Path:
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode() if isinstance(data, str) else data)
    return root


def _archives(d: Path) -> None:
    jpeg = image_bytes(1)
    write_zip(d / "slip.zip", [("ok.jpg", jpeg), ("../../evil.jpg", jpeg)])
    write_tar(d / "slip.tar", [("set/ok.jpg", jpeg), ("set/../../../evil.jpg", jpeg)])
    write_tar(d / "absolute.tar", [("ok.jpg", jpeg), (str(d.parent / "escaped.jpg"), jpeg)])
    link = zipfile.ZipInfo("photos/link.jpg")
    link.external_attr = (0o120777) << 16  # S_IFLNK: the member's data is the link target
    write_zip(d / "symlink.zip", [("photos/ok.jpg", jpeg), (link, b"/etc/passwd")])
    write_tar(d / "symlink.tar", [("ok.jpg", jpeg), tar_link("outside", "/etc", tarfile.SYMTYPE)])
    write_tar(d / "hardlink.tar", [("ok.jpg", jpeg), tar_link("passwd.jpg", "/etc/passwd", tarfile.LNKTYPE)])
    # 30 MiB of zeros packs ~1000x, over the default 200x limit
    write_zip(d / "bomb.zip", [("ok.jpg", jpeg), ("big.png", bytes(30 << 20))])
    write_tar(d / "bomb.tar.gz", [("ok.jpg", jpeg), ("big.png", bytes(30 << 20))])
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as zf:
        zf.writestr("x.jpg", jpeg)
    write_zip(d / "nested.zip", [("ok.jpg", jpeg), ("more/inner.zip", inner.getvalue())])
    inner_tar = write_tar(d / "inner.tar.gz", [("x.jpg", jpeg)])
    write_tar(d / "nested.tar", [("ok.jpg", jpeg), ("inner.tar.gz", inner_tar.read_bytes())])
    inner_tar.unlink()
    whole = write_tar(d / "whole.tar.gz", [(f"set/{i}.png", noise_image("PNG", seed=i)) for i in range(20)]).read_bytes()
    (d / "truncated.tar.gz").write_bytes(whole[: len(whole) // 2])
    (d / "whole.tar.gz").unlink()
    write_zip(d / "empty.zip", [])


def _images(d: Path) -> None:
    bad = bad_images()
    _write(d / "corrupt_jpeg", {f"shot_{i}.jpg": bad["corrupt.jpg"][: 200 - i] for i in range(3)})
    _write(d / "truncated_png", {f"frame_{i}.png": noise_image("PNG", 64, seed=i)[:900] for i in range(3)})
    _write(d / "bombs", {"bomb.png": bad["bomb.png"], "bomb_warn.png": bad["bomb_warn.png"]})
    _write(d / "imagenet_bad", {**bad, "val.txt": "".join(f"{name} {i % 2}\n" for i, name in enumerate(bad)),
                                "labels.txt": "a\nb\n"})
    _write(d / "mixed", {**bad, **{f"good_{i}.jpg": image_bytes(i) for i in range(4)}})


def _annotations(d: Path) -> None:
    (d / "empty").mkdir(parents=True)
    images = {f"{i}.jpg": image_bytes(i) for i in range(4)}
    _write(d / "val_range", {**images, "labels.txt": "a\nb\n",
                             "val.txt": "0.jpg 2\n1.jpg 7\n2.jpg -1\n3.jpg 99999999999999999999\n"})
    _write(d / "val_missing", {**images, "val.txt": "gone.jpg 0\nsub/gone.jpg 1\n"})
    _write(d / "val_latin1", {**images, "val.txt": b"0.jpg 0\n" + "caf\xe9.jpg 1\n".encode("latin-1")})
    _write(d / "labels_empty", {**images, "val.txt": "0.jpg 0\n", "labels.txt": "\n\n"})
    for name, attack in (("voc_xxe", XXE), ("voc_laughs", LAUGHS)):
        make_voc_detection(d / name, n=3, extra_outside_split=0)
        (d / name / "Annotations" / "2012_000001.xml").write_text(attack.format(secret=d / "secret.txt"))
    (d / "secret.txt").write_text("aeroplane")
    make_voc_detection(d / "voc_malformed", n=3, extra_outside_split=0)
    for xml in (d / "voc_malformed" / "Annotations").iterdir():
        xml.write_text(xml.read_text()[:-20])
    coco_images = {f"val2017/{i:012d}.jpg": image_bytes(i) for i in range(3)}
    doc = {"images": [{"id": i, "file_name": f"{i:012d}.jpg", "width": 32, "height": 32} for i in range(3)],
           "categories": [{"id": 1, "name": "person"}, {"id": 5, "name": "bus"}],
           "annotations": [{"id": i, "image_id": i, "category_id": 5, "bbox": [1, 1, 9, 9]} for i in range(3)]}
    text = json.dumps(doc)
    _write(d / "coco_malformed", {**coco_images, "annotations/instances_val2017.json": text[: len(text) - 30]})
    _write(d / "coco_list", {**coco_images, "annotations/instances_val2017.json": json.dumps([doc])})
    dup = {**doc, "categories": [*doc["categories"], {"id": 5, "name": "car"}]}
    _write(d / "coco_dup", {**coco_images, "annotations/instances_val2017.json": json.dumps(dup)})
    keyed = {**doc, "annotations": {str(a["id"]): a for a in doc["annotations"]}}
    _write(d / "coco_annotations_dict", {**coco_images, "annotations/instances_val2017.json": json.dumps(keyed)})


def _names(d: Path) -> None:
    folder = d / "latin1"
    folder.mkdir(parents=True)
    for i in range(3):
        with open(os.path.join(os.fsencode(folder), b"caf\xe9_%d.jpg" % i), "wb") as fh:
            fh.write(image_bytes(i))
    write_tar(d / "latin1.tar", [(f"set/{NON_UTF8}_{i}.jpg", image_bytes(i)) for i in range(3)])


XXE = """<?xml version="1.0"?>
<!DOCTYPE annotation [<!ENTITY secret SYSTEM "file://{secret}">]>
<annotation><filename>2012_000001.jpg</filename><object><name>&secret;</name>
<bndbox><xmin>1</xmin><ymin>1</ymin><xmax>5</xmax><ymax>5</ymax></bndbox></object></annotation>"""
LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>
<annotation><filename>2012_000001.jpg</filename><object><name>&lol9;</name></object></annotation>"""
