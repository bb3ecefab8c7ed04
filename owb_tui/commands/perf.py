"""`owb benchmark | explore | layers | cpu`: speed, measured like benchmark_app."""

from __future__ import annotations

import argparse
from typing import Any

from .targets import add_target_flag, target_param
from .common import add_command, cli_table, emit, number, parse_ints, positive_int, styled, workspace
from .jobs import add_detach, run_job


def register(sub: Any) -> None:
    from engine.choices import (BENCHMARK_TIME_S, EXPLORE_BATCHES, EXPLORE_CELL_TIME_S, EXPLORE_STREAMS, HINTS,
                                LAYER_RUNS, ROUNDS)

    from .common import add_infer_precision as add_precision

    p = add_command(sub, "benchmark", "measure throughput and latency the way benchmark_app does", cmd_benchmark)
    p.add_argument("model", help="model name or id")
    p.add_argument("--dataset", help="feed this dataset's images instead of random data (stores in its project)")
    p.add_argument("--time", type=number, default=BENCHMARK_TIME_S, metavar="S",
                   help=f"seconds to measure in all, shared by the runs (default {BENCHMARK_TIME_S:g})")
    p.add_argument("--runs", type=positive_int, default=ROUNDS, metavar="N",
                   help=f"runs the time is split into; the figure is their median with its spread (default {ROUNDS})")
    p.add_argument("--hint", choices=HINTS, default=HINTS[0], help="performance hint (default throughput)")
    p.add_argument("--streams", type=int, metavar="N", help="NUM_STREAMS (default: what the hint picks)")
    p.add_argument("--requests", type=int, metavar="N", help="infer requests (default: OPTIMAL_NUMBER_OF_INFER_REQUESTS)")
    p.add_argument("--batch", type=int, metavar="B", help="batch size (default: the model's configured shape)")
    add_precision(p)
    add_target_flag(p)
    add_detach(p)

    p = add_command(sub, "explore", "sweep batch × streams and find the best throughput under a latency limit", cmd_explore)
    p.add_argument("model", help="model name or id")
    p.add_argument("--batches", type=parse_ints, default=list(EXPLORE_BATCHES), metavar="1,2,4,8")
    p.add_argument("--streams", type=parse_ints, default=list(EXPLORE_STREAMS), metavar="1,2,4")
    p.add_argument("--time", type=number, default=EXPLORE_CELL_TIME_S, metavar="S", help=f"seconds per cell (default {EXPLORE_CELL_TIME_S:g})")
    p.add_argument("--latency-limit", type=number, metavar="MS", help="median latency limit for the sweet spot")
    p.add_argument("--runs", type=positive_int, default=1, metavar="N",
                   help="runs each cell's time is split into; the cell shows its median run and their spread (default 1)")
    p.add_argument("--dataset", help="feed this dataset's images instead of random data")
    add_precision(p)
    add_target_flag(p)
    add_detach(p)

    p = add_command(sub, "layers", "per-layer runtime precision, kernel and time", cmd_layers)
    p.add_argument("model", help="model name or id")
    p.add_argument("--runs", type=int, default=LAYER_RUNS, metavar="N",
                   help=f"profiled inferences, at least (default {LAYER_RUNS}; small models get 1 s of them)")
    p.add_argument("--batch", type=int, metavar="B")
    p.add_argument("--top", type=int, metavar="N", help="show only the N slowest layers")
    p.add_argument("--hint", choices=("latency", "throughput"), default="latency",
                   help="profile as that benchmark runs (default latency: one request, layers back to back); the "
                        "sum is set beside the latest benchmark with the same hint and precision")
    add_precision(p)
    add_target_flag(p)
    add_detach(p)

    add_command(sub, "cpu", "what this CPU offers OpenVINO (ISA, VNNI, AMX, default precision)", cmd_cpu)


