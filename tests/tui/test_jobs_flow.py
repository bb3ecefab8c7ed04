"""Jobs through the TUI, for real: Optimize INT8 from the form, a benchmark
from its dialog, cancel from the Jobs screen, and a failed job's log."""

from __future__ import annotations

import pytest

from engine.measure.protocol import latest_figure
from engine.records import InferenceResult, Job, Model
from engine.workspace import Workspace
from owb_tui.app import OwbApp

from . import (copy_workspace, jobs_idle, record_notifications, settle_jobs, table_column, template_home, type_text,
               wait_for)

SIZE = (80, 24)


@pytest.fixture
def ws(tmp_path_factory, tmp_path):
    return Workspace(copy_workspace(template_home(tmp_path_factory), tmp_path / "home"))


async def test_optimize_form_submits_a_calibration_and_the_child_appears(ws):
    from owb_tui.screens.projects import ProjectsScreen

    app = OwbApp(ws)
    async with app.run_test(size=SIZE) as pilot:
        seen = record_notifications(app)
        await pilot.pause()
        await pilot.press("o")  # on the first row: the FP32 parent
        await pilot.pause()
        form = app.screen.query_one("#optimize-form")
        assert app.focused is form.query_one("#opt-dataset")
        await pilot.press("tab", "tab")  # dataset -> calibration dataset -> subset %
        assert app.focused is form.query_one("#opt-subset")
        await type_text(pilot, "10")  # focusing selects the old value, typing replaces it
        assert form.query_one("#opt-subset").value == "10"
        assert form.query_one("#opt-max-drop").disabled  # only for AccuracyAware
        form.query_one("#opt-bench").value = "0"  # no speed comparison, to stay quick
        await pilot.click("#calibrate")
        await pilot.pause()
        assert isinstance(app.screen, ProjectsScreen)  # back home while the job runs
        job = app.active_jobs()[0]
        assert job.kind == "calibrate" and job.params["subset_pct"] == 10.0
        status = app.screen.query_one("JobStatus")
        await wait_for(pilot, lambda: "calibrate cls" in str(status.render()), timeout=10)
        table = app.screen.query_one("#models")
        # the child shows up as soon as calibration saved it, while the job
        # still measures accuracy (the rows of the parent and of the child are marked busy)
        await wait_for(pilot, lambda: "cls-int8-2" in "".join(table_column(table, 0)), timeout=120)
        if not jobs_idle(app):  # a quick accuracy run may end before the next poll
            assert table_column(table, 0)[:3] == ["cls *", "└ cls-int8", "└ cls-int8-2 *"]
        await wait_for(pilot, lambda: jobs_idle(app), timeout=120)
        await wait_for(pilot, lambda: table_column(table, 0)[:3] == ["cls", "└ cls-int8", "└ cls-int8-2"], 10)
        child = ws.get(Model, "cls-int8-2")
        assert child.precision == "INT8" and child.provenance["subset_images"] == 3
        # accuracy of parent and child was measured after calibration and shows in the rows
        acc = {r.model: r.result["value"] for r in ws.all(InferenceResult) if r.kind == "accuracy"}
        await wait_for(pilot, lambda: table_column(table, 6)[2] == f"{acc[child.id] * 100:.1f}%", 10)
        assert any("INT8 model cls-int8-2 created from cls" in m for _, m in seen)
        assert not status.display or "calibrate" not in str(status.render())


