"""A newcomer's first hour at 80x24, one Pilot test per friction found on a
keyboard-only walk: wording of accuracy changes, report headings and the
Reports list, choosing the table when creating a report, the visualize
caption and legend, forms and focus, notifications that never cover results,
and the export warning for an INT8 child slower than its parent. SVG
screenshots of the report and visualize screens are checked as text."""

from __future__ import annotations

import html
import re
import tarfile
from typing import Any

import numpy as np
import pytest

from engine.records import Dataset, InferenceResult, Model, Report
from engine.workspace import Workspace
from owb_tui.app import OwbApp

from . import copy_workspace, record_notifications, template_home, type_text, wait_for

SIZE = (80, 24)


@pytest.fixture
def ws(tmp_path_factory, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # CSV and PNG exports land in the test's folder
    return Workspace(copy_workspace(template_home(tmp_path_factory), tmp_path / "home"))


def screen_lines(app: Any) -> list[str]:
    return [strip.text for strip in app.screen._compositor.render_strips()]


def words(app: Any) -> str:
    return " ".join("\n".join(screen_lines(app)).split())


def svg_text(svg: str) -> str:
    """The text an SVG screenshot draws, spaces folded."""
    parts = re.findall(r"<text[^>]*>(.*?)</text>", svg, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", "".join(parts))).replace("\xa0", " ").split())


async def child_tab(app: Any, pilot: Any, key: str) -> None:
    """Projects -> the child's page -> the tab of ``key``."""
    await pilot.pause()
    await pilot.press("down", "enter")
    await pilot.pause()
    await pilot.press(key)


async def open_report(app: Any, pilot: Any) -> None:
    """Projects -> the child's page -> Reports -> the first report."""
    await child_tab(app, pilot, "r")
    await wait_for(pilot, lambda: app.focused is not None and app.focused.id == "rep-list", timeout=10)
    await wait_for(pilot, lambda: app.focused.row_count >= 1, timeout=10)
    await pilot.press("enter")
    await wait_for(pilot, lambda: type(app.screen).__name__ == "ReportScreen", timeout=10)
    await pilot.pause()


def predictions_report(ws: Workspace) -> Report:
    from engine.reports import ReportSpec, create_report

    return create_report(ws, ReportSpec("predictions", "cls-int8", "lines"))


# ---------------------------------------------------------------- 2. wording

async def test_compare_table_and_verdict_say_the_accuracy_change_alike(ws):
    from engine.benchmark import BenchmarkSettings, run_benchmark
    from engine.evaluate import evaluate
    from engine.metrics import accuracy_change
    from engine.records import Job

    child, dataset = ws.get(Model, "cls-int8"), ws.get(Dataset, "lines")
    evaluate(ws, child, dataset)
    for name in ("cls", "cls-int8"):
        run_benchmark(ws, ws.get(Model, name), BenchmarkSettings(time_s=0.3))
    app = OwbApp(ws)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("down", "c")
        done = await wait_for(pilot, lambda: next(iter(ws.find(Job, kind="compare", state="done")), None), 90)
        drop = done.result["accuracy_drop"]
        said = accuracy_change(drop)
        assert said in done.result["verdict"]  # the verdict rounds as the table does
        await wait_for(pilot, lambda: said in words(app), 10)  # the app polls the DB twice a second
        assert ("+" in said) == (drop < 0)  # a negative drop reads as a gain


async def test_t_says_why_a_classification_report_has_one_table(ws):
    predictions_report(ws)
    app = OwbApp(ws)
    async with app.run_test(size=SIZE) as pilot:
        await open_report(app, pilot)
        await pilot.press("t")
        await pilot.pause()
        assert "classification reports have one table" in words(app)
        assert "advanced table, a row per image and class, is for detection and segmentation" in words(app)


# ---------------------------------------------------------------- 5. report tables

async def test_report_headings_legend_and_list_fit_80x24(ws, tmp_path):
    report = predictions_report(ws)
    app = OwbApp(ws)
    async with app.run_test(size=SIZE) as pilot:
        await child_tab(app, pilot, "r")
        await wait_for(pilot, lambda: app.focused is not None and app.focused.id == "rep-list", timeout=10)
        await wait_for(pilot, lambda: app.focused.row_count == 1, timeout=10)
        value = report.summary["value"] * 100
        assert f"top1 agreement {value:.2f}%, 24 img" in "\n".join(screen_lines(app))  # the result whole
        await pilot.press("enter")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "ReportScreen", timeout=10)
        await pilot.pause()
        lines = screen_lines(app)
        header = next(line for line in lines if line.lstrip().startswith("image"))
        for heading in ("O class", "P class", "P rank", "O conf", "O conf P"):
            assert f" {heading} " in f"{header} "  # each heading whole, told apart
        assert "…" not in header
        assert "O = optimized cls-int8, P = parent cls" in words(app)
        await pilot.press("right", "right", "right")
        # the focused column's full title
        await wait_for(pilot, lambda: "column: Rank of Class Predicted by Parent Model in Optimized Model "
                       "Predictions" in words(app), timeout=5)
        svg = app.export_screenshot()
        (tmp_path / "report-80x24.svg").write_text(svg)
        drawn = svg_text(svg)
        assert "O = optimized cls-int8, P = parent cls" in drawn and "O conf P" in drawn


async def test_two_column_report_uses_the_width_it_has():
    """A segmentation-like table of two columns: long image names show whole
    when the screen has room, and are cut (…) only when it has not."""
    from textual.app import App

    from engine.reports.table import ReportTable, as_column
    from owb_tui.widgets.report_view import ReportView

    names = [f"JPEGImages/a_rather_long_folder_name/page_{i:05d}_of_the_scan.jpg" for i in range(5)]
    table = ReportTable(["Image Name", "Average Result"], [as_column(names, "text"), as_column([0.5] * 5, "float")],
                        np.arange(5), {"erroneous": np.zeros(5, bool)})

    class One(App):
        def compose(self):
            yield ReportView(id="rows")

    for width, whole in ((80, True), (40, False)):
        app = One()
        async with app.run_test(size=(width, 10)) as pilot:
            view = app.query_one(ReportView)
            view.set_table(table, ["image", "mean IoU"])
            await pilot.pause()
            text = "\n".join(strip.text for strip in app.screen._compositor.render_strips())
            assert (names[0] in text) is whole, text
            assert all(len(line) <= width for line in text.splitlines())


async def test_the_table_a_report_opens_on_is_chosen_when_creating_it(tmp_path):
    from ocr_fixtures import ppocr_model
    from test_reports import DET_CONFIG, write_text_segmentation

    from engine.dataset_store import import_dataset
    from engine.models import import_model

    ws = Workspace(tmp_path / "home")
    import_model(ws, ppocr_model("det"), name="det", **DET_CONFIG)
    import_dataset(ws, write_text_segmentation(tmp_path / "pages", 3), name="pages")
    app = OwbApp(ws)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("r")
        await wait_for(pilot, lambda: app.screen.query("#rep-mode"), timeout=10)
        app.screen.query_one("#rep-mode").value = "advanced"
        app.screen.query_one("#rep-create").focus()
        await pilot.press("enter")
        rows = app.screen.query_one("#rep-list")
        await wait_for(pilot, lambda: rows.row_count == 1, timeout=120)
        report = ws.all(Report)[0]
        assert report.summary["mode"] == "advanced"
        rows.focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "ReportScreen", timeout=10)
        await pilot.pause()
        assert "advanced table" in words(app)
        assert "class" in words(app) and "IoU" in words(app)
        assert len(app.screen.query_one("#report-rows").table) == 6  # 3 pages x (background, text)


