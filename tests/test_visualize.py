"""Visualize: predictions of a parent and an optimized model drawn on a dataset
image, for classification (PP-OCRv5 cls), detection (known boxes) and
segmentation (PP-OCRv5 det on rendered text)."""

from __future__ import annotations

import json

import numpy as np
import openvino as ov
import pytest
from conftest import CLS_CONFIG
from ocr_fixtures import ppocr_model, write_orientation_set, write_text_folder
from PIL import Image
from test_reports import (
    CHILD_BOXES,
    DET_CONFIG,
    OBJECTS,
    PARENT_BOXES,
    import_box_model,
    owb,
    write_text_segmentation,
    write_voc,
)

from engine.dataset_store import import_dataset
from engine.errors import BadInput
from engine.models import import_model
from engine.visualize import ANNOTATION, OPTIMIZED, PARENT, render
from engine.workspace import Workspace


def fp16_copy(ws: Workspace, tmp, kind: str, name: str, config: dict):
    """The PP-OCRv5 model stored with FP16 weights: a second model whose
    predictions differ slightly from the FP32 one's."""
    path = tmp / f"{name}.xml"
    ov.save_model(ov.Core().read_model(str(ppocr_model(kind))), str(path), compress_to_fp16=True)
    return import_model(ws, path, name=name, **config)


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("vis")
    ws = Workspace(tmp / "ws")
    models = {
        "cls": import_model(ws, ppocr_model("cls"), name="cls", **CLS_CONFIG),
        "cls-fp16": fp16_copy(ws, tmp, "cls", "cls-fp16", CLS_CONFIG),
        "boxes": import_box_model(ws, tmp, "boxes", PARENT_BOXES),
        "boxes-moved": import_box_model(ws, tmp, "boxes-moved", CHILD_BOXES),
        "det": import_model(ws, ppocr_model("det"), name="det", **DET_CONFIG),
        "det-again": import_model(ws, ppocr_model("det"), name="det-again", **DET_CONFIG),
    }
    datasets = {
        "orient": import_dataset(ws, write_orientation_set(tmp / "orient", 4), name="orient"),
        "voc": import_dataset(ws, write_voc(tmp / "voc", OBJECTS), name="voc", fmt="voc-detection"),
        "pages": import_dataset(ws, write_text_segmentation(tmp / "pages", 2), name="pages"),
        "text": import_dataset(ws, write_text_folder(tmp / "text", 2), name="text"),
    }
    return ws, models, datasets


def colors(img: Image.Image) -> set[tuple[int, int, int]]:
    return {tuple(c) for c in np.asarray(img.convert("RGB")).reshape(-1, 3).tolist()}


def test_classification_picture_via_the_cli(home, capsys, tmp_path):
    ws, _, datasets = home
    out = tmp_path / "cls.png"
    code, stdout, _ = owb(capsys, ws.home, "visualize", "cls-fp16", "--vs", "cls", "--dataset", "orient",
                          "--image", "line_00001.png", "--out", str(out), "--json")
    assert code == 0 and json.loads(stdout)["reference"] == "cls"
    with Image.open(out) as img:
        picture = img.convert("RGB")
    source = Image.open(ws.path(datasets["orient"].path) / "line_00001.png").convert("RGB")
    scale = 480 / source.width  # small images are drawn larger, for legible labels
    top = picture.crop((0, 0, round(source.width * scale), round(source.height * scale)))
    expected = source.resize(top.size, Image.NEAREST)
    assert np.array_equal(np.asarray(top), np.asarray(expected))
    assert {ANNOTATION, PARENT, OPTIMIZED} <= colors(picture.crop((0, top.height, picture.width, picture.height)))


def test_detection_boxes_in_two_colours_where_the_models_put_them(home):
    ws, models, datasets = home
    picture = render(ws, models["boxes-moved"], datasets["voc"], "img0.png", reference=models["boxes"],
                     conf_threshold=0.5)
    s = 480 / 64

    def edge_color(x: float, y: float, color: tuple[int, int, int]) -> bool:
        window = np.asarray(picture)[round(y), max(0, round(x) - 2): round(x) + 3]
        return any(tuple(p) == color for p in window.tolist())

    # left edges, half-way down: parent [8, 8, 24, 24], optimized [9, 9, 25, 25] drawn 4 px inside
    assert edge_color(8 * s, 16 * s, PARENT) and edge_color(9 * s + 4, 17 * s, OPTIMIZED)
    assert edge_color(8 * s - 4, 16 * s, ANNOTATION)  # the annotated box, drawn just outside
    assert edge_color(44 * s + 4, 52 * s, OPTIMIZED) and not edge_color(44 * s + 4, 52 * s, PARENT)
    alone = render(ws, models["boxes"], datasets["voc"], "img0.png", conf_threshold=0.5)
    assert PARENT not in colors(alone) and OPTIMIZED in colors(alone)  # one model: drawn as the subject


def test_segmentation_side_by_side_and_blended(home):
    ws, models, datasets = home
    side = render(ws, models["det-again"], datasets["pages"], "page1", reference=models["det"])
    blend = render(ws, models["det-again"], datasets["pages"], "page1", reference=models["det"], layout="blend")
    # three tiles (annotation, parent, optimized) of a 320x128 page drawn 480 wide, 8 px apart
    assert side.width == 3 * 480 + 2 * 8 and blend.width == 480
    tile_h = round(128 * 480 / 320)
    header = 28
    tiles = [np.asarray(side)[header:header + tile_h, k * 488:k * 488 + 480] for k in range(3)]
    assert not np.array_equal(tiles[0], tiles[1])  # the annotation is not DBNet's shrunk text core
    assert np.array_equal(tiles[1], tiles[2])  # identical models: identical masks
    # identical models agree everywhere, so the blend is the plain overlay
    assert np.array_equal(np.asarray(blend)[header:header + tile_h, :480], tiles[2])


def test_bad_requests_fail_in_one_line(home, capsys, tmp_path):
    ws, models, datasets = home
    with pytest.raises(BadInput, match="no image 'nope.png' in the dataset; names look like"):
        render(ws, models["cls"], datasets["orient"], "nope.png")
    with pytest.raises(BadInput, match="matches 4 images"):
        render(ws, models["cls"], datasets["orient"], "line_")
    with pytest.raises(BadInput, match="unknown layout"):
        render(ws, models["cls"], datasets["orient"], 0, layout="mosaic")
    code, out, err = owb(capsys, ws.home, "visualize", "cls", "--dataset", "orient", "--image", "line_00000",
                         "--out", str(tmp_path / "x.gif"))
    assert code == 2 and out == "" and err.count("\n") == 1 and ".png or .jpg" in err
    code, _, err = owb(capsys, ws.home, "visualize", "cls", "--vs", "det", "--dataset", "orient", "--image",
                       "line_00000", "--out", str(tmp_path / "x.png"))
    assert code == 2 and "is classification but 'det' is segmentation" in err
