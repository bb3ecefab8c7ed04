"""An optimized model's measured speed against its parent, for the places
that must say it before anything else: the deployment package's README and
the export command and tab, which warn when the INT8 child is the slower one.

Only stored measurements are used, never an estimate: first the interleaved
parent/child runs made right after calibration (both models measured alike,
in turn; their stored ratio), else each model's latest throughput figure on
this CPU (engine.measure.protocol). With neither, there is nothing to say."""

from __future__ import annotations

from .records import Model
from .workspace import Workspace


def against_parent(ws: Workspace, model: Model) -> dict | None:
    """{"parent", "parent_fps", "child_fps", "ratio", "slower", "source", "cpu"}, or None."""
    from .compare import measured_throughput
    from .device import cpu_summary

    parent = ws.maybe(Model, model.parent) if model.parent else None
    if parent is None:
        return None
    post = (model.provenance.get("post") or {}).get("throughput_fps") or {}
    if post.get("parent") and post.get("child"):
        p, c = float(post["parent"]), float(post["child"])
        ratio = float(post["ratio"]) if post.get("ratio") else round(c / p, 3)
        source = "interleaved parent/child runs right after calibration"
        cpu = post.get("cpu") or "?"
    else:
        p, c = measured_throughput(ws, parent), measured_throughput(ws, model)
        if not p or not c:
            return None
        ratio = round(c / p, 3)
        source = "each model's latest throughput figure"
        cpu = cpu_summary()
    return {"parent": parent.name, "parent_fps": round(p, 2), "child_fps": round(c, 2), "ratio": ratio,
            "slower": ratio < 1, "source": source, "cpu": cpu}


def sentence(model: Model, s: dict) -> str:
    """The comparison in one sentence, as the README's first paragraph and the export warning say it."""
    figures = f"{s['child_fps']:.1f} vs {s['parent_fps']:.1f} FPS, {s['source']}; CPU: {s['cpu']}"
    if s["slower"]:
        return (f"Slower than its parent: {model.name} runs at {s['ratio']:.2f}x the throughput of "
                f"{s['parent']} on the CPU it was measured on ({figures}). Deploying {s['parent']} is "
                f"faster there; `owb compare {model.name}` shows where the time goes.")
    return f"{model.name} runs {s['ratio']:.2f}x as fast as its parent {s['parent']} ({figures})."
