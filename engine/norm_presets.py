"""Mean/scale presets for the normalizations real models are trained with,
so `--norm imagenet` replaces two lists of three numbers typed from memory.

Values are per channel in RGB order (a one-channel input takes the green
channel's); for a BGR input they are reversed, so they always follow the
channels the model sees. An explicit mean or scale wins over the preset's."""

from __future__ import annotations

from .errors import BadInput
from .records import InputConfig

# name -> (mean, scale) in RGB order; pixels are (x - mean) / scale
NORM_PRESETS: dict[str, tuple[list[float], list[float]]] = {
    "imagenet": ([123.675, 116.28, 103.53], [58.395, 57.12, 57.375]),  # torchvision, timm, PaddleClas
    "tf": ([127.5, 127.5, 127.5], [127.5, 127.5, 127.5]),  # [-1, 1]: Keras "tf" mode, MobileNet, BlazeFace
    "caffe": ([123.68, 116.779, 103.939], [1.0, 1.0, 1.0]),  # mean only, on BGR images (Keras "caffe" mode)
    "none": ([0.0, 0.0, 0.0], [1.0, 1.0, 1.0]),
}


def preset_values(norm: str, color: str, channels: int) -> tuple[list[float], list[float]]:
    """(mean, scale) of a preset in the order of the channels the model sees."""
    mean, scale = NORM_PRESETS[norm]
    if channels == 1:
        return mean[1:2], scale[1:2]
    if color == "BGR":
        return mean[::-1], scale[::-1]
    return list(mean), list(scale)


def apply_norm(config: InputConfig, channels: int, *, mean_given: bool, scale_given: bool,
               color_given: bool) -> None:
    """Fill ``config.mean``/``scale`` from ``config.norm`` where not given.
    Caffe models read BGR, so the caffe preset sets BGR unless a colour was given."""
    if config.norm is None:
        return
    if config.norm not in NORM_PRESETS:
        raise BadInput(f"unknown normalization preset {config.norm!r}; use one of {', '.join(NORM_PRESETS)}")
    if config.norm == "caffe" and not color_given:
        config.color = "BGR"
    mean, scale = preset_values(config.norm, config.color, channels)
    if not mean_given:
        config.mean = list(mean)
    if not scale_given:
        config.scale = list(scale)
