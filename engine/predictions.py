"""What adapters produce: one prediction per image, in the original image's
coordinates, plus the geometry (ImageMeta) that maps the network input back
onto the image, and the box helpers that detection and metrics share."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ImageMeta:
    """How one original image was mapped into the network input."""

    orig_w: int
    orig_h: int
    in_w: int
    in_h: int
    scale_x: float  # input pixels per original pixel
    scale_y: float
    pad_x: int = 0  # left/top padding in input pixels (keep-aspect-pad mode)
    pad_y: int = 0

    @classmethod
    def unscaled(cls, w: int, h: int) -> ImageMeta:
        """The image is the network input as it is."""
        return cls(w, h, w, h, 1.0, 1.0)

    def boxes_to_original(self, boxes: np.ndarray) -> np.ndarray:
        """xyxy in input pixels -> xyxy in original pixels, clipped to the image."""
        out = np.asarray(boxes, dtype=np.float32).reshape(-1, 4).copy()
        out[:, 0::2] = np.clip((out[:, 0::2] - self.pad_x) / self.scale_x, 0, self.orig_w)
        out[:, 1::2] = np.clip((out[:, 1::2] - self.pad_y) / self.scale_y, 0, self.orig_h)
        return out


# ---------------------------------------------------------------- predictions

@dataclass(frozen=True, eq=False)
class ClassPrediction:
    probs: np.ndarray  # float32 [C]

    @property
    def label(self) -> int:
        return int(np.argmax(self.probs))

    def top(self, k: int = 5) -> list[tuple[int, float]]:
        order = np.argsort(-self.probs, kind="stable")[:k]
        return [(int(c), float(self.probs[c])) for c in order]

    def rank_of(self, cls: int) -> int:
        """0-based rank of ``cls``; ties rank by class index, as ``top`` orders them."""
        if not 0 <= cls < self.probs.shape[0]:
            return -1
        p = self.probs[cls]
        return int(np.count_nonzero(self.probs > p) + np.count_nonzero(self.probs[:cls] == p))

    def confidence(self, cls: int) -> float:
        return float(self.probs[cls]) if 0 <= cls < self.probs.shape[0] else 0.0


@dataclass(frozen=True, eq=False)
class Detections:
    boxes: np.ndarray  # float32 [K, 4] xyxy in original image pixels
    scores: np.ndarray  # float32 [K], descending
    labels: np.ndarray  # int64 [K]

    def __len__(self) -> int:
        return int(self.scores.shape[0])

    @classmethod
    def empty(cls) -> Detections:
        return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64))


@dataclass(frozen=True, eq=False)
class SegPrediction:
    classes: np.ndarray  # uint8 (or int32 past 255 classes) [orig_h, orig_w]


@dataclass(frozen=True, eq=False)
class RawPrediction:
    outputs: dict[str, np.ndarray]


# ---------------------------------------------------------------- numpy helpers

def to_probabilities(rows: np.ndarray) -> np.ndarray:
    """Softmax the rows that are not already probability vectors.

    The 1e-2 tolerance admits FP16 softmax outputs over 1000 classes; logits that
    happen to lie in [0, 1] and sum to 1 that closely are not seen in practice.
    """
    rows = np.asarray(rows, dtype=np.float32).reshape(rows.shape[0], -1)
    already = ((rows >= 0) & (rows <= 1)).all(axis=1) & (np.abs(rows.sum(axis=1) - 1) < 1e-2)
    out = rows.copy()
    if not already.all():
        logits = rows[~already]
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        out[~already] = e / e.sum(axis=1, keepdims=True)
    return out


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU matrix [len(a), len(b)] of xyxy boxes, continuous coordinates (no +1)."""
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    iw = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0])
    ih = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1])
    inter = np.clip(iw, 0, None) * np.clip(ih, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def nms(boxes: np.ndarray, scores: np.ndarray, labels: np.ndarray, iou_threshold: float,
        max_keep: int) -> np.ndarray:
    """Class-wise greedy NMS; returns kept indices, best score first.

    Boxes of different classes are shifted apart so one pass never lets them
    suppress each other. The loop stops after ``max_keep`` survivors, since greedy
    NMS in score order has fixed the first ``max_keep`` by then: at most
    max_keep passes over the candidates, cheap even for YOLOv8's 8400 anchors.
    """
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    if boxes.shape[0] == 0:
        return np.zeros(0, np.int64)
    span = float(boxes.max() - min(boxes.min(), 0.0)) + 1.0
    shifted = boxes + (np.asarray(labels, np.float64) * span)[:, None]
    order = np.argsort(-np.asarray(scores), kind="stable")
    keep: list[int] = []
    while order.size and len(keep) < max_keep:
        i = order[0]
        keep.append(int(i))
        rest = order[1:]
        order = rest[box_iou(shifted[i], shifted[rest])[0] <= iou_threshold]
    return np.asarray(keep, np.int64)
