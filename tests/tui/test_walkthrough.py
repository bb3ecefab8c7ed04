"""The whole tutorial on the demo project, by keys only, at 80x24: import a
model and a dataset through their forms, baseline (benchmark, accuracy),
Optimize INT8, compare parent and child, a predictions report (sort, filter,
visualize a row) and the deployment package. The engine is called only to
make the demo workspace beforehand and to check the outcome."""

from __future__ import annotations

import shutil
import tarfile
from typing import Any

import pytest

from engine.demo import asset, run_demo
from engine.records import Dataset, InferenceResult, Job, Model, Report
from engine.workspace import Workspace
from owb_tui.app import OwbApp

from . import jobs_idle, record_notifications, table_column, type_text, wait_for

SIZE = (80, 24)
MINI_IMAGES = 40


@pytest.fixture
def demo_ws(tmp_path, monkeypatch):
    from engine import synth

    ws = Workspace(tmp_path / "home")
    run_demo(ws)
    # files the user would have at hand; relative names keep the typing short
    shutil.copy(asset("demo_cnn.onnx"), tmp_path / "shapes.onnx")
    synth.write_imagenet(tmp_path / "mini-shapes", MINI_IMAGES, 7)
    monkeypatch.chdir(tmp_path)
    return ws


def screen_text(app: Any) -> str:
    """What the terminal shows now, one line per row."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


def rendered(app: Any, selector: str) -> str:
    return str(app.screen.query_one(selector).render())


def focused_id(app: Any) -> str | None:
    return app.focused.id if app.focused is not None else None


async def press_until(pilot: Any, key: str, done: Any, most: int = 10) -> None:
    for _ in range(most):
        if done():
            return
        await pilot.press(key)
    assert done(), f"{key} pressed {most} times without reaching the wanted state"


async def select_model(pilot: Any, app: Any, label: str) -> None:
    """Move the projects cursor onto the row whose model column is ``label``."""
    table = app.screen.query_one("#models")
    names = table_column(table, 0)
    assert label in names, names
    key = "down" if names.index(label) > table.cursor_row else "up"
    await press_until(pilot, key, lambda: table_column(table, 0)[table.cursor_row] == label)


def idle(app: Any) -> bool:
    return jobs_idle(app)


async def test_tutorial_by_keys(demo_ws, tmp_path):
    from owb_tui.screens.compare import CompareScreen
    from owb_tui.screens.import_dataset import ImportDatasetScreen
    from owb_tui.screens.import_model import ImportModelScreen
    from owb_tui.screens.project import ProjectScreen
    from owb_tui.screens.projects import ProjectsScreen
    from owb_tui.screens.reports import ReportScreen
    from owb_tui.screens.visualize import VisualizeScreen

    ws = demo_ws
    app = OwbApp(ws)
    async with app.run_test(size=SIZE) as pilot:
        seen = record_notifications(app)
        await pilot.pause()
        table = app.screen.query_one("#models")
        assert table_column(table, 0) == ["demo-cnn"]

        # -- 1. import a model through the form ------------------------------
        await pilot.press("m")
        await pilot.pause()
        assert isinstance(app.screen, ImportModelScreen) and focused_id(app) == "path"
        await pilot.press("f1")  # help from inside the form explains its fields
        await pilot.pause()
        assert "Fields" in screen_text(app) and "mean:" in screen_text(app)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, ImportModelScreen) and focused_id(app) == "path"
        await type_text(pilot, "shapes.onnx")
        await pilot.press("enter")  # reads the model in a thread and fills the fields
        await wait_for(pilot, lambda: "input 1x3x96x96 f32" in rendered(app, "#facts"), timeout=30)
        assert app.screen.query_one("#shape").value == "1,3,96,96"
        assert str(app.screen.query_one("#task").value) == "classification"
        await pilot.press("tab")
        assert focused_id(app) == "name"
        await type_text(pilot, "shapes-again")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ProjectsScreen), timeout=30)
        table = app.screen.query_one("#models")
        await wait_for(pilot, lambda: "shapes-again" in table_column(table, 0), timeout=5)
        assert ws.get(Model, "shapes-again").config.shape == [1, 3, 96, 96]
        assert ("information", "imported model shapes-again (FP32, classification)") in seen

        # -- 2. import a dataset through the form ----------------------------
        await pilot.press("d")
        await pilot.pause()
        assert isinstance(app.screen, ImportDatasetScreen) and focused_id(app) == "path"
        await type_text(pilot, "mini-shapes")
        await pilot.press("tab")  # leaving the path reads the folder: what Import would record
        await wait_for(pilot, lambda: "found mini-shapes: imagenet" in rendered(app, "#summary"), timeout=60)
        assert f"{MINI_IMAGES} images" in rendered(app, "#summary") and "validation:" in rendered(app, "#summary")
        assert not ws.all(Dataset) or "mini-shapes" not in {d.name for d in ws.all(Dataset)}  # nothing saved yet
        assert focused_id(app) == "name"
        await pilot.press("tab", "tab")  # name (empty: the folder's) -> format -> Import
        assert focused_id(app) == "import"
        await pilot.press("enter")
        await wait_for(pilot, lambda: "imported mini-shapes" in rendered(app, "#summary"), timeout=60)
        assert f"imagenet, {MINI_IMAGES} images" in rendered(app, "#summary")
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, ProjectsScreen)
        mini = ws.get(Dataset, "mini-shapes")
        assert mini.images == MINI_IMAGES and mini.annotated

        # -- 3. baseline: benchmark and accuracy of demo-cnn -----------------
        await select_model(pilot, app, "demo-cnn")
        await pilot.press("b")
        await pilot.pause()
        assert "Benchmark demo-cnn" in screen_text(app)
        await pilot.press("tab")
        assert focused_id(app) == "time"
        await type_text(pilot, "0.5")  # focusing selected the default, typing replaces it
        assert app.focused.value == "0.5"
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ProjectsScreen)
        await pilot.press("a")
        await pilot.pause()
        assert "demo-shapes (imagenet, 500 images)" in screen_text(app)
        await pilot.press("tab")
        assert focused_id(app) == "infer-precision"  # f32 by default: the model's own accuracy
        await pilot.press("tab")
        assert focused_id(app) == "start"
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ProjectsScreen)
        await wait_for(pilot, lambda: idle(app) and table_column(table, 6)[0] != "-", timeout=60)
        parent = ws.get(Model, "demo-cnn")
        from engine.measure.protocol import latest_figure

        bench = [r for r in ws.all(InferenceResult) if r.kind == "benchmark" and r.model == parent.id][-1]
        acc = [r for r in ws.all(InferenceResult) if r.kind == "accuracy" and r.model == parent.id][-1]
        assert bench.result["time_s"] == 0.2  # 0.5 s split into 3 runs, each at least 0.2 s
        row = table.get_row_index(parent.id)
        assert table_column(table, 3)[row] == f"{latest_figure(ws, parent, 'throughput')['throughput_fps']:.1f}"
        assert table_column(table, 6)[row] == f"{acc.result['value'] * 100:.1f}%"
        assert acc.result["images"] == 500

        # -- 4. optimize: 10% of demo-shapes, a short speed comparison -------
        await pilot.press("o")
        await wait_for(pilot, lambda: focused_id(app) == "opt-dataset", timeout=10)
        assert isinstance(app.screen, ProjectScreen)
        await pilot.press("tab", "tab")  # -> calibration dataset -> subset %
        assert focused_id(app) == "opt-subset"
        await type_text(pilot, "10")
        assert app.focused.value == "10"
        await pilot.press("tab")
        assert focused_id(app) == "opt-method"
        await pilot.press("tab")  # max drop is off for Default: on to "advanced"
        assert type(app.focused).__name__ == "CollapsibleTitle"
        await pilot.press("enter")  # opens it
        await pilot.press("tab", "tab")  # preset -> bench s
        assert focused_id(app) == "opt-bench"
        await type_text(pilot, "0.5")
        assert app.focused.value == "0.5"
        await pilot.press("enter")  # submits the form, back to Projects
        await pilot.pause()
        assert isinstance(app.screen, ProjectsScreen)
        job = next(j for j in app.active_jobs() if j.kind == "calibrate")
        assert job.params["subset_pct"] == 10.0 and job.params["bench_time"] == 0.5
        table = app.screen.query_one("#models")
        await wait_for(pilot, lambda: "└ demo-cnn-int8" in table_column(table, 0), timeout=120)
        row = table_column(table, 0).index("└ demo-cnn-int8")
        assert table_column(table, 0)[row - 1].startswith("demo-cnn")  # right under its parent
        assert table_column(table, 1)[row] == "INT8"
        await wait_for(pilot, lambda: idle(app), timeout=120)
        assert ws.get(Job, job.id).state == "done"
        child = ws.get(Model, "demo-cnn-int8")
        assert child.precision == "INT8" and child.parent == parent.id
        assert child.provenance["subset_images"] == 50
        assert any("INT8 model demo-cnn-int8 created from demo-cnn" in m for _, m in seen)

        # -- 5. compare parent (A) and child (B) -----------------------------
        await select_model(pilot, app, "└ demo-cnn-int8")
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen), 20)
        done = await wait_for(pilot, lambda: next(iter(ws.find(Job, kind="compare", state="done")), None), 90)
        verdict = done.result["verdict"]
        await wait_for(pilot, lambda: verdict in rendered(app, "#verdict").replace("\n", " "), 10)  # polled twice a second
        shown = screen_text(app)
        assert verdict.split()[0] in shown and "demo-cnn-int8" in shown
        assert done.result["b"]["precision"] == "INT8"
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, ProjectsScreen)

        # -- 6. a predictions report of the child on mini-shapes -------------
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ProjectScreen) and app.screen.model_id == child.id
        await pilot.press("r")
        await wait_for(pilot, lambda: focused_id(app) == "rep-list", timeout=10)
        await press_until(pilot, "shift+tab", lambda: focused_id(app) == "rep-kind")
        await pilot.press("enter", "down", "enter")  # accuracy -> predictions vs parent
        assert app.screen.query_one("#rep-kind").value == "predictions"
        await pilot.press("tab")
        assert focused_id(app) == "rep-dataset"
        # classification sets first, the one last used with the child (its accuracy) on top
        assert app.screen.query_one("#rep-dataset").value == ws.get(Dataset, "demo-shapes").id
        await pilot.press("enter", "down", "enter")  # demo-shapes -> mini-shapes (demo-unannotated last)
        assert app.screen.query_one("#rep-dataset").value == mini.id
        await pilot.press("tab")
        assert focused_id(app) == "rep-create"
        await pilot.press("enter")
        rows = app.screen.query_one("#rep-list")
        await wait_for(pilot, lambda: rows.row_count == 1, timeout=60)
        assert "predictions" in screen_text(app)
        await pilot.press("tab")
        assert focused_id(app) == "rep-list"
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ReportScreen)
        view = app.screen.query_one("#report-rows")
        assert len(view.table) == MINI_IMAGES
        shown = " ".join(screen_text(app).split())
        assert "image O class P class P rank O conf O conf P" in shown
        assert "O = optimized demo-cnn-int8, P = parent demo-cnn" in shown

        # sort by the optimized model's class, then filter on one class
        await pilot.press("right", "s")
        await pilot.pause()
        by_class = [view.table.cell(i, 1) for i in range(len(view.table))]
        assert by_class == sorted(by_class) and len(set(by_class)) > 1
        assert "column: Class Predicted by Optimized Model" in rendered(app, "#report-status")
        wanted = by_class[-1]
        await pilot.press("slash")
        await type_text(pilot, wanted)
        await pilot.press("enter")  # keeps the filter, back to the rows
        await pilot.pause()
        kept = len(view.table)
        assert 0 < kept < MINI_IMAGES
        assert all(wanted in " ".join(view.table.cell(i, c) for c in range(len(view.table.columns)))
                   for i in range(kept))
        assert rendered(app, "#report-status").startswith(f"{kept} rows of {MINI_IMAGES}")
        assert focused_id(app) == "report-rows"

        # visualize the first row shown
        first = view.table.cell(0, 0)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, VisualizeScreen)
        from owb_tui.widgets.image_view import ImageView

        image = app.screen.query_one(ImageView)
        await wait_for(pilot, lambda: image.picture, timeout=60)
        caption = rendered(app, "#vis-caption")
        assert caption.startswith(f"{first}  row 1 of {kept}")
        assert "parent demo-cnn" in caption and "optimized demo-cnn-int8" in caption
        assert caption.index("annotation: ") < caption.index("parent demo-cnn") < caption.index("optimized demo")
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, ReportScreen)

        # -- 7. export the child's deployment package ------------------------
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, ProjectScreen)
        await pilot.press("x")
        await wait_for(pilot, lambda: focused_id(app) == "export-path", timeout=10)
        await pilot.press("ctrl+a", "ctrl+k")  # home, then delete to the end: the default path goes
        await type_text(pilot, "pkg.tar.gz")
        assert app.focused.value == "pkg.tar.gz"
        await pilot.press("enter")
        await wait_for(pilot, lambda: any("deployment package written to" in m for _, m in seen), timeout=60)
        package = tmp_path / "pkg.tar.gz"
        from engine.child_speed import against_parent

        speed = against_parent(ws, child)  # measured by the optimize step; either way is told
        written = next((s, m) for s, m in seen if "deployment package written to" in m)
        assert written[1].startswith(f"deployment package written to {package}")
        assert (written[0] == "warning") == bool(speed and speed["slower"])
        await wait_for(pilot, lambda: f"written: {package}" in rendered(app, "#export-note").replace("\n", ""), 10)
        with tarfile.open(package) as tar:
            names = tar.getnames()
        assert any(n.endswith("/infer.py") for n in names) and any(n.endswith(".xml") for n in names)
        app.screen.query_one("#export-path").focus()
        await pilot.press("escape")  # leaves the field for the tab bar, not the page
        await pilot.pause()
        assert isinstance(app.screen, ProjectScreen) and type(app.focused).__name__ == "ContentTabs"
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, ProjectsScreen)

    # what the keys left behind
    assert not [m for s, m in seen if s == "error"]
    assert sorted(m.name for m in ws.all(Model)) == ["demo-cnn", "demo-cnn-int8", "shapes-again"]
    assert {j.state for j in ws.all(Job)} == {"done"}
    reports = ws.all(Report)
    assert len(reports) == 1 and reports[0].kind == "predictions" and reports[0].dataset == mini.id
