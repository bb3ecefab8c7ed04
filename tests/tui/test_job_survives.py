"""A job started from a screen outlives that screen: the App owns the runner,
so popping the project page (esc) or the Jobs screen does not stop the work,
and the result is stored when it ends."""

from __future__ import annotations

import pytest

from engine.records import InferenceResult, Job, Model
from engine.workspace import Workspace
from owb_tui.app import OwbApp

from . import copy_workspace, record_notifications, template_home, type_text, wait_for

SIZE = (80, 24)


@pytest.fixture
def ws(tmp_path_factory, tmp_path):
    return Workspace(copy_workspace(template_home(tmp_path_factory), tmp_path / "home"))


def focused_id(app) -> str | None:
    return app.focused.id if app.focused is not None else None


async def test_jobs_keep_running_when_their_screens_are_popped(ws):
    from owb_tui.screens.jobs import JobsScreen
    from owb_tui.screens.project import ProjectScreen
    from owb_tui.screens.projects import ProjectsScreen

    parent = ws.get(Model, "cls")
    app = OwbApp(ws)
    async with app.run_test(size=SIZE) as pilot:
        seen = record_notifications(app)
        await pilot.pause()
        await pilot.press("enter")  # cls's project page
        await pilot.pause()
        page = app.screen
        assert isinstance(page, ProjectScreen) and page.model_id == parent.id

        # a benchmark from the page, then straight back to Projects; 20 s, since
        # Pilot's keys wait for an idle CPU and take up to 2 s each while it runs
        await pilot.press("b")
        await pilot.pause()
        await pilot.press("tab")
        assert focused_id(app) == "time"
        await type_text(pilot, "20")
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is page
        bench = next(j for j in app.runner.running() if j.kind == "benchmark")
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, ProjectsScreen) and page not in app.screen_stack
        assert not page.is_attached
        assert bench.id in {j.id for j in app.runner.running()}

        # the Jobs screen opened and closed meanwhile stops nothing either
        await pilot.press("j")
        assert isinstance(app.screen, JobsScreen)
        await pilot.press("escape")
        assert isinstance(app.screen, ProjectsScreen)
        assert bench.id in {j.id for j in app.runner.running()}

        # a calibration from the Optimize tab: Calibrate itself pops the page
        await pilot.press("o")
        await wait_for(pilot, lambda: focused_id(app) == "opt-dataset", timeout=10)
        optimize_page = app.screen
        await pilot.press("tab", "tab")
        await type_text(pilot, "10")
        assert app.focused.value == "10"
        await pilot.press("tab", "tab", "enter", "tab", "tab")  # method, "advanced" opened, preset, bench s
        assert focused_id(app) == "opt-bench"
        await type_text(pilot, "0")  # no speed comparison afterwards: the test is about the job, not speed
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ProjectsScreen) and not optimize_page.is_attached
        calibration = next(j for j in app.runner.running() if j.kind == "calibrate")
        await wait_for(pilot, lambda: not app.runner.running(), timeout=180)

    done = ws.get(Job, bench.id)
    assert done.state == "done", done.error
    stored = [r for r in ws.all(InferenceResult) if r.kind == "benchmark" and r.model == parent.id]
    assert len(stored) == 3  # 20 s split into three runs of one figure
    assert all(r.result["time_s"] == 6.667 and r.result["throughput_fps"] > 0 for r in stored)
    assert done.result["throughput_fps"] in [r.result["throughput_fps"] for r in stored]  # the median run

    cal = ws.get(Job, calibration.id)
    assert cal.state == "done", cal.error
    child = ws.get(Model, cal.result["id"])
    assert child.precision == "INT8" and child.parent == parent.id
    assert ws.path(child.path).exists()
    assert any(f"INT8 model {child.name} created from cls" in m for _, m in seen)
