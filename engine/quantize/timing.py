"""The timing source the speed-aware search measures candidates with:
several in-memory models measured interleaved, one throughput figure per run.

The rules are engine.measure.protocol's: identical settings for every model,
interleaved runs, ratios only within one measurement, spread from the runs.
Candidates are ov.Models that are not (yet) workspace models, so they are
measured with the protocol's benchmark loop itself
(engine.measure.benchmark.measure) rather than through stored runs. The
order alternates from round to round (A B C, C B A, …), as the protocol's
A B, B A does for two, so a slow drift in machine load favours no model."""

from __future__ import annotations

import threading
from typing import Any

from ..precision import SPEED_DEFAULT
from ..progress import Progress, within


def interleaved_order(models: int, rounds: int) -> list[int]:
    forward = list(range(models))
    return [i for r in range(rounds) for i in (forward if r % 2 == 0 else forward[::-1])]


class InterleavedTiming:
    """A callable: list of ov.Models → per-model list of throughput runs (FPS)."""

    def __init__(self, layout: str, *, seconds_per_run: float = 1.0, rounds: int = 3,
                 infer_precision: str = SPEED_DEFAULT, cancel: threading.Event | None = None,
                 progress: Progress | None = None) -> None:
        self.layout, self.seconds, self.rounds = layout, seconds_per_run, rounds
        self.precision, self.cancel, self.progress = infer_precision, cancel, progress
        self.inference_precision = ""  # what actually ran, from the last run

    def __call__(self, models: list[Any]) -> list[list[float]]:
        from ..measure.benchmark import BenchmarkSettings, measure

        settings = BenchmarkSettings(time_s=self.seconds, infer_precision=self.precision)
        runs: list[list[float]] = [[] for _ in models]
        order = interleaved_order(len(models), self.rounds)
        run_ms = int(self.seconds * 1000)
        for k, i in enumerate(order):
            stage = f"benchmark {k + 1}/{len(order)} (ms)"
            report = within(self.progress, stage, k * run_ms, len(order) * run_ms)
            if report is not None:
                # Said at the start too: a run shorter than the loop's report interval reports nothing itself.
                report(stage, 0, run_ms)
            result = measure(models[i], settings, self.layout, cancel=self.cancel, progress=report)
            runs[i].append(result["throughput_fps"])
            self.inference_precision = result["inference_precision"]
        return runs
