"""The TUI at 80x24 driven by Pilot on a real workspace: the projects tree,
help, import errors, the rendered screen, NO_COLOR and message coalescing."""

from __future__ import annotations

import re

import pytest

from engine.records import InferenceResult, Model
from engine.workspace import Workspace
from owb_tui.app import OwbApp

from . import copy_workspace, record_notifications, table_column, template_home, type_text, wait_for

SIZE = (80, 24)


@pytest.fixture
def ws(tmp_path_factory, tmp_path):
    return Workspace(copy_workspace(template_home(tmp_path_factory), tmp_path / "home"))


async def test_projects_lists_children_under_parents(ws):
    from owb_tui.screens.projects import ProjectsScreen

    app = OwbApp(ws)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, ProjectsScreen)
        table = app.screen.query_one("#models")
        names = table_column(table, 0)
        assert names == ["cls", "└ cls-int8"]
        assert table_column(table, 1) == ["FP32", "INT8"]
        parent = ws.get(Model, "cls")
        measured = [r for r in ws.all(InferenceResult) if r.kind == "accuracy" and r.model == parent.id][-1]
        assert table_column(table, 6)[0] == f"{measured.result['value'] * 100:.1f}%"
        assert table_column(table, 6)[1] == "-"  # the child was never measured
        # enter opens the selected model's page; esc comes back
        await pilot.press("down", "enter")
        await pilot.pause()
        assert app.screen.model_id == ws.get(Model, "cls-int8").id
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, ProjectsScreen)


async def test_filter_narrows_the_tree(ws):
    app = OwbApp(ws)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("slash")
        await type_text(pilot, "int8")
        await pilot.pause()
        assert table_column(app.screen.query_one("#models"), 0) == ["└ cls-int8"]
        await pilot.press("escape")  # clears the filter
        await pilot.pause()
        assert len(table_column(app.screen.query_one("#models"), 0)) == 2


async def test_keys_typed_at_once_after_slash_all_reach_the_filter(ws):
    """tmux send-keys '/cls-int8' or a paste: every key is queued before `/` is
    handled; none may fall through to the screen's bindings (c compare, …)."""
    from textual import events

    from owb_tui.screens.projects import ProjectsScreen

    app = OwbApp(ws)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        names = {"/": "slash", "-": "minus"}
        for ch in "/cls-int8":  # queued the way the driver queues a burst of input
            key = events.Key(names.get(ch, ch), ch)
            key.set_sender(app)
            app._driver.send_message(key)
        await pilot.pause(0.5)
        assert isinstance(app.screen, ProjectsScreen)  # c did not open Compare
        assert app.screen.query_one("#filter").value == "cls-int8"
        assert table_column(app.screen.query_one("#models"), 0) == ["└ cls-int8"]


async def test_help_lists_the_keys_of_the_screen(ws):
    from owb_tui.screens.help import HelpScreen

    app = OwbApp(ws)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        text = str(app.screen.query_one("#help-text").render())
        for line in ("m         Import a model", "o         Optimize the selected model to INT8",
                     "/         Filter the model list", "j         Jobs: progress, cancel, logs",
                     "q         Quit owb"):
            assert line in text
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen)
        # on the project page the list changes with the screen's own keys
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("question_mark")
        await pilot.pause()
        text = str(app.screen.query_one("#help-text").render())
        assert "Layers tab: profile per-layer time and precision" in text
        assert "Import a model" not in text


