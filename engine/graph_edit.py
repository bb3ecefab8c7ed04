"""What import changes in a graph: outputs cut at named tensors (Model
Optimizer's --output, e.g. to reach the ImageNet head inside a retrained
TensorFlow graph), the one image input owb feeds, and f16-stored weights
decompressed so the parent really is FP32.

owb feeds one image tensor, so the kept graph must depend on that input
alone; other inputs either fall away with the cut or are refused by name."""

from __future__ import annotations

import difflib
from typing import Any

from .errors import BadInput


def _names(port: Any) -> list[str]:
    return sorted(port.get_names())


def _output_ports(model: Any) -> dict[str, Any]:
    """Every named tensor of the graph, by each of its names."""
    ports: dict[str, Any] = {}
    for node in model.get_ordered_ops():
        if node.get_type_name() in ("Result", "Constant"):
            continue
        for port in node.outputs():
            for name in port.get_names():
                ports.setdefault(name, port)
    return ports


def _describe_inputs(params: list[Any]) -> str:
    return ", ".join(f"{(_names(p.output(0)) or [p.get_friendly_name()])[0]} {p.get_partial_shape()}"
                     for p in params)


def _looks_like_image(param: Any) -> bool:
    shape = param.get_partial_shape()
    if shape.rank.is_dynamic or shape.rank.get_length() != 4:
        return False
    dims = [d.get_length() if d.is_static else -1 for d in shape]
    return dims[1] in (1, 3) or dims[3] in (1, 3)


def _parameters_reached(results: list[Any]) -> list[Any]:
    seen: set[int] = set()
    found: dict[int, Any] = {}  # by instance id: a node's Python wrapper is new on every call
    stack = [r.input_value(0).get_node() for r in results]
    while stack:
        node = stack.pop()
        key = node.get_instance_id()
        if key in seen:
            continue
        seen.add(key)
        if node.get_type_name() == "Parameter":
            found[key] = node
        stack.extend(v.get_node() for v in node.input_values())
    return list(found.values())


def _image_parameter(model: Any, wanted: str | None) -> Any:
    params = list(model.get_parameters())
    if wanted is not None:
        for p in params:
            if wanted in p.output(0).get_names() or wanted == p.get_friendly_name():
                return p
        raise BadInput(f"no model input named {wanted!r}; its inputs are {_describe_inputs(params)}")
    if len(params) == 1:
        return params[0]
    images = [p for p in params if _looks_like_image(p)]
    if len(images) == 1:
        return images[0]
    raise BadInput(f"the model has {len(params)} inputs ({_describe_inputs(params)}); "
                   "name the image input with --input NAME",
                   tui=f"the model has {len(params)} inputs ({_describe_inputs(params)}); "
                       "name the image one in the input field")


def select_graph(model: Any, *, image_input: str | None = None, outputs: list[str] | None = None) -> Any:
    """The graph owb keeps: results at ``outputs`` (tensor names) or the
    model's own, fed by the one image input. Unchanged when nothing is cut."""
    import openvino as ov
    import openvino.opset13 as ops

    if outputs:
        ports = _output_ports(model)
        results = []
        for name in outputs:
            if name not in ports:
                close = difflib.get_close_matches(name, list(ports), n=3)
                hint = f"; did you mean {', '.join(close)}?" if close else ""
                raise BadInput(f"no tensor named {name!r} in the model to cut at{hint}")
            results.append(ops.result(ports[name]))
    else:
        results = list(model.get_results())
    image = _image_parameter(model, image_input)
    reached = _parameters_reached(results)
    others = [p for p in reached if p.get_instance_id() != image.get_instance_id()]
    if others:
        raise BadInput(f"the outputs read input(s) {_describe_inputs(others)} besides the image input; "
                       "owb feeds one image: cut the graph before them with --output",
                       tui=f"the outputs read input(s) {_describe_inputs(others)} besides the image input; "
                           "cut the graph before them: name tensors in the cut at field")
    if not any(p.get_instance_id() == image.get_instance_id() for p in reached):
        raise BadInput(f"the chosen outputs do not depend on the image input {_describe_inputs([image])}")
    if not outputs and len(model.get_parameters()) == 1:
        return model
    return ov.Model(results, [image], model.get_friendly_name())


def decompress_fp16(model: Any) -> int:
    """Replace every f16 weight Constant -> Convert(f32) pair by an f32 Constant.

    An FP16-compressed IR keeps that pair through save_model(compress_to_fp16=
    False), and OpenVINO marks the Convert so constant folding leaves it, so the
    values are converted here. Returns how many constants were decompressed."""
    import numpy as np
    import openvino.opset13 as ops

    count = 0
    for node in model.get_ordered_ops():
        if node.get_type_name() != "Convert" or node.get_output_element_type(0).get_type_name() != "f32":
            continue
        source = node.input_value(0).get_node()
        if source.get_type_name() != "Constant" or source.get_output_element_type(0).get_type_name() != "f16":
            continue
        weights = ops.constant(np.asarray(source.get_data(), dtype=np.float32))
        weights.set_friendly_name(source.get_friendly_name())
        node.output(0).replace(weights.output(0))
        count += 1
    if count:
        model.validate_nodes_and_infer_types()
    return count
