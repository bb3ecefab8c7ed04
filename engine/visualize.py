"""Predictions drawn over a dataset image, parent and optimized side by side.

Classification: the image with the annotation and each model's class and
confidence under it. Detection: each model's boxes in its own colour with
class and score, annotation boxes in green. Segmentation: each mask over the
image, side by side, or one blended picture that marks where they differ.
The result is a PIL image: the CLI saves it, the TUI shows it in the terminal."""

from __future__ import annotations

import colorsys
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .choices import CONF_THRESHOLD
from .errors import BadInput, NotFound
from .records import Dataset, Model
from .workspace import Workspace

PARENT = (255, 140, 0)  # orange
OPTIMIZED = (30, 144, 255)  # blue
ANNOTATION = (40, 190, 40)  # green
DIFFERENT = (230, 20, 20)  # red
TEXT = (20, 20, 20)
LAYOUTS = ("side-by-side", "blend")
MIN_SIDE, MAX_SIDE = 480, 1600  # drawn images are scaled into this range, for legible labels


@dataclass
class Shown:
    """One model's prediction on the image, with how to label it."""

    title: str
    color: tuple[int, int, int]
    prediction: Any


def find_item(index: Any, name: str) -> int:
    """An item by its relative path, else by file name, else by a unique part of it."""
    files = [it.file for it in index.items]
    for test in (lambda f: f == name, lambda f: f.rsplit("/", 1)[-1] == name, lambda f: name in f):
        hits = [i for i, f in enumerate(files) if test(f)]
        if len(hits) == 1:
            return hits[0]
        if len(hits) > 1:
            raise BadInput(f"{name!r} matches {len(hits)} images (e.g. {files[hits[0]]}, {files[hits[1]]}); "
                           "give more of the path")
    examples = ", ".join(files[:3])
    raise BadInput(f"no image {name!r} in the dataset; names look like: {examples}")


def label_of(c: int, labels: list[str]) -> str:
    return labels[c] if 0 <= c < len(labels) else str(c)


def class_color(c: int) -> tuple[int, int, int]:
    """A bright colour per class, far apart for neighbouring indices (golden
    angle); class 1 is violet, clear of the parent/optimized/difference colours."""
    r, g, b = colorsys.hsv_to_rgb((0.182 + c * 0.618034) % 1.0, 0.85, 1.0)
    return int(r * 255), int(g * 255), int(b * 255)


def font(size: int) -> Any:
    return ImageFont.load_default(size=size)


def predict_one(ws: Workspace, model: Model, dataset: Dataset, item: int, **options: Any) -> Any:
    """One image's prediction: from stored raw outputs when a report already
    ran the model over this dataset, else by running the model on that image.

    One image needs one synchronous request, not the streaming runner."""
    from .adapters import model_adapter
    from .dataset_store import load_index
    from .inference import DatasetRunner
    from .reports.outputs import predictions as from_outputs
    from .reports.outputs import stored_outputs

    index = load_index(ws, dataset)
    stored = stored_outputs(ws, model, dataset, len(index.items))
    if stored is not None:
        one = {k: v[item:item + 1] for k, v in stored.items()}
        return next(from_outputs(model, one, index.root, [index.items[item].file], **options))[1]
    runner = DatasetRunner(ws, model)
    arr, meta = runner.load(index.root / index.items[item].file)
    request = runner.compiled.create_infer_request()
    request.infer({0: arr})
    outputs = {name: request.get_output_tensor(k).data.copy() for k, name in enumerate(runner.output_names)}
    return model_adapter(model, runner.output_shapes(), **options).process(outputs, [meta])[0]


def render(ws: Workspace, model: Model, dataset: Dataset, image: str | int, *, reference: Model | None = None,
           layout: str = "side-by-side", conf_threshold: float = CONF_THRESHOLD) -> Image.Image:
    """The picture for one dataset image (by name or item index)."""
    from .dataset_store import load_index
    from .preprocess import to_mode

    task = model.config.task
    if layout not in LAYOUTS:
        raise BadInput(f"unknown layout {layout!r}; use one of {', '.join(LAYOUTS)}")
    if task == "generic":
        raise BadInput(f"model {model.name!r} has task generic, which has nothing to draw; "
                       f"set one with `owb model configure {model.name} --task ...`")
    if reference is not None and reference.config.task != task:
        raise BadInput(f"{model.name!r} is {task} but {reference.name!r} is {reference.config.task}")
    index = load_index(ws, dataset)
    item = image if isinstance(image, int) else find_item(index, image)
    if not 0 <= item < len(index.items):
        raise BadInput(f"image index {item} is outside the dataset's {len(index.items)} images")
    path = index.root / index.items[item].file
    if not path.is_file():
        raise NotFound(f"image {path} is missing; put it back or import the dataset again")
    options = {"conf_threshold": conf_threshold} if task == "detection" else {}
    shown = []
    if reference is not None:
        shown.append(Shown(f"parent {reference.name}", PARENT, predict_one(ws, reference, dataset, item, **options)))
    title = f"optimized {model.name}" if reference is not None else model.name
    shown.append(Shown(title, OPTIMIZED, predict_one(ws, model, dataset, item, **options)))
    it = index.items[item]
    with Image.open(index.root / it.file) as img:
        base = to_mode(img, False).copy()
    labels = list(model.config.labels or (reference.config.labels if reference else None) or index.labels or [])
    if task == "classification":
        return _classification(base, it, labels, shown, index.annotated)
    if task == "detection":
        return _detection(base, it, labels, shown)
    from .evaluate import load_mask

    mask = load_mask(index.root / it.mask) if it.mask else None
    return _segmentation(base, mask, labels, shown, layout)


