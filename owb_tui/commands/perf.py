"""`owb benchmark | explore | layers | cpu`: speed, measured like benchmark_app."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .common import add_command, cli_table, emit, parse_ints, workspace


def register(sub: Any) -> None:
    from engine.benchmark import DEFAULT_TIME_S, HINTS
    from engine.explore import DEFAULT_BATCHES, DEFAULT_CELL_TIME_S, DEFAULT_STREAMS
    from engine.layers import DEFAULT_RUNS
    from engine.precision import CHOICES, SPEED_DEFAULT

    def add_precision(p: Any) -> None:
        p.add_argument("--infer-precision", choices=CHOICES, default=SPEED_DEFAULT,
                       help="floating-point precision to run in (default auto: the plugin's choice, "
                            "bf16 on CPUs with BF16)")

    p = add_command(sub, "benchmark", "measure throughput and latency the way benchmark_app does", cmd_benchmark)
    p.add_argument("model", help="model name or id")
    p.add_argument("--dataset", help="feed this dataset's images instead of random data (stores in its project)")
    p.add_argument("--time", type=float, default=DEFAULT_TIME_S, metavar="S", help=f"seconds to measure (default {DEFAULT_TIME_S:g})")
    p.add_argument("--hint", choices=HINTS, default="throughput", help="performance hint (default throughput)")
    p.add_argument("--streams", type=int, metavar="N", help="NUM_STREAMS (default: what the hint picks)")
    p.add_argument("--requests", type=int, metavar="N", help="infer requests (default: OPTIMAL_NUMBER_OF_INFER_REQUESTS)")
    p.add_argument("--batch", type=int, metavar="B", help="batch size (default: the model's configured shape)")
    add_precision(p)

    p = add_command(sub, "explore", "sweep batch × streams and find the best throughput under a latency limit", cmd_explore)
    p.add_argument("model", help="model name or id")
    p.add_argument("--batches", type=parse_ints, default=list(DEFAULT_BATCHES), metavar="1,2,4,8")
    p.add_argument("--streams", type=parse_ints, default=list(DEFAULT_STREAMS), metavar="1,2,4")
    p.add_argument("--time", type=float, default=DEFAULT_CELL_TIME_S, metavar="S", help=f"seconds per cell (default {DEFAULT_CELL_TIME_S:g})")
    p.add_argument("--latency-limit", type=float, metavar="MS", help="median latency limit for the sweet spot")
    p.add_argument("--dataset", help="feed this dataset's images instead of random data")
    add_precision(p)

    p = add_command(sub, "layers", "per-layer runtime precision, kernel and time", cmd_layers)
    p.add_argument("model", help="model name or id")
    p.add_argument("--runs", type=int, default=DEFAULT_RUNS, metavar="N", help=f"inferences to average (default {DEFAULT_RUNS})")
    p.add_argument("--batch", type=int, metavar="B")
    p.add_argument("--top", type=int, metavar="N", help="show only the N slowest layers")
    add_precision(p)

    add_command(sub, "cpu", "what this CPU offers OpenVINO (ISA, VNNI, AMX, default precision)", cmd_cpu)


def _say(args: argparse.Namespace, text: str) -> None:
    # One line before a long measurement, not a spinner: a refreshing display
    # would steal CPU from the run it is timing.
    if not args.json:
        print(text, file=sys.stderr, flush=True)


def cmd_benchmark(args: argparse.Namespace) -> int:
    from engine.benchmark import BenchmarkSettings, run_benchmark
    from engine.records import Dataset, Model

    settings = BenchmarkSettings(time_s=args.time, hint=args.hint, streams=args.streams,
                                 requests=args.requests, batch=args.batch, infer_precision=args.infer_precision)
    settings.validate()
    ws = workspace(args)
    model = ws.get(Model, args.model)
    dataset = ws.get(Dataset, args.dataset) if args.dataset else None
    _say(args, f"benchmarking {model.name} for {settings.time_s:g} s ({settings.hint} hint)…")
    _, r = run_benchmark(ws, model, settings, dataset=dataset)
    return emit(args, r, lambda c: render_benchmark(c, r))


def render_benchmark(c: Any, r: dict) -> None:
    lat = r["latency_ms"]
    from engine.device import float_precision_note

    note = float_precision_note(r["model_precision"], r["inference_precision"])
    c.print(f"[bold]benchmark {r['model']}[/] ({r['model_precision']} IR, {note}) on {r['device']}: {r['cpu']}")
    c.print(f"throughput [bold green]{r['throughput_fps']:.1f} FPS[/]   {r['hint']} hint ({r['api']}), {r['streams']} streams, "
            f"{r['requests']} requests, {r['threads']} threads, batch {r['batch']}")
    c.print(f"latency ms  median {lat['median']:.2f}  avg {lat['avg']:.2f}  min {lat['min']:.2f}  "
            f"max {lat['max']:.2f}  p90 {lat['p90']:.2f}")
    c.print(f"{r['iterations']} iterations in {r['elapsed_s']:.2f} s; compile {r['compile_ms']:.0f} ms, "
            f"first inference {r['first_inference_ms']:.2f} ms; inputs {r['inputs']}")
    where = f"project {r['project']}" if r.get("project") else "model history"
    c.print(f"stored as {r['id']} in the {where}")


def cmd_explore(args: argparse.Namespace) -> int:
    from engine.explore import run_explore, validate_grid
    from engine.records import Dataset, Model

    validate_grid(args.batches, args.streams, args.time, args.latency_limit)
    ws = workspace(args)
    model = ws.get(Model, args.model)
    dataset = ws.get(Dataset, args.dataset) if args.dataset else None
    cells = len(set(args.batches)) * len(set(args.streams))
    _say(args, f"exploring {model.name}: {cells} cells × {args.time:g} s…")
    _, r = run_explore(ws, model, args.batches, args.streams, time_s=args.time,
                       latency_limit_ms=args.latency_limit, dataset=dataset, infer_precision=args.infer_precision)
    return emit(args, r, lambda c: render_explore(c, r))


def render_explore(c: Any, r: dict) -> None:

    c.print(f"[bold]explore {r['model']}[/] ({r['model_precision']}) on {r['device']}: {r['cpu']}")
    t = cli_table("batch", *[f"{s} streams" for s in r["streams"]], key=None, title="FPS / median latency ms")
    best = r["sweet_spot"]
    by = {(cell["batch"], cell["requested_streams"]): cell for cell in r["cells"]}
    for b in r["batches"]:
        row = []
        for s in r["streams"]:
            cell = by[(b, s)]
            text = f"{cell['throughput_fps']:.1f} / {cell['latency_ms']['median']:.2f}"
            if not cell["measured"]:
                text = f"[dim]= {cell['same_as']['streams']} streams[/]"
            elif best is not None and (best["batch"], best["requested_streams"]) == (b, s):
                text = f"[bold green]★ {text}[/]"
            row.append(text)
        t.add_row(str(b), *row)
    c.print(t)
    if any(not cell["measured"] for cell in r["cells"]):
        c.print(f"[dim]this CPU runs at most {r['max_streams']} streams; cells marked = ran as that configuration[/]")
    c.print(("[bold]sweet spot[/]: " if best else "[yellow]no sweet spot[/]: ") + r["sweet_spot_note"])
    c.print(f"stored as {r['id']}")


def cmd_layers(args: argparse.Namespace) -> int:
    from engine.errors import BadInput
    from engine.layers import layers_for_model
    from engine.records import Model

    if args.batch is not None and args.batch < 1:
        raise BadInput(f"--batch must be 1 or more, not {args.batch}")
    if args.runs < 1:
        raise BadInput(f"--runs must be 1 or more, not {args.runs}")
    if args.top is not None and args.top < 1:
        raise BadInput(f"--top must be 1 or more, not {args.top}")
    ws = workspace(args)
    model = ws.get(Model, args.model)
    _say(args, f"profiling {model.name} over {args.runs} inferences…")
    table = layers_for_model(ws, model, runs=args.runs, batch=args.batch, infer_precision=args.infer_precision)
    return emit(args, table, lambda c: render_layers(c, table, args.top))


def render_layers(c: Any, table: dict, top: int | None) -> None:

    from engine.layers import slowest

    from engine.device import float_precision_note

    note = float_precision_note(table["model_precision"], table["inference_precision"])
    c.print(f"[bold]layers of {table['model']}[/] ({table['model_precision']} IR, {note}): "
            f"{table['executed_layers']} executed of {table['graph_nodes']} "
            f"runtime nodes, {table['total_ms']:.3f} ms summed, {table['latency_ms_avg']:.3f} ms per inference "
            f"(mean of {table['runs']}); {table['cpu']}")
    for key, title in (("type", "by layer type"), ("runtime_precision", "by runtime precision")):
        groups = table["by_type" if key == "type" else "by_precision"]
        t = cli_table(key.replace("_", " "), "count", "total ms", "share", title=title)
        for g in groups:
            t.add_row(g[key], str(g["count"]), f"{g['total_ms']:.3f}", f"{g['share']:.1%}")
        c.print(t)
    rows = slowest(table, top) if top else [r for r in table["layers"] if r["executed"]]
    t = cli_table("#", "ms", "type", "precision", "kernel", "name (+ fused original layers)", key=None,
                  title=f"the {top} slowest layers" if top else "executed layers in order")
    for r in rows:
        outs = sorted(set(r["output_precisions"]))
        prec = r["runtime_precision"] + (f"→{','.join(outs)}" if outs and outs != [r["runtime_precision"]] else "")
        fused = [n for n in r["original_layers"] if n != r["name"]]
        name = r["name"] + (f" (+{len(fused)}: {fused[0]}{' …' if len(fused) > 1 else ''})" if fused else "")
        t.add_row(str(r["exec_order"]), f"{r['exec_ms']:.4f}", r["type"], prec, r["primitive"], name)
    c.print(t)


def cmd_cpu(args: argparse.Namespace) -> int:
    from engine.device import cpu_facts

    facts = dict(cpu_facts())

    def render(c: Any) -> None:
        c.print(f"[bold]{facts['full_device_name']}[/]: {facts['cores']} cores, {facts['isa']}")
        c.print(f"OpenVINO capabilities: {', '.join(facts['optimization_capabilities'])}; "
                f"FP32 models run as {facts['default_inference_precision']}")
        c.print(f"INT8: {facts['int8_note']}")
        if facts["flags_source"]:
            c.print(f"flags ({facts['flags_source']}): {' '.join(facts['flags']) or 'none of interest'}")

    return emit(args, facts, render)
