"""Why an INT8 model is slower or faster than its parent here, in milliseconds.

Both per-layer tables are measured with the same settings (engine.measure.
layers), and lined up by original layer (engine.measure.attribution). Every
executed node of both models falls into exactly one bucket, so the buckets'
differences add up to the whole per-inference difference:

- int8 kernels: layers that run in i8/u8 in B, against the same layers in A;
- ops left in floating point, one bucket per reason (NNCF kept it out; the
  plugin has no int8 kernel for it, e.g. depthwise convolution; the plugin
  chose so);
- precision transitions: Reorders/Converts that change the element type;
- layout reorders: Reorders that only change the memory layout;
- FakeQuantize the plugin could not fuse into a neighbour;
- everything else.

The CPU features that decide the outcome (VNNI, AMX, BF16, the precision the
parent runs in) come from engine.device."""

from __future__ import annotations

from .attribution import canonical, groups, only_quantizers

COMPUTE = {"Convolution", "GroupConvolution", "FullyConnected", "MatMul", "Deconvolution", "GroupDeconvolution",
           "Gemm"}
PLUMBING = {"Reorder", "Convert"}
INTEGER = {"i8", "u8", "i4", "u4"}
TOP_LAYERS = 5

TITLES = {
    "int8": "int8 kernels",
    "transitions": "precision transitions (Reorder/Convert between element types)",
    "layout": "layout reorders",
    "fake_quantize": "FakeQuantize not fused",
    "other": "other layers",
}


def is_integer(row: dict) -> bool:
    return row["runtime_precision"].lower() in INTEGER


def float_reason(row: dict, kept_by_nncf: set[str]) -> str:
    """Why a compute layer of the INT8 model ran in floating point."""
    if {canonical(n) for n in row["original_layers"]} & kept_by_nncf:
        return "kept in floating point by NNCF (no quantizer on its input: ignored scope, reverted, or not quantizable)"
    primitive = row["primitive"].lower()
    if "_dw_" in primitive or "depthwise" in primitive:
        return f"no int8 depthwise-convolution kernel on this ISA: the plugin ran {row['primitive']}"
    return f"the plugin ran it in {row['runtime_precision']} ({row['primitive'] or 'no kernel name'})"


def _bucket_of_plumbing(row: dict) -> str:
    outs = {p.lower() for p in row["output_precisions"]}
    return "transitions" if outs and outs != {row["runtime_precision"].lower()} else "layout"


def buckets(ta: dict, tb: dict, kept_by_nncf: set[str]) -> dict[str, dict]:
    """Per bucket: A's and B's time (ms) and B's nodes in it."""
    out: dict[str, dict] = {}

    def add(key: str, side: str, row: dict) -> None:
        b = out.setdefault(key, {"a_ms": 0.0, "b_ms": 0.0, "rows_a": [], "rows_b": []})
        b[f"{side}_ms"] += row["exec_ms"]
        b[f"rows_{side}"].append(row)

    for a_rows, b_rows in groups(ta, tb):
        compute_b = [r for r in b_rows if r["type"] in COMPUTE and not only_quantizers(r)]
        if any(is_integer(r) for r in compute_b):
            compute_key = "int8"
        elif compute_b:
            compute_key = "float:" + float_reason(max(compute_b, key=lambda r: r["exec_ms"]), kept_by_nncf)
        else:
            compute_key = "other"
        for side, rows in (("a", a_rows), ("b", b_rows)):
            for r in rows:
                if r["type"] in PLUMBING:
                    add(_bucket_of_plumbing(r), side, r)
                elif only_quantizers(r):
                    add("fake_quantize", side, r)
                elif r["type"] in COMPUTE:
                    add(compute_key, side, r)
                else:
                    add("other", side, r)
    return out


def cpu_notes(facts: dict, parent_precision: str | None, bf16: bool) -> list[str]:
    notes = []
    if parent_precision == "bf16":
        notes.append("the parent runs in bf16 on this CPU, so INT8 competes with BF16, not FP32 "
                     "(--infer-precision f32 compares with FP32)")
    elif bf16:
        notes.append(f"this CPU has BF16, but the parent ran in {parent_precision}")
    notes.append("VNNI: int8 dot products in one instruction" if facts.get("vnni")
                 else "no VNNI: int8 convolutions run on plain integer SIMD code, gains are small")
    if facts.get("amx"):
        notes.append("AMX: int8 and bf16 matrix units, so both sides get fast matrix kernels")
    return notes


def diagnose(ta: dict, tb: dict, *, kept_by_nncf: set[str] | None = None, facts: dict | None = None,
             bf16: bool = False) -> dict:
    """The top contributors to B − A per inference, in ms, naming layers."""
    kept = {canonical(n) for n in (kept_by_nncf or set())}
    found = buckets(ta, tb, kept)
    total_a = sum(v["a_ms"] for v in found.values())
    total_b = sum(v["b_ms"] for v in found.values())
    contributors = []
    for key, v in found.items():
        delta = v["b_ms"] - v["a_ms"]
        kind, _, why = key.partition(":")
        if kind == "int8":
            # The layers that gained (or lost) most against their f32/bf16 selves.
            named = sorted(v["rows_b"], key=lambda r: r["exec_ms"], reverse=True)
        else:
            named = sorted(v["rows_b"] or v["rows_a"], key=lambda r: r["exec_ms"], reverse=True)
        contributors.append({
            "kind": "float" if kind == "float" else kind,
            "title": "ops left in floating point" if kind == "float" else TITLES[kind],
            "why": why or None,
            "ms": round(delta, 4),
            "a_ms": round(v["a_ms"], 4),
            "b_ms": round(v["b_ms"], 4),
            "nodes_a": len(v["rows_a"]),
            "nodes_b": len(v["rows_b"]),
            "layers": [r["name"] for r in named[:TOP_LAYERS]],
        })
    contributors.sort(key=lambda c: -abs(c["ms"]))
    delta = total_b - total_a
    facts = facts or {}
    notes = cpu_notes(facts, ta.get("inference_precision"), bf16)
    return {
        "delta_ms": round(delta, 4),
        "total_a_ms": round(total_a, 4),
        "total_b_ms": round(total_b, 4),
        "faster": delta < 0,
        "contributors": contributors,
        "cpu": {"vnni": bool(facts.get("vnni")), "amx": bool(facts.get("amx")), "bf16": bf16,
                "isa": facts.get("isa"), "parent_precision": ta.get("inference_precision"), "notes": notes},
        "summary": summary(delta, contributors),
    }


def summary(delta: float, contributors: list[dict], top: int = 3) -> str:
    word = "slower" if delta > 0 else "faster"
    parts = []
    for c in [c for c in contributors if (c["ms"] > 0) == (delta > 0) and c["ms"]][:top]:
        what = c["title"] + (f" ({c['why'].split(':')[0]})" if c["why"] else "")
        parts.append(f"{what} {c['ms']:+.3f} ms, e.g. {', '.join(c['layers'][:2])}")
    return f"INT8 is {abs(delta):.3f} ms per inference {word} in the layer times; " + ("; ".join(parts) or "no single cause")
