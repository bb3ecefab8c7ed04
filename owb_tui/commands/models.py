"""`owb model import|list|show|configure`."""

from __future__ import annotations

import argparse
from typing import Any

from ..text import human_size
from .common import (OwbArgumentParser, add_command, cli_table, emit, parse_floats, parse_ints, styled,
                     workspace)


def register(sub: Any) -> None:
    group = sub.add_parser("model", help="import and inspect models")
    gsub = group.add_subparsers(dest="model_command", metavar="ACTION", required=True, parser_class=OwbArgumentParser)

    p = add_command(gsub, "import", "import a model (IR, ONNX, TFLite, Paddle, TF) as FP32 IR", cmd_import)
    p.add_argument("path", help="model file (.xml, .onnx, .tflite, .pdmodel, .pb) or SavedModel folder")
    p.add_argument("--name", help="name in the workspace (default: the file name)")
    p.add_argument("--output", type=_names, metavar="NAME[,NAME]",
                   help="cut the graph at these tensors: they become the model's outputs")
    p.add_argument("--input", metavar="NAME", help="the image input of a model with several inputs")
    _config_flags(p)

    p = add_command(gsub, "configure", "edit a model's input configuration", cmd_configure)
    p.add_argument("model", help="model name or id")
    _config_flags(p)

    add_command(gsub, "list", "list models", cmd_list)
    p = add_command(gsub, "remove", "remove a model with its results, reports and files", cmd_remove)
    p.add_argument("model", help="model name or id")
    p.add_argument("--recursive", action="store_true", help="also remove its optimized children")
    p = add_command(gsub, "show", "show a model's facts and input configuration", cmd_show)
    p.add_argument("model", help="model name or id")


def _config_flags(p: argparse.ArgumentParser) -> None:
    from engine.choices import COLORS, DECODERS, PAD_POSITIONS, RESIZE_MODES, TASKS
    from engine.norm_presets import NORM_PRESETS

    p.add_argument("--task", choices=TASKS)
    p.add_argument("--shape", type=parse_ints, metavar="1,3,H,W", help="static input shape, for dynamic models")
    p.add_argument("--layout", metavar="NCHW")
    p.add_argument("--color", choices=COLORS)
    p.add_argument("--mean", type=parse_floats, metavar="a,b,c", help="per-channel mean subtracted from pixels")
    p.add_argument("--scale", type=parse_floats, metavar="a,b,c", help="per-channel divisor applied after the mean")
    p.add_argument("--resize", choices=RESIZE_MODES,
                   help="stretch to the input; keep-aspect-pad (letterbox); center-crop (short side to "
                        "size / crop fraction, then the centre: torchvision's Resize + CenterCrop)")
    p.add_argument("--crop-fraction", type=float, metavar="F", help="center-crop's fraction (default 0.875: 224 of 256)")
    p.add_argument("--pad-position", choices=PAD_POSITIONS, help="where keep-aspect-pad puts the image")
    p.add_argument("--pad-value", type=int, metavar="0..255", help="keep-aspect-pad's padding grey level (default 0)")
    p.add_argument("--norm", choices=tuple(NORM_PRESETS),
                   help="mean/scale preset; an explicit --mean or --scale wins (caffe also sets BGR unless --color)")
    p.add_argument("--labels", metavar="FILE", help="class names, one per line")
    p.add_argument("--decoder", choices=DECODERS,
                   help="detection output decoder (default auto: picked from the output shapes)")


