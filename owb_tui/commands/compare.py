"""`owb compare`: two models side by side (speed, size, accuracy, precision,
layers, why, verdict), measured as a job of the workspace's runner."""

from __future__ import annotations

import argparse
from typing import Any

from ..text import human_size
from .common import add_command, add_infer_precision, cli_table, emit, number, positive_int, styled, workspace
from .jobs import add_detach, run_job


def register(sub: Any) -> None:
    from engine.choices import COMPARE_LAYER_RUNS, PAIR_TIME_S, ROUNDS

    p = add_command(sub, "compare", "compare two models: speed, size, accuracy, precision, layers, verdict",
                    cmd_compare)
    p.add_argument("a", metavar="A", help="model A (usually the parent)")
    p.add_argument("b", metavar="B", nargs="?",
                   help="model B (usually an optimized child). Without B, as the TUI does: a child A is "
                        "compared with its parent (which becomes A), a parent with its fastest measured "
                        "optimized model, else its newest child")
    p.add_argument("--dataset", metavar="DS", help="take accuracy measured on this dataset")
    p.add_argument("--time", type=number, default=PAIR_TIME_S, metavar="S",
                   help=f"seconds of benchmarking per model, shared by its interleaved runs (default {PAIR_TIME_S:g})")
    p.add_argument("--rounds", type=positive_int, default=ROUNDS, metavar="N",
                   help=f"interleaved rounds: A and B measured in turn N times (default {ROUNDS})")
    p.add_argument("--hint", choices=("throughput", "latency"), default="throughput",
                   help="performance hint of the benchmark and the per-layer profile (default throughput)")
    p.add_argument("--from-history", action="store_true",
                   help="take the ratio from stored runs with identical settings instead of measuring now "
                        "(refused when there are none)")
    p.add_argument("--runs", type=positive_int, default=COMPARE_LAYER_RUNS, metavar="N",
                   help=f"profiled inferences; a layer's time is its median (default {COMPARE_LAYER_RUNS})")
    p.add_argument("--top", type=positive_int, default=15, metavar="N", help="kernel rows printed as text")
    add_detach(p)
    p.add_argument("--target", metavar="NAME", help="measure both sides on this remote target")
    p.add_argument("--vs-target", metavar="NAME",
                   help="measure B on this target (A stays on --target, else here); without B, B is A")
    add_infer_precision(p)


def cmd_compare(args: argparse.Namespace) -> int:
    from engine.compare import default_pair, validate
    from engine.errors import BadInput
    from engine.records import Dataset, Model, Target

    ws = workspace(args)
    a = ws.get(Model, args.a)
    target = ws.get(Target, args.target) if args.target else None
    target_b = ws.get(Target, args.vs_target) if args.vs_target else None
    if args.b:
        b = ws.get(Model, args.b)
    elif target_b is not None:
        b = a
    else:
        pair = default_pair(ws, a)
        if pair is None:
            raise BadInput(f"{a.name} has no optimized model to compare with; name B, or optimize {a.name} first")
        a, b = pair
    dataset = ws.get(Dataset, args.dataset) if args.dataset else None
    place_a = target.name if target else "here"
    place_b = target_b.name if target_b else place_a
    validate(a, b, args.time, args.runs, args.rounds, same_place=place_a == place_b)
    how = "stored runs with identical settings" if args.from_history else \
        f"{args.rounds} interleaved rounds, {args.time:g} s per model"
    params = {"a": a.id, "b": b.id, "dataset": dataset.id if dataset else None, "bench_time": args.time,
              "layer_runs": args.runs, "infer_precision": args.infer_precision, "hint": args.hint,
              "rounds": args.rounds, "from_history": args.from_history,
              "target": target.id if target else None, "target_b": target_b.id if target_b else None}
    result = run_job(args, "compare", params,
                     say=f"comparing {a.name} ({place_a}) and {b.name} ({place_b}) ({how}; layers over "
                         f"{args.runs} inferences)…")
    return result if isinstance(result, int) else emit(args, result, lambda c: render_compare(c, result, args.top))


