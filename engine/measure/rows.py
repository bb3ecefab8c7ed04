"""Measured results as rows of text, shaped once: the CLI prints them in its
tables and the TUI puts them in DataTables, each front end only styling them
(justified, clipped to its width, coloured), as engine/reports/table.py
does for reports. A number reads the same in `owb layers` and on the
project page's Layers tab because it is formatted here, once."""

from __future__ import annotations

Row = list[str]


def layer_groups(table: dict, key: str) -> list[Row]:
    """A layer table's groups by "type" or "runtime_precision":
    name, layers, total ms, share of the summed time."""
    groups = table["by_type" if key == "type" else "by_precision"]
    return [[str(g[key]), str(g["count"]), f"{g['total_ms']:.3f}", f"{g['share']:.1%}"] for g in groups]


def precision_rows(layers: dict) -> list[Row]:
    """Compare's layers per runtime precision: precision, A layers, A ms, B layers, B ms."""
    return [[r["precision"], str(r["a_count"]), f"{r['a_ms']:.3f}", str(r["b_count"]), f"{r['b_ms']:.3f}"]
            for r in layers["by_precision"]]


def why_rows(why: dict, *, moved_only: bool = False) -> list[Row]:
    """Compare's why-table: B − A ms, what (and why), B's nodes, the first
    original layers. ``moved_only`` leaves out the contributors with no time
    on either side (the CLI's table keeps to what moved)."""
    rows = []
    for k in why.get("contributors", []):
        if moved_only and not k["ms"] and not k["b_ms"]:
            continue
        what = k["title"] + (f": {k['why']}" if k["why"] else "")
        rows.append([f"{k['ms']:+.3f}", what, str(k["nodes_b"]), ", ".join(k["layers"][:3])])
    return rows
