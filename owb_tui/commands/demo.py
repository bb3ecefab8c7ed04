"""`owb demo`: make the embedded demo model and datasets, then say what next."""

from __future__ import annotations

import argparse
from typing import Any

from .common import add_command, emit, styled, workspace


def register(sub: Any) -> None:
    add_command(sub, "demo", "create the demo model and datasets (idempotent)", cmd_demo)


def cmd_demo(args: argparse.Namespace) -> int:
    from engine.demo import ANNOTATED_NAME, UNANNOTATED_NAME, run_demo

    ws = workspace(args)
    out = run_demo(ws)
    m = out["model"]
    home = f" --home {ws.home}" if args.home else ""
    steps = [
        (f"owb{home} benchmark {m.name}", "baseline speed"),
        (f"owb{home} accuracy {m.name} --dataset {ANNOTATED_NAME}", "baseline accuracy"),
        (f"owb{home} calibrate {m.name} --dataset {ANNOTATED_NAME}", "INT8 child, measured against its parent"),
        (f"owb{home} compare {m.name} {m.name}-int8", "speed, size, layers, verdict"),
        (f"owb{home}", "the terminal UI"),
    ]
    data = {
        "home": str(ws.home),
        "model": m.name,
        "datasets": {k: {"name": d.name, "images": d.images, "annotated": d.annotated} for k, d in out["datasets"].items()},
        "created": out["created"],
        "next": [cmd for cmd, _ in steps],
    }

    def render(c: Any) -> None:
        made = ", ".join(out["created"]) or "nothing new (already there)"
        c.print(styled(("owb demo", "bold"), f" in {ws.home}: created {made}"))
        ds = out["datasets"]
        c.print(f"model {m.name}: {m.precision}, input {m.inputs[0]['shape']}, {len(m.config.labels or [])} classes")
        c.print(f"datasets: {ANNOTATED_NAME} ({ds[ANNOTATED_NAME].images} annotated images), "
                f"{UNANNOTATED_NAME} ({ds[UNANNOTATED_NAME].images} unannotated)")
        c.print("next:")
        for cmd, why in steps:
            c.print(styled(("  # " + why, "dim")), soft_wrap=True)
            c.print(styled(("  " + cmd, "bold")), soft_wrap=True)

    return emit(args, data, render)