def annotated_classes(ws: Workspace, model: Model, dataset: Dataset) -> list[str | None]:
    """Per dataset item, the class its annotation gives it (by the model's
    labels, as the picture names it); None where a classification dataset
    has no label, and all None for other tasks."""
    from .dataset_store import load_index

    index = load_index(ws, dataset)
    if model.config.task != "classification" or not index.annotated:
        return [None] * len(index.items)
    labels = list(model.config.labels or index.labels or [])
    return [None if it.label is None else label_of(it.label, labels) for it in index.items]


def _scaled(img: Image.Image) -> tuple[Image.Image, float]:
    side = max(img.size)
    s = MIN_SIDE / side if side < MIN_SIDE else (MAX_SIDE / side if side > MAX_SIDE else 1.0)
    s = min(s, 8.0)
    if s == 1.0:
        return img, s
    return img.resize((max(1, round(img.width * s)), max(1, round(img.height * s))), Image.NEAREST if s > 1 else Image.BILINEAR), s


def _with_caption(img: Image.Image, lines: list[tuple[str, tuple[int, int, int]]], size: int = 20) -> Image.Image:
    """The image above a white panel of coloured text lines."""
    f = font(size)
    pad = size // 2
    width = max([img.width] + [int(f.getlength(t)) + 2 * pad for t, _ in lines])
    height = img.height + pad + len(lines) * (size + pad)
    out = Image.new("RGB", (width, height), "white")
    out.paste(img, (0, 0))
    d = ImageDraw.Draw(out)
    y = img.height + pad // 2
    for text, color in lines:
        d.rectangle((pad // 2, y + 3, pad // 2 + size // 2, y + size - 3), fill=color)
        d.text((pad + size // 2, y), text, fill=TEXT, font=f)
        y += size + pad
    return out


def _classification(base: Image.Image, it: Any, labels: list[str], shown: list[Shown], annotated: bool) -> Image.Image:
    img, _ = _scaled(base)
    lines = []
    if annotated and it.label is not None:
        lines.append((f"annotation: {label_of(it.label, labels)}", ANNOTATION))
    first = shown[0].prediction.label
    for s in shown:
        p = s.prediction
        mark = "" if p.label == first or s is shown[0] else "  (differs from the parent)"
        lines.append((f"{s.title}: class {label_of(p.label, labels)}, confidence {p.confidence(p.label):.3f}{mark}",
                      s.color))
    return _with_caption(img, lines)


def _clipped(v: float, size: int) -> float:
    return min(max(v, -8.0), size + 8.0) if v == v else float("nan")


def save_picture(picture: Image.Image, out: Any) -> None:
    """Save to a path checked by engine.output.output_path, atomically."""
    from pathlib import Path

    from .output import atomic_output

    out = Path(out)
    with atomic_output(out) as tmp:
        picture.save(tmp, format="JPEG" if out.suffix.lower() in (".jpg", ".jpeg") else "PNG")


def _detection(base: Image.Image, it: Any, labels: list[str], shown: list[Shown]) -> Image.Image:
    img, s = _scaled(base)
    d = ImageDraw.Draw(img)
    f = font(max(12, min(22, img.width // 40)))
    width = max(2, img.width // 300)

    def box(xyxy: Any, color: tuple[int, int, int], text: str, inset: int, place: str) -> None:
        # Boxes that coincide nest (annotation outside, parent, optimized
        # inside) and each source puts its label elsewhere, so none hides another.
        # Annotations come from files owb did not write: a box of 1e299 or
        # nan is clipped to just outside the picture, never handed to Pillow.
        x1, y1, x2, y2 = (_clipped(float(v) * s, size) for v, size in zip(xyxy, (img.width, img.height) * 2))
        if not x1 <= x2 or not y1 <= y2:
            return
        x1, y1, x2, y2 = x1 + inset, y1 + inset, x2 - inset, y2 - inset
        if x2 < x1 or y2 < y1:
            x1, y1, x2, y2 = x1 - inset, y1 - inset, x2 + inset, y2 + inset
        d.rectangle((x1, y1, x2, y2), outline=color, width=width)
        tw, th = f.getlength(text), f.size + 2
        ty = {"above": y1 - th, "inside": y1 + width, "below": y2}[place]
        ty = min(max(0, ty), img.height - th)
        d.rectangle((x1, ty, x1 + tw + 4, ty + th), fill=color)
        d.text((x1 + 2, ty), text, fill="white", font=f)

    for b, c in zip(it.boxes or [], it.box_labels or []):
        box(b, ANNOTATION, label_of(int(c), labels), -width * 2, "below")
    places = ["above", "inside"] if len(shown) == 2 else ["above"]
    for k, sh in enumerate(shown):
        det = sh.prediction
        for b, sc, c in zip(det.boxes, det.scores, det.labels):
            box(b, sh.color, f"{label_of(int(c), labels)} {sc:.2f}", k * width * 2, places[k])
    lines = [(f"annotation: {len(it.boxes or [])} objects", ANNOTATION)] if it.boxes is not None else []
    lines += [(f"{sh.title}: {len(sh.prediction)} detections", sh.color) for sh in shown]
    return _with_caption(img, lines)


def _overlay(base: np.ndarray, classes: np.ndarray, alpha: float = 0.55) -> np.ndarray:
    """Classes other than background (0) and ignore (255) tinted in their colour."""
    out = base.astype(np.float32).copy()
    for c in np.unique(classes):
        if c in (0, 255):
            continue
        where = classes == c
        out[where] = out[where] * (1 - alpha) + np.asarray(class_color(int(c)), np.float32) * alpha
    return out.clip(0, 255).astype(np.uint8)


def _segmentation(base: Image.Image, mask: np.ndarray | None, labels: list[str], shown: list[Shown],
                  layout: str) -> Image.Image:
    arr = np.asarray(base)
    panels: list[tuple[str, tuple[int, int, int], np.ndarray]] = []
    notes: list[tuple[str, tuple[int, int, int]]] = []
    if layout == "blend" and len(shown) == 2:
        parent, mine = shown[0].prediction.classes, shown[1].prediction.classes
        img = _overlay(arr, np.where(parent == mine, mine, 0))  # agreement in class colours
        for where, color in ((parent != mine) & (mine == 0), PARENT), ((parent != mine) & (parent == 0), OPTIMIZED), \
                ((parent != mine) & (parent != 0) & (mine != 0), DIFFERENT):
            img[where] = (img[where] * 0.25 + np.asarray(color) * 0.75).astype(np.uint8)
        differ = float((parent != mine).mean())
        panels.append((f"{shown[0].title} and {shown[1].title}", OPTIMIZED, img))
        notes = [(f"only {shown[0].title}", PARENT), (f"only {shown[1].title}", OPTIMIZED),
                 ("different classes", DIFFERENT), (f"{differ:.2%} of pixels differ", TEXT)]
    else:
        if mask is not None:
            panels.append(("annotation", ANNOTATION, _overlay(arr, mask)))
        panels += [(s.title, s.color, _overlay(arr, s.prediction.classes)) for s in shown]
    tiles = [_titled(_scaled(Image.fromarray(p))[0], title, color) for title, color, p in panels]
    gap = 8
    strip = Image.new("RGB", (sum(t.width for t in tiles) + gap * (len(tiles) - 1), max(t.height for t in tiles)),
                      "white")
    x = 0
    for t in tiles:
        strip.paste(t, (x, 0))
        x += t.width + gap
    maps = [s.prediction.classes for s in shown] + ([mask] if mask is not None else [])
    present = sorted({int(c) for m in maps for c in np.unique(m) if c not in (0, 255)})
    legend = [(f"class {label_of(c, labels)}", class_color(c)) for c in present[:8]]
    return _with_caption(strip, legend + notes)


def _titled(tile: Image.Image, title: str, color: tuple[int, int, int], size: int = 20) -> Image.Image:
    """A tile under a header naming what it shows."""
    f = font(size)
    out = Image.new("RGB", (max(tile.width, int(f.getlength(title)) + size + 8), tile.height + size + 8), "white")
    d = ImageDraw.Draw(out)
    d.rectangle((2, 7, 2 + size // 2, size + 1), fill=color)
    d.text((size // 2 + 8, 2), title, fill=TEXT, font=f)
    out.paste(tile, (0, size + 8))
    return out
