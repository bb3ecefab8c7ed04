"""Helpers for the TUI tests: a real workspace (PP-OCRv5 text-direction
classifier, a generated annotated set, a real INT8 child) built once per
session and copied for each test, and small Pilot utilities."""

from __future__ import annotations

import asyncio
import shutil
import time
from pathlib import Path
from typing import Any, Callable

IMAGES = 24
CLS_CONFIG = dict(task="classification", shape=[1, 3, 48, 192], mean=[127.5] * 3, scale=[127.5] * 3,
                  resize="keep-aspect-pad", labels=["0", "180"])


def build_template(root: Path) -> Path:
    """A workspace with parent `cls`, its INT8 child `cls-int8` (real NNCF
    calibration), dataset `lines`, and a measured parent accuracy."""
    from ocr_fixtures import ppocr_model, write_orientation_set

    from engine.calibration import CalibrationSpec
    from engine.dataset_store import import_dataset
    from engine.evaluate import evaluate
    from engine.jobs import JobRunner
    from engine.models import import_model
    from engine.optimize import run_optimize
    from engine.workspace import Workspace

    home = root / "home"
    ws = Workspace(home)
    parent = import_model(ws, ppocr_model("cls"), name="cls", **CLS_CONFIG)
    dataset = import_dataset(ws, write_orientation_set(root / "lines", IMAGES), name="lines")
    evaluate(ws, parent, dataset)
    runner = JobRunner(ws)
    spec = CalibrationSpec(model=parent.id, dataset=dataset.id, subset_pct=10)
    job = runner.submit("calibrate", lambda ctx: run_optimize(ctx, spec, measure=False), params={"model": parent.id})
    done = runner.wait(job.id, timeout=300)
    assert done.state == "done", done.error
    return home


_template: Path | None = None


def template_home(tmp_path_factory: Any) -> Path:
    """The template workspace, built once per test process."""
    global _template
    if _template is None:
        _template = build_template(tmp_path_factory.mktemp("tui-template"))
    return _template


def copy_workspace(template: Path, dest: Path) -> Path:
    shutil.copytree(template, dest)
    return dest


def record_notifications(app: Any) -> list[tuple[str, str]]:
    """(severity, message) of every notification the app shows from now on."""
    seen: list[tuple[str, str]] = []
    original = app.notify

    def notify(message: str, *args: Any, severity: str = "information", **kw: Any) -> None:
        seen.append((severity, str(message)))
        original(message, *args, severity=severity, **kw)

    app.notify = notify
    return seen


async def wait_for(pilot: Any, condition: Callable[[], Any], timeout: float = 60.0, step: float = 0.2) -> Any:
    """Let the app run until ``condition()`` is truthy; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        await pilot.pause(step)
    raise AssertionError(f"condition not met within {timeout:.0f} s")


async def type_text(pilot: Any, text: str) -> None:
    for ch in text:
        await pilot.press(ch)


def table_column(table: Any, column: int) -> list[str]:
    return [str(table.get_row_at(i)[column]) for i in range(table.row_count)]


def jobs_idle(app: Any) -> bool:
    """No job of the app's workspace is queued or running (read afresh)."""
    from engine.jobs import client

    return not client.active(app.ws)


async def settle_jobs(app: Any, timeout: float = 60.0) -> None:
    """Cancel whatever still runs, and wait for it to stop."""
    from engine.errors import OwbError
    from engine.jobs import client

    for job in client.active(app.ws):
        try:
            client.cancel(app.ws, job.id)
        except OwbError:
            pass
    for job in client.active(app.ws):
        await asyncio.get_running_loop().run_in_executor(None, client.wait, app.ws, job.id)