def render_compare(c: Any, r: dict, top: int = 15) -> None:
    from engine.measure.protocol import ratio_text, spread_text
    from engine.measure.rows import precision_rows
    from engine.metrics import accuracy_change

    a, b = r["a"], r["b"]
    speed = r["speed"]
    where = r.get("targets") or {}
    c.print(styled((r["cpu"] if r.get("cpu_b", r["cpu"]) == r["cpu"] else f"A: {r['cpu']}\nB: {r['cpu_b']}", "dim")))
    t = cli_table("", f"A {a['name']}" + (f" on {where['a']}" if where.get("a") else ""),
                  f"B {b['name']}" + (f" on {where['b']}" if where.get("b") else ""), "B / A")

    def ratio(x: Any, y: Any) -> str:
        return f"{y / x:.2f}×" if isinstance(x, (int, float)) and isinstance(y, (int, float)) and x else ""

    t.add_row("throughput FPS", f"{a['throughput_fps']:.1f}", f"{b['throughput_fps']:.1f}",
              f"{r['throughput_ratio']:.2f}×" if r["throughput_ratio"] else "")
    t.add_row("  spread", spread_text(a["throughput_spread"]), spread_text(b["throughput_spread"]),
              spread_text(r["throughput_ratio_spread"], "{:.2f}"))
    t.add_row("latency median ms", f"{a['latency_ms_median']:.3f}", f"{b['latency_ms_median']:.3f}",
              ratio(a["latency_ms_median"], b["latency_ms_median"]))
    t.add_row("latency p99 ms", _ms(a["latency_ms"].get("p99")), _ms(b["latency_ms"].get("p99")), "")
    t.add_row("size", human_size(a["size_bytes"]), human_size(b["size_bytes"]),
              f"{r['size_ratio']:.2f}×" if r["size_ratio"] else "")
    t.add_row("storage precision", a["precision"], b["precision"], "")
    t.add_row("float ops run in", a["inference_precision"] or "?", b["inference_precision"] or "?", "")
    acc = lambda s: f"{s['accuracy']['metric']} {s['accuracy']['value'] * 100:.2f}%" if s["accuracy"] else "not measured"
    drop = r["accuracy_drop"]
    t.add_row("accuracy", acc(a), acc(b), accuracy_change(drop) if drop is not None else "")
    fid = r.get("agreement")
    if fid:
        value = f"{fid['agreement'] * 100:.2f}%" if fid["agreement"] is not None else "n/a"
        cos = f", cosine {fid['cosine']:.3f}" if fid["cosine"] is not None else ""
        t.add_row(f"{fid['metric']} ({fid['images']} img)", "100% (reference)", value + cos,
                  "faithful" if fid["faithful"] else "NOT faithful")
    t.add_row("benchmark runs", _runs(a), _runs(b), "")
    c.print(t)
    st = speed["settings"]
    c.print(f"ratio {ratio_text({**speed, 'ratio': speed['ratio']})}; settings: {st['hint']} hint, "
            f"{st['inference_precision']}, inputs {st['inputs']}, {st['seconds_per_run']} s per run")
    if a.get("disturbed_runs") or b.get("disturbed_runs"):
        c.print(styled(("some runs were disturbed (max latency > 10× median): other work shared the CPU", "yellow")))
    layers = r["layers"]
    p = cli_table("precision", "A layers", "A ms", "B layers", "B ms", title="per runtime precision")
    for row in precision_rows(layers):
        p.add_row(*row)
    c.print(p)
    c.print(_layer_sums(layers))
    k = cli_table("layer", "type", "A ms", "B ms", "Δ ms", "A prec", "B prec", "only in", key=None,
                  title=f"layers by original layer, largest change first ({min(top, len(layers['kernels']))} of "
                        f"{len(layers['kernels'])}); "
                        "B's inserted Reorder/Convert/FakeQuantize work is charged to the layer it serves")
    for row in layers["kernels"][:top]:
        k.add_row(row["layer"], row["type"], _ms(row["time_a_ms"]), _ms(row["time_b_ms"]),
                  f"{row['delta_ms']:+.4f}", row["precision_a"] or "-", row["precision_b"] or "-", row["only_in"] or "")
    c.print(k)
    render_why(c, r["why"])
    if r.get("speed_aware"):
        from .calibrate import render_search

        render_search(c, r["speed_aware"])
    c.print(styled(("verdict", "bold"), f": {r['verdict']}"))


def _layer_sums(layers: dict) -> str:
    def one(tag: str) -> str:
        measured = layers["measured_latency_ms"][tag]
        overhead = layers["profiling_overhead"][tag]
        return (f"{tag.upper()} {layers['total_ms'][tag]:.3f} ms summed vs {_ms(measured)} ms measured "
                f"({(layers['sum_vs_measured'][tag] or 0):.0%}), profiling overhead {(overhead or 0):+.0%}")

    return f"per-layer times ({layers['hint']} hint, {layers['runs']} inferences): {one('a')}; {one('b')}"


def render_why(c: Any, why: dict) -> None:
    from engine.measure.rows import why_rows

    word = "faster" if why["faster"] else "slower"
    t = cli_table("ms (B − A)", "what", "B nodes", "layers", key=None,
                  title=f"why B is {word} here: {why['total_a_ms']:.3f} → {why['total_b_ms']:.3f} ms in the layers")
    for row in why_rows(why, moved_only=True):
        t.add_row(*row)
    c.print(t)
    c.print("CPU: " + "; ".join(why["cpu"]["notes"]))


def _runs(side: dict) -> str:
    return f"{side['benchmark_runs']} ({'run now' if side['measured_now'] else 'from history'})"


def _ms(v: Any) -> str:
    return "-" if v is None else f"{v:.4f}"
