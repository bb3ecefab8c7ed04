"""One measurement protocol for every speed figure owb shows.

A single run on a shared machine swings by ±15–25%, and a ratio of two runs
made with different settings (hint, precision, input data, run length) is not
a ratio of models at all. So:

- a **figure** is made of runs with identical settings, and carries those
  settings, every run, and its spread (min–max, or p10–p90 from
  ``PERCENTILE_RUNS`` runs on);
- a **ratio** is only made between two figures whose settings are identical
  (``Incomparable`` otherwise);
- by default both sides of a ratio are measured now, **interleaved** in one
  job (A B B A A B …: alternating who goes first cancels a slow drift in
  machine load, which otherwise favours whichever side runs second);
- a ratio from stored history is made only when both models have runs with
  identical settings, and is labelled ``history`` with the dates of the runs.

Runs are stored one by one (engine.measure.benchmark.run_benchmark); the runs
of one figure share a ``series`` id, so the history can be read back as
figures."""

from __future__ import annotations

import statistics
import threading
import time
import uuid
from dataclasses import replace
from typing import TYPE_CHECKING, Callable

from ..choices import ROUNDS
from ..errors import BadInput
from ..progress import Progress, within
from ..records import Dataset, InferenceResult, Model
from .benchmark import BenchmarkSettings, history, percentile, run_benchmark

if TYPE_CHECKING:
    from ..workspace import Workspace

SETTING_KEYS = ("hint", "streams", "requests", "batch", "inference_precision", "inputs", "seconds_per_run",
                "device", "cpu", "target")
PERCENTILE_RUNS = 10  # from this many runs on, the spread is p10–p90 instead of min–max
HISTORY_RUNS = 5  # a history figure uses at most the latest runs of one setting


class Incomparable(BadInput):
    """Two figures (or the runs of one) were measured with different settings."""


def settings_of(result: dict) -> dict:
    """The settings a stored run was measured with, as the protocol compares
    them: what was asked for (streams/requests/batch None = left to OpenVINO),
    the precision that actually ran, the input kind and the run length."""
    asked = result.get("settings") or {}
    return {
        "hint": result.get("hint"),
        "streams": asked.get("streams"),
        "requests": asked.get("requests"),
        "batch": asked.get("batch"),
        "inference_precision": result.get("inference_precision"),
        "inputs": result.get("inputs"),
        "seconds_per_run": result.get("time_s"),
        "device": result.get("device", "CPU"),
        "cpu": result.get("cpu"),
        "target": result.get("target"),  # None: this machine; a target's runs never mix with others
    }


def differences(a: dict, b: dict) -> list[str]:
    """The settings on which two settings dicts differ, as 'key: a ≠ b'."""
    return [f"{k}: {a.get(k)} ≠ {b.get(k)}" for k in SETTING_KEYS if a.get(k) != b.get(k)]


def spread(values: list[float]) -> dict:
    """How far the runs of a figure are apart: min–max of the runs, or
    p10–p90 once there are enough runs for percentiles to mean something."""
    if not values:
        raise ValueError("a spread needs at least one run")
    ordered = sorted(values)
    if len(ordered) >= PERCENTILE_RUNS:
        low, high, kind = percentile(ordered, 10), percentile(ordered, 90), "p10-p90"
    else:
        low, high, kind = ordered[0], ordered[-1], "min-max"
    return {"low": round(low, 4), "high": round(high, 4), "kind": kind, "runs": len(ordered)}


def figure(records: list[InferenceResult], source: str = "measured") -> dict:
    """One speed figure from stored runs that share their settings."""
    if not records:
        raise ValueError("a figure needs at least one run")
    settings = settings_of(records[0].result)
    for r in records[1:]:
        diff = differences(settings, settings_of(r.result))
        if diff:
            raise Incomparable(f"runs {records[0].id} and {r.id} were measured with different settings "
                               f"({'; '.join(diff)}); a figure is made of runs with identical settings")
    results = [r.result for r in records]
    fps = [x["throughput_fps"] for x in results]
    medians = [x["latency_ms"]["median"] for x in results]

    def mid(key: str) -> float | None:
        values = [x["latency_ms"][key] for x in results if key in x["latency_ms"]]
        return round(statistics.median(values), 4) if values else None

    last = results[-1]
    return {
        "throughput_fps": round(statistics.median(fps), 3),
        "throughput_spread": spread(fps),
        "latency_ms": {"median": mid("median"), "p90": mid("p90"), "p99": mid("p99"),
                       "max": round(max(x["latency_ms"]["max"] for x in results), 4)},
        "latency_spread": spread(medians),
        "runs": len(records),
        "disturbed_runs": sum(1 for x in results if x.get("disturbed")),
        "settings": settings,
        "hint": settings["hint"],
        "inference_precision": settings["inference_precision"],
        "streams": last.get("streams"),
        "requests": last.get("requests"),
        "source": source,
        "first": records[0].created,
        "last": records[-1].created,
        "per_run": [{"id": r.id, "when": r.created, "throughput_fps": r.result["throughput_fps"],
                     "latency_median_ms": r.result["latency_ms"]["median"],
                     "disturbed": bool(r.result.get("disturbed"))} for r in records],
    }


