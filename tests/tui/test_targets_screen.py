"""The Targets screen: lists targets, and c checks one (an unreachable one
gives a notification, never a traceback)."""

from __future__ import annotations

import socket

from engine.records import Target
from engine.workspace import Workspace
from owb_tui.app import OwbApp

from . import record_notifications, table_column, wait_for


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again once the with ends


async def test_targets_screen_lists_and_checks(tmp_path, monkeypatch):
    monkeypatch.setenv("OWB_SSH_KNOWN_HOSTS", str(tmp_path / "known_hosts"))
    monkeypatch.setenv("OWB_SSH_CONFIG", "/dev/null")
    ws = Workspace(tmp_path / "home")
    ws.add(Target(name="edge1", dest=f"nobody@127.0.0.1:{closed_port()}", root=str(tmp_path / "root")))
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


async def test_run_dialog_picks_a_target(tmp_path_factory, tmp_path, monkeypatch):
    from textual.widgets import Select

    from engine.records import Job, Model
    from owb_tui.screens.dialogs import BenchmarkDialog

    from . import copy_workspace, template_home

    monkeypatch.setenv("OWB_SSH_KNOWN_HOSTS", str(tmp_path / "known_hosts"))
    monkeypatch.setenv("OWB_SSH_CONFIG", "/dev/null")
    ws = Workspace(copy_workspace(template_home(tmp_path_factory), tmp_path / "home"))
    target = ws.add(Target(name="edge1", dest=f"nobody@127.0.0.1:{closed_port()}", root=str(tmp_path / "root")))
    app = OwbApp(ws)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        app.push_screen(BenchmarkDialog(ws.get(Model, "cls")))
        await pilot.pause()
        select = app.screen.query_one("#target", Select)
        select.value = target.id
        await pilot.pause()
        await pilot.click("#start")
        job = await wait_for(pilot, lambda: next((j for j in ws.all(Job) if j.params.get("target") == target.id
                                                  and j.state == "failed"), None))
        assert job.kind == "benchmark" and "cannot reach target 'edge1'" in job.error
        assert job.name.startswith("benchmark cls on edge1")
