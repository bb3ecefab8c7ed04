"""Visualize from a report, through Pilot at 80x24: enter on a row draws that
row's image with engine.visualize's overlays, n/p walk the sorted table, s
saves exactly render()'s picture, b blends segmentation masks, and a missing
image file is an error notification, not a crash."""

from __future__ import annotations

import numpy as np
import openvino as ov
import pytest
from PIL import Image

from engine.dataset_store import import_dataset, load_index
from engine.models import import_model
from engine.records import Dataset, Model, Report
from engine.reports import ReportSpec, create_report, open_table
from engine.visualize import render
from engine.workspace import Workspace
from owb_tui.app import OwbApp

from . import copy_workspace, record_notifications, template_home, wait_for

SIZE = (80, 24)


@pytest.fixture(scope="module")
def reported_home(tmp_path_factory):
    """The TUI template plus a predictions report of cls-int8 vs cls."""
    home = copy_workspace(template_home(tmp_path_factory), tmp_path_factory.mktemp("vis") / "home")
    create_report(Workspace(home), ReportSpec("predictions", "cls-int8", "lines"))
    return home


@pytest.fixture
def ws(reported_home, tmp_path):
    return Workspace(copy_workspace(reported_home, tmp_path / "home"))


def the_report(ws: Workspace) -> Report:
    return next(r for r in ws.all(Report) if r.kind == "predictions")


async def open_report(app: OwbApp, pilot, report: Report) -> None:
    from owb_tui.screens.reports import ReportScreen

    await pilot.pause()
    app.push_screen(ReportScreen(report.id))
    await pilot.pause()


async def drawn(app: OwbApp, pilot) -> Image.Image:
    from owb_tui.widgets.image_view import ImageView

    view = app.screen.query_one(ImageView)
    return await wait_for(pilot, lambda: view.picture, timeout=60)


def caption(app: OwbApp) -> str:
    return str(app.screen.query_one("#vis-caption").render())


async def test_enter_shows_the_row_and_n_p_walk_the_sorted_table(ws):
    from owb_tui.screens.reports import ReportScreen
    from owb_tui.screens.visualize import VisualizeScreen
    from owb_tui.widgets.image_view import ImageView

    report = the_report(ws)
    app = OwbApp(ws)
    async with app.run_test(size=SIZE) as pilot:
        await open_report(app, pilot, report)
        await pilot.press("s", "s")  # by Image Name, then descending
        await pilot.pause()
        table = app.screen.shown
        assert table.cell(0, 0) > table.cell(1, 0)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, VisualizeScreen)
        picture = await drawn(app, pilot)
        shown = app.screen.query_one("#picture")
        assert shown.display and shown.size.width > 20 and shown.size.height > 3
        assert picture.size == render(ws, ws.get(Model, "cls-int8"), ws.get(Dataset, "lines"), int(table.items[0]),
                                      reference=ws.get(Model, "cls")).size
        text = caption(app)
        optimized, parent = table.cell(0, 1), table.cell(0, 2)
        assert text.startswith(f"{table.cell(0, 0)}  row 1 of {len(table)}")
        assert f"optimized: {optimized} · parent: {parent}" in text
        assert "parent cls" in text and "optimized cls-int8" in text

        await pilot.press("n")
        await wait_for(pilot, lambda: table.cell(1, 0) in caption(app), timeout=10)
        assert app.screen.item == int(table.items[1])
        await drawn(app, pilot)
        await pilot.press("p")
        await pilot.pause()
        assert app.screen.item == int(table.items[0])
        assert app.screen.query_one(ImageView).picture is picture  # cached, shown at once
        await pilot.press("n", "n")
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, ReportScreen)
        assert app.screen.query_one("#report-rows").cursor_row == 2  # the report follows the rows walked


async def test_sorted_header_shows_its_arrow_and_a_header_click_sorts(ws):
    """The arrow stays on the sorted column's title even where the title is cut
    at 80 columns; clicking a title sorts by it, clicking again reverses."""
    from owb_tui.widgets.report_view import ReportView

    report = the_report(ws)
    app = OwbApp(ws)
    async with app.run_test(size=SIZE) as pilot:
        await open_report(app, pilot, report)
        view = app.screen.query_one(ReportView)
        header = lambda: view.render_line(0).text  # noqa: E731
        assert "▲" not in header() and "▼" not in header()
        long_title = max(range(len(view.table.columns)), key=lambda c: len(view.table.columns[c]))
        assert len(view.table.columns[long_title]) > view.widths[long_title]  # cut on screen
        for _ in range(long_title):
            await pilot.press("right")
        await pilot.press("s")
        await pilot.pause()
        assert "▲" in header() and header().count("▲") == 1
        status = str(app.screen.query_one("#report-status").render())
        assert "(sorted ▲)" in status
        shown = app.screen.shown
        values = [shown.cell(r, long_title) for r in range(len(shown))]
        numeric = shown.kinds[long_title] != "text"
        key = (lambda v: float(v)) if numeric else str  # noqa: E731
        assert [key(v) for v in values] == sorted(key(v) for v in values)

        await pilot.click(ReportView, offset=(2, 0))  # the first column's title
        await pilot.pause()
        assert app.screen.sort == (0, False) and view.cursor_col == 0
        await pilot.click(ReportView, offset=(2, 0))
        await pilot.pause()
        assert app.screen.sort == (0, True)
        assert "▼" in header() and "▲" not in header()
        first = app.screen.shown
        assert first.cell(0, 0) >= first.cell(len(first) - 1, 0)