def cmd_benchmark(args: argparse.Namespace) -> int:
    from engine.benchmark import BenchmarkSettings
    from engine.records import Dataset, Model

    settings = BenchmarkSettings(time_s=args.time, hint=args.hint, streams=args.streams,
                                 requests=args.requests, batch=args.batch, infer_precision=args.infer_precision)
    settings.validate()
    ws = workspace(args)
    model = ws.get(Model, args.model)
    dataset = ws.get(Dataset, args.dataset) if args.dataset else None
    from dataclasses import asdict

    # with --target too a job of the workspace's runner: it outlives the SSH session
    where = f" on target {args.target}" if args.target else ""
    r = run_job(args, "benchmark", {"model": model.id, "dataset": dataset.id if dataset else None,
                                    "settings": asdict(settings), "runs": args.runs, **target_param(args)},
                say=f"benchmarking {model.name}{where}: {args.runs} run(s) in {settings.time_s:g} s "
                    f"({settings.hint} hint)…")
    return r if isinstance(r, int) else emit(args, r, lambda c: render_benchmark(c, r))


def render_benchmark(c: Any, r: dict) -> None:
    from engine.device import float_precision_note
    from engine.measure.protocol import spread_text

    lat = r["latency_ms"]
    note = float_precision_note(r["model_precision"], r["inference_precision"])
    c.print(styled((f"benchmark {r['model']}", "bold"), f" ({r['model_precision']} IR, {note}) on {r['device']}: {r['cpu']}"))
    c.print(styled("throughput ", (f"{r['throughput_fps']:.1f} FPS", "bold green"),
                   f" ({spread_text(r['throughput_spread'])})   {r['hint']} hint ({r['api']}), {r['streams']} streams, "
                   f"{r['requests']} requests, {r['threads']} threads, batch {r['batch']}, {r['inference_precision']}"))
    c.print(f"latency ms  median {lat['median']:.2f} ({spread_text(r['latency_spread'], '{:.2f}')})  "
            f"p90 {lat['p90']:.2f}  p99 {lat['p99']:.2f}  max {lat['max']:.2f}")
    for run in r["run_results"]:
        rl = run["latency_ms"]
        flag = ("  disturbed: max > 10× median", "bold yellow") if run.get("disturbed") else ""
        c.print(styled(f"  run {run['id']}: {run['throughput_fps']:.1f} FPS, median {rl['median']:.2f} ms, "
                       f"p99 {rl.get('p99', rl['max']):.2f} ms, max {rl['max']:.2f} ms, {run['iterations']} iterations "
                       f"in {run['elapsed_s']:.2f} s", flag))
    if r["disturbed_runs"]:
        c.print(styled((f"{r['disturbed_runs']} run(s) disturbed by other work on the machine; measure again "
                        "when it is quiet", "yellow")))
    c.print(f"compile {r['compile_ms']:.0f} ms, first inference {r['first_inference_ms']:.2f} ms; inputs {r['inputs']}")
    where = f"project {r['project']}" if r.get("project") else "model history"
    c.print(f"stored as {r['runs']} run(s) of series {r['series']} in the {where}")


def cmd_explore(args: argparse.Namespace) -> int:
    from engine.explore import validate_grid
    from engine.records import Dataset, Model

    validate_grid(args.batches, args.streams, args.time, args.latency_limit)
    ws = workspace(args)
    model = ws.get(Model, args.model)
    dataset = ws.get(Dataset, args.dataset) if args.dataset else None
    cells = len(set(args.batches)) * len(set(args.streams))
    r = run_job(args, "explore", {"model": model.id, "batches": args.batches, "streams": args.streams,
                                  "time_s": args.time, "latency_limit_ms": args.latency_limit, "runs": args.runs,
                                  "dataset": dataset.id if dataset else None, "infer_precision": args.infer_precision,
                                  **target_param(args)},
                say=f"exploring {model.name}: {cells} cells × {args.time:g} s…")
    return r if isinstance(r, int) else emit(args, r, lambda c: render_explore(c, r))


