"""The "shapes" data set behind ``owb demo``: a deterministic generator of
small classification images, so the demo needs no download and the embedded
demo CNN (engine/assets/demo_cnn.onnx, trained by tools/train_demo.py on this
very generator) has a data set it knows.

Each image shows one filled shape of a class in CLASSES, with random size,
position, rotation, slight aspect change and colour, over a textured gradient
background with distractor lines (some across the shape) and pixel noise. Image ``index`` of the split
``seed`` comes from ``numpy.random.default_rng((seed, index))`` alone, so the
same arguments give the same pixels on every machine and in any order, and
labels cycle through the classes so every split is balanced.

numpy and Pillow only: this runs at ``owb demo`` time, where torch is absent.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from engine.errors import BadInput

CLASSES: list[str] = [
    "circle",
    "ring",
    "square",
    "triangle",
    "pentagon",
    "star",
    "cross",
    "crescent",
    "arrow",
    "heart",
]

#: Side of the generated images; it is also the demo CNN's input size, so the
#: demo's resize step is an identity and the pixels the model sees are exact.
INPUT_SIZE = 96

# Shapes are drawn at twice the size and box-reduced: cheap anti-aliasing
# that keeps edges from being a giveaway of the rendering rather than the shape.
_SUPERSAMPLE = 2
JPEG_QUALITY = 90


def _regular(n: int, start: float = np.pi / 2) -> np.ndarray:
    angles = start + 2 * np.pi * np.arange(n) / n
    return np.stack([np.cos(angles), -np.sin(angles)], axis=1)


def _star(points: int = 5, inner: float = 0.42) -> np.ndarray:
    outer = _regular(2 * points)
    radii = np.where(np.arange(2 * points) % 2 == 0, 1.0, inner)
    return outer * radii[:, None]


def _cross(arm: float = 0.34) -> np.ndarray:
    a = arm
    return np.array(
        [(-a, -1), (a, -1), (a, -a), (1, -a), (1, a), (a, a),
         (a, 1), (-a, 1), (-a, a), (-1, a), (-1, -a), (-a, -a)],
        dtype=float,
    )


def _arrow() -> np.ndarray:
    return np.array(
        [(-1.0, -0.22), (0.15, -0.22), (0.15, -0.62), (1.0, 0.0),
         (0.15, 0.62), (0.15, 0.22), (-1.0, 0.22)],
    )


def _heart() -> np.ndarray:
    t = np.linspace(0, 2 * np.pi, 64, endpoint=False)
    x = 16 * np.sin(t) ** 3
    y = -(13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t))
    pts = np.stack([x, y + 2.5], axis=1)
    return pts / np.abs(pts).max()


# Unit outlines (radius ~1, centred) of the polygonal classes; round classes
# are drawn from _CIRCLE with holes cut out in _shape_mask.
_CIRCLE = _regular(72)
_OUTLINES: dict[str, np.ndarray] = {
    "square": _regular(4, np.pi / 4),
    "triangle": _regular(3),
    "pentagon": _regular(5),
    "star": _star(),
    "cross": _cross() * 0.85,
    "arrow": _arrow(),
    "heart": _heart(),
}


def _place(outline: np.ndarray, centre: np.ndarray, radius: float,
           angle: float, aspect: float) -> list[tuple[float, float]]:
    scaled = outline * np.array([radius * aspect, radius / aspect])
    c, s = np.cos(angle), np.sin(angle)
    rotated = scaled @ np.array([[c, s], [-s, c]])
    return [tuple(p) for p in rotated + centre]


def _shape_mask(label: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """Coverage of the shape in [0, 1], shape (size, size), anti-aliased."""
    big = size * _SUPERSAMPLE
    radius = rng.uniform(0.13, 0.40) * big
    margin = radius * 1.05
    centre = rng.uniform(margin, big - margin, size=2)
    angle = rng.uniform(0, 2 * np.pi)
    aspect = rng.uniform(0.9, 1.1)
    mask = Image.new("L", (big, big), 0)
    draw = ImageDraw.Draw(mask)
    name = CLASSES[label]
    if name in _OUTLINES:
        draw.polygon(_place(_OUTLINES[name], centre, radius, angle, aspect), fill=255)
    else:
        draw.polygon(_place(_CIRCLE, centre, radius, angle, aspect), fill=255)
        if name == "ring":
            hole = rng.uniform(0.45, 0.68)
            draw.polygon(_place(_CIRCLE, centre, radius * hole, angle, aspect), fill=0)
        elif name == "crescent":
            # The biting circle sits off-centre along the rotation direction.
            offset = rng.uniform(0.35, 0.55) * radius
            bite = centre + offset * np.array([np.cos(angle), np.sin(angle)])
            draw.polygon(_place(_CIRCLE, bite, radius * rng.uniform(0.8, 0.95),
                                angle, aspect), fill=0)
    small = mask.reduce(_SUPERSAMPLE)
    return np.asarray(small, dtype=np.float32) / 255.0


def _luma(rgb: np.ndarray) -> float:
    return float(rgb @ np.array([0.299, 0.587, 0.114]))


def _background(size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A textured gradient (float32 HxWx3) and its mean colour."""
    c1, c2 = rng.uniform(0, 255, size=(2, 3)).astype(np.float32)
    phi = rng.uniform(0, 2 * np.pi)
    ramp = np.linspace(-0.5, 0.5, size, dtype=np.float32)
    t = np.cos(phi) * ramp[None, :] + np.sin(phi) * ramp[:, None] + 0.5
    image = c1 + (c2 - c1) * t[:, :, None]
    # Low-frequency blotches: a coarse random grid smoothly upsampled.
    cells = int(rng.integers(3, 9))
    grid = rng.normal(0, rng.uniform(8, 28), size=(cells, cells)).astype(np.float32)
    blotches = np.asarray(Image.fromarray(grid).resize(
        (size, size), Image.BILINEAR), dtype=np.float32)
    image += blotches[:, :, None]
    return image, (c1 + c2) / 2