MACHINE_KEYS = ("cpu", "target")


def ratio(fa: dict, fb: dict, *, paired: bool, across_machines: bool = False) -> dict:
    """B's throughput over A's. Paired (interleaved) figures give one ratio
    per round; unpaired (history) figures give every cross pair, which is the
    honest spread when the runs were not made side by side. Across machines
    (engine.targets) everything but the machine must still be the same."""
    diff = [d for d in differences(fa["settings"], fb["settings"])
            if not (across_machines and d.split(":")[0] in MACHINE_KEYS)]
    if diff:
        raise Incomparable("the two figures were measured with different settings (" + "; ".join(diff)
                           + "); measure both now with the same settings")
    a = [r["throughput_fps"] for r in fa["per_run"]]
    b = [r["throughput_fps"] for r in fb["per_run"]]
    if paired:
        values = [y / x for x, y in zip(a, b) if x]
    else:
        values = [y / x for x in a for y in b if x]
    return {
        "value": round(fb["throughput_fps"] / fa["throughput_fps"], 3) if fa["throughput_fps"] else None,
        "spread": spread(values) if values else None,
        "paired": paired,
    }


def new_series(runs: int) -> Callable[[int], dict]:
    sid = uuid.uuid4().hex[:10]
    return lambda i: {"id": sid, "index": i, "runs": runs}


def _run_settings(settings: BenchmarkSettings, rounds: int, total_time_s: float | None) -> BenchmarkSettings:
    # A total time is shared by the runs; below 0.2 s per run the plugin's
    # start-up dominates and the figure stops meaning throughput.
    per_run = settings.time_s if total_time_s is None else max(total_time_s / rounds, 0.2)
    return replace(settings, time_s=round(per_run, 3))


def planned_ms(settings: BenchmarkSettings, rounds: int, total_time_s: float | None, sides: int = 2) -> int:
    """How long the timed loops of a measurement will run, for a job's ETA."""
    return int(sides * rounds * _run_settings(settings, rounds, total_time_s).time_s * 1000)


def _validate_rounds(rounds: int) -> None:
    if not (isinstance(rounds, int) and rounds >= 1):
        raise BadInput(f"--runs must be 1 or more, not {rounds}")


def measure_figure(ws: Workspace, model: Model, settings: BenchmarkSettings, *, runs: int = ROUNDS,
                   total_time_s: float | None = None, dataset: Dataset | None = None,
                   cancel: threading.Event | None = None, progress: Progress | None = None) -> dict:
    """``runs`` runs of one model with one setting, now; its figure."""
    _validate_rounds(runs)
    settings = _run_settings(settings, runs, total_time_s)
    settings.validate()
    series = new_series(runs)
    records = []
    run_ms = int(settings.time_s * 1000)
    for i in range(runs):
        stage = f"benchmark {model.name} {i + 1}/{runs}"
        report = within(progress, stage, i * run_ms, runs * run_ms)
        if report:
            report(stage, 0, run_ms)
        record, _ = run_benchmark(ws, model, settings, dataset=dataset, cancel=cancel, progress=report,
                                  series=series(i))
        records.append(record)
    if progress:
        progress(f"benchmark {model.name} done", runs * run_ms, runs * run_ms)
    return figure(records)


def interleaved_order(rounds: int) -> list[str]:
    """A B, B A, A B, …: each round runs both sides, who goes first alternates."""
    return [side for r in range(rounds) for side in (("a", "b") if r % 2 == 0 else ("b", "a"))]


