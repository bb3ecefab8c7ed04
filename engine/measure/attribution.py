"""Per-layer times of two models lined up by original layer.

The CPU plugin fuses, renames and inserts nodes, so a parent's convolution
and its INT8 child's are different runtime nodes. Every runtime node carries
``originalLayersNames`` (rt_info): the layers of the IR it executes. Nodes of
both models that share an original layer are one group (a union-find over
both graphs), so a group is "this convolution in f32 on one side, in i8 plus
the quantizer work fused into it on the other".

Nodes the plugin inserted have no original layer (a Reorder that changes
layout or precision, a Convert); they are charged to the layer they serve:
the first node downstream that has one. So the time INT8 added around a
convolution lands on that convolution's row."""

from __future__ import annotations

QUANTIZER_SUFFIX = "/fq_"
SERVE_DEPTH = 8  # inserted nodes chain (Reorder → Reorder → conv) only a few deep


def canonical(name: str) -> str:
    """An original layer name without NNCF's quantizer suffixes, so that
    'p2o.Relu.0/fq_output_0' in the INT8 graph matches 'p2o.Relu.0'."""
    return name.split(QUANTIZER_SUFFIX, 1)[0]


def only_quantizers(row: dict) -> bool:
    """A node that does nothing but quantize (a FakeQuantize the plugin could
    not fuse into a neighbour)."""
    names = row["original_layers"]
    return row["type"] == "FakeQuantize" or (bool(names) and all(QUANTIZER_SUFFIX in n for n in names))


def served_layers(row: dict, by_name: dict[str, dict]) -> list[str]:
    """The original layers a node works for: its own, else those of the first
    node downstream that has some (inserted Reorders and Converts)."""
    seen: set[str] = set()
    current = row
    for _ in range(SERVE_DEPTH):
        if current["original_layers"]:
            return current["original_layers"]
        nxt = next((by_name[c] for c in current.get("consumers", []) if c in by_name and c not in seen), None)
        if nxt is None:
            return []
        seen.add(nxt["name"])
        current = nxt
    return []


def groups(ta: dict, tb: dict) -> list[tuple[list[dict], list[dict]]]:
    """Executed runtime nodes of A and B grouped by shared original layers:
    a list of (A's nodes, B's nodes)."""
    nodes: list[tuple[str, dict, list[str]]] = []
    for tag, table in (("a", ta), ("b", tb)):
        by_name = {r["name"]: r for r in table["layers"]}
        for r in table["layers"]:
            if r["executed"]:
                nodes.append((tag, r, served_layers(r, by_name)))
    parent = list(range(len(nodes)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict[str, int] = {}
    for i, (tag, r, names) in enumerate(nodes):
        for key in {canonical(n) for n in names} or {f"{tag}:{r['name']}"}:  # no originals: a node of its own
            if key in owner:
                parent[find(i)] = find(owner[key])
            else:
                owner[key] = i
    found: dict[int, tuple[list[dict], list[dict]]] = {}
    for i, (tag, r, _) in enumerate(nodes):
        pair = found.setdefault(find(i), ([], []))
        pair[0 if tag == "a" else 1].append(r)
    return list(found.values())


def _precisions(rows: list[dict]) -> str | None:
    seen = sorted({r["runtime_precision"] for r in rows if r["runtime_precision"]})
    return "/".join(seen) if rows else None


def _lead(rows: list[dict]) -> dict:
    # Named after the group's slowest node that is not inserted plumbing, so
    # rows read in the parent's vocabulary ("p2o.Conv.3", not a Reorder).
    real = [r for r in rows if r["original_layers"] and not only_quantizers(r)] or rows
    return max(real, key=lambda r: r["exec_ms"])


def kernel_table(ta: dict, tb: dict) -> list[dict]:
    """One row per group, largest time difference first; a group seen in one
    model only is 'only in A' or 'only in B'."""
    rows = []
    for a, b in groups(ta, tb):
        lead = _lead(a or b)
        extra = len(a or b) - 1
        ms_a, ms_b = sum(r["exec_ms"] for r in a), sum(r["exec_ms"] for r in b)
        rows.append({
            "layer": lead["name"] + (f" (+{extra})" if extra else ""),
            "type": lead["type"],
            "time_a_ms": round(ms_a, 5) if a else None,
            "time_b_ms": round(ms_b, 5) if b else None,
            "delta_ms": round(ms_b - ms_a, 5),
            "precision_a": _precisions(a),
            "precision_b": _precisions(b),
            "nodes_a": len(a),
            "nodes_b": len(b),
            "added_b": [r["name"] for r in b if not r["original_layers"] or only_quantizers(r)],
            "only_in": None if a and b else ("A" if a else "B"),
        })
    return sorted(rows, key=lambda r: -abs(r["delta_ms"]))
