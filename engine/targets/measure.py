"""Compare's measurements on targets: the same protocol (engine.measure),
run where the models are meant to run.

Both sides on one target: an interleaved pair measured there, as a local
comparison is here. Sides on two machines (a target and this one, or two
targets) cannot interleave; each side is a figure of its own and the ratio is
an unpaired one, with every cross pair in its spread."""

from __future__ import annotations

import threading
from dataclasses import asdict, replace

from ..measure.benchmark import BenchmarkSettings
from ..progress import Progress
from ..records import InferenceResult, Model, Target
from ..workspace import Workspace
from .remote import call_for, run_remote


def pair_on(ws: Workspace, target: Target, a: Model, b: Model, settings: BenchmarkSettings, *, rounds: int,
            bench_time: float, cancel: threading.Event | None = None, progress: Progress | None = None) -> dict:
    return run_remote(call_for(ws, progress, cancel), {
        "kind": "pair", "target": target.id, "model": a.id, "model_b": b.id, "settings": asdict(settings),
        "rounds": rounds, "bench_time": bench_time})


def figure_on(ws: Workspace, target: Target | None, model: Model, settings: BenchmarkSettings, *, rounds: int,
              bench_time: float, cancel: threading.Event | None = None, progress: Progress | None = None) -> dict:
    """One model's figure, measured now here (target None) or on the target."""
    from ..measure.protocol import figure, measure_figure

    if target is None:
        return measure_figure(ws, model, settings, runs=rounds, total_time_s=bench_time, cancel=cancel,
                              progress=progress)
    doc = run_remote(call_for(ws, progress, cancel), {
        "kind": "benchmark", "target": target.id, "model": model.id, "dataset": None,
        "settings": asdict(replace(settings, time_s=bench_time)), "runs": rounds})
    return figure([ws.get(InferenceResult, r["id"]) for r in doc["run_results"]])


def separate_pair(ws: Workspace, a: Model, b: Model, settings: BenchmarkSettings, places: tuple, *, rounds: int,
                  bench_time: float, cancel: threading.Event | None = None, progress: Progress | None = None) -> dict:
    from ..measure.protocol import ratio

    fa = figure_on(ws, places[0], a, settings, rounds=rounds, bench_time=bench_time, cancel=cancel, progress=progress)
    fb = figure_on(ws, places[1], b, settings, rounds=rounds, bench_time=bench_time, cancel=cancel, progress=progress)
    return {"a": fa, "b": fb, "ratio": ratio(fa, fb, paired=False, across_machines=True), "source": "separate machines",
            "rounds": rounds, "settings": fa["settings"]}


def layers_on(ws: Workspace, target: Target, model: Model, runs: int, settings: BenchmarkSettings,
              cancel: threading.Event | None = None, progress: Progress | None = None) -> dict:
    return run_remote(call_for(ws, progress, cancel), {
        "kind": "layers", "target": target.id, "model": model.id,
        "layers": {"runs": runs, "settings": asdict(settings)}})