# ---------------------------------------------------------------- 4. visualize

async def test_visualize_names_the_annotated_class_in_the_panels_order(ws, tmp_path):
    from engine.dataset_store import load_index

    predictions_report(ws)
    index = load_index(ws, ws.get(Dataset, "lines"))
    app = OwbApp(ws)
    async with app.run_test(size=SIZE) as pilot:
        await open_report(app, pilot)
        view = app.screen.query_one("#report-rows")
        item = int(view.table.items[0])
        await pilot.press("enter")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "VisualizeScreen", timeout=10)
        from owb_tui.widgets.image_view import ImageView

        await wait_for(pilot, lambda: app.screen.query_one(ImageView).picture, timeout=60)
        caption = str(app.screen.query_one("#vis-caption").render())
        truth = index.labels[index.items[item].label]
        parent, child = view.table.cell(0, 2), view.table.cell(0, 1)
        assert f"annotation: {truth}" in caption
        assert f"parent cls: {parent}" in caption and f"optimized cls-int8: {child}" in caption
        # the legend runs as the picture's panels do: annotation, parent, optimized
        assert caption.index("annotation:") < caption.index("parent cls") < caption.index("optimized cls-int8")
        svg = app.export_screenshot()
        (tmp_path / "visualize-80x24.svg").write_text(svg)
        assert f"annotation: {truth}" in svg_text(svg)


# ---------------------------------------------------------------- 6. forms and focus

async def test_import_dataset_tab_reaches_import_after_the_format(ws, tmp_path):
    from ocr_fixtures import write_orientation_set

    write_orientation_set(tmp_path / "more-lines", 4)
    app = OwbApp(ws)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("d")
        await pilot.pause()
        await type_text(pilot, "more-lines")
        await pilot.press("tab", "tab")  # path -> name -> format
        assert app.focused.id == "format"
        await pilot.press("enter", "down", "enter")  # auto-detect -> imagenet
        await wait_for(pilot, lambda: "found more-lines" in str(app.screen.query_one("#summary").render()), 60)
        await pilot.press("tab")
        assert app.focused.id == "import"
        await pilot.press("enter")
        await wait_for(pilot, lambda: ws.maybe(Dataset, "more-lines") is not None, timeout=60)


