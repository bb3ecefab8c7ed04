"""The speed-aware search: which quantizer groups to keep in floating point.

Per-layer times measured on this CPU *propose*: a group whose runtime nodes
take longer in the INT8 model than in the parent is a candidate to keep in
floating point, the largest loss first. Interleaved whole-model benchmarks
*confirm*: a step is kept only when the candidate, measured interleaved with
the configuration it tries to improve (and the parent), is faster than it,
and its metric stays within the accuracy budget. Per-layer sums are only a
hint (fusions and reorders move time between layers); the whole-model run is
the judge.

Plan: first every losing group at once; if that is faster, put the reverted
groups back to INT8 in halves, then quarters, … (the smallest estimated
losses first), keeping whatever is faster; if not, move the losing groups to
floating point the same way, the largest losses first. The search stops when the time budget
would be exceeded by the next step, and returns the fastest configuration
confirmed within the accuracy budget, or says to keep the parent.

Everything the search touches comes through ``Sources``, so tests inject
them and check the mechanics without measuring anything."""

from __future__ import annotations

import statistics
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Protocol

from ..measure.protocol import spread
from ..progress import Progress

MIN_LOSS_MS = 0.0  # a group is proposed when INT8 adds any time to it
STEP_GAIN = 1.01  # a step must beat the configuration it improves by 1% (median of paired runs)
SPEEDUP = 1.02  # below this median ratio against the parent, INT8 is no speed-up worth shipping

Timing = Callable[[list[Any]], list[list[float]]]  # models → per-model throughput runs, interleaved


class Sources(Protocol):
    def build(self, ignored: frozenset[str]) -> Any: ...  # INT8 model with these groups in floating point
    def timing(self, models: list[Any]) -> list[list[float]]: ...  # see Timing
    def profile(self, model: Any) -> dict[str, float]: ...  # ms per inference per group
    def evaluate(self, model: Any) -> float: ...  # budget metric, 0..1
    def groups(self, int8_model: Any) -> list[str]: ...  # the quantizer groups of an INT8 model


@dataclass
class Budget:
    max_drop: float = 1.0  # percentage points (absolute) or percent (relative)
    drop_type: str = "absolute"
    search_time_s: float = 600.0

    def drop(self, parent: float, value: float) -> float:
        if self.drop_type == "relative":
            return (parent - value) / parent * 100 if parent else 0.0
        return (parent - value) * 100

    def allows(self, parent: float, value: float) -> bool:
        return self.drop(parent, value) <= self.max_drop + 1e-9


@dataclass
class Candidate:
    step: int
    label: str
    base_step: int | None  # the configuration this one tried to improve
    fp_groups: list[str]  # kept in floating point
    ratio: float | None = None  # throughput / parent's, median of paired runs
    ratio_spread: dict | None = None
    ratio_to_base: float | None = None  # throughput / the configuration it tried to improve
    fps: list[float] = field(default_factory=list)
    parent_fps: list[float] = field(default_factory=list)
    metric: float | None = None
    drop: float | None = None
    within_budget: bool = False
    accepted: bool = False
    note: str = ""
    seconds: float = 0.0


@dataclass
class Outcome:
    candidates: list[Candidate]
    chosen: Candidate | None  # the fastest configuration confirmed within the budget
    keep_parent: bool
    verdict: str
    parent_metric: float
    losses_ms: dict[str, float]  # per group: ms INT8 added (Default INT8 vs parent)
    groups: list[str]
    stopped: str  # "done", or why the search ended early
    seconds: float
    model: Any = None  # the chosen model (not serialised)
    default_model: Any = None

    def to_dict(self) -> dict:
        out = asdict(self)
        out.pop("model")
        out.pop("default_model")
        return out


def halves(items: list[str]) -> list[list[str]]:
    mid = (len(items) + 1) // 2
    return [part for part in (items[:mid], items[mid:]) if part]


def paired(base: list[float], other: list[float]) -> list[float]:
    return [o / b for b, o in zip(base, other) if b]


