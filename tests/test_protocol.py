"""The measurement protocol (engine.measure.protocol): which runs make a
figure, which figures make a ratio, how history is labelled, how spread is
computed. Selection logic runs on synthetic run records (their numbers are
never shown as measurements); the interleaving test measures real models and
asserts the order and pairing of its runs, never their times."""

from __future__ import annotations

import pytest

from engine.device import cpu_summary
from engine.measure import protocol as pr
from engine.measure.benchmark import BenchmarkSettings, disturbed
from engine.records import InferenceResult, Model

CPU = "test cpu"


def run(model: str, fps: float, created: float, *, hint: str = "throughput", precision: str = "bf16",
        streams: int | None = None, time_s: float = 1.0, inputs: str = "random", series: str | None = None,
        index: int = 0, cpu: str = CPU, median: float = 1.0, worst: float = 2.0,
        target: str | None = None) -> InferenceResult:
    result = {"throughput_fps": fps, "latency_ms": {"median": median, "p90": median, "p99": median, "max": worst},
              "hint": hint, "inference_precision": precision, "inputs": inputs, "time_s": time_s, "device": "CPU",
              "cpu": cpu, "settings": {"streams": streams, "requests": None, "batch": None},
              "streams": 2, "requests": 2, "disturbed": disturbed({"median": median, "max": worst}),
              "series": {"id": series, "index": index, "runs": 3} if series else None}
    if target:
        result["target"] = target
    return InferenceResult(kind="benchmark", model=model, result=result, created=created)


def test_spread_is_min_max_then_p10_p90():
    assert pr.spread([3.0, 1.0, 2.0]) == {"low": 1.0, "high": 3.0, "kind": "min-max", "runs": 3}
    values = [float(v) for v in range(1, 21)]  # 20 runs: p10 is the 2nd value, p90 the 18th
    assert pr.spread(values) == {"low": 2.0, "high": 18.0, "kind": "p10-p90", "runs": 20}
    with pytest.raises(ValueError):
        pr.spread([])


def test_figure_is_the_median_of_its_runs_with_their_settings():
    runs = [run("m", fps, t) for t, fps in enumerate((100.0, 130.0, 90.0))]
    fig = pr.figure(runs)
    assert fig["throughput_fps"] == 100.0 and fig["runs"] == 3
    assert (fig["throughput_spread"]["low"], fig["throughput_spread"]["high"]) == (90.0, 130.0)
    assert fig["settings"]["hint"] == "throughput" and fig["inference_precision"] == "bf16"
    assert [r["id"] for r in fig["per_run"]] == [r.id for r in runs]
    assert fig["disturbed_runs"] == 0


def test_a_figure_refuses_runs_with_different_settings():
    for other in (dict(hint="latency"), dict(precision="f32"), dict(streams=1), dict(time_s=2.0),
                  dict(inputs="dataset x"), dict(cpu="another cpu")):
        with pytest.raises(pr.Incomparable):
            pr.figure([run("m", 100.0, 0), run("m", 100.0, 1, **other)])


def test_a_ratio_refuses_figures_with_different_settings():
    fa = pr.figure([run("a", 100.0, 0)])
    fb = pr.figure([run("b", 150.0, 1, precision="f32")])
    with pytest.raises(pr.Incomparable, match="inference_precision: bf16 ≠ f32"):
        pr.ratio(fa, fb, paired=True)


def test_paired_ratio_spread_comes_from_the_rounds_and_unpaired_from_every_pair():
    fa = pr.figure([run("a", fps, t) for t, fps in enumerate((100.0, 200.0))])
    fb = pr.figure([run("b", fps, t) for t, fps in enumerate((150.0, 200.0))])
    paired = pr.ratio(fa, fb, paired=True)
    assert paired["value"] == pytest.approx(175.0 / 150.0, abs=1e-3)
    assert (paired["spread"]["low"], paired["spread"]["high"], paired["spread"]["runs"]) == (1.0, 1.5, 2)
    loose = pr.ratio(fa, fb, paired=False)
    assert (loose["spread"]["low"], loose["spread"]["high"], loose["spread"]["runs"]) == (0.75, 2.0, 4)


