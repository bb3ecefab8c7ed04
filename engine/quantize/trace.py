"""The speed-aware search's trace in words and rows, for the CLI, the child's
page and Compare alike (the screens only lay them out)."""

from __future__ import annotations

CANDIDATE_COLUMNS = ("#", "candidate", "groups in FP", "× parent", "spread", "× its base", "metric", "drop",
                     "kept", "note")
GROUP_COLUMNS = ("kept in floating point", "ms INT8 added", "metric effect (pt)", "measured")


def summary(search: dict) -> str:
    """'speed-aware search, 184 s (done; top-1 agreement, max drop 1): <verdict>'."""
    return (f"speed-aware search, {search['seconds']:.0f} s ({search['stopped']}; {search['metric']}, "
            f"max drop {search['max_drop']:g}, {search.get('inference_precision') or '?'}): {search['verdict']}")


def candidate_rows(search: dict) -> list[tuple[str, ...]]:
    rows = []
    for k in search["candidates"]:
        sp = k.get("ratio_spread") or {}
        rows.append((
            str(k["step"]), k["label"], str(len(k["fp_groups"])),
            f"{k['ratio']:.3f}" if k.get("ratio") else "",
            f"{sp['low']:.2f}–{sp['high']:.2f} ({sp['runs']})" if sp else "",
            f"{k['ratio_to_base']:.3f}" if k.get("ratio_to_base") else "",
            f"{k['metric'] * 100:.2f}%" if k.get("metric") is not None else "",
            f"{k['drop']:.2f}" if k.get("drop") is not None else "",
            "yes" if k["accepted"] else "no",
            k.get("note", ""),
        ))
    return rows


def group_rows(search: dict) -> list[tuple[str, ...]]:
    rows = []
    for g in search.get("kept_in_fp", []):
        ms, eff = g.get("int8_added_ms"), g.get("metric_effect_pt")
        rows.append((g["group"], f"{ms:+.4f}" if ms is not None else "", f"{eff:+.2f}" if eff is not None else "",
                     g["effect_measured"]))
    return rows
