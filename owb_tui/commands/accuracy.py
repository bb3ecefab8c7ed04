"""`owb accuracy MODEL --dataset DS`: the task metric on an annotated dataset."""

from __future__ import annotations

import argparse
from typing import Any

from .targets import add_target_flag, target_param
from .common import add_command, add_infer_precision, emit, positive_int, styled
from .jobs import add_detach, run_job


def register(sub: Any) -> None:
    p = add_command(sub, "accuracy", "measure a model's accuracy on an annotated dataset", cmd_accuracy)
    p.add_argument("model", help="model name or id")
    p.add_argument("--dataset", required=True, help="annotated dataset name or id")
    p.add_argument("--batch", type=positive_int, default=1)
    add_infer_precision(p, "f32", "inference")
    add_target_flag(p)
    add_detach(p)


def cmd_accuracy(args: argparse.Namespace) -> int:
    # a job of the workspace's runner (engine.jobs.kinds), with --target too
    data = run_job(args, "accuracy", {"model": args.model, "dataset": args.dataset, "batch": args.batch,
                                      "infer_precision": args.infer_precision, **target_param(args)})
    return data if isinstance(data, int) else emit(args, data, lambda c: render_accuracy(c, data))


def render_accuracy(c: Any, r: dict) -> None:
    c.print(styled((r["model"], "bold"), f" on {r['dataset']}: {r['metric']} = ",
                   (f"{r['value'] * 100:.2f}%", "bold"), f" over {r['images']} images "
                   f"({r['images_per_s']:.1f} images/s, {r['inference_precision']})",
                   f" on target {r['target']}" if r.get("target") else ""))
    for k, v in r["details"].items():
        if isinstance(v, float) and k != r["metric"]:
            c.print(f"  {k}: {v * 100:.2f}%")
    worst = sorted(r["per_class"].items(), key=lambda kv: kv[1])[:5]
    if worst and len(r["per_class"]) > 1:
        c.print("  weakest classes: " + ", ".join(f"{k} {v * 100:.1f}%" for k, v in worst))