def _foreground_colour(bg_mean: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    # Enough luminance contrast that the shape is visible, not always the same way.
    for _ in range(32):
        fg = rng.uniform(0, 255, size=3).astype(np.float32)
        if abs(_luma(fg) - _luma(bg_mean)) >= 40:
            return fg
    return np.where(bg_mean > 127, 20.0, 235.0).astype(np.float32)


def _draw_lines(image: np.ndarray, most: int, rng: np.random.Generator) -> np.ndarray:
    """Up to ``most - 1`` random straight lines drawn over ``image``."""
    count = int(rng.integers(0, most))
    if count == 0:
        return image
    size = image.shape[0]
    canvas = Image.fromarray(np.clip(image, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(canvas)
    for _ in range(count):
        xy = [float(v) for v in rng.uniform(0, size, size=4)]
        colour = tuple(int(v) for v in rng.integers(0, 256, size=3))
        draw.line(xy, fill=colour, width=int(rng.integers(1, 3)) * max(1, size // 96))
    return np.asarray(canvas, dtype=np.float32)


def _check_index(index: int, seed: int, size: int) -> None:
    if index < 0 or seed < 0:
        raise BadInput(f"synthetic image index and seed must be >= 0, got index={index} seed={seed}")
    if not 16 <= size <= 1024:
        raise BadInput(f"synthetic image size must be 16..1024 px, got {size}")


def render(index: int, seed: int, size: int = INPUT_SIZE) -> tuple[Image.Image, int]:
    """Image ``index`` of the split ``seed`` and its label (index into CLASSES).

    Pure function of its arguments: the same call always yields the same pixels.
    """
    _check_index(index, seed, size)
    rng = np.random.default_rng((seed, index))
    label = index % len(CLASSES)
    image, bg_mean = _background(size, rng)
    image = _draw_lines(image, 4, rng)
    coverage = _shape_mask(label, size, rng)[:, :, None]
    fg = _foreground_colour(bg_mean, rng)
    # A faint shading across the shape so it is not a flat stamp.
    shade = rng.uniform(-25, 25) * np.linspace(-0.5, 0.5, size, dtype=np.float32)[:, None, None]
    image = image * (1 - coverage) + (fg + shade) * coverage
    # Lines over the shape too: partial occlusion, so outlines are not pristine.
    image = _draw_lines(image, 3, rng)
    image += np.float32(rng.uniform(3, 20)) * rng.standard_normal(image.shape, dtype=np.float32)
    pixels = np.clip(image, 0, 255).astype(np.uint8)
    return Image.fromarray(pixels), label


def _file_name(index: int) -> str:
    return f"shape_{index:05d}.jpg"


def _prepare(dest: Path, count: int) -> Path:
    if count < 1:
        raise BadInput(f"a synthetic data set needs at least 1 image, got count={count}")
    dest = Path(dest)
    if dest.exists() and not dest.is_dir():
        raise BadInput(f"{dest} is a file; give a directory to write the synthetic images into")
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise BadInput(f"cannot create {dest}: {err.strerror}; choose a writable directory") from err
    return dest


def _write_images(dest: Path, count: int, seed: int) -> list[tuple[str, int]]:
    entries = []
    for index in range(count):
        image, label = render(index, seed)
        name = _file_name(index)
        image.save(dest / name, quality=JPEG_QUALITY)
        entries.append((name, label))
    return entries


def write_imagenet(dest: Path, count: int, seed: int) -> Path:
    """Write ``count`` images as an ImageNet-style classification set into
    ``dest``: flat JPEGs, ``val.txt`` (``<file> <label>``) and ``labels.txt``
    (one class name per line, line i is label i). Returns ``dest``."""
    dest = _prepare(dest, count)
    entries = _write_images(dest, count, seed)
    (dest / "val.txt").write_text("".join(f"{name} {label}\n" for name, label in entries))
    (dest / "labels.txt").write_text("".join(f"{name}\n" for name in CLASSES))
    return dest


def write_unannotated(dest: Path, count: int, seed: int) -> Path:
    """Write ``count`` images with no annotation at all (a calibration-only
    folder). Returns ``dest``."""
    dest = _prepare(dest, count)
    _write_images(dest, count, seed)
    return dest
