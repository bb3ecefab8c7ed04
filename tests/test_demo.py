"""`owb demo` runs the tutorial headless on the embedded demo: baseline,
Default INT8, Compare with its verdict, the first rows of the
predictions-vs-parent report, and how to open the TUI. `--no-run` only makes
the demo. (No timing is asserted: the machine running the tests is shared.)"""

from __future__ import annotations

import json

import pytest
from conftest import run_owb

from engine.records import InferenceResult, Model, Report
from engine.workspace import Workspace


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    home = tmp_path_factory.mktemp("demo") / "home"
    proc = run_owb("demo", home=home, env={"COLUMNS": "80"})
    return home, proc


def test_demo_runs_the_tutorial(demo_run):
    home, proc = demo_run
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert all(len(line) <= 80 for line in out.splitlines()), out
    words = " ".join(out.split())  # rich wraps at 80 columns
    for step in ("1/4 baseline", "2/4 Default INT8", "3/4 compare", "4/4 predictions report"):
        assert step in out
    assert "verdict: INT8 runs" in words
    assert "O = optimized demo-cnn-int8, P = parent demo-cnn" in words
    assert sum(line.lstrip().startswith("shape_0") for line in out.splitlines()) == 5
    assert f"Open the terminal UI with owb --home {home}" in words
    ws = Workspace(home)
    child = ws.get(Model, "demo-cnn-int8")
    parent = ws.get(Model, "demo-cnn")
    assert child.parent == parent.id and child.precision == "INT8"
    assert ws.find(InferenceResult, model=parent.id, kind="benchmark")
    assert ws.find(InferenceResult, model=parent.id, kind="accuracy")
    assert [r.kind for r in ws.all(Report)] == ["predictions"]


def test_demo_again_keeps_its_child_and_json_has_the_figures(demo_run):
    home, _ = demo_run
    proc = run_owb("demo", "--json", home=home)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["calibration"]["reused"] is True and doc["created"] == []
    assert doc["compare"]["verdict"].startswith("INT8 runs")
    assert len(doc["report"]["rows"]) == 5 and doc["report"]["total_rows"] == 500
    assert doc["baseline"]["benchmark"]["throughput_fps"] > 0
    assert len(Workspace(home).find(Model, name="demo-cnn-int8")) == 1


def test_demo_no_run_only_makes_the_demo(tmp_path):
    proc = run_owb("demo", "--no-run", home=tmp_path / "home")
    assert proc.returncode == 0, proc.stderr
    assert "next:" in proc.stdout and "calibrate demo-cnn" in proc.stdout
    ws = Workspace(tmp_path / "home")
    assert [m.name for m in ws.all(Model)] == ["demo-cnn"] and not ws.all(InferenceResult)


async def test_the_tui_opens_on_what_the_demo_made(demo_run):
    """The demo's last line sends the newcomer to the TUI: the child sits under
    its parent, and its Reports tab lists the report the demo printed."""
    from owb_tui.app import OwbApp

    home, _ = demo_run
    ws = Workspace(home)
    app = OwbApp(ws)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        table = app.screen.query_one("#models")
        names = [str(table.get_row_at(i)[0]) for i in range(table.row_count)]
        assert names == ["demo-cnn", "└ demo-cnn-int8"]
        await pilot.press("down", "enter")
        await pilot.pause()
        await pilot.press("r")
        await pilot.pause(0.5)
        reports = app.screen.query_one("#rep-list")
        assert reports.row_count == 1
        assert "top1 agreement" in str(reports.get_row_at(0)[1])
