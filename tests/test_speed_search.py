"""The speed-aware search's mechanics, with injected timing, per-layer times
and metric: which groups it keeps in floating point, and that it honours the
accuracy and time budgets. Nothing here measures anything."""

from __future__ import annotations

import pytest

from engine.quantize.search import Budget, Search

GROUPS = ["c1", "c2", "c3", "c4", "c5"]
FP_MS = {g: 1.0 for g in GROUPS}
PARENT = "parent"


class Injected:
    """A model is the frozenset of groups kept in floating point; its latency
    is the sum of its groups' times, INT8 groups at ``int8_ms``."""

    def __init__(self, int8_ms: dict[str, float], *, profile_int8: dict[str, float] | None = None,
                 metric=None, clock=None, step_s: float = 0.0) -> None:
        self.int8_ms, self.profile_int8 = int8_ms, profile_int8 or int8_ms
        self.metric = metric or (lambda fp: 1.0)
        self.clock, self.step_s = clock, step_s
        self.built: list[frozenset] = []

    def latency(self, model) -> float:
        return sum(FP_MS[g] if model == PARENT or g in model else self.int8_ms[g] for g in GROUPS)

    def build(self, ignored):
        self.built.append(ignored)
        return frozenset(ignored)

    def timing(self, models):
        if self.clock is not None:
            self.clock.now += self.step_s
        return [[1000 / self.latency(m)] * 3 for m in models]

    def profile(self, model):
        if model == PARENT:
            return dict(FP_MS)
        return {g: FP_MS[g] if g in model else self.profile_int8[g] for g in GROUPS}

    def evaluate(self, model):
        return 1.0 if model == PARENT else self.metric(model)

    def groups(self, int8_model):
        return list(GROUPS)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def search(src, budget=None, clock=None):
    return Search(src, budget or Budget(max_drop=1.0), parent=PARENT, **({"clock": clock} if clock else {})).run()


def int8_with_losses(losing: dict[str, float]) -> dict[str, float]:
    """INT8 saves 0.3 ms on every group except those given, which it slows down."""
    return {g: FP_MS[g] + losing[g] if g in losing else FP_MS[g] - 0.3 for g in GROUPS}


def test_exactly_the_losing_groups_stay_in_floating_point():
    out = search(Injected(int8_with_losses({"c2": 0.4, "c4": 0.2})))
    assert out.chosen.fp_groups == ["c2", "c4"]
    assert not out.keep_parent and out.chosen.within_budget
    assert out.stopped == "done"
    assert [c.label for c in out.candidates][0] == "Default INT8"
    assert {g for g, ms in out.losses_ms.items() if ms > 0} == {"c2", "c4"}


def test_a_wrong_proposal_from_per_layer_times_is_undone_by_the_whole_model_run():
    # Per-layer times say c3 loses too; the whole model says it gains.
    truth = int8_with_losses({"c2": 0.4, "c4": 0.2})
    profile = {**truth, "c3": FP_MS["c3"] + 0.05}
    out = search(Injected(truth, profile_int8=profile))
    assert out.chosen.fp_groups == ["c2", "c4"]
    assert out.candidates[1].fp_groups == ["c2", "c3", "c4"] and out.candidates[1].accepted  # proposed, kept at first
    assert any(c.accepted and "back to INT8" in c.label and "c3" not in c.fp_groups for c in out.candidates)


def test_a_faster_candidate_over_the_accuracy_budget_is_rejected():
    # Keeping c2 in floating point would cost 2 points of agreement here.
    metric = lambda fp: 0.98 if "c2" in fp else 1.0  # noqa: E731
    out = search(Injected(int8_with_losses({"c2": 0.4, "c4": 0.2}), metric=metric), Budget(max_drop=1.0))
    assert out.chosen.fp_groups == ["c4"]
    assert all(c.drop <= 1.0 for c in out.candidates if c.accepted)
    rejected = [c for c in out.candidates if "c2" in c.fp_groups]
    assert rejected and all(not c.accepted and c.note == "over the accuracy budget" for c in rejected)


def test_no_configuration_within_the_budget_means_keep_the_parent():
    out = search(Injected(int8_with_losses({}), metric=lambda fp: 0.9), Budget(max_drop=1.0))
    assert out.keep_parent and out.verdict.startswith("keep the parent")
    assert not any(c.within_budget for c in out.candidates)


def test_int8_slower_everywhere_means_keep_the_parent():
    out = search(Injected(int8_with_losses({g: 0.1 for g in GROUPS})))
    assert out.keep_parent and "no INT8 configuration beat it" in out.verdict
    assert out.chosen.fp_groups == GROUPS  # the fastest it found is the parent's own arithmetic


@pytest.mark.parametrize("limit", [25.0, 45.0])
def test_the_search_time_is_respected(limit):
    clock = Clock()
    src = Injected(int8_with_losses({"c1": 0.1, "c2": 0.4, "c4": 0.2}), clock=clock, step_s=10.0)
    out = search(src, Budget(max_drop=1.0, search_time_s=limit), clock=clock)
    assert out.seconds <= limit
    assert out.stopped.startswith("stopped")
    assert len(out.candidates) == int(limit // 10)


@pytest.mark.parametrize("seed", range(6))
def test_many_groups_with_noisy_per_layer_times(seed, monkeypatch):
    import numpy as np

    rng = np.random.default_rng(seed)
    names = [f"g{i:02d}" for i in range(16)]
    monkeypatch.setattr(__import__(__name__), "GROUPS", names)
    monkeypatch.setitem(globals(), "FP_MS", {g: 1.0 for g in names})
    losers = set(rng.choice(names, size=5, replace=False))
    # Every effect is above the 1% a step must gain (16 groups of ~1 ms: 0.16 ms).
    truth = {g: 1.0 + float(rng.uniform(0.25, 0.5)) if g in losers else 1.0 - float(rng.uniform(0.25, 0.5))
             for g in names}
    # Per-layer times propose every loser and three groups that really gain.
    false = set(rng.choice(sorted(set(names) - losers), size=3, replace=False))
    profile = {g: truth[g] if g not in false else 1.0 + float(rng.uniform(0.01, 0.6)) for g in names}
    src = Injected(truth, profile_int8=profile)
    src.groups = lambda model: list(names)
    out = search(src, Budget(max_drop=1.0, search_time_s=1e9))
    assert set(out.chosen.fp_groups) == losers
