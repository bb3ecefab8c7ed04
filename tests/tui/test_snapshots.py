"""Text snapshots of the main screens at 80x24 and 120x40: Projects, Project
page, Optimize form, Jobs, Compare and Report.

No golden files: pytest-textual-snapshot does not fit the installed pytest,
and a stored SVG would break on every job id, date and FPS figure. Each test
renders the screen as text (the compositor's strips, exactly what the
terminal gets) and asserts what must be there whole: column titles, labels,
every footer key hint (so "q qui" at 80 columns fails), and that no line is
wider than the terminal. Last, the terminal probe that picks the picture
protocol before the first paint, against a pty answering like real terminals."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from engine.records import Job, Model, Report
from engine.workspace import Workspace
from owb_tui.app import OwbApp

from . import copy_workspace, template_home, wait_for

SIZES = [(80, 24), (120, 40)]


@pytest.fixture(scope="module")
def measured_home(tmp_path_factory):
    """The TUI template plus what the Compare and Report screens show: short
    benchmarks of both models, a finished comparison job and a predictions report."""
    from engine.benchmark import BenchmarkSettings, run_benchmark
    from engine.compare import compare
    from engine.jobs import JobRunner
    from engine.reports import ReportSpec, create_report

    home = copy_workspace(template_home(tmp_path_factory), tmp_path_factory.mktemp("snap") / "home")
    ws = Workspace(home)
    a, b = ws.get(Model, "cls"), ws.get(Model, "cls-int8")
    for model in (a, b):
        run_benchmark(ws, model, BenchmarkSettings(time_s=0.3))
    runner = JobRunner(ws)
    job = runner.submit("compare", lambda ctx: compare(ctx.ws, a, b, bench_time=0.3),
                        params={"model": b.id, "a": a.id, "b": b.id, "bench_time": 0.3}, name="compare cls cls-int8")
    assert runner.wait(job.id, timeout=120).state == "done"
    create_report(ws, ReportSpec("predictions", "cls-int8", "lines"))
    return home


@pytest.fixture
def ws(measured_home, tmp_path):
    return Workspace(copy_workspace(measured_home, tmp_path / "home"))


def screen_lines(app: Any) -> list[str]:
    return [strip.text for strip in app.screen._compositor.render_strips()]


def footer_hints(app: Any) -> list[str]:
    """"key description" of every binding the footer shows on this screen."""
    hints = []
    for active in app.screen.active_bindings.values():
        if active.binding.show:
            hints.append(f"{app.get_key_display(active.binding)} {active.binding.description}")
    return hints


async def projects(app: Any, pilot: Any) -> None:
    pass


async def project(app: Any, pilot: Any) -> None:
    await pilot.press("enter")
    await wait_for(pilot, lambda: app.focused is not None and app.focused.id == "history", timeout=10)


async def optimize(app: Any, pilot: Any) -> None:
    await pilot.press("o")
    await wait_for(pilot, lambda: app.focused is not None and app.focused.id == "opt-dataset", timeout=10)


async def jobs(app: Any, pilot: Any) -> None:
    await pilot.press("j")


async def compare_screen(app: Any, pilot: Any) -> None:
    await pilot.press("down", "c")
    await wait_for(pilot, lambda: type(app.screen).__name__ == "CompareScreen"
                   and "FPS" in "".join(screen_lines(app)), timeout=20)


async def report(app: Any, pilot: Any) -> None:
    await pilot.press("down", "enter")
    await pilot.pause()
    await pilot.press("r")
    await wait_for(pilot, lambda: app.focused is not None and app.focused.id == "rep-list", timeout=10)
    await wait_for(pilot, lambda: app.focused.row_count == 1, timeout=10)
    await pilot.press("enter")


def expected(ws: Workspace, screen: str) -> list[str]:
    """Text each screen must show whole, at both sizes."""
    if screen == "projects":
        return ["model", "prec", "dataset", "FPS thr", "ms thr", "ms lat", "acc", "size", "cls", "└ cls-int8", "FP32", "INT8",
                "lines"]
    if screen == "project":
        return ["cls  FP32 classification  input 1x3x48x192", "INT8 children: cls-int8",
                "Perf (p)", "Layers (l)", "Optimize (o)", "Explore (e)", "Reports (r)", "Export (x)",
                "when", "kind", "inputs", "result", "settings", "benchmark", "accuracy", "FPS"]
    if screen == "optimize":
        return ["dataset", "lines (24 img)", "calib. on", "the same dataset", "subset %", "100", "method",
                "Default", "max drop", "drop type", "Default: NNCF post-training quantization", "advanced"]
    if screen == "jobs":
        return ["job", "state", "progress", "step", "ETA", "calibrate ", "compare cls cls-int8", "done",
                "[##########]"]
    if screen == "compare":
        job = ws.find(Job, kind="compare", state="done")[0]
        return [job.result["verdict"], "cls FP32", "cls-int8 INT8", "B/A", "model", "precision", "float ops in",
                "FPS", "latency ms", "size", "accuracy", "cls-int8", "INT8"]
    if screen == "report":
        report = ws.all(Report)[0]
        return [f"{report.name}:", "24 images", "image", "O class", "P class", "P rank", "O conf", "O conf P",
                "O = optimized cls-int8, P = parent cls", "24 rows", "basic table", "column: Image Name"]
    raise AssertionError(screen)


SCREENS: dict[str, Callable[[Any, Any], Awaitable[None]]] = {
    "projects": projects, "project": project, "optimize": optimize, "jobs": jobs, "compare": compare_screen,
    "report": report,
}
SCREEN_CLASSES = {"projects": "ProjectsScreen", "project": "ProjectScreen", "optimize": "ProjectScreen",
                  "jobs": "JobsScreen", "compare": "CompareScreen", "report": "ReportScreen"}


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("screen", list(SCREENS))
async def test_screen_shows_everything_whole(ws, screen, size):
    app = OwbApp(ws)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        await SCREENS[screen](app, pilot)
        await pilot.pause()
        assert type(app.screen).__name__ == SCREEN_CLASSES[screen]
        lines = screen_lines(app)
        assert len(lines) == size[1] and all(len(line) <= size[0] for line in lines)
        text = "\n".join(lines)
        words = " ".join(text.split())  # a wrapped sentence reads whole again
        for part in expected(ws, screen):
            assert " ".join(part.split()) in words, f"{part!r} missing from the {screen} screen at {size}:\n{text}"
        footer = lines[-1]
        hints = footer_hints(app)
        assert len(hints) >= 3, hints
        for hint in hints:
            assert hint in footer, f"footer hint {hint!r} cut at {size}: {footer!r}"
        assert "owb" in lines[0]  # the header's title


PROBE_CHILD = """
import time
from owb_tui.terminal_probe import answer, ask
start = time.monotonic()
ask()
found = answer()
print(f"ANSWER {found.method} {found.cell} {time.monotonic() - start:.3f}", flush=True)
"""


@pytest.mark.parametrize("reply, method, cell", [
    (b"\x1b[6;20;9t\x1b[?62;4;22c", "sixel", (9, 20)),  # DA1 lists Sixel (4); cell size by escape
    (b"\x1b_Gi=31;OK\x1b\\\x1b[6;16;8t\x1b[?62;22c", "tgp", (8, 16)),  # Kitty graphics answered OK
    (b"\x1b[?1;2c", "halfcell", None),  # a plain VT100: coloured half blocks
    (b"", "halfcell", None),  # no answer at all: give up at the deadline
])
def test_terminal_probe_reads_the_answers(reply, method, cell):
    """owb asks the terminal about pictures before Textual starts (terminal_probe);
    here a pty plays the terminal, answering as the kinds of terminal do."""
    import os
    import select
    import subprocess
    import sys
    import time
    from pathlib import Path

    from owb_tui.terminal_probe import DEADLINE_S

    master, slave = os.openpty()
    root = Path(__file__).resolve().parents[2]
    child = subprocess.Popen([sys.executable, "-c", PROBE_CHILD], stdin=slave, stdout=slave, stderr=slave,
                             cwd=root, env={**os.environ, "PYTHONPATH": str(root)}, start_new_session=True)
    os.close(slave)
    out = b""
    try:
        deadline = time.monotonic() + 30
        while b"ANSWER" not in out or not out.endswith(b"\n"):
            assert time.monotonic() < deadline, out
            if select.select([master], [], [], 0.1)[0]:
                chunk = os.read(master, 4096)
                if b"\x1b[c" in chunk and reply:
                    os.write(master, reply)
                out += chunk
    finally:
        child.wait(timeout=30)
        os.close(master)
    got_method, *got_cell, seconds = out.split(b"ANSWER", 1)[1].decode().split()
    assert got_method == method
    assert " ".join(got_cell) == str(cell)
    assert float(seconds) < DEADLINE_S + 0.2
    assert b"\x1b[16t" in out  # the pty reports no pixel size, so the cell size is asked
