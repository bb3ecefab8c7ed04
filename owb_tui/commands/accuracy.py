"""`owb accuracy MODEL --dataset DS`: the task metric on an annotated dataset."""

from __future__ import annotations

import argparse
from typing import Any

from .targets import add_target_flag, run_on_target
from .common import add_command, add_infer_precision, emit, positive_int, progress_bar, styled, workspace


def register(sub: Any) -> None:
    p = add_command(sub, "accuracy", "measure a model's accuracy on an annotated dataset", cmd_accuracy)
    p.add_argument("model", help="model name or id")
    p.add_argument("--dataset", required=True, help="annotated dataset name or id")
    p.add_argument("--batch", type=positive_int, default=1)
    add_infer_precision(p, "f32", "inference")
    add_target_flag(p)


def cmd_accuracy(args: argparse.Namespace) -> int:
    from engine.evaluate import evaluate
    from engine.records import Dataset, Model

    ws = workspace(args)
    model, dataset = ws.get(Model, args.model), ws.get(Dataset, args.dataset)
    if args.target:
        from engine.evaluate import check_compatible

        check_compatible(model, dataset)
        params = {"kind": "accuracy", "model": model.id, "dataset": dataset.id, "batch": args.batch,
                  "precision": args.infer_precision}
        result = run_on_target(args, ws, params, f"accuracy of {model.name}")
    else:
        with progress_bar(args, f"accuracy of {model.name}") as progress:
            result = evaluate(ws, model, dataset, batch=args.batch, progress=progress, precision=args.infer_precision)
    data = {"model": model.name, "dataset": dataset.name, **result}

    def render(c: Any) -> None:
        c.print(styled((model.name, "bold"), f" on {dataset.name}: {result['metric']} = ",
                       (f"{result['value'] * 100:.2f}%", "bold"), f" over {result['images']} images "
                       f"({result['images_per_s']:.1f} images/s, {result['inference_precision']})",
                       f" on target {result['target']}" if result.get("target") else ""))
        for k, v in result["details"].items():
            if isinstance(v, float) and k != result["metric"]:
                c.print(f"  {k}: {v * 100:.2f}%")
        worst = sorted(result["per_class"].items(), key=lambda kv: kv[1])[:5]
        if worst and len(result["per_class"]) > 1:
            c.print("  weakest classes: " + ", ".join(f"{k} {v * 100:.1f}%" for k, v in worst))

    return emit(args, data, render)