async def test_bad_model_path_notifies_and_keeps_the_form(ws, tmp_path):
    from owb_tui.screens.import_model import ImportModelScreen

    bogus = tmp_path / "broken.onnx"
    bogus.write_text("this is not a model")
    app = OwbApp(ws)
    async with app.run_test(size=SIZE) as pilot:
        seen = record_notifications(app)
        await pilot.pause()
        await pilot.press("m")
        await pilot.pause()
        assert isinstance(app.screen, ImportModelScreen)
        await type_text(pilot, "no/such/model.onnx")
        await pilot.click("#import")
        await wait_for(pilot, lambda: any(s == "error" for s, _ in seen))
        assert ("error", "model no/such/model.onnx does not exist") in seen
        assert isinstance(app.screen, ImportModelScreen) and app.is_running

        path = app.screen.query_one("#path")
        path.value = str(bogus)
        seen.clear()
        # Press the button itself: a click by coordinates can miss while the
        # form re-lays out around the facts text of the previous attempt.
        app.screen.query_one("#import").press()
        await wait_for(pilot, lambda: any(s == "error" for s, _ in seen))
        assert any("cannot read broken.onnx as a model (onnx)" in m for s, m in seen if s == "error")
        assert isinstance(app.screen, ImportModelScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert table_column(app.screen.query_one("#models"), 0) == ["cls", "└ cls-int8"]


async def test_import_model_reads_defaults_then_imports(ws):
    from ocr_fixtures import ppocr_model

    app = OwbApp(ws)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("m")
        await pilot.pause()
        form = app.screen
        form.query_one("#path").value = str(ppocr_model("cls"))
        await pilot.press("enter")  # reads the model in a thread and fills the fields
        await wait_for(pilot, lambda: "softmax" in str(form.query_one("#facts").render()))
        assert str(form.query_one("#task").value) == "classification"
        assert form.query_one("#layout").value == "NCHW"
        assert "dynamic" in str(form.query_one("#facts").render())
        form.query_one("#shape").value = "1,3,48,192"
        form.query_one("#name").value = "cls-again"
        await pilot.click("#import")
        await wait_for(pilot, lambda: ws.maybe(Model, "cls-again") is not None, timeout=30)
        await pilot.pause(0.3)
        assert ws.get(Model, "cls-again").config.shape == [1, 3, 48, 192]
        assert "cls-again" in table_column(app.screen.query_one("#models"), 0)


async def test_screenshot_shows_tree_and_key_hints(ws):
    app = OwbApp(ws)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        svg = app.export_screenshot()
    # The SVG holds one <text> per run of same-styled cells; join them and
    # compare without spaces (which it writes as &#160;).
    text = "".join(re.findall(r"<text[^>]*>([^<]*)</text>", svg)).replace("&#160;", "").replace(" ", "")
    for expected in ("cls", "└cls-int8", "INT8", "FP32", "msthr", "mslat", "mmodel", "oint8", "ccompare", "jjobs", "qquit"):
        assert expected in text, expected


async def test_no_color_renders_in_greys(ws, monkeypatch):
    chrome = {"#28c840", "#febc2e", "#ff5f57", "#c5c8c6"}  # the SVG's window buttons and default ink

    def colours(svg: str) -> set[str]:
        return {c.lower() for c in re.findall(r"#[0-9a-fA-F]{6}\b", svg)} - chrome

    def grey(c: str) -> bool:
        r, g, b = (int(c[i:i + 2], 16) for i in (1, 3, 5))
        return max(r, g, b) - min(r, g, b) <= 2

    async def shot() -> str:
        app = OwbApp(ws)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            return app.export_screenshot()

    monkeypatch.delenv("NO_COLOR", raising=False)
    assert not all(grey(c) for c in colours(await shot()))
    monkeypatch.setenv("NO_COLOR", "1")
    assert all(grey(c) for c in colours(await shot()))


def test_ascii_progress_bar():
    from owb_tui.widgets.progress import ascii_bar, format_eta

    assert ascii_bar(0, 10) == "[----------]"
    assert ascii_bar(5, 10) == "[#####-----]"
    assert ascii_bar(10, 10) == "[##########]"
    assert ascii_bar(3, 0) == "[   ....   ]"
    assert (format_eta(None), format_eta(42.4), format_eta(125), format_eta(3725)) == ("", "42s", "2m05s", "1h02m")


async def test_explore_sweeps_then_charts_fps_over_latency(ws):
    """Explore tab: a 1x2 sweep typed into the form runs as a job; the grid and
    the chart (one point per measured cell, the sweet spot marked) appear."""
    app = OwbApp(ws)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        await pilot.press("enter")  # cls's project page
        await wait_for(pilot, lambda: app.screen.query("#history"), timeout=10)
        await pilot.press("e")
        await wait_for(pilot, lambda: app.screen.query("#ex-batches"), timeout=10)
        assert not app.screen.query("#ex-chart")  # no sweep yet, no chart
        for field, value in (("#ex-batches", "1"), ("#ex-streams", "1,2"), ("#ex-time", "0.3"), ("#ex-limit", "")):
            app.screen.query_one(field).value = value
        app.screen.query_one("#ex-batches").focus()
        await pilot.press("enter")
        record = await wait_for(pilot, lambda: next(iter(ws.find(InferenceResult, kind="explore")), None), 90)
        chart = await wait_for(pilot, lambda: next(iter(app.screen.query("#ex-chart")), None), timeout=10)
        result = record.result
        assert app.screen.query_one("#ex-grid").row_count == 1
        # the sweep was started from a field; the grid holds focus now, so q and j are keys, not text
        await wait_for(pilot, lambda: app.focused is not None and app.focused.id == "ex-grid", timeout=10)
        assert app.screen.query_one("#ex-batches").value == "1"
        drawn = re.sub(r"\x1b\[[0-9;]*m", "", chart.plt.build())
        assert "median latency, ms" in drawn and "FPS" in drawn
        assert drawn.count("*") == 1 and drawn.count("o ") >= 1  # the sweet spot, the other cell(s)
        measured = [c for c in result["cells"] if c["measured"]]
        for c in measured:
            assert f"{c['batch']}·{c['requested_streams']}" in drawn
        best = result["sweet_spot"]
        assert best == max(measured, key=lambda c: c["throughput_fps"])  # no latency limit given


async def test_project_page_shows_the_figure_the_projects_list_shows(ws):
    """After a run in the default speed precision and a later one in f32, both
    pages show the default-precision figure (the page used to show the latest
    of any precision, so the two disagreed on CPUs where that is bf16)."""
    from engine.measure.benchmark import BenchmarkSettings, run_benchmark
    from engine.precision import SPEED_DEFAULT, resolved

    cls = ws.get(Model, "cls")
    run_benchmark(ws, cls, BenchmarkSettings(time_s=0.3))
    run_benchmark(ws, cls, BenchmarkSettings(time_s=0.3, infer_precision="f32"))
    default = resolved("CPU", SPEED_DEFAULT)
    app = OwbApp(ws)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        listed = table_column(app.screen.query_one("#models"), 3)[0]
        await pilot.press("enter")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "ProjectScreen")
        facts = str(app.screen.query_one("#facts").render()).replace("\n", " ")
        shown = re.search(r"throughput hint: ([\d.]+) FPS \([^)]*\), [\d.]+ ms \([^)]*\), \d+ runs, (\w+)", facts)
        assert shown, facts
        assert shown.group(2) == default
        assert listed.split()[0] == shown.group(1)