async def test_s_saves_exactly_renders_picture(ws, tmp_path, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    monkeypatch.chdir(out)
    report = the_report(ws)
    table = open_table(ws, report)
    app = OwbApp(ws)
    async with app.run_test(size=SIZE) as pilot:
        seen = record_notifications(app)
        await open_report(app, pilot, report)
        await pilot.press("down", "enter")
        await drawn(app, pilot)
        await pilot.press("s")
        await pilot.pause()
    saved = list(out.glob("*.png"))
    assert len(saved) == 1 and saved[0].name.startswith("cls-int8-")
    assert ("information", f"saved {saved[0]}") in seen
    expected = render(ws, ws.get(Model, "cls-int8"), ws.get(Dataset, "lines"), int(table.items[1]),
                      reference=ws.get(Model, "cls"))
    with Image.open(saved[0]) as img:
        assert np.array_equal(np.asarray(img.convert("RGB")), np.asarray(expected))


async def test_missing_image_is_an_error_notification(ws):
    from owb_tui.screens.visualize import VisualizeScreen

    report = the_report(ws)
    table = open_table(ws, report)
    index = load_index(ws, ws.get(Dataset, "lines"))
    missing = index.root / index.items[int(table.items[0])].file
    missing.unlink()
    app = OwbApp(ws)
    async with app.run_test(size=SIZE) as pilot:
        seen = record_notifications(app)
        await open_report(app, pilot, report)
        await pilot.press("enter")
        await wait_for(pilot, lambda: any(s == "error" for s, _ in seen), timeout=30)
        assert ("error", f"image {missing} is missing; put it back or import the dataset again") in seen
        assert app.is_running and isinstance(app.screen, VisualizeScreen)
        assert "is missing" in str(app.screen.query_one("#image-note").render())
        await pilot.press("s")  # nothing drawn: says so
        await pilot.pause()
        assert seen[-1][0] == "warning"
        await pilot.press("n")  # the next row's image is there and draws
        await drawn(app, pilot)
        await pilot.press("b")  # a classification report has no masks to blend
        await pilot.pause()
        assert "segmentation" in seen[-1][1]


async def test_b_blends_segmentation_masks(tmp_path, monkeypatch):
    from ocr_fixtures import ppocr_model
    from test_reports import DET_CONFIG, write_text_segmentation

    ws = Workspace(tmp_path / "home")
    det = import_model(ws, ppocr_model("det"), name="det", **DET_CONFIG)
    fp16 = tmp_path / "det-fp16.xml"
    ov.save_model(ov.Core().read_model(str(ppocr_model("det"))), str(fp16), compress_to_fp16=True)
    det16 = import_model(ws, fp16, name="det-fp16", **DET_CONFIG)
    pages = import_dataset(ws, write_text_segmentation(tmp_path / "pages", 2), name="pages")
    report = create_report(ws, ReportSpec("predictions", "det-fp16", "pages", reference="det"))
    monkeypatch.chdir(tmp_path)
    app = OwbApp(ws)
    async with app.run_test(size=SIZE) as pilot:
        await open_report(app, pilot, report)
        await pilot.press("enter")
        side = await drawn(app, pilot)
        item = app.screen.item
        assert "[side-by-side; b switches]" in caption(app)
        await pilot.press("b")
        await pilot.pause()
        blend = await drawn(app, pilot)
        assert "[blend; b switches]" in caption(app)
        await pilot.press("s")
        await pilot.pause()
    expected = render(ws, det16, pages, item, reference=det, layout="blend")
    assert np.array_equal(np.asarray(blend), np.asarray(expected))
    assert blend.width < side.width  # one picture instead of two panels
    saved = list(tmp_path.glob("*-blend.png"))
    assert len(saved) == 1
    with Image.open(saved[0]) as img:
        assert np.array_equal(np.asarray(img.convert("RGB")), np.asarray(expected))



def test_help_does_not_load_textual_image():
    """textual-image probes the terminal on import; only the TUI path may do that."""
    import subprocess
    import sys

    code = ("import sys\nfrom owb_tui.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "print('LOADED' if 'textual_image' in sys.modules else 'CLEAN', file=sys.stderr)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stderr.strip().endswith("CLEAN") and "usage: owb" in out.stdout


async def test_export_after_a_failed_show_warns_instead_of_crashing(ws, tmp_path, monkeypatch):
    """A report whose stored columns are gone fails to show; x then says there
    is nothing to export, and writes no file."""
    import shutil

    report = the_report(ws)
    shutil.rmtree(ws.home / "reports" / report.id)
    monkeypatch.chdir(tmp_path)
    app = OwbApp(ws)
    async with app.run_test(size=SIZE) as pilot:
        seen = record_notifications(app)
        await open_report(app, pilot, report)
        await pilot.press("x")
        await pilot.pause()
        assert any(sev == "warning" and "nothing to export" in msg for sev, msg in seen), seen
    assert not list(tmp_path.glob("*.csv"))
