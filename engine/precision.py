"""Which floating-point precision OpenVINO runs a model in, chosen once here.

On CPUs with BF16 (AVX-512 BF16, AMX) the CPU plugin runs "FP32" models in
bf16 unless INFERENCE_PRECISION_HINT says otherwise. owb's policy:

- **accuracy and reference outputs run in true f32** (``ACCURACY``): the
  accuracy of an FP32 parent, and the outputs every report compares against,
  are the model's own numbers, so a parent compared with itself is exact and
  an INT8 child is judged against f32, not against bf16 rounding;
- **speed runs in the precision a deployment would get** (``SPEED_DEFAULT`` =
  ``auto``: the plugin's default), and every speed figure says which precision
  actually ran (``inference_precision`` in its result).

``--infer-precision auto|f32|bf16|f16`` overrides either."""

from __future__ import annotations

from typing import Any

from .errors import BadInput

CHOICES = ("auto", "f32", "bf16", "f16")
ACCURACY = "f32"
SPEED_DEFAULT = "auto"


def validate(precision: str) -> str:
    if precision not in CHOICES:
        raise BadInput(f"unknown inference precision {precision!r}; use one of {', '.join(CHOICES)}")
    return precision


def properties(precision: str) -> dict[str, Any]:
    """The compile properties that pin ``precision`` ({} lets the plugin choose)."""
    validate(precision)
    return {} if precision == "auto" else {"INFERENCE_PRECISION_HINT": precision}


def compile_model(ov_model: Any, device: str = "CPU", precision: str = ACCURACY,
                  config: dict[str, Any] | None = None) -> Any:
    """``ov.Core().compile_model`` with the precision pinned; the one place
    owb compiles a model for inference, so no path runs bf16 by accident."""
    import openvino as ov

    return ov.Core().compile_model(ov_model, device, {**(config or {}), **properties(precision)})


def resolved(device: str = "CPU", precision: str = "auto") -> str:
    """The precision ``precision`` means on ``device``: f32 / bf16 / f16."""
    if precision != "auto":
        return validate(precision)
    from .device import cpu_facts

    return cpu_facts(device)["default_inference_precision"]


def has_bf16(device: str = "CPU") -> bool:
    """Whether the plugin can run bf16 natively here (its capability list)."""
    from .device import cpu_facts

    return "BF16" in cpu_facts(device)["optimization_capabilities"]
