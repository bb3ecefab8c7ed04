"""`owb calibrate --method speed-aware`: the search (engine.quantize.search)
wired to real sources, and the child it always produces.

- build: nncf.quantize with ``IgnoredScope(names=...)``, the names read off
  the Default INT8 graph NNCF built (engine.quantize.groups);
- timing: candidates and the parent measured interleaved with identical
  settings (engine.quantize.timing), in the speed precision;
- profile: per-layer times with PERF_COUNT (engine.measure.layers) in the
  benchmark's settings, charged to groups;
- evaluate: the accuracy budget's metric, compiled in f32: the task metric on
  annotated data, agreement with the parent on unannotated data.

The child is the fastest configuration confirmed within the budget. When no
INT8 configuration beats the parent, it is still saved, with its trace, and
marked ``keep_parent``: its page and Compare say to keep the parent."""

from __future__ import annotations

import time
from typing import Any

from ..records import Model
from .search import Budget, Outcome, Search

PROFILE_RUNS = 20


class RealSources:
    def __init__(self, calibration: Any, ov_model: Any, cal: Any, common: dict, *, bench_time: float,
                 rounds: int, infer_precision: str) -> None:
        from ..dataset_store import load_index
        from ..inference import DatasetRunner
        from .timing import InterleavedTiming

        self.c, self.ov_model, self.cal, self.common = calibration, ov_model, cal, common
        ctx = calibration.ctx
        self.precision = infer_precision
        self.fq_groups: dict[str, list[str]] = {}
        self.timing = InterleavedTiming(calibration.parent.config.layout, seconds_per_run=bench_time, rounds=rounds,
                                        infer_precision=infer_precision, cancel=ctx.cancel,
                                        progress=ctx.progress)
        index = load_index(calibration.ws, calibration.dataset)
        self.items = list(range(len(index.items)))
        if calibration.agreement:
            from .agreement import ParentReference, make_agreement_validation

            ref = ParentReference(calibration.ws, calibration.parent, index, DatasetRunner, ctx, ov_model=ov_model)
            self.validation = make_agreement_validation(ref, calibration.ws, calibration.parent, DatasetRunner, ctx)
        else:
            from ..accuracy_control import make_validation

            self.validation = make_validation(calibration.ws, calibration.parent, calibration.dataset, index,
                                              DatasetRunner, ctx)

    def build(self, ignored: frozenset[str]) -> Any:
        model = self.c.quantize(self.ov_model, self.cal, self.common, ignored)
        if not ignored:
            from .groups import quantizer_groups

            self.fq_groups = quantizer_groups(model)
        return model

    def groups(self, int8_model: Any) -> list[str]:
        return list(self.fq_groups)

    def profile(self, model: Any) -> dict[str, float]:
        from ..measure.benchmark import BenchmarkSettings
        from ..measure.layers import layer_table
        from .groups import charge

        # In the settings the candidates are benchmarked with (the protocol's rule).
        self.c.ctx.progress("per-layer times")
        table = layer_table(model, runs=PROFILE_RUNS, settings=BenchmarkSettings(infer_precision=self.precision))
        return charge(table, self.fq_groups)

    def evaluate(self, model: Any) -> float:
        from ..inference import compile_model

        value, _ = self.validation(compile_model(model), self.items)  # f32: engine.precision.ACCURACY
        return value


class SearchClock:
    """The job context as the search's steps see it. The search is time-boxed,
    so its progress is its seconds out of ``--search-time`` (an upper bound:
    it may finish early), whatever step it is in; the step (NNCF's statistics,
    a benchmark, a validation pass, with its own count) is in the stage name."""

    def __init__(self, ctx: Any, limit_s: float) -> None:
        self.ctx, self.limit = ctx, float(limit_s)
        self.started = time.monotonic()

    def __getattr__(self, name: str) -> Any:  # cancel, check_cancel, log, log_handler, ws
        return getattr(self.ctx, name)

    def progress(self, stage: str, step: int = 0, total: int | None = None) -> None:
        elapsed = min(time.monotonic() - self.started, self.limit)
        self.ctx.progress(f"search · {stage}", int(elapsed), int(self.limit))


def group_report(out: Outcome) -> list[dict]:
    """Each group kept in floating point: the ms INT8 added to it (Default INT8
    against the parent, per inference) and its effect on the metric, measured
    alone where a step changed only that group, else with its step's others."""
    by_step = {c.step: c for c in out.candidates}
    rows = []
    for g in out.chosen.fp_groups:
        effect, alone = None, False
        for c in out.candidates:
            base = by_step.get(c.base_step) if c.base_step is not None else None
            if base is None or c.metric is None or base.metric is None:
                continue
            changed = set(c.fp_groups) ^ set(base.fp_groups)
            if g in changed:
                sign = 1 if g in c.fp_groups else -1  # the effect of keeping g in FP
                value = round(sign * (c.metric - base.metric) * 100, 4)
                if len(changed) == 1:
                    effect, alone = value, True
                elif effect is None:
                    effect = value
        rows.append({"group": g, "int8_added_ms": out.losses_ms.get(g), "metric_effect_pt": effect,
                     "effect_measured": "alone" if alone else ("with its step's other groups" if effect is not None
                                                               else "not measured")})
    return rows


def run_speed_aware(ctx: Any, calibration: Any, *, bench_time: float = 1.0, rounds: int = 3,
                    infer_precision: str = "auto") -> tuple[Model, dict]:
    """Run the search and save its child; returns (child, the search's JSON)."""
    spec = calibration.spec
    start = time.perf_counter()
    clocked = SearchClock(ctx, spec.search_time)
    calibration.ctx = clocked  # every step of the search reports through the search's clock
    try:
        ov_model, cal, n, common = calibration.prepare()
        sources = RealSources(calibration, ov_model, cal, common, bench_time=bench_time, rounds=rounds,
                              infer_precision=infer_precision)
        budget = Budget(max_drop=spec.max_drop, drop_type=spec.drop_type, search_time_s=spec.search_time)
        outcome = Search(sources, budget, parent=ov_model, report=clocked.progress,
                         log=ctx.log.info, started=clocked.started).run()
    finally:
        calibration.ctx = ctx
    ctx.check_cancel()
    search = {
        **outcome.to_dict(),
        "metric": calibration.budget_metric(),
        "agreement": calibration.agreement,
        "max_drop": spec.max_drop,
        "drop_type": spec.drop_type,
        "kept_in_fp": group_report(outcome),
        "inference_precision": sources.timing.inference_precision,
        "seconds_per_run": bench_time,
        "rounds": rounds,
    }
    from ..calibration import fp32_operations

    # The groups kept in floating point stand where AccuracyAware's reverted
    # ops do, so Compare's "why" names them as kept out on purpose.
    child = calibration.save(outcome.model, n, time.perf_counter() - start, fp32_operations(outcome.model),
                             list(outcome.chosen.fp_groups),
                             extra={"speed_aware": search, "keep_parent": outcome.keep_parent,
                                    "verdict": outcome.verdict})
    ctx.log.info("speed-aware: %s", outcome.verdict)
    return child, search