def measure_pair(ws: Workspace, a: Model, b: Model, settings: BenchmarkSettings, *, rounds: int = ROUNDS,
                 total_time_s: float | None = None, dataset: Dataset | None = None,
                 cancel: threading.Event | None = None, progress: Progress | None = None,
                 label: str = "") -> dict:
    """Both models measured now, interleaved, with identical settings: the two
    figures and the ratio B / A with its spread over the rounds.

    ``total_time_s`` is each side's total; every run is a ``rounds``-th of it."""
    _validate_rounds(rounds)
    settings = _run_settings(settings, rounds, total_time_s)
    settings.validate()
    models = {"a": a, "b": b}
    series = {"a": new_series(rounds), "b": new_series(rounds)}
    records: dict[str, list[InferenceResult]] = {"a": [], "b": []}
    order = interleaved_order(rounds)
    run_ms = int(settings.time_s * 1000)
    total = len(order) * run_ms
    for k, side in enumerate(order):
        model = models[side]
        index = len(records[side])
        stage = f"benchmark {label + ' ' if label else ''}{model.name} {index + 1}/{rounds}"
        report = within(progress, stage, k * run_ms, total)
        if report:
            report(stage, 0, run_ms)
        record, _ = run_benchmark(ws, model, settings, dataset=dataset, cancel=cancel, progress=report,
                                  series=series[side](index))
        records[side].append(record)
    if progress:
        progress("benchmarks done", total, total)
    fa, fb = figure(records["a"], "interleaved"), figure(records["b"], "interleaved")
    return {"a": fa, "b": fb, "ratio": ratio(fa, fb, paired=True), "source": "interleaved", "rounds": rounds,
            "settings": fa["settings"]}


def figure_document(ws: Workspace, fig: dict) -> dict:
    """A measured figure as `owb benchmark --json` prints it: the figure, its
    runs in full, and the last run's facts (model, compile, threads…)."""
    records = [ws.get(InferenceResult, x["id"]) for x in fig["per_run"]]
    runs = [r.result | {"id": r.id, "project": r.project or None} for r in records]
    last = runs[-1]
    keep = ("model", "model_id", "model_precision", "device", "batch", "streams", "requests", "threads", "hint",
            "api", "compiled_hint", "inference_precision", "requested_precision", "inputs", "dataset", "cpu",
            "cpu_isa", "input_shapes", "compile_ms", "first_inference_ms", "execution_devices")
    doc = {k: last.get(k) for k in keep}
    doc.update({
        "throughput_fps": fig["throughput_fps"], "throughput_spread": fig["throughput_spread"],
        "latency_ms": fig["latency_ms"], "latency_spread": fig["latency_spread"],
        "runs": fig["runs"], "disturbed_runs": fig["disturbed_runs"], "seconds_per_run": last.get("time_s"),
        "settings": fig["settings"], "series": (last.get("series") or {}).get("id"),
        "run_results": runs, "id": last["id"], "project": last.get("project") or None,
    })
    return doc


# ---------------------------------------------------------------- history

def series_of(records: list[InferenceResult]) -> list[list[InferenceResult]]:
    """Stored runs grouped into the figures they were measured as (oldest
    first); a run stored without a series is a figure of its own."""
    groups: dict[str, list[InferenceResult]] = {}
    for r in sorted(records, key=lambda r: r.created):
        sid = (r.result.get("series") or {}).get("id") or f"run:{r.id}"
        groups.setdefault(sid, []).append(r)
    return sorted(groups.values(), key=lambda g: g[-1].created)


def baseline(settings: dict) -> bool:
    """benchmark_app's defaults: streams, requests and batch left to OpenVINO."""
    return settings["streams"] is None and settings["requests"] is None and settings["batch"] is None


def here_or_there(settings: dict, cpu: str, target: str | None) -> bool:
    """Runs of this machine (its CPU now), or of the named target."""
    return settings["target"] == target and (target is not None or settings["cpu"] == cpu)


def latest_figure(ws: Workspace, model: Model, hint: str = "throughput", *,
                  precision: str | None = None, target: str | None = None) -> dict | None:
    """The model's newest figure measured with ``hint`` at benchmark_app's
    defaults (and, if given, that inference precision), or None. A figure of
    one hint is never stood in for by another hint's."""
    from ..device import cpu_summary

    cpu = cpu_summary()
    for group in reversed(series_of(history(ws, model, "benchmark"))):
        s = settings_of(group[0].result)
        if s["hint"] == hint and baseline(s) and here_or_there(s, cpu, target) and \
                (precision is None or s["inference_precision"] == precision):
            try:
                return figure(group, "history")
            except Incomparable:
                continue
    return None


