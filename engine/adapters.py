"""Raw model outputs -> one prediction per image, for each task owb evaluates.

An adapter is chosen once per model from its output names and shapes
(``make_adapter``), then turns each batch of raw arrays into predictions in the
ORIGINAL image's coordinates, undoing the resize/pad recorded in ``ImageMeta``.
Pure numpy: no OpenVINO import, so reports can re-run adapters on cached outputs.
"""
from __future__ import annotations

import re
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from engine.choices import CONF_THRESHOLD, DECODERS, TASKS
from engine.errors import BadInput
from engine.yolox import YOLOX_STRIDES, grid_rows, yolox_grid_decode

Shape = tuple  # of int | None (None = dynamic)


from engine.predictions import (  # noqa: F401  (re-exported: adapters is the public entry)
    ClassPrediction, Detections, ImageMeta, RawPrediction, SegPrediction, box_iou, nms, to_probabilities,
)


def _dims(shape: Any) -> Shape:
    """Normalise a shape: ints stay, -1/None/'?'/dynamic ov.Dimension become None."""
    out = []
    for d in shape:
        if hasattr(d, "is_static"):
            out.append(d.get_length() if d.is_static else None)
        else:
            try:
                v = int(d)
            except (TypeError, ValueError):
                v = -1
            out.append(v if v >= 0 else None)
    return tuple(out)


def _show(shape: Shape) -> str:
    return "[" + ", ".join("?" if d is None else str(d) for d in shape) + "]"


def _describe(shapes: Mapping[str, Shape]) -> str:
    return ", ".join(f"{n} {_show(s)}" for n, s in shapes.items()) or "no outputs"


def _is(d: int | None, *values: int) -> bool:
    """A dimension that is, or (being dynamic) may be, one of ``values``."""
    return d is None or d in values


# ---------------------------------------------------------------- adapters

class Adapter:
    """Turns one batch of raw outputs into one prediction per image."""

    task = "generic"
    options: dict[str, Any] = {}

    def __init__(self, form: str, **options: Any) -> None:
        self.form = form
        self.opts = {**type(self).options, **options}

    def process(self, outputs: Mapping[str, np.ndarray], metas: Sequence[ImageMeta]) -> list:
        raise NotImplementedError

    def _get(self, outputs: Mapping[str, np.ndarray], name: str, batch: int) -> np.ndarray:
        if name not in outputs:
            raise BadInput(f"model output {name!r} is missing from the inference results "
                           f"(got {', '.join(outputs) or 'none'}); re-run inference for this model")
        arr = np.asarray(outputs[name])
        if arr.ndim == 0 or arr.shape[0] != batch:
            raise ValueError(f"output {name} has shape {arr.shape}, expected a leading batch of {batch}")
        return arr


class GenericAdapter(Adapter):
    task = "generic"

    def process(self, outputs, metas):
        arrays = {n: np.asarray(a) for n, a in outputs.items()}
        batch = len(metas) if metas else next(iter(arrays.values())).shape[0]
        # Outputs without a per-image leading dim (e.g. SSD's [1, 1, N, 7]) go whole.
        return [RawPrediction({n: a[i] if a.ndim and a.shape[0] == batch else a for n, a in arrays.items()})
                for i in range(batch)]


class ClassificationAdapter(Adapter):
    task = "classification"
    options = {"output": None}

    def process(self, outputs, metas):
        arr = self._get(outputs, self.opts["output"], len(metas))
        if arr.ndim not in (2, 4) or (arr.ndim == 4 and arr.shape[2:] != (1, 1)):
            raise BadInput(f"classification expects [N, C] or [N, C, 1, 1]; got {list(arr.shape)}")
        return [ClassPrediction(p) for p in to_probabilities(arr.reshape(arr.shape[0], -1))]


class _DetectionAdapter(Adapter):
    task = "detection"
    options = {"conf_threshold": CONF_THRESHOLD, "iou_threshold": 0.45, "label_offset": 0,
               "max_detections": 100, "box_coords": "pixels"}

    def _finish(self, boxes_in: np.ndarray, scores: np.ndarray, labels: np.ndarray,
                meta: ImageMeta) -> Detections:
        """Threshold, shift labels, map to the original image, keep the best."""
        labels = np.asarray(labels).astype(np.int64).reshape(-1) + int(self.opts["label_offset"])
        scores = np.asarray(scores, np.float32).reshape(-1)
        keep = (scores >= self.opts["conf_threshold"]) & (labels >= 0)
        boxes = meta.boxes_to_original(np.asarray(boxes_in).reshape(-1, 4)[keep])
        scores, labels = scores[keep], labels[keep]
        # A box that lies wholly in the padding collapses to zero area: not a detection.
        real = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
        boxes, scores, labels = boxes[real], scores[real], labels[real]
        order = np.argsort(-scores, kind="stable")[: int(self.opts["max_detections"])]
        return Detections(boxes[order], scores[order], labels[order])

    def _to_input_pixels(self, xyxy: np.ndarray, meta: ImageMeta) -> np.ndarray:
        if self.opts["box_coords"] == "normalized":
            return xyxy * np.array([meta.in_w, meta.in_h, meta.in_w, meta.in_h], np.float32)
        return xyxy