async def test_benchmark_dialog_runs_a_job_and_the_row_shows_fps(ws):
    app = OwbApp(ws)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("b")
        await pilot.pause()
        dialog = app.screen
        dialog.query_one("#time").value = "0.5"
        await pilot.click("#start")
        await pilot.pause()
        table = app.screen.query_one("#models")
        await wait_for(pilot, lambda: jobs_idle(app) and table_column(table, 3)[0] != "-", timeout=60)
        records = [r for r in ws.all(InferenceResult) if r.kind == "benchmark"]
        runs = [r.result for r in records]
        fig = latest_figure(ws, ws.get(Model, records[0].model), "throughput")  # the figure, by the protocol
        # The runner process stores the runs as they end; the row settles on the job's whole figure.
        await wait_for(pilot, lambda: table_column(table, 3)[0] == f"{fig['throughput_fps']:.1f}", timeout=30)
        assert fig["runs"] == len(runs) == 3 and all(r["time_s"] == 0.2 and r["inputs"] == "random" for r in runs)
        assert table_column(table, 3)[0] == f"{fig['throughput_fps']:.1f}"
        assert table_column(table, 4)[0] == f"{fig['latency_ms']['median']:.2f}"
        assert table_column(table, 5)[0] == "-"  # no latency-hint figure: its own column stays empty


async def test_cancel_a_running_job_from_the_jobs_screen_then_retry_it(ws):
    from owb_tui.screens.jobs import JobsScreen

    app = OwbApp(ws)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        job = app.start_job("benchmark", {"model": "cls", "settings": {"time_s": 120}})
        assert job is not None
        await pilot.press("j")
        await pilot.pause()
        assert isinstance(app.screen, JobsScreen)
        table = app.screen.query_one("#jobs")
        assert table_column(table, 0)[0].startswith("benchmark cls")  # newest first
        await wait_for(pilot, lambda: ws.get(Job, job.id).stage.startswith("benchmark cls"), timeout=90)
        await pilot.press("x")
        await wait_for(pilot, lambda: ws.get(Job, job.id).state == "cancelled", timeout=90)
        await wait_for(pilot, lambda: table_column(table, 1)[0] == "cancelled", timeout=5)
        assert [r for r in ws.all(InferenceResult) if r.kind == "benchmark"] == []  # nothing half-made
        await pilot.press("r")  # retry: the same settings, a new job
        retried = await wait_for(pilot, lambda: next(iter(ws.find(Job, retry_of=job.id)), None), timeout=10)
        assert retried.params == job.params
        await wait_for(pilot, lambda: table_column(table, 0)[0].startswith("benchmark cls"), timeout=5)
        await settle_jobs(app)


async def test_failed_job_log_is_shown(ws):
    from owb_tui.screens.jobs import JobLogScreen

    model = ws.get(Model, "cls-int8")
    ws.path(model.path).unlink()  # the IR vanished from the workspace
    app = OwbApp(ws)
    async with app.run_test(size=SIZE) as pilot:
        seen = record_notifications(app)
        await pilot.pause()
        await pilot.press("down", "b")
        await pilot.pause()
        app.screen.query_one("#time").value = "0.5"
        await pilot.click("#start")
        await wait_for(pilot, lambda: any(s == "error" for s, _ in seen), timeout=30)
        job = [j for j in ws.all(Job) if j.kind == "benchmark"][-1]
        assert job.state == "failed"
        assert any(m.startswith(f"{job.name} failed:") for s, m in seen if s == "error")
        await pilot.press("j")
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, JobLogScreen)
        log = app.screen.query_one("#log")
        text = log.text
        assert "failed with an unexpected error" in text and "Traceback" in text
        assert str(ws.path(model.path).name) in text or "model.xml" in text
        await pilot.press("escape")
        await pilot.pause()
        assert table_column(app.screen.query_one("#jobs"), 1)[0] == "failed"