def render_explore(c: Any, r: dict) -> None:

    c.print(styled((f"explore {r['model']}", "bold"), f" ({r['model_precision']}, {r.get('inference_precision')}) on "
                   f"{r['device']}: {r['cpu']}"))
    runs = r.get("runs_per_cell", 1)
    title = "FPS / median latency ms" + (f" (median of {runs} runs, FPS min–max)" if runs > 1 else ", one run per cell")
    t = cli_table("batch", *[f"{s} streams" for s in r["streams"]], key=None, title=title)
    best = r["sweet_spot"]
    by = {(cell["batch"], cell["requested_streams"]): cell for cell in r["cells"]}
    for b in r["batches"]:
        row = []
        for s in r["streams"]:
            cell = by[(b, s)]
            text = f"{cell['throughput_fps']:.1f} / {cell['latency_ms']['median']:.2f}"
            if runs > 1 and cell.get("throughput_spread"):
                text += f" ({cell['throughput_spread']['low']:.0f}–{cell['throughput_spread']['high']:.0f})"
            if cell.get("disturbed"):
                text += " !"
            if not cell["measured"]:
                text = styled((f"= {cell['same_as']['streams']} streams", "dim"))
            elif best is not None and (best["batch"], best["requested_streams"]) == (b, s):
                text = styled((f"★ {text}", "bold green"))
            row.append(text)
        t.add_row(str(b), *row)
    c.print(t)
    if any(cell.get("disturbed") for cell in r["cells"]):
        c.print(styled(("! a disturbed run: max latency over 10× its median (other work took the CPU)", "yellow")))
    if any(not cell["measured"] for cell in r["cells"]):
        c.print(styled((f"this CPU runs at most {r['max_streams']} streams; cells marked = ran as that configuration", "dim")))
    c.print(styled(("sweet spot", "bold") if best else ("no sweet spot", "yellow"), ": " + r["sweet_spot_note"]))
    c.print(f"stored as {r['id']}")


def cmd_layers(args: argparse.Namespace) -> int:
    from engine import limits
    from engine.errors import BadInput
    from engine.records import Model

    limits.count(args.batch, "--batch", limits.MAX_BATCH)
    limits.count(args.runs, "--runs", limits.MAX_RUNS)
    if args.top is not None and args.top < 1:
        raise BadInput(f"--top must be 1 or more, not {args.top}")
    ws = workspace(args)
    model = ws.get(Model, args.model)
    # a job of the workspace's runner, here or on --target; it sets the sum beside the latest benchmark too
    table = run_job(args, "layers", {"model": model.id, "runs": args.runs, "batch": args.batch,
                                     "hint": args.hint, "infer_precision": args.infer_precision, **target_param(args)},
                    say=f"profiling {model.name} over {args.runs} inferences ({args.hint} hint)…")
    return table if isinstance(table, int) else emit(args, table, lambda c: render_layers(c, table, args.top))


def render_layers(c: Any, table: dict, top: int | None = None) -> None:

    from engine.device import float_precision_note
    from engine.layers import slowest
    from engine.measure.rows import layer_groups

    note = float_precision_note(table["model_precision"], table["inference_precision"])
    c.print(styled((f"layers of {table['model']}", "bold"), f" ({table['model_precision']} IR, {note}): "
            f"{table['executed_layers']} executed of {table['graph_nodes']} "
            f"runtime nodes, {table['total_ms']:.3f} ms summed, {table['latency_ms_avg']:.3f} ms per inference "
            f"(mean of {table['runs']}), {table['hint']} hint; {table['cpu']}"))
    measured = table.get("measured_latency_ms")
    if measured:
        c.print(f"layer sum {table['total_ms']:.3f} ms vs {measured:.3f} ms median latency of the latest "
                f"{table['hint']}-hint benchmark ({table['sum_vs_measured']:.0%}); profiling overhead "
                f"{table['profiling_overhead']:+.0%}")
    else:
        c.print(styled((f"no {table['hint']}-hint benchmark in {table['inference_precision']} to set the sum beside: "
                        f"owb benchmark MODEL --hint {table['hint']}", "dim")))
    for key, title in (("type", "by layer type"), ("runtime_precision", "by runtime precision")):
        t = cli_table(key.replace("_", " "), "count", "total ms", "share", title=title)
        for row in layer_groups(table, key):
            t.add_row(*row)
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
        c.print(styled((facts["full_device_name"], "bold"), f": {facts['cores']} cores, {facts['isa']}"))
        c.print(f"OpenVINO capabilities: {', '.join(facts['optimization_capabilities'])}; "
                f"FP32 models run as {facts['default_inference_precision']}")
        c.print(f"INT8: {facts['int8_note']}")
        if facts["flags_source"]:
            c.print(f"flags ({facts['flags_source']}): {' '.join(facts['flags']) or 'none of interest'}")

    return emit(args, facts, render)