class SsdAdapter(_DetectionAdapter):
    """DetectionOutput [1, 1, N, 7]: image_id, label, conf, x1, y1, x2, y2 (normalized)."""

    def process(self, outputs, metas):
        rows = self._get(outputs, self.opts["output"], 1).astype(np.float32).reshape(-1, 7)
        ends = np.flatnonzero(rows[:, 0] == -1)
        rows = rows[: ends[0]] if ends.size else rows
        result = []
        for i, meta in enumerate(metas):
            mine = rows[rows[:, 0] == i]
            xyxy = mine[:, 3:7] * np.array([meta.in_w, meta.in_h, meta.in_w, meta.in_h], np.float32)
            result.append(self._finish(xyxy, mine[:, 2], mine[:, 1], meta))
        return result


class BoxesAdapter(_DetectionAdapter):
    """Separate boxes [N, K, 4|5] / labels [N, K] / scores [N, K] outputs (NMS done in the model)."""

    def process(self, outputs, metas):
        n = len(metas)
        if np.ndim(outputs.get(self.opts["boxes"], np.zeros((1, 0, 4)))) == 2:
            outputs = {k: np.asarray(v)[None] for k, v in outputs.items()}  # a model without batch dim
        fetch = lambda name: self._get(outputs, name, n)  # noqa: E731
        boxes = fetch(self.opts["boxes"]).astype(np.float32)
        labels_name, scores_name = self._resolve(outputs)
        labels = fetch(labels_name)
        if scores_name is not None:
            scores = fetch(scores_name)
        elif boxes.shape[-1] == 5:
            scores = boxes[..., 4]
        else:
            raise BadInput("detection boxes [N, K, 4] need a scores [N, K] output or a 5th score column")
        return [self._finish(self._to_input_pixels(boxes[i, :, :4], meta), scores[i], labels[i], meta)
                for i, meta in enumerate(metas)]

    def _resolve(self, outputs) -> tuple[str, str | None]:
        """Name the labels and scores outputs, telling unnamed ones apart by their values."""
        labels, scores, unnamed = self.opts["labels"], self.opts["scores"], list(self.opts["unnamed"])

        def label_like(name: str) -> int:
            a = np.asarray(outputs[name])
            if np.issubdtype(a.dtype, np.integer):
                return 2
            return int(bool(a.size) and np.all(a == np.round(a)) and (a.max() > 1 or a.min() < 0))
        if labels is None and len(unnamed) >= 2 and label_like(unnamed[1]) > label_like(unnamed[0]):
            unnamed[:2] = unnamed[1::-1]
        rest = iter(unnamed)
        return (labels if labels is not None else next(rest)), (scores if scores is not None else next(rest, None))


