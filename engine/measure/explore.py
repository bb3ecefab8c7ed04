"""Batch × streams sweep, DL Workbench's "explore inference configurations".

Each cell is a benchmark_app-style run with ``-hint none -nstreams S`` at
batch B and the plugin's optimal number of requests. The CPU plugin caps
streams at the number of cores (on 2 cores, 4 streams compile as 2), so a
cell whose configuration would compile exactly like one already measured is
not run again: it points at that cell (``same_as``), is marked
``measured: false`` and is never chosen as the sweet spot."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from .benchmark import BenchmarkSettings, dataset_inputs, measure
from .protocol import spread
from .. import limits
from ..choices import EXPLORE_CELL_TIME_S
from ..errors import BadInput
from ..precision import SPEED_DEFAULT
from ..progress import Progress
from ..records import Dataset, InferenceResult, Model

if TYPE_CHECKING:
    from ..workspace import Workspace

STAGE = "measuring cells (ms)"
CELL_KEYS = ("throughput_fps", "latency_ms", "disturbed", "streams", "requests", "threads", "inference_precision",
             "compile_ms", "first_inference_ms", "iterations", "elapsed_s")


def validate_grid(batches: list[int], streams: list[int], time_s: float, latency_limit_ms: float | None) -> None:
    if not batches or not streams:
        raise BadInput("--batches and --streams each need at least one value, like --batches 1,2,4 --streams 1,2")
    for flag, values, high in (("--batches", batches, limits.MAX_BATCH), ("--streams", streams, limits.MAX_STREAMS)):
        bad = [v for v in values if not 1 <= v <= high]
        if bad:
            raise BadInput(f"{flag} values must be between 1 and {high:,}; got {', '.join(map(str, bad))}")
    limits.seconds(time_s, "--time")
    if latency_limit_ms is not None:
        limits.finite(latency_limit_ms, "--latency-limit", low=0, low_open=True)


def max_streams(device: str = "CPU") -> int:
    import openvino as ov

    return int(ov.Core().get_property(device, "RANGE_FOR_STREAMS")[1])


def compiled_streams(ov_model: Any, streams: int, device: str, infer_precision: str = SPEED_DEFAULT) -> int:
    """How many streams the plugin really makes of a request for ``streams``."""
    from ..precision import compile_model

    compiled = compile_model(ov_model, device, infer_precision, {"NUM_STREAMS": streams})
    return int(compiled.get_property("NUM_STREAMS"))


def sweet_spot(cells: list[dict], latency_limit_ms: float | None) -> tuple[dict | None, str]:
    """The measured cell with the best throughput whose median latency is
    within the limit (ties: the lower latency), and a sentence saying why."""
    measured = [c for c in cells if c.get("measured", True)]
    fits = [c for c in measured if latency_limit_ms is None or c["latency_ms"]["median"] <= latency_limit_ms]
    if not fits:
        best = min(measured, key=lambda c: c["latency_ms"]["median"]) if measured else None
        closest = (f"; the lowest median latency was {best['latency_ms']['median']:.2f} ms "
                   f"(batch {best['batch']}, {best['streams']} streams)") if best else ""
        return None, f"no configuration meets the {latency_limit_ms:g} ms latency limit{closest}"
    best = max(fits, key=lambda c: (c["throughput_fps"], -c["latency_ms"]["median"]))
    limit = f" within {latency_limit_ms:g} ms median latency" if latency_limit_ms is not None else ""
    return best, (f"best throughput{limit}: batch {best['batch']}, {best['streams']} streams, "
                  f"{best['throughput_fps']:.1f} FPS at {best['latency_ms']['median']:.2f} ms")


def run_explore(ws: Workspace, model: Model, batches: list[int], streams: list[int], *,
                time_s: float = EXPLORE_CELL_TIME_S, latency_limit_ms: float | None = None,
                dataset: Dataset | None = None, device: str = "CPU", infer_precision: str = SPEED_DEFAULT,
                cancel: threading.Event | None = None, progress: Progress | None = None,
                runs: int = 1) -> tuple[InferenceResult, dict]:
    """Measure every (batch, streams) cell, pick the sweet spot, store it all.

    With ``runs`` > 1 each cell's time is split into that many runs: the cell
    shows its median run with the spread of all (engine.measure.protocol)."""
    from .. import models
    from ..device import cpu_facts
    from ..projects import ensure_project

    validate_grid(batches, streams, time_s, latency_limit_ms)
    limits.count(runs, "--runs", limits.MAX_RUNS)
    batches = sorted(set(batches))
    streams = sorted(set(streams))
    if model.config.layout.find("N") < 0 and batches != [1]:
        raise BadInput(f"layout {model.config.layout} has no batch dimension N; use --batches 1")
    cap = max_streams(device)
    cells: list[dict] = []
    done_by_key: dict[tuple[int, int], dict] = {}
    total = len(batches) * len(streams)
    # Progress in ms of timed loops over the whole grid (a cell that needs no
    # run counts as done), so a bar and its ETA move inside a cell too.
    cell_ms = int(time_s * 1000)
    total_ms = total * cell_ms
    for b in batches:
        ov_model = models.load(ws, model, b if model.config.layout.find("N") >= 0 else None)
        for s in streams:
            twin = done_by_key.get((b, s))
            if twin is None and s > cap:
                twin = done_by_key.get((b, compiled_streams(ov_model, s, device, infer_precision)))
            if twin is not None:
                cell = {"batch": b, "requested_streams": s, "measured": False,
                        "same_as": {"batch": twin["batch"], "streams": twin["requested_streams"]}}
                cell.update({k: twin[k] for k in (*CELL_KEYS, "runs", "throughput_spread", "latency_spread")})
            else:
                source: Any = None
                if dataset is not None:
                    source = lambda compiled, n: dataset_inputs(ws, model, dataset, compiled, n)  # noqa: E731
                settings = BenchmarkSettings(time_s=max(time_s / runs, 0.2), hint="none", streams=s, device=device,
                                             infer_precision=infer_precision)
                done = []
                for k in range(runs):
                    base = len(cells) * cell_ms + k * cell_ms // runs
                    report = (lambda _s, d, t, base=base: progress(STAGE, base + d // runs, total_ms)) if progress \
                        else None
                    done.append(measure(ov_model, settings, model.config.layout, source, cancel=cancel,
                                        progress=report))
                run = sorted(done, key=lambda r: r["throughput_fps"])[(len(done) - 1) // 2]  # a real, median run
                cell = {"batch": b, "requested_streams": s, "measured": True, "same_as": None, "runs": runs,
                        "throughput_spread": spread([r["throughput_fps"] for r in done]),
                        "latency_spread": spread([r["latency_ms"]["median"] for r in done])}
                cell.update({k: run[k] for k in CELL_KEYS})
                done_by_key.setdefault((b, run["streams"]), cell)
            cells.append(cell)
            if progress is not None:
                progress(STAGE, len(cells) * cell_ms, total_ms)
    best, note = sweet_spot(cells, latency_limit_ms)
    cpu = cpu_facts(device)
    result = {
        "model": model.name,
        "model_id": model.id,
        "model_precision": model.precision,
        "device": device,
        "batches": batches,
        "streams": streams,
        "max_streams": cap,
        "time_s": time_s,
        "runs_per_cell": runs,
        "inference_precision": next((c["inference_precision"] for c in cells if c["measured"]), None),
        "latency_limit_ms": latency_limit_ms,
        "latency_measure": "median",
        "cells": cells,
        "sweet_spot": best,
        "sweet_spot_note": note,
        "inputs": f"dataset {dataset.name}" if dataset is not None else "random",
        "dataset": dataset.name if dataset is not None else None,
        "cpu": cpu["summary"],
    }
    project = ensure_project(ws, model, dataset, device).id if dataset is not None else ""
    record = ws.add(InferenceResult(kind="explore", project=project, model=model.id,
                                    dataset=dataset.id if dataset is not None else None, result=result))
    result["id"] = record.id
    result["project"] = project or None
    return record, result
