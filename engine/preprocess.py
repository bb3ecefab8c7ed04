"""Image decode and preprocessing, following a model's input configuration.

Pillow releases the GIL while decoding and resizing, so a thread pool keeps
both cores busy; the float work is a few vectorized numpy operations."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageFile

from .predictions import ImageMeta
from .errors import BadInput
from .records import InputConfig

ImageFile.LOAD_TRUNCATED_IMAGES = False


def to_mode(img: Image.Image, gray: bool) -> Image.Image:
    """Any Pillow image as 8-bit RGB (or L): 16-bit, CMYK, palette and alpha included."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        arr = np.asarray(img, dtype=np.uint32 if img.mode == "I" else np.uint16)
        # 16-bit samples keep their top byte; Pillow's own convert would clip them.
        img = Image.fromarray((arr >> 8).clip(0, 255).astype(np.uint8), "L")
    elif img.mode == "F":
        arr = np.asarray(img, dtype=np.float32)
        lo, hi = float(arr.min()), float(arr.max())
        arr = (arr - lo) / (hi - lo) * 255 if hi > lo else np.zeros_like(arr)
        img = Image.fromarray(arr.astype(np.uint8), "L")
    elif img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    target = "L" if gray else "RGB"
    return img if img.mode == target else img.convert(target)


class Preprocessor:
    """Turns an image file into the model's input array plus the geometry that
    adapters need to map predictions back onto the original image."""

    def __init__(self, config: InputConfig, input_shape: list[int], dtype: str = "f32") -> None:
        layout = config.layout.upper()
        if len(layout) != len(input_shape) or not {"H", "W"} <= set(layout):
            raise BadInput(
                f"input shape {input_shape} with layout {config.layout} is not an image input; "
                "set --layout (NCHW or NHWC) and --shape"
            )
        self.config = config
        self.layout = layout
        self.shape = list(input_shape)
        self.h = input_shape[layout.index("H")]
        self.w = input_shape[layout.index("W")]
        self.c = input_shape[layout.index("C")] if "C" in layout else 1
        self.gray = config.color == "GRAY" or self.c == 1
        self.raw_u8 = dtype == "u8"
        n = self.c
        self.mean = np.asarray((config.mean * n)[:n], np.float32)
        self.inv_scale = (1.0 / np.asarray((config.scale * n)[:n], np.float32)).astype(np.float32)

    def load(self, path: Path) -> tuple[np.ndarray, ImageMeta]:
        try:
            with Image.open(path) as img:
                img = to_mode(img, self.gray)
                return self.from_image(img)
        except BadInput:
            raise
        except (OSError, ValueError, Image.DecompressionBombError) as exc:
            raise BadInput(f"cannot decode image {Path(path).name}: {exc}") from None

    def from_image(self, img: Image.Image) -> tuple[np.ndarray, ImageMeta]:
        img = to_mode(img, self.gray)
        ow, oh = img.size
        if self.config.resize == "keep-aspect-pad":
            s = min(self.w / ow, self.h / oh)
            nw, nh = max(1, round(ow * s)), max(1, round(oh * s))
            px, py = (self.w - nw) // 2, (self.h - nh) // 2
            canvas = Image.new(img.mode, (self.w, self.h))
            canvas.paste(img.resize((nw, nh), Image.BILINEAR), (px, py))
            img, sx, sy = canvas, nw / ow, nh / oh
        else:
            px = py = 0
            sx, sy = self.w / ow, self.h / oh
            if (ow, oh) != (self.w, self.h):
                img = img.resize((self.w, self.h), Image.BILINEAR)
        arr = np.asarray(img)
        if arr.ndim == 2:
            arr = arr[:, :, None]
        if self.config.color == "BGR":
            arr = arr[:, :, ::-1]
        channels_first = "C" in self.layout and self.layout.index("C") < self.layout.index("H")
        if "C" not in self.layout:
            arr = arr[:, :, 0]
        elif channels_first:
            arr = arr.transpose(2, 0, 1)  # on the uint8 view: cheaper than on floats
        if not self.raw_u8:
            # One converting copy, then in-place maths: no float temporaries.
            out = np.empty(arr.shape, np.float32)
            out[...] = arr
            shape = (-1, 1, 1) if channels_first else (-1,) if "C" in self.layout else ()
            out -= self.mean.reshape(shape) if shape else self.mean[0]
            out *= self.inv_scale.reshape(shape) if shape else self.inv_scale[0]
            arr = out
        if "N" in self.layout:
            arr = arr[None]
        meta = ImageMeta(orig_w=ow, orig_h=oh, in_w=self.w, in_h=self.h, scale_x=sx, scale_y=sy, pad_x=px, pad_y=py)
        return np.ascontiguousarray(arr), meta