class YoloAdapter(_DetectionAdapter):
    """[N, K, 4(+1)+C] or transposed [N, 4+C, K]: cx, cy, w, h, [objectness], class scores.
    With ``strides`` (YOLOX) the box columns are grid offsets, decoded first."""

    options = {**_DetectionAdapter.options, "objectness": None, "num_classes": None, "strides": None}

    def process(self, outputs, metas):
        arr = self._get(outputs, self.opts["output"], len(metas)).astype(np.float32, copy=False)
        if self.opts["strides"]:  # YOLOX: per-anchor grid offsets, not boxes yet
            arr = np.stack([yolox_grid_decode(rows, self.opts["strides"], m.in_h, m.in_w)
                            for rows, m in zip(arr, metas)])
        if arr.ndim != 3:
            raise BadInput(f"YOLO detection expects [N, K, 4+1+C] or [N, 4+C, K]; got {list(arr.shape)}")
        # Anchors far outnumber channels (8400 vs 84), which tells the two layouts apart.
        transposed = arr.shape[1] < arr.shape[2]
        if transposed:
            arr = arr.transpose(0, 2, 1)
        objectness = self.opts["objectness"]
        if self.opts["num_classes"] is not None:
            objectness = arr.shape[2] == 5 + int(self.opts["num_classes"])
        elif objectness is None:
            # YOLOv5/v7 carry objectness, v8+ (transposed) do not; 5 columns can only be 4 + 1 class.
            objectness = not transposed and arr.shape[2] > 5
        first = 5 if objectness else 4
        if arr.shape[2] <= first:
            raise BadInput(f"YOLO output {list(arr.shape)} has no class scores after {first} box columns")
        result = []
        for rows, meta in zip(arr, metas):
            cls_scores = rows[:, first:]
            labels = cls_scores.argmax(axis=1)
            scores = cls_scores[np.arange(rows.shape[0]), labels]
            if objectness:
                scores = scores * rows[:, 4]
            cand = np.flatnonzero(scores >= self.opts["conf_threshold"])
            cx, cy, w, h = (rows[cand, j] for j in range(4))
            xyxy = self._to_input_pixels(np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], 1), meta)
            kept = nms(xyxy, scores[cand], labels[cand], float(self.opts["iou_threshold"]),
                       int(self.opts["max_detections"]))
            result.append(self._finish(xyxy[kept], scores[cand][kept], labels[cand][kept], meta))
        return result


class SegmentationAdapter(Adapter):
    task = "segmentation"
    options = {"output": None, "threshold": 0.5}

    def process(self, outputs, metas):
        arr = self._get(outputs, self.opts["output"], len(metas))
        if arr.ndim == 4 and arr.shape[1] == 1:
            maps = binary_maps(arr[:, 0], float(self.opts["threshold"]))
        elif arr.ndim == 4:
            maps = arr.argmax(axis=1)
        elif arr.ndim == 3:
            maps = np.rint(arr).astype(np.int64) if arr.dtype.kind == "f" else arr
        else:
            raise BadInput(f"segmentation expects [N, C, H, W], [N, 1, H, W] or [N, H, W]; got {list(arr.shape)}")
        return [SegPrediction(resize_to_original(m, meta)) for m, meta in zip(maps, metas)]


def binary_maps(maps: np.ndarray, threshold: float) -> np.ndarray:
    """One-channel maps (text, salient objects) as foreground 1 / background 0.

    A map with values outside [0, 1] holds logits: its sigmoid is thresholded.
    Decided per image, so a prediction never depends on its batch."""
    out = np.empty(maps.shape, np.uint8)
    for i, m in enumerate(np.asarray(maps, np.float32)):
        if m.size and (m.min() < 0 or m.max() > 1):
            m = 1.0 / (1.0 + np.exp(-m))
        out[i] = m > threshold
    return out


def resize_to_original(classes: np.ndarray, meta: ImageMeta) -> np.ndarray:
    """Crop the padding off an output-resolution class map and resize it, nearest
    neighbour, to the original image.

    Both steps are one gather: each original pixel's centre is mapped into input
    pixels, then into output pixels (the output may be strided, e.g. H/8).
    """
    out_h, out_w = classes.shape
    ys = ((np.arange(meta.orig_h) + 0.5) * meta.scale_y + meta.pad_y) * (out_h / meta.in_h)
    xs = ((np.arange(meta.orig_w) + 0.5) * meta.scale_x + meta.pad_x) * (out_w / meta.in_w)
    ys = np.clip(ys.astype(np.int64), 0, out_h - 1)
    xs = np.clip(xs.astype(np.int64), 0, out_w - 1)
    small = classes.min() >= 0 and classes.max() <= 255 if classes.size else True
    return classes.astype(np.uint8 if small else np.int32, copy=False)[ys[:, None], xs[None, :]]


# ---------------------------------------------------------------- choosing a form

_LABELS = re.compile(r"label|class|cls", re.I)
_SCORES = re.compile(r"score|conf|prob", re.I)
_BOXES = re.compile(r"box|det", re.I)
_COUNT = re.compile(r"num", re.I)

_DETECTION_FORMS = ("detection expects an SSD DetectionOutput [1, 1, N, 7], boxes [N, K, 4|5] "
                    "with labels [N, K] (and scores [N, K]), or a YOLO output [N, K, 4+1+C] or [N, 4+C, K]")


def _pick(shapes: dict[str, Shape], fits, wanted: str | None, expects: str) -> str:
    if wanted is not None:
        if wanted not in shapes:
            raise BadInput(f"no model output named {wanted!r}; this model has {_describe(shapes)}")
        if not fits(shapes[wanted]):
            raise BadInput(f"{expects}; output {wanted} is {_show(shapes[wanted])}")
        return wanted
    for name, shape in shapes.items():
        if fits(shape):
            return name
    raise BadInput(f"{expects}; this model has {_describe(shapes)}")


