"""Facts about an OpenVINO model, read off its graph: tensors, parameter count,
GFLOPs and storage precision. Shown on import and in Compare."""

from __future__ import annotations

import math
from typing import Any

FLOAT_TYPES = {"f32", "f16", "bf16", "f64"}
INT8_TYPES = {"i8", "u8", "i4", "u4"}


def _shape(pshape: Any) -> list[int]:
    return [d.get_length() if d.is_static else -1 for d in pshape]


def tensor_infos(ports: Any) -> list[dict]:
    out = []
    for i, port in enumerate(ports):
        names = sorted(port.get_names())
        out.append(
            {
                "name": names[0] if names else f"port{i}",
                "shape": _shape(port.get_partial_shape()),
                "type": port.get_element_type().get_type_name(),
            }
        )
    return out


def _const_elements(node: Any) -> int:
    shape = node.get_output_partial_shape(0)
    return math.prod(_shape(shape)) if shape.is_static else 0


def _feeds_quantizer_range(node: Any) -> bool:
    # FakeQuantize's inputs 1..4 are its ranges, not weights.
    for target in node.output(0).get_target_inputs():
        if target.get_node().get_type_name() == "FakeQuantize" and target.get_index() > 0:
            return True
    return False


def _is_dequantization_param(node: Any) -> bool:
    """A scale or zero point of decompressed low-bit weights, not a weight."""
    for target in node.output(0).get_target_inputs():
        consumer = target.get_node()
        if consumer.get_type_name() not in ("Multiply", "Subtract"):
            return False
        other = consumer.input_value(1 - target.get_index()).get_node()
        if other.get_type_name() != "Convert":
            return False
    return True


def parameter_count(model: Any) -> int:
    """Elements of weight constants (float or low-bit), not shape/index constants."""
    total = 0
    for node in model.get_ordered_ops():
        if node.get_type_name() != "Constant":
            continue
        etype = node.get_output_element_type(0).get_type_name()
        if etype not in FLOAT_TYPES | INT8_TYPES:
            continue
        n = _const_elements(node)
        if n > 1 and not _feeds_quantizer_range(node) and not _is_dequantization_param(node):
            total += n
    return total


def gflops(model: Any) -> float | None:
    """Multiply-adds ×2 of Convolution/GroupConvolution/MatMul at static shapes.

    None when any counted op has a dynamic shape: a guess would be worse."""
    flops = 0
    for node in model.get_ordered_ops():
        kind = node.get_type_name()
        if kind not in ("Convolution", "GroupConvolution", "MatMul"):
            continue
        out = node.get_output_partial_shape(0)
        w = node.get_input_partial_shape(1)
        x = node.get_input_partial_shape(0)
        if not (out.is_static and w.is_static and x.is_static):
            return None
        out_n = math.prod(_shape(out))
        wd = _shape(w)
        if kind == "Convolution":  # W: [Cout, Cin, k...]
            macs = out_n * math.prod(wd[1:])
        elif kind == "GroupConvolution":  # W: [G, Cout/G, Cin/G, k...]
            macs = out_n * math.prod(wd[2:])
        else:
            xd = _shape(x)
            transpose_a = bool(node.get_attributes().get("transpose_a", False))
            k = xd[-2] if transpose_a and len(xd) > 1 else xd[-1]
            macs = out_n * k
        flops += 2 * macs
    return round(flops / 1e9, 4)


def storage_precision(model: Any) -> str:
    """INT8 when the graph carries FakeQuantize or low-bit weights, FP16 when its
    weights are stored as f16, else FP32."""
    has_f16 = False
    for node in model.get_ordered_ops():
        kind = node.get_type_name()
        if kind == "FakeQuantize":
            return "INT8"
        if kind == "Constant":
            etype = node.get_output_element_type(0).get_type_name()
            if etype in INT8_TYPES and _const_elements(node) > 1:
                return "INT8"
            if etype == "f16" and _const_elements(node) > 1:
                has_f16 = True
    return "FP16" if has_f16 else "FP32"


def model_facts(model: Any) -> dict:
    return {
        "inputs": tensor_infos(model.inputs),
        "outputs": tensor_infos(model.outputs),
        "params": parameter_count(model),
        "gflops": gflops(model),
        "precision": storage_precision(model),
    }
