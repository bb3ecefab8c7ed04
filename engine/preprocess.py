"""Image decode and preprocessing, following a model's input configuration.

Preprocessing is two halves:

- the **host half** (decode, colour mode, resize mode) turns a file into the
  u8 pixels of the network input, H×W×C, plus the geometry adapters need.
  Pillow releases the GIL while decoding and resizing, so engine.feed runs it
  in a thread pool (and keeps its results in a decode cache);
- the **tensor half** (RGB→BGR, layout, u8→f32, mean and scale) is folded into
  the compiled model with OpenVINO's PrePostProcessor (``fold``), so owb feeds
  u8 NHWC and the per-pixel float work runs in the plugin. ``to_tensor`` is
  the same half in numpy, for models it cannot be folded into and for NNCF,
  which must see (and quantize) the model as stored.

Resize modes are placements: a function from the original and input sizes to
where the resized image sits in the input (``PLACEMENTS``). A new mode is one
function there plus its name in records.RESIZE_MODES; the host half, the
geometry adapters read and the geometry reports compute from image headers
all follow from it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
from PIL import Image, ImageFile

from .errors import BadInput
from .predictions import ImageMeta
from .records import InputConfig

ImageFile.LOAD_TRUNCATED_IMAGES = False

# Config fields that act only in the tensor half; every other field (resize
# mode, and any option added later) changes the host pixels, so it is part of
# the decode cache's key unless listed here.
TENSOR_ONLY_FIELDS = ("task", "labels", "mean", "scale", "norm", "color", "layout", "shape", "decoder")
# Layouts the PrePostProcessor fold handles: the host pixels are (N)HWC.
FOLDABLE_LAYOUTS = ("NCHW", "NHWC", "CHW", "HWC")


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


# ---------------------------------------------------------------- resize modes

@dataclass(frozen=True)
class Placement:
    """The original image resized to ``w``×``h`` and put at (``x``, ``y``) in
    the input; the rest of the input is padding. A negative offset crops."""

    w: int
    h: int
    x: int = 0
    y: int = 0


def stretch(config: InputConfig, ow: int, oh: int, w: int, h: int) -> Placement:
    return Placement(w, h)


def keep_aspect_pad(config: InputConfig, ow: int, oh: int, w: int, h: int) -> Placement:
    s = min(w / ow, h / oh)
    nw, nh = max(1, round(ow * s)), max(1, round(oh * s))
    if config.pad_position == "top-left":  # YOLOX's letterbox
        return Placement(nw, nh)
    return Placement(nw, nh, (w - nw) // 2, (h - nh) // 2)


def center_crop(config: InputConfig, ow: int, oh: int, w: int, h: int) -> Placement:
    """torchvision's Resize(size / crop fraction) then CenterCrop(size): the
    image is scaled, keeping its aspect, to cover the input grown by 1 /
    crop fraction (the short side of a square input goes to 256 for 224),
    and the centre is cut out."""
    f = config.crop_fraction
    if w / ow >= h / oh:  # the width binds: it goes to w / f exactly, as Resize's short side does
        nw = int(w / f)
        nh = int(nw * oh / ow)
    else:
        nh = int(h / f)
        nw = int(nh * ow / oh)
    nw, nh = max(nw, w), max(nh, h)
    return Placement(nw, nh, -int(round((nw - w) / 2.0)), -int(round((nh - h) / 2.0)))


PlacementFn = Callable[[InputConfig, int, int, int, int], Placement]
PLACEMENTS: dict[str, PlacementFn] = {"stretch": stretch, "keep-aspect-pad": keep_aspect_pad,
                                      "center-crop": center_crop}


def describe_resize(config: Any) -> str:
    """The resize mode with its options, as a person reads it (an InputConfig or its dict)."""
    get = config.get if isinstance(config, dict) else lambda k, d=None: getattr(config, k, d)
    mode = get("resize", "stretch")
    if mode == "center-crop":
        return f"center-crop {get('crop_fraction', 0.875):g}"
    if mode == "keep-aspect-pad":
        return f"keep-aspect-pad {get('pad_position', 'center')}, pad value {get('pad_value', 0)}"
    return mode


def placement(config: InputConfig, ow: int, oh: int, w: int, h: int) -> Placement:
    try:
        return PLACEMENTS[config.resize](config, ow, oh, w, h)
    except KeyError:
        raise BadInput(f"unknown resize mode {config.resize!r}; use one of {', '.join(PLACEMENTS)}") from None


def geometry(config: InputConfig, in_w: int, in_h: int, ow: int, oh: int) -> ImageMeta:
    """How an ``ow``×``oh`` image maps into the input, from its size alone."""
    p = placement(config, ow, oh, in_w, in_h)
    return ImageMeta(ow, oh, in_w, in_h, p.w / ow, p.h / oh, p.x, p.y)


def place(img: Image.Image, p: Placement, w: int, h: int, fill: int = 0) -> Image.Image:
    if img.size != (p.w, p.h):
        img = img.resize((p.w, p.h), Image.BILINEAR)
    if (p.w, p.h, p.x, p.y) == (w, h, 0, 0):
        return img
    if p.x <= 0 and p.y <= 0 and p.w + p.x >= w and p.h + p.y >= h:  # a crop: no padding shows
        return img.crop((-p.x, -p.y, -p.x + w, -p.y + h))
    canvas = Image.new(img.mode, (w, h), fill if img.mode == "L" else (fill,) * len(img.getbands()))
    canvas.paste(img, (p.x, p.y))
    return canvas


# ---------------------------------------------------------------- the preprocessor

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
        self.host_shape = (self.h, self.w, 1 if self.gray else 3)

    # -- host half

    def decode(self, path: Path) -> tuple[np.ndarray, ImageMeta]:
        """The file's u8 input pixels (H×W×C) and geometry."""
        try:
            with Image.open(path) as img:
                return self.host(img)
        except BadInput:
            raise
        except (OSError, ValueError, Image.DecompressionBombError) as exc:
            raise BadInput(f"cannot decode image {Path(path).name}: {exc}") from None

    def host(self, img: Image.Image) -> tuple[np.ndarray, ImageMeta]:
        img = to_mode(img, self.gray)
        ow, oh = img.size
        img = place(img, placement(self.config, ow, oh, self.w, self.h), self.w, self.h, self.config.pad_value)
        arr = np.asarray(img)
        return (arr[:, :, None] if arr.ndim == 2 else arr), geometry(self.config, self.w, self.h, ow, oh)

    def host_signature(self) -> dict[str, Any]:
        """Everything the host pixels depend on (the decode cache's key)."""
        rest = {k: v for k, v in self.config.to_dict().items() if k not in TENSOR_ONLY_FIELDS}
        return {"h": self.h, "w": self.w, "gray": self.gray, **rest}

    # -- tensor half, in numpy

    def to_tensor(self, pixels: np.ndarray) -> np.ndarray:
        """u8 pixels, B×H×W×C, as the model's input (B is 1 when the layout has no N)."""
        arr = pixels
        if self.config.color == "BGR":
            arr = arr[..., ::-1]
        channels_first = "C" in self.layout and self.layout.index("C") < self.layout.index("H")
        if "C" not in self.layout:
            arr = arr[..., 0]
        elif channels_first:
            arr = arr.transpose(0, 3, 1, 2)  # on the uint8 view: cheaper than on floats
        if not self.raw_u8:
            # One converting copy, then in-place maths: no float temporaries.
            out = np.empty(arr.shape, np.float32)
            out[...] = arr
            shape = (-1, 1, 1) if channels_first else (-1,) if "C" in self.layout else ()
            out -= self.mean.reshape(shape) if shape else self.mean[0]
            out *= self.inv_scale.reshape(shape) if shape else self.inv_scale[0]
            arr = out
        if "N" not in self.layout:
            arr = arr[0]
        return np.ascontiguousarray(arr)

    def from_image(self, img: Image.Image) -> tuple[np.ndarray, ImageMeta]:
        pixels, meta = self.host(img)
        return self.to_tensor(pixels[None]), meta

    def load(self, path: Path) -> tuple[np.ndarray, ImageMeta]:
        pixels, meta = self.decode(path)
        return self.to_tensor(pixels[None]), meta

    # -- tensor half, in the model

    def foldable(self, ov_model: Any) -> bool:
        if len(ov_model.inputs) != 1 or self.layout not in FOLDABLE_LAYOUTS or self.c not in (1, 3):
            return False
        if self.gray != (self.c == 1):  # GRAY into a 3-channel input: left to the numpy path as before
            return False
        return ov_model.inputs[0].get_element_type().get_type_name() in ("f32", "u8")

    def fold(self, ov_model: Any) -> bool:
        """Put the tensor half into ``ov_model`` (in place: pass a clone of a
        model that is saved or quantized); False, model untouched, when it
        cannot take it. The folded model's input is u8 (N)HWC."""
        if not self.foldable(ov_model):
            return False
        import openvino as ov
        from openvino.preprocess import ColorFormat, PrePostProcessor

        ppp = PrePostProcessor(ov_model)
        inp = ppp.input()
        tensor = inp.tensor().set_element_type(ov.Type.u8)
        tensor.set_layout(ov.Layout(("N" if "N" in self.layout else "") + "HWC"))
        if self.c == 3:
            tensor.set_color_format(ColorFormat.RGB)
        inp.model().set_layout(ov.Layout(self.layout))
        steps = inp.preprocess()
        if self.c == 3 and self.config.color == "BGR":
            steps.convert_color(ColorFormat.BGR)
        if not self.raw_u8:
            steps.convert_element_type(ov.Type.f32)
            if self.mean.any():
                steps.mean([float(v) for v in self.mean])
            scale = (self.config.scale * self.c)[: self.c]
            if any(float(s) != 1.0 for s in scale):
                steps.scale([float(s) for s in scale])
        ppp.build()
        return True

    def folded_input(self, pixels: np.ndarray) -> np.ndarray:
        """u8 pixels, B×H×W×C, as a folded model's input."""
        return pixels if "N" in self.layout else pixels[0]