def _forced(decoder: str, shapes: dict[str, Shape], opts: dict[str, Any], yolo_opts: dict[str, Any],
            input_hw: tuple[int, int] | None) -> Adapter:
    """The decoder the user named, on the output it can read."""
    if decoder == "ssd":
        name = _pick(shapes, lambda s: len(s) == 4 and s[3] == 7, opts.pop("output", None),
                     "the ssd decoder reads a DetectionOutput [1, 1, N, 7]")
        return SsdAdapter("ssd", output=name, **opts)
    if decoder == "boxes":
        adapter = _detection(shapes, {**opts}, None, input_hw, yolo=False)
        if not isinstance(adapter, BoxesAdapter):
            raise BadInput(f"the boxes decoder reads boxes [N, K, 4|5] with labels [N, K]; "
                           f"this model has {_describe(shapes)}")
        return adapter
    name = _pick(shapes, lambda s: len(s) == 3, opts.pop("output", None),
                 f"the {decoder} decoder reads one [N, K, 4+1+C] or [N, 4+C, K] output")
    yolo_opts.setdefault("objectness", decoder != "yolov8")
    if decoder == "yolox":
        yolo_opts["strides"] = list(YOLOX_STRIDES)
    return YoloAdapter(decoder, output=name, **yolo_opts, **opts)


def _yolo_form(s: Shape, input_hw: tuple[int, int] | None) -> str:
    """The YOLO family from the output's shape: YOLOX's raw head has one row
    per grid cell of strides 8, 16 and 32; YOLOv5's three anchors per cell."""
    if s[1] is None or s[2] is None:
        return "yolo"
    if s[1] < s[2]:
        return "yolov8"
    if input_hw is not None and s[1] == grid_rows(*input_hw):
        return "yolox"
    return "yolov5"


def _detection(shapes: dict[str, Shape], opts: dict[str, Any], decoder: str | None = None,
               input_hw: tuple[int, int] | None = None, yolo: bool = True) -> Adapter:
    yolo_opts = {k: opts.pop(k) for k in ("objectness", "num_classes", "strides") if k in opts}
    if decoder not in (None, "auto"):
        if decoder not in DECODERS:
            raise BadInput(f"unknown detection decoder {decoder!r}; use one of {', '.join(DECODERS)}")
        return _forced(decoder, shapes, opts, yolo_opts, input_hw)
    for name, s in shapes.items():
        if len(s) == 4 and s[3] == 7 and _is(s[1], 1):
            if yolo_opts:
                raise BadInput(f"options {', '.join(yolo_opts)} apply to YOLO outputs, not SSD's {name}")
            return SsdAdapter("ssd", output=name, **opts)
    named = {n: s for n, s in shapes.items() if not _COUNT.search(n)}
    labels = next((n for n, s in named.items()
                   if _LABELS.search(n) and not _SCORES.search(n) and len(s) in (1, 2)), None)
    scores = next((n for n, s in named.items() if _SCORES.search(n) and len(s) in (1, 2) and n != labels), None)
    boxes_like = [n for n, s in named.items() if len(s) in (2, 3) and _is(s[-1], 4, 5) and n not in (labels, scores)]
    boxes = next((n for n in boxes_like if _BOXES.search(n)), boxes_like[0] if boxes_like else None)
    if boxes is not None:
        per_box = shapes[boxes][:-1]
        unnamed = [n for n, s in named.items() if n not in (boxes, labels, scores) and len(s) == len(per_box)
                   and all(a is None or b is None or a == b for a, b in zip(s, per_box))]
        if labels is not None or unnamed:
            if yolo_opts:
                raise BadInput(f"options {', '.join(yolo_opts)} apply to YOLO outputs, not boxes/labels outputs")
            return BoxesAdapter("boxes", boxes=boxes, labels=labels, scores=scores, unnamed=unnamed, **opts)
    # YOLO needs 4 box columns plus at least one class score. Beside a separate
    # boxes tensor, a [N, K, C] output is an undecoded anchor head, which owb cannot decode.
    rank3 = [n for n, s in shapes.items() if len(s) == 3 and min(d for d in (s[1], s[2], 99) if d) >= 5]
    rank3 = [] if boxes_like or not yolo else rank3
    if rank3:
        form = _yolo_form(shapes[rank3[0]], input_hw)
        if form == "yolox":
            yolo_opts = {"objectness": True, "strides": list(YOLOX_STRIDES), **yolo_opts}
        return YoloAdapter(form, output=rank3[0], **yolo_opts, **opts)
    raise BadInput(f"{_DETECTION_FORMS}; this model has {_describe(shapes)}")