class Search:
    def __init__(self, sources: Sources, budget: Budget, *, parent: Any,
                 clock: Callable[[], float] = time.monotonic,
                 report: Progress | None = None,
                 log: Callable[[str], None] | None = None, started: float | None = None) -> None:
        self.src, self.budget, self.parent = sources, budget, parent
        self.clock = clock
        self.report = report or (lambda stage, step, total: None)
        self.log = log or (lambda msg: None)
        self.start = clock() if started is None else started  # on ``clock``'s scale
        self.candidates: list[Candidate] = []
        self.models: dict[frozenset[str], Any] = {}
        self.step_seconds: list[float] = []

    # ------------------------------------------------------------ one step
    def elapsed(self) -> float:
        return self.clock() - self.start

    def time_left_for_step(self) -> bool:
        est = statistics.mean(self.step_seconds) if self.step_seconds else 0.0
        return self.elapsed() + est <= self.budget.search_time_s

    def measure(self, ignored: frozenset[str], label: str, base: Candidate | None) -> Candidate:
        t0 = self.clock()
        step = len(self.candidates)
        self.report(f"candidate {step}: {label}", step, None)
        model = self.src.build(ignored)
        self.models[ignored] = model
        lineup = [self.parent, model] + ([self.models[frozenset(base.fp_groups)]] if base else [])
        runs = self.src.timing(lineup)
        parent_runs, mine = runs[0], runs[1]
        ratios = paired(parent_runs, mine)
        cand = Candidate(step=step, label=label, base_step=base.step if base else None, fp_groups=sorted(ignored),
                         fps=[round(f, 3) for f in mine], parent_fps=[round(f, 3) for f in parent_runs],
                         ratio=round(statistics.median(ratios), 4) if ratios else None,
                         ratio_spread=spread(ratios) if ratios else None)
        if base is not None:
            to_base = paired(runs[2], mine)
            cand.ratio_to_base = round(statistics.median(to_base), 4) if to_base else None
        cand.metric = float(self.src.evaluate(model))
        cand.drop = round(self.budget.drop(self.parent_metric, cand.metric), 4)
        cand.within_budget = self.budget.allows(self.parent_metric, cand.metric)
        cand.seconds = round(self.clock() - t0, 3)
        self.step_seconds.append(cand.seconds)
        self.candidates.append(cand)
        self.log(f"candidate {step} ({label}): {len(ignored)} groups in FP, ratio {cand.ratio}, "
                 f"vs base {cand.ratio_to_base}, metric {cand.metric:.4f} (drop {cand.drop})")
        return cand

    def better(self, cand: Candidate, base: Candidate) -> bool:
        """Kept when faster than its base within the budget, or, while the
        base is over the budget, when it brings the metric closer to it."""
        if cand.within_budget:
            if not base.within_budget:
                cand.note = "brings the metric within the budget"
                return True
            faster = cand.ratio_to_base is not None and cand.ratio_to_base >= STEP_GAIN
            cand.note = "faster" if faster else "not faster"
            return faster
        if not base.within_budget and cand.metric > (base.metric or 0):
            cand.note = "over the budget, but closer to it"
            return True
        cand.note = "over the accuracy budget"
        return False

    def attempt(self, ignored: frozenset[str], label: str, base: Candidate) -> Candidate | None:
        """Measure one candidate against ``base``; the new base if kept."""
        if not self.time_left_for_step():
            raise OutOfTime
        cand = self.measure(ignored, label, base)
        cand.accepted = self.better(cand, base)
        if not cand.accepted and base.within_budget and ignored and ignored != frozenset(base.fp_groups):
            # Once a base is within the budget every later base is too, and the
            # answer is the last base: a rejected candidate is never needed again.
            self.models.pop(ignored, None)
        return cand if cand.accepted else None

    # ------------------------------------------------------------ the plan
    def run(self) -> Outcome:
        self.report("parent metric", 0, None)
        self.parent_metric = float(self.src.evaluate(self.parent))
        default = self.measure(frozenset(), "Default INT8", None)
        default.accepted, default.note = True, "starting point"
        self.report("per-layer times of the parent", 0, None)
        parent_ms = self.src.profile(self.parent)
        self.report("per-layer times of Default INT8", 0, None)
        int8_ms = self.src.profile(self.models[frozenset()])
        groups = list(self.src.groups(self.models[frozenset()]))
        losses = {g: int8_ms.get(g, 0.0) - parent_ms.get(g, 0.0) for g in groups}
        losing = sorted((g for g in groups if losses[g] > MIN_LOSS_MS), key=lambda g: -losses[g])
        self.log(f"{len(losing)} of {len(groups)} groups take longer in INT8: "
                 + ", ".join(f"{g} +{losses[g]:.3f} ms" for g in losing[:10]))
        current, stopped = default, "done"
        try:
            current = self.plan(current, losing, losses)
        except OutOfTime:
            stopped = f"stopped: the next step would pass the search time ({self.budget.search_time_s:g} s)"
            self.log(stopped)
        return self.outcome(current, losses, groups, stopped)

    def plan(self, current: Candidate, losing: list[str], losses: dict[str, float]) -> Candidate:
        if not losing:
            return current
        bulk = self.attempt(frozenset(losing), f"all {len(losing)} losing groups in FP", current)
        if bulk is not None:
            # Per-layer times are noisy: put the reverted groups back to INT8
            # in ever smaller chunks, the smallest estimated losses first.
            return self.bisect(bulk, sorted(losing, key=lambda g: losses[g]), back=True)
        return self.bisect(current, losing, back=False)

    def bisect(self, current: Candidate, groups: list[str], *, back: bool) -> Candidate:
        """Move chunks of ``groups`` (halves, then their halves, breadth
        first, so the largest moves come first when time is short): back to
        INT8, or into floating point. A chunk not kept is split and tried
        again; a chunk of several that is kept may have carried a group the
        other way's loss hid, so its halves are tried in the other direction."""
        queue = [(chunk, back) for chunk in halves(groups)]
        while queue:
            chunk, to_int8 = queue.pop(0)
            fp = set(current.fp_groups)
            ignored = frozenset(fp - set(chunk)) if to_int8 else frozenset(fp | set(chunk))
            if ignored == fp:
                continue
            what = chunk[0] if len(chunk) == 1 else f"{len(chunk)} groups ({chunk[0]} …)"
            kept = self.attempt(ignored, f"{what} back to INT8" if to_int8 else f"{what} in FP", current)
            if kept is not None:
                current = kept
            if len(chunk) > 1:
                queue.extend((half, to_int8 if kept is None else not to_int8) for half in halves(chunk))
        return current

    def outcome(self, current: Candidate, losses: dict[str, float], groups: list[str], stopped: str) -> Outcome:
        within = [c for c in self.candidates if c.within_budget]
        # The accepted chain ends at the fastest confirmed step; without one
        # within the budget, the fastest within it, by its ratio to the parent.
        chosen = current if current.within_budget else max(within, key=lambda c: c.ratio or 0, default=None)
        if chosen is None:
            keep, verdict = True, (f"keep the parent: no INT8 configuration tried stays within the accuracy budget "
                                   f"({self.budget.max_drop:g} {'pt' if self.budget.drop_type == 'absolute' else '%'})")
            chosen_out = min(self.candidates, key=lambda c: c.drop if c.drop is not None else 1e9)
        else:
            chosen_out = chosen
            keep = (chosen.ratio or 0) < SPEEDUP
            verdict = (f"keep the parent: no INT8 configuration beat it on this CPU (best {chosen.ratio:.2f}× "
                       f"the parent's throughput)" if keep else
                       f"INT8 with {len(chosen.fp_groups)} group(s) in floating point runs {chosen.ratio:.2f}× "
                       f"the parent's throughput, drop {chosen.drop:.2f} within {self.budget.max_drop:g}")
        return Outcome(candidates=self.candidates, chosen=chosen_out, keep_parent=keep, verdict=verdict,
                       parent_metric=self.parent_metric, losses_ms={g: round(v, 5) for g, v in losses.items()},
                       groups=groups, stopped=stopped, seconds=round(self.elapsed(), 2),
                       model=self.models[frozenset(chosen_out.fp_groups)], default_model=self.models[frozenset()])


class OutOfTime(Exception):
    """The next step would pass the search's time budget."""