async def test_compare_parent_and_child(ws):
    from engine.benchmark import BenchmarkSettings, run_benchmark
    from owb_tui.screens.compare import CompareScreen

    for name in ("cls", "cls-int8"):  # history to compare, so Compare measures only the layers
        run_benchmark(ws, ws.get(Model, name), BenchmarkSettings(time_s=0.3))
    app = OwbApp(ws)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("down", "c")  # the child: compared with its parent
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen), 20)
        await pilot.press("escape", "c")  # back while it measures, and again: the same job, no second one
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen), 20)
        assert len(ws.find(Job, kind="compare")) == 1
        screen = app.screen
        assert (screen.query_one("#cmp-a").value, screen.query_one("#cmp-b").value) == (
            ws.get(Model, "cls").id, ws.get(Model, "cls-int8").id)
        job = await wait_for(pilot, lambda: next(iter(ws.find(Job, kind="compare", state="done")), None), 90)
        await wait_for(pilot, lambda: job.result["verdict"] in str(screen.query_one("#verdict").render()).replace("\n", " "), 10)
        summary = screen.query_one("#summary")
        fps = table_column(summary, 1)[3], table_column(summary, 2)[3]
        assert fps == (f"{job.result['a']['throughput_fps']:.1f}", f"{job.result['b']['throughput_fps']:.1f}")

        # the kernel table: s cycles column and direction, a click on a title sorts by it
        kernels = screen.query_one("#cmp-kernels")
        assert kernels.row_count == len(job.result["layers"]["kernels"])
        kernels.focus()
        await pilot.press("s", "s", "s")  # layer ▲, layer ▼, type ▲
        await pilot.pause()
        assert [c.label.plain for c in kernels.ordered_columns][:2] == ["layer  ", "type ▲"]
        types = table_column(kernels, 1)
        assert types == sorted(types, key=str.casefold)
        await pilot.click("#cmp-kernels", offset=(2, 0))  # the layer title
        await pilot.pause()
        assert kernels.sorted_by == (0, False) and kernels.ordered_columns[0].label.plain == "layer ▲"
        await pilot.click("#cmp-kernels", offset=(2, 0))
        await pilot.pause()
        layers = table_column(kernels, 0)
        assert kernels.sorted_by == (0, True) and layers == sorted(layers, key=str.casefold, reverse=True)

        # picking A = B says so instead of measuring
        screen.query_one("#cmp-b").value = ws.get(Model, "cls").id
        await pilot.pause()
        assert "pick two different models" in str(screen.query_one("#verdict").render())
        assert kernels.row_count == 0

        # leaving and coming back shows the stored comparison without a new job
        await pilot.press("escape", "c")
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen), 20)
        await pilot.pause()
        assert len(ws.find(Job, kind="compare")) == 1
        assert app.screen.query_one("#cmp-kernels").row_count > 0


async def test_predictions_report_from_the_reports_tab(ws):
    from engine.reports import FLAGS, list_reports, open_table
    from owb_tui.screens.reports import ReportScreen

    app = OwbApp(ws)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("down", "enter")
        await pilot.pause()
        await pilot.press("r")
        await pilot.pause()
        app.screen.query_one("#rep-kind").value = "predictions"
        await pilot.click("#rep-create")
        child = ws.get(Model, "cls-int8")
        await wait_for(pilot, lambda: list_reports(ws, child.id), timeout=60)
        rows = app.screen.query_one("#rep-list")
        await wait_for(pilot, lambda: rows.row_count == 1, timeout=5)
        rows.focus()
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ReportScreen)
        report = list_reports(ws, child.id)[0]
        stored = open_table(ws, report)
        view = app.screen.query_one("#report-rows")
        assert len(view.table) == len(stored) == 24
        await pilot.press("f")  # flagged: the images where child and parent disagree
        await pilot.pause()
        assert len(view.table) == int(stored.flags[FLAGS["predictions"]].sum())
        await pilot.press("f", "right", "s")
        await pilot.pause()
        shown = [view.table.cell(i, 1) for i in range(len(view.table))]
        assert shown == sorted(shown)


async def test_remove_models_from_projects_asks_first(ws):
    from owb_tui.screens.dialogs import ConfirmScreen

    child = ws.get(Model, "cls-int8")
    app = OwbApp(ws)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        table = app.screen.query_one("#models")
        await pilot.press("delete")  # the parent: the question names its child
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen) and "cls-int8" in app.screen.question
        await pilot.press("n")
        await pilot.pause()
        assert table_column(table, 0) == ["cls", "└ cls-int8"]
        await pilot.press("down", "delete", "y")  # the child alone
        await pilot.pause()
        assert table_column(table, 0) == ["cls"]
    assert ws.maybe(Model, child.id) is None and ws.maybe(Model, "cls") is not None
    assert not ws.path(child.path).exists()