def test_interleaved_order_alternates_who_goes_first():
    assert pr.interleaved_order(3) == ["a", "b", "b", "a", "a", "b"]


class FakeWs:
    """Just what the history functions read: benchmark records per model."""

    def __init__(self, records: list[InferenceResult]) -> None:
        self.records = records

    def all(self, _cls):
        return list(self.records)


@pytest.fixture
def this_cpu(monkeypatch):
    monkeypatch.setattr("engine.device.cpu_summary", lambda device="CPU": CPU)


def test_history_pair_uses_only_identical_settings_and_is_labelled(this_cpu):
    a, b = Model(name="a", id="A"), Model(name="b", id="B")
    records = [
        run("A", 100.0, 1000.0), run("A", 110.0, 1001.0),  # bf16, 1 s runs
        run("B", 150.0, 1002.0, precision="f32"),  # B never ran in bf16 with 1 s runs ...
        run("B", 160.0, 1003.0, time_s=2.0),  # ... nor with 1 s runs in bf16
    ]
    assert pr.history_pair(FakeWs(records), a, b) is None
    records.append(run("B", 165.0, 1004.0))
    pair = pr.history_pair(FakeWs(records), a, b)
    assert pair["source"] == "history" and pair["ratio"]["paired"] is False
    assert pair["a"]["runs"] == 2 and pair["b"]["runs"] == 1 and pair["b"]["throughput_fps"] == 165.0
    assert pair["dates"]["a"] == [pr.stamp(1000.0), pr.stamp(1001.0)] and pair["dates"]["b"] == [pr.stamp(1004.0)] * 2
    assert "from history" in pr.ratio_text(pair) and pr.stamp(1004.0) in pr.ratio_text(pair)
    # asking for another precision finds the f32 runs of B, but A has none
    assert pr.history_pair(FakeWs(records), a, b, precision="f32") is None


def test_history_pair_takes_the_latest_runs_of_the_setting_both_have(this_cpu):
    a, b = Model(name="a", id="A"), Model(name="b", id="B")
    records = [run("A", 100.0 + i, float(i)) for i in range(8)] + [run("B", 200.0, 10.0)]
    pair = pr.history_pair(FakeWs(records), a, b, runs=5)
    assert [r["throughput_fps"] for r in pair["a"]["per_run"]] == [103.0, 104.0, 105.0, 106.0, 107.0]


def test_latest_figure_keeps_hints_apart_and_reads_series(this_cpu):
    m = Model(name="m", id="M")
    records = [run("M", fps, 10.0 + i, series="s1", index=i) for i, fps in enumerate((100.0, 120.0, 110.0))]
    records.append(run("M", 50.0, 20.0, hint="latency"))  # newer, but another hint
    records.append(run("M", 999.0, 30.0, streams=1))  # newer, but not benchmark_app's defaults
    ws = FakeWs(records)
    fig = pr.latest_figure(ws, m, "throughput")
    assert fig["throughput_fps"] == 110.0 and fig["runs"] == 3 and fig["hint"] == "throughput"
    assert pr.latest_figure(ws, m, "latency")["throughput_fps"] == 50.0
    assert pr.latest_figure(ws, m, "throughput", precision="f32") is None