def _names(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise argparse.ArgumentTypeError("give tensor names separated by commas")
    return names


def _config(args: argparse.Namespace) -> dict:
    keys = ("task", "shape", "layout", "color", "mean", "scale", "resize", "crop_fraction", "pad_position",
            "pad_value", "norm", "decoder")
    return {k: getattr(args, k) for k in keys}


def model_json(ws: Any, m: Any) -> dict:
    from engine.optimize import unfinished_stages

    return {
        "name": m.name,
        "id": m.id,
        "task": m.config.task,
        "precision": m.precision,
        "inputs": m.inputs,
        "outputs": m.outputs,
        "path": str(ws.path(m.path)),
        "parent": m.parent,
        "config": m.config.to_dict(),
        "params": m.params,
        "gflops": m.gflops,
        "size_bytes": m.size_bytes,
        "source": m.source,
        "source_format": m.source_format,
        "provenance": m.provenance,
        "incomplete": unfinished_stages(m),
    }


def cmd_import(args: argparse.Namespace) -> int:
    from engine import models

    ws = workspace(args)
    m = models.import_model(ws, args.path, name=args.name, labels_file=args.labels, image_input=args.input,
                            outputs=args.output, **_config(args))
    return emit(args, model_json(ws, m), lambda c: _render_model(c, ws, m, f"imported model {m.name}"))


def cmd_configure(args: argparse.Namespace) -> int:
    from engine import models
    from engine.records import Model

    ws = workspace(args)
    m = models.configure(ws, ws.get(Model, args.model), labels_file=args.labels, **_config(args))
    return emit(args, model_json(ws, m), lambda c: _render_model(c, ws, m, f"configured model {m.name}"))


def cmd_list(args: argparse.Namespace) -> int:

    from engine.records import Model

    from engine.jobs import client

    ws = workspace(args)
    ms = ws.all(Model)
    names = {m.id: m.name for m in ms}
    running = {j.id for j in client.active(ws)}

    def render(c: Any) -> None:
        t = cli_table("name", "id", "task", "precision", "input", "size", "parent", "")
        for m in ms:
            shape = m.inputs[0]["shape"] if m.inputs else []
            t.add_row(m.name, m.id, m.config.task, m.precision, "×".join(map(str, shape)), human_size(m.size_bytes),
                      names.get(m.parent or "", ""), status(m, running))
        c.print(t if ms else "no models yet: `owb model import PATH` or `owb demo`")
        for m in ms:
            note = incomplete_note(m, running)
            if note and m.provenance.get("job") not in running:
                c.print(f"{m.name}: {note}", style="yellow", markup=False)

    return emit(args, [model_json(ws, m) for m in ms], render)


def status(m: Any, running: set[str]) -> str:
    from engine.optimize import unfinished_stages

    if not unfinished_stages(m):
        return ""
    return "measuring" if m.provenance.get("job") in running else "incomplete"


def incomplete_note(m: Any, running: set[str] = frozenset()) -> str:
    """Why a model left by an interrupted job is not finished, and what to do."""
    from engine.optimize import unfinished_stages

    missing = unfinished_stages(m)
    if not missing:
        return ""
    job = m.provenance.get("job", "")
    if job in running:
        return f"job {job} is measuring its {' and '.join(missing)}"
    return f"incomplete: no {' or '.join(missing)}; `owb jobs retry {job}` or `owb model remove {m.name}`"


def cmd_remove(args: argparse.Namespace) -> int:
    from engine.projects import remove_model
    from engine.records import Model

    ws = workspace(args)
    gone = remove_model(ws, ws.get(Model, args.model), recursive=args.recursive)
    data = {"removed": [{"name": m.name, "id": m.id} for m in gone]}
    return emit(args, data, lambda c: c.print("removed " + ", ".join(m.name for m in gone), markup=False))


def cmd_show(args: argparse.Namespace) -> int:
    from engine.records import Model

    ws = workspace(args)
    m = ws.get(Model, args.model)
    return emit(args, model_json(ws, m), lambda c: _render_model(c, ws, m, f"model {m.name}"))


def _render_model(c: Any, ws: Any, m: Any, title: str) -> None:

    from engine.preprocess import describe_resize

    cfg = m.config
    c.print(styled((title, "bold"), f" ({m.id})  {m.precision}  {human_size(m.size_bytes)}  "
            f"{m.params:,} params  {m.gflops if m.gflops is not None else '?'} GFLOPs"))
    t = cli_table("", "name", "shape", "type", key=1)
    for kind, ports in (("input", m.inputs), ("output", m.outputs)):
        for p in ports:
            t.add_row(kind, p["name"], "×".join(map(str, p["shape"])), p["type"])
    c.print(t)
    labels = f"{len(cfg.labels)} labels" if cfg.labels else "no labels"
    c.print(f"task {cfg.task}, shape {cfg.shape}, layout {cfg.layout}, colour {cfg.color}, "
            f"mean {cfg.mean}, scale {cfg.scale}{f' ({cfg.norm})' if cfg.norm else ''}, resize {describe_resize(cfg)}, "
            f"{labels}"
            + (f", decoder {cfg.decoder}" if cfg.task == "detection" else ""))
    c.print(f"IR: {ws.path(m.path)}")
    note = incomplete_note(m)
    if note:
        c.print(note, style="yellow", markup=False)
