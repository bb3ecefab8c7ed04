"""Quantizer groups and the time each one costs on this CPU.

A quantizer group, as owb searches over them, is one operation of the parent
whose inputs NNCF quantizes: the FakeQuantize nodes feeding it (activation
and weights) belong to it. Keeping a group in floating point is
``nncf.IgnoredScope(names=[op])``; the names come from the INT8 graph NNCF
built, so they are the names NNCF itself accepts.

Time is charged from the runtime (executable) graph: every runtime node
carries ``originalLayersNames``; a node made of a group's operation, or of a
FakeQuantize that feeds it, is charged to that group. A FakeQuantize is named
after the tensor it quantizes (``relu_1/fq_output_0``), not after the op that
reads it, so quantizers are mapped to groups through the graph itself. Nodes
the plugin inserted (Reorders, Converts) have no original layer and are
charged to the node they feed (engine.measure.attribution.served_layers),
as Compare lines layers up."""

from __future__ import annotations

from typing import Any

OTHER = "(other)"
# Ops that carry a quantized tensor through unchanged: a FakeQuantize above
# them still quantizes the input of the op below (OpenVINO's LPT sees so too).
PASSTHROUGH = {"Convert", "Reshape", "Transpose", "Squeeze", "Unsqueeze", "MaxPool", "Split", "VariadicSplit",
               "StridedSlice", "Concat", "Gather", "Slice", "Pad", "DepthToSpace", "SpaceToDepth",
               "ShuffleChannels"}


def quantizer_groups(int8_model: Any) -> dict[str, list[str]]:
    """{op name: the FakeQuantize names feeding it}, for every op of an NNCF
    INT8 model that reads a quantized input, in graph order."""
    groups: dict[str, list[str]] = {}
    for node in int8_model.get_ordered_ops():
        if node.get_type_name() != "FakeQuantize":
            continue
        fq = node.get_friendly_name()
        for op in _readers(node):
            groups.setdefault(op.get_friendly_name(), []).append(fq)
    order = {n.get_friendly_name(): i for i, n in enumerate(int8_model.get_ordered_ops())}
    return dict(sorted(groups.items(), key=lambda kv: order.get(kv[0], 0)))


def _readers(node: Any) -> list[Any]:
    out, stack, seen = [], [node], set()
    while stack:
        current = stack.pop()
        for port in current.outputs():
            for target in port.get_target_inputs():
                reader = target.get_node()
                name = reader.get_friendly_name()
                if name in seen:
                    continue
                seen.add(name)
                kind = reader.get_type_name()
                if kind in PASSTHROUGH:
                    stack.append(reader)
                elif kind not in ("FakeQuantize", "Result"):
                    out.append(reader)
    return out


def owners(groups: dict[str, list[str]]) -> dict[str, list[str]]:
    """{original layer name: the groups it belongs to}: each group's op, and
    each FakeQuantize to every group it feeds."""
    out: dict[str, list[str]] = {}
    for group, fqs in groups.items():
        out.setdefault(group, []).append(group)
        for fq in fqs:
            out.setdefault(fq, []).append(group)
    return out


def charge(table: dict, groups: dict[str, list[str]]) -> dict[str, float]:
    """Milliseconds per inference of each group in a per-layer table
    (engine.layers.layer_table); time no group owns goes to OTHER. A runtime
    node shared by several groups (fused ops) is split evenly between them."""
    from ..measure.attribution import served_layers

    owned = owners(groups)
    by_name = {r["name"]: r for r in table["layers"]}
    out: dict[str, float] = {}
    for row in table["layers"]:
        if not row.get("executed"):
            continue
        mine = sorted({g for n in served_layers(row, by_name) for g in owned.get(n, ())})
        for g in mine or [OTHER]:
            out[g] = out.get(g, 0.0) + row["exec_ms"] / max(len(mine), 1)
    return out