def test_targets_runs_never_mix_with_this_machines(this_cpu):
    a, b = Model(name="a", id="A"), Model(name="b", id="B")
    # edge1 has the very same CPU string: only the target tag keeps its runs apart
    records = [run("A", 100.0, 1.0), run("B", 150.0, 2.0), run("A", 40.0, 3.0, target="edge1"),
               run("B", 30.0, 4.0, target="edge1"), run("A", 20.0, 5.0, target="edge2", cpu="an edge cpu")]
    ws = FakeWs(records)
    with pytest.raises(pr.Incomparable, match="target: None ≠ edge1"):
        pr.figure([records[0], records[2]])
    assert pr.history_pair(ws, a, b)["ratio"]["value"] == 1.5
    assert pr.history_pair(ws, a, b, target="edge1")["ratio"]["value"] == 0.75
    assert pr.history_pair(ws, a, b, target="edge2") is None
    assert pr.latest_figure(ws, a, target="edge2")["throughput_fps"] == 20.0
    assert pr.latest_figure(ws, a)["throughput_fps"] == 100.0
    # one model on two machines: an unpaired ratio, the machine may differ but nothing else
    here, there = pr.figure([records[0]]), pr.figure([records[4]])
    with pytest.raises(pr.Incomparable):
        pr.ratio(here, there, paired=False)
    assert pr.ratio(here, there, paired=False, across_machines=True)["value"] == 0.2
    slower = pr.figure([run("A", 20.0, 6.0, target="edge2", cpu="an edge cpu", precision="f32")])
    with pytest.raises(pr.Incomparable, match="inference_precision"):
        pr.ratio(here, slower, paired=False, across_machines=True)


def test_series_group_runs_and_loose_runs_stand_alone():
    records = [run("M", 1.0, 1.0, series="x", index=0), run("M", 2.0, 2.0), run("M", 3.0, 3.0, series="x", index=1)]
    groups = pr.series_of(records)
    assert [[r.result["throughput_fps"] for r in g] for g in groups] == [[2.0], [1.0, 3.0]]


def test_disturbed_run_and_agreement():
    assert disturbed({"median": 1.0, "max": 10.5}) and not disturbed({"median": 1.0, "max": 9.0})
    fig = pr.figure([run("m", 100.0, 0, worst=20.0)])
    assert fig["disturbed_runs"] == 1
    r = lambda lo, hi: {"spread": {"low": lo, "high": hi}}  # noqa: E731
    assert pr.agree(r(1.0, 1.2), r(1.15, 1.3)) and not pr.agree(r(1.0, 1.1), r(1.2, 1.3))


def test_measure_pair_interleaves_real_runs_with_identical_settings(tmp_path):
    """Two real models measured A B B A: each side's runs form one series, the
    runs alternate in the stored history, and the ratio pairs round with round."""
    from engine.models import import_model
    from engine.workspace import Workspace
    from model_builders import build_int8_ir, build_ir

    ws = Workspace(tmp_path / "home")
    a = import_model(ws, build_ir(tmp_path), name="fp", task="generic")
    b = import_model(ws, build_int8_ir(tmp_path), name="q", task="generic")
    stages = []
    pair = pr.measure_pair(ws, a, b, BenchmarkSettings(infer_precision="f32"), rounds=2, total_time_s=0.4,
                           progress=lambda stage, d, t: stages.append((d, t, stage)))
    stored = sorted(ws.all(InferenceResult), key=lambda r: r.created)
    assert [r.model for r in stored] == [a.id, b.id, b.id, a.id]
    assert pair["source"] == "interleaved" and pair["ratio"]["paired"] and pair["ratio"]["spread"]["runs"] == 2
    assert pair["settings"]["inference_precision"] == "f32" and pair["settings"]["seconds_per_run"] == 0.2
    assert pr.differences(pair["a"]["settings"], pair["b"]["settings"]) == []
    series = {m.id: {r.result["series"]["id"] for r in stored if r.model == m.id} for m in (a, b)}
    assert len(series[a.id]) == len(series[b.id]) == 1 and series[a.id] != series[b.id]
    fps = {r.id: r.result["throughput_fps"] for r in stored}
    rounds = [fps[y["id"]] / fps[x["id"]] for x, y in zip(pair["a"]["per_run"], pair["b"]["per_run"])]
    assert (pair["ratio"]["spread"]["low"], pair["ratio"]["spread"]["high"]) == (
        pytest.approx(min(rounds), abs=1e-4), pytest.approx(max(rounds), abs=1e-4))
    totals = {t for _, t, _ in stages}
    assert totals == {4 * 200} and stages[-1][0] <= 800  # one scale for the whole measurement
    assert cpu_summary() == pair["settings"]["cpu"]