def _check_options(task: str, options: dict[str, Any], known: Iterable[str]) -> None:
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise BadInput(f"unknown {task} option(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    for key in ("conf_threshold", "iou_threshold", "threshold"):
        if key in options and not (isinstance(options[key], (int, float)) and 0 <= options[key] <= 1):
            raise BadInput(f"{key} must be a number between 0 and 1, got {options[key]!r}")
    if "max_detections" in options and not (isinstance(options["max_detections"], int)
                                            and options["max_detections"] >= 1):
        raise BadInput(f"max_detections must be a positive integer, got {options['max_detections']!r}")
    if options.get("strides") is not None and not (isinstance(options["strides"], (list, tuple)) and all(
            isinstance(v, int) and v > 0 for v in options["strides"])):
        raise BadInput(f"strides must be a list of positive integers, got {options['strides']!r}")
    for key, kind in (("label_offset", int), ("num_classes", int), ("objectness", bool)):
        if options.get(key) is not None and not isinstance(options[key], kind):
            raise BadInput(f"{key} must be {'an integer' if kind is int else 'true or false'}, got {options[key]!r}")
    if options.get("box_coords", "pixels") not in ("pixels", "normalized"):
        raise BadInput(f"box_coords must be 'pixels' or 'normalized', got {options['box_coords']!r}")


def make_adapter(task: str, output_shapes: Mapping[str, Any], *, decoder: str | None = None,
                 input_hw: tuple[int, int] | None = None, **options: Any) -> Adapter:
    """Choose the adapter for ``task`` from the model's output names and shapes.

    Shapes may hold -1/None/'?' or OpenVINO Dimensions for dynamic dims. Options:
    classification ``output``; segmentation ``output``, ``threshold``; detection
    ``conf_threshold``, ``iou_threshold``, ``label_offset``, ``max_detections``,
    ``box_coords`` ('pixels'|'normalized'), and for YOLO ``objectness``, ``num_classes``,
    ``strides`` (YOLOX grids). ``decoder`` names the detection decoder (one of
    DECODERS) instead of picking it from the shapes; ``input_hw``, the model's
    input height and width, tells a YOLOX head from a YOLOv5 one.
    """
    shapes = {str(n): _dims(s) for n, s in output_shapes.items()}
    if task not in TASKS:
        raise BadInput(f"unknown task {task!r}; choose one of {', '.join(TASKS)}")
    if task == "generic":
        _check_options(task, options, ())
        return GenericAdapter("raw")
    if task == "classification":
        _check_options(task, options, ClassificationAdapter.options)
        name = _pick(shapes, lambda s: len(s) == 2 or (len(s) == 4 and s[2] == 1 and s[3] == 1),
                     options.get("output"), "classification expects one output of shape [N, C] or [N, C, 1, 1]")
        return ClassificationAdapter("[N, C]" if len(shapes[name]) == 2 else "[N, C, 1, 1]", output=name)
    if task == "segmentation":
        _check_options(task, options, SegmentationAdapter.options)
        name = _pick(shapes, lambda s: len(s) in (3, 4), options.get("output"),
                     "segmentation expects an output of shape [N, C, H, W], [N, 1, H, W] or [N, H, W]")
        s = shapes[name]
        form = "class_map" if len(s) == 3 else {1: "probability", None: "class_scores"}.get(s[1], "class_scores")
        return SegmentationAdapter(form, **{**options, "output": name})
    _check_options(task, options, YoloAdapter.options)
    return _detection(shapes, dict(options), decoder, input_hw)


def model_adapter(model: Any, output_shapes: Mapping[str, Any], **options: Any) -> Adapter:
    """The adapter for a workspace Model: its task, its configured decoder and
    its input size."""
    cfg = model.config
    shape = cfg.shape or (model.inputs[0]["shape"] if model.inputs else None)
    input_hw = None
    if shape and {"H", "W"} <= set(cfg.layout) and len(shape) == len(cfg.layout):
        h, w = shape[cfg.layout.index("H")], shape[cfg.layout.index("W")]
        input_hw = (h, w) if h > 0 and w > 0 else None
    decoder = getattr(cfg, "decoder", "auto") if cfg.task == "detection" else None
    return make_adapter(cfg.task, output_shapes, decoder=decoder, input_hw=input_hw, **options)