async def test_help_opens_inside_forms_and_explains_every_field(ws):
    app = OwbApp(ws)
    async with app.run_test(size=(100, 60)) as pilot:
        await pilot.pause()
        await pilot.press("d")
        await pilot.pause()
        assert app.focused.id == "path"
        await pilot.press("f1")  # from a text field, where ? would be typed
        await wait_for(pilot, lambda: type(app.screen).__name__ == "HelpScreen", timeout=5)
        text = str(app.screen.query_one("#help-text").render())
        assert "Fields" in text and "format:" in text and "path:" in text
        await pilot.press("escape")
        await pilot.press("tab", "tab")  # to the format select, where ? is a key
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "HelpScreen", timeout=5)
        await pilot.press("escape", "escape")
        await pilot.pause()
        await pilot.press("enter")  # cls's page
        await pilot.pause()
        await pilot.press("o")
        await wait_for(pilot, lambda: app.screen.query("#opt-bench"), timeout=10)
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "HelpScreen", timeout=5)
        text = " ".join(str(app.screen.query_one("#help-text").render()).split())
        for field in ("bench s:", "ranking images (AA):", "keep FP32 op types:", "subset %:", "preset:",
                      "fast bias correction:"):
            assert field in text, field
        assert "interleaved" in text and "GroupConvolution" in text


async def test_esc_in_a_field_leaves_the_field_then_the_page(ws):
    app = OwbApp(ws)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("o")
        await wait_for(pilot, lambda: app.focused is not None and app.focused.id == "opt-dataset", timeout=10)
        await pilot.press("tab", "tab")
        assert app.focused.id == "opt-subset"
        await pilot.press("escape")
        await pilot.pause()
        assert type(app.screen).__name__ == "ProjectScreen"
        assert type(app.focused).__name__ == "ContentTabs"
        await pilot.press("escape")
        await pilot.pause()
        assert type(app.screen).__name__ == "ProjectsScreen"


# ---------------------------------------------------------------- 7. notifications

async def test_notifications_take_a_line_and_never_cover_the_rows(ws):
    predictions_report(ws)
    app = OwbApp(ws)
    async with app.run_test(size=SIZE) as pilot:
        seen = record_notifications(app)
        await open_report(app, pilot)
        for _ in range(3):  # three messages in a row: the newest replaces the last, nothing stacks
            await pilot.press("x")
            await pilot.pause()
        assert len([m for _, m in seen if m.startswith("wrote 24 rows")]) == 3
        assert not app.screen.query("Toast")
        footer = app.screen.query_one("KeyFooter")
        view = app.screen.query_one("#report-rows")
        status = app.screen.query_one("#report-status")
        assert footer.region.height in (2, 3) and "wrote 24 rows" in words(app)  # keys + 1 or 2 message lines
        assert view.region.bottom <= status.region.y and status.region.bottom <= footer.region.y
        assert words(app).count("wrote 24 rows") == 1


# ---------------------------------------------------------------- 8. export of a slower child

def _measured_after_calibration(ws: Workspace, parent_fps: float, child_fps: float) -> Model:
    """The stored record of the interleaved runs calibration makes, set to a
    given outcome: the export's wording is under test, not the CPU."""
    child = ws.get(Model, "cls-int8")
    post = {"throughput_fps": {"parent": parent_fps, "child": child_fps, "ratio": round(child_fps / parent_fps, 3),
                               "cpu": "the test's CPU"}}
    return ws.update(child, provenance={**child.provenance, "post": post})


@pytest.mark.parametrize("parent_fps, child_fps", [(600.0, 400.0), (400.0, 600.0)])
async def test_export_warns_when_the_int8_child_is_slower(ws, tmp_path, capsys, parent_fps, child_fps):
    from test_reports import owb

    _measured_after_calibration(ws, parent_fps, child_fps)
    slower = child_fps < parent_fps
    code, _, err = owb(capsys, ws.home, "export", "cls-int8", "--out", str(tmp_path / "pkg.tar.gz"))
    assert code == 0
    assert ("warning: Slower than its parent" in err) is slower
    with tarfile.open(tmp_path / "pkg.tar.gz") as tar:
        readme = tar.extractfile(next(n for n in tar.getnames() if n.endswith("README.md"))).read().decode()
    lead = readme.split("\n\n")[2]  # after the title and the export line
    assert f"{child_fps:.1f} vs {parent_fps:.1f} FPS" in lead
    assert ("Slower than its parent" in lead) is slower
    app = OwbApp(ws)
    async with app.run_test(size=SIZE) as pilot:
        await child_tab(app, pilot, "x")
        await wait_for(pilot, lambda: app.screen.query("#export-path"), timeout=10)
        await pilot.pause()
        assert bool(app.screen.query("#export-warning")) is slower
        if slower:
            assert "Slower than its parent: cls-int8 runs at 0.67x" in words(app)


async def test_export_names_no_comparison_without_measurements(ws, tmp_path, capsys):
    from test_reports import owb

    for r in ws.find(InferenceResult, kind="benchmark"):
        ws.remove(r)
    code, _, err = owb(capsys, ws.home, "export", "cls-int8", "--out", str(tmp_path / "pkg.tar.gz"))
    assert code == 0 and "warning" not in err
    with tarfile.open(tmp_path / "pkg.tar.gz") as tar:
        readme = tar.extractfile(next(n for n in tar.getnames() if n.endswith("README.md"))).read().decode()
    assert "FPS" not in readme.split("## Run it")[0]