def headline_figure(ws: Workspace, model: Model, hint: str = "throughput") -> dict | None:
    """The figure every page shows for ``hint``: in the precision speed runs
    in by default (engine.precision), else the latest in any precision, which
    the page then names (a figure of one precision never passes for another's).
    The Projects list and the project page read the same one."""
    from ..precision import SPEED_DEFAULT, resolved

    return latest_figure(ws, model, hint, precision=resolved("CPU", SPEED_DEFAULT)) or latest_figure(ws, model, hint)


def history_pair(ws: Workspace, a: Model, b: Model, *, hint: str = "throughput",
                 precision: str | None = None, runs: int = HISTORY_RUNS, target: str | None = None) -> dict | None:
    """A ratio from stored runs, or None when the two models have no runs
    with identical settings. Of the settings both have, the most recently
    measured wins; each side uses its latest ``runs`` runs of it."""
    from ..device import cpu_summary

    cpu = cpu_summary()

    def by_settings(model: Model) -> dict[tuple, list[InferenceResult]]:
        out: dict[tuple, list[InferenceResult]] = {}
        for r in history(ws, model, "benchmark"):
            s = settings_of(r.result)
            if s["hint"] == hint and here_or_there(s, cpu, target) and \
                    (precision is None or s["inference_precision"] == precision):
                out.setdefault(tuple(s[k] for k in SETTING_KEYS), []).append(r)
        return out

    mine, theirs = by_settings(a), by_settings(b)
    shared = set(mine) & set(theirs)
    if not shared:
        return None
    key = max(shared, key=lambda k: min(mine[k][-1].created, theirs[k][-1].created))
    fa, fb = figure(mine[key][-runs:], "history"), figure(theirs[key][-runs:], "history")
    return {"a": fa, "b": fb, "ratio": ratio(fa, fb, paired=False), "source": "history", "settings": fa["settings"],
            "dates": {"a": [stamp(fa["first"]), stamp(fa["last"])], "b": [stamp(fb["first"]), stamp(fb["last"])]}}


def stamp(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts))


# ---------------------------------------------------------------- words

def spread_text(s: dict | None, fmt: str = "{:.1f}") -> str:
    if not s:
        return ""
    return f"{fmt.format(s['low'])}–{fmt.format(s['high'])}, {s['runs']} run{'s' if s['runs'] != 1 else ''}"


def figure_text(f: dict) -> str:
    """'2356.1 FPS (2301.0–2390.2, 3 runs), median latency 0.85 ms, throughput hint, bf16'."""
    lat = f["latency_ms"]
    warn = f"; {f['disturbed_runs']} disturbed run(s)" if f.get("disturbed_runs") else ""
    return (f"{f['throughput_fps']:.1f} FPS ({spread_text(f['throughput_spread'])}), median latency "
            f"{lat['median']:.2f} ms ({spread_text(f['latency_spread'], '{:.2f}')}), p99 "
            f"{(lat.get('p99') or lat['median']):.2f} ms; {f['hint']} hint, {f['inference_precision']}{warn}")


def ratio_text(pair: dict) -> str:
    """'1.42× (1.35–1.50, 3 paired runs, interleaved)' or '… (history: A 2026-…, B 2026-…)'."""
    r = pair["ratio"]
    if r["value"] is None:
        return "not measured"
    s = r["spread"]
    how = "paired runs" if r["paired"] else "run pairs"
    where = pair["source"]
    if pair["source"] == "history":
        d = pair["dates"]
        where = f"from history: A {_span(d['a'])}, B {_span(d['b'])}"
    return f"{r['value']:.2f}× ({s['low']:.2f}–{s['high']:.2f}, {s['runs']} {how}, {where})"


def _span(dates: list[str]) -> str:
    return dates[0] if dates[0] == dates[1] else f"{dates[0]} to {dates[1]}"


def agree(r1: dict, r2: dict) -> bool:
    """Whether two ratios agree within their measured spreads (the ranges overlap)."""
    s1, s2 = r1["spread"], r2["spread"]
    return bool(s1 and s2) and s1["low"] <= s2["high"] and s2["low"] <= s1["high"]
