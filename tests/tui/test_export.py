"""The project page's Export tab at 80x24: x opens it on the path field, the
export runs in an App worker and announces the package; a bad or taken path
is an error notification and writes nothing."""

from __future__ import annotations

import tarfile

import pytest

from engine.workspace import Workspace
from owb_tui.app import OwbApp

from . import copy_workspace, record_notifications, template_home, type_text, wait_for

SIZE = (80, 24)


@pytest.fixture
def ws(tmp_path_factory, tmp_path):
    return Workspace(copy_workspace(template_home(tmp_path_factory), tmp_path / "home"))


async def test_export_tab_writes_the_package(ws, tmp_path):
    out = tmp_path / "out" / "cls.tar.gz"
    app = OwbApp(ws)
    async with app.run_test(size=SIZE) as pilot:
        seen = record_notifications(app)
        await pilot.pause()
        await pilot.press("enter")  # the first row: the FP32 parent cls
        await pilot.pause()
        await pilot.press("x")
        await wait_for(pilot, lambda: app.screen.query("#export-path"), timeout=10)
        field = app.screen.query_one("#export-path")
        assert app.focused is field and field.value.endswith("cls-deploy.tar.gz")
        assert "Export (x)" in str(app.screen.query_one("#tabs").query("Tab").last().render())

        field.value = ""
        await type_text(pilot, str(out))  # typed: `/` stays text in a field, it opens no filter
        assert field.value == str(out) and app.focused is field  # its folder does not exist yet
        await pilot.press("enter")
        await pilot.pause()
        assert seen[-1][0] == "error" and "does not exist" in seen[-1][1] and not out.parent.exists()

        out.parent.mkdir()
        await pilot.click("#export-run")
        await wait_for(pilot, lambda: any("deployment package written to" in m for _, m in seen), timeout=60)
        assert ("information", f"deployment package written to {out}") in seen
        with tarfile.open(out) as tar:
            assert "cls/infer.py" in tar.getnames() and "cls/README.md" in tar.getnames()
        assert str(out) in str(app.screen.query_one("#export-note").render())

        await pilot.click("#export-run")  # again: the file exists and overwrite is off
        await pilot.pause()
        assert seen[-1][0] == "error" and "already exists" in seen[-1][1]
        stamp = out.stat().st_mtime_ns
        await pilot.click("#export-force")
        await pilot.click("#export-run")
        await wait_for(pilot, lambda: out.stat().st_mtime_ns != stamp, timeout=60)
