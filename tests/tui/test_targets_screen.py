"""Targets in the TUI: the Targets screen lists them and c checks one; the
Benchmark dialog and the Optimize page run on a picked target through the
same remote job body as `--target`. The target here is unreachable, so each
test also shows the failure arriving as a notification or a failed job,
never a traceback."""

from __future__ import annotations

import socket

import pytest
from textual.widgets import Select

from engine.records import Job, Model, Target
from engine.workspace import Workspace
from owb_tui.app import OwbApp

from . import copy_workspace, record_notifications, table_column, template_home, wait_for


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again once the with ends


@pytest.fixture
def ws_with_target(tmp_path_factory, tmp_path, monkeypatch) -> tuple[Workspace, Target]:
    """The template workspace (cls, cls-int8) with an unreachable target 'edge1'."""
    monkeypatch.setenv("OWB_SSH_KNOWN_HOSTS", str(tmp_path / "known_hosts"))
    monkeypatch.setenv("OWB_SSH_CONFIG", "/dev/null")
    ws = Workspace(copy_workspace(template_home(tmp_path_factory), tmp_path / "home"))
    target = ws.add(Target(name="edge1", dest=f"nobody@127.0.0.1:{closed_port()}", root=str(tmp_path / "root")))
    return ws, target


async def failed_remote_job(pilot, ws: Workspace, target: Target) -> Job:
    return await wait_for(pilot, lambda: next((j for j in ws.all(Job) if j.params.get("target") == target.id
                                               and j.state == "failed"), None))


async def test_targets_screen_lists_and_checks(ws_with_target, tmp_path):
    ws, _ = ws_with_target
    app = OwbApp(ws)
    async with app.run_test(size=(100, 24)) as pilot:
        seen = record_notifications(app)
        await pilot.pause()
        app.action_targets()
        await pilot.pause()
        table = app.screen.query_one("#targets")
        assert table_column(table, 0) == ["edge1"] and table_column(table, 3) == ["not checked yet"]
        await pilot.press("c")
        await wait_for(pilot, lambda: any(sev == "error" for sev, _ in seen))
        error = next(msg for sev, msg in seen if sev == "error")
        assert "cannot reach target 'edge1'" in error, seen
    assert not (tmp_path / "root").exists()


async def test_run_dialog_picks_a_target(ws_with_target):
    from owb_tui.screens.dialogs import BenchmarkDialog

    ws, target = ws_with_target
    app = OwbApp(ws)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        app.push_screen(BenchmarkDialog(ws.get(Model, "cls")))
        await pilot.pause()
        app.screen.query_one("#target", Select).value = target.id
        await pilot.pause()
        await pilot.click("#start")
        job = await failed_remote_job(pilot, ws, target)
        assert job.kind == "benchmark" and "cannot reach target 'edge1'" in job.error
        assert job.name.startswith("benchmark cls on edge1")


async def test_optimize_page_calibrates_on_a_target(ws_with_target):
    from owb_tui.screens.project import ProjectScreen

    ws, target = ws_with_target
    app = OwbApp(ws)
    async with app.run_test(size=(100, 50)) as pilot:
        await pilot.pause()
        app.push_screen(ProjectScreen(ws.get(Model, "cls").id, tab="optimize"))
        await wait_for(pilot, lambda: app.screen.query("#opt-target"), timeout=30)
        app.screen.query_one("#opt-target", Select).value = target.id
        await pilot.pause()
        app.screen.query_one("#calibrate").press()
        job = await failed_remote_job(pilot, ws, target)
        assert job.kind == "calibrate" and "cannot reach target 'edge1'" in job.error
    assert {m.name for m in ws.all(Model)} == {"cls", "cls-int8"}
