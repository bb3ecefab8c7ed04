"""Jobs outlive whatever started them. They run in the workspace's runner
process, so popping the screen that started one, quitting owb, or killing the
terminal (tmux kill-session: the SIGHUP of a dropped SSH connection) stops
nothing; a new owb re-attaches to them, and two owbs on one workspace show
the same job's progress."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import pytest

from conftest import ROOT
from engine.jobs import client
from engine.records import InferenceResult, Job, Model
from engine.workspace import Workspace
from owb_tui.app import OwbApp

from . import copy_workspace, jobs_idle, settle_jobs, template_home, type_text, wait_for

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
        await pilot.pause()
        await pilot.press("enter")  # cls's project page
        await pilot.pause()
        page = app.screen
        assert isinstance(page, ProjectScreen) and page.model_id == parent.id

        # a benchmark from the page, then straight back to Projects
        await pilot.press("b")
        await pilot.pause()
        await pilot.press("tab")
        assert focused_id(app) == "time"
        await type_text(pilot, "2")
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is page
        bench = next(j for j in app.active_jobs() if j.kind == "benchmark")
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, ProjectsScreen) and not page.is_attached

        # the Jobs screen opened and closed meanwhile stops nothing either
        await pilot.press("j")
        assert isinstance(app.screen, JobsScreen)
        await pilot.press("escape")
        assert isinstance(app.screen, ProjectsScreen)
        await wait_for(pilot, lambda: jobs_idle(app), timeout=120)

    done = ws.get(Job, bench.id)
    assert done.state == "done", done.error
    stored = [r for r in ws.all(InferenceResult) if r.kind == "benchmark" and r.model == parent.id]
    assert len(stored) == 3  # 2 s split into three runs of one figure
    assert all(r.result["time_s"] == 0.667 and r.result["throughput_fps"] > 0 for r in stored)
    assert done.result["throughput_fps"] in [r.result["throughput_fps"] for r in stored]  # the median run


async def test_quit_asks_leave_cancel_or_stay_and_leaving_keeps_the_job(ws):
    from owb_tui.screens.dialogs import QuitScreen

    app = OwbApp(ws)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        job = app.start_job("benchmark", {"model": "cls", "settings": {"time_s": 3}})
        await pilot.press("q")
        await pilot.pause()
        assert isinstance(app.screen, QuitScreen)
        await pilot.press("s")  # stay
        await pilot.pause()
        assert not isinstance(app.screen, QuitScreen) and app.is_running
        await pilot.press("q", "l")  # quit, leave it running
        await pilot.pause()
    assert app.left_running == 1
    assert client.wait(ws, job.id).state == "done", "the job went on after owb quit"

    app = OwbApp(ws)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        job = app.start_job("benchmark", {"model": "cls", "settings": {"time_s": 60}})
        await wait_for(pilot, lambda: ws.get(Job, job.id).state == "running", timeout=60)
        await pilot.press("q", "c")  # cancel them and quit
        await pilot.pause()
    assert client.wait(ws, job.id).state == "cancelled"


async def test_two_owbs_show_the_same_jobs_progress_and_a_new_one_reattaches(ws):
    from owb_tui.screens.jobs import JobsScreen
    from owb_tui.widgets.progress import JobStatus

    first, second = OwbApp(ws), OwbApp(ws)
    async with first.run_test(size=SIZE) as one:
        await one.pause()
        job = first.start_job("benchmark", {"model": "cls", "settings": {"time_s": 8}})
        await wait_for(one, lambda: ws.get(Job, job.id).state == "running", timeout=60)
        async with second.run_test(size=SIZE) as two:  # started while the job runs: it re-attaches
            await two.pause()
            await two.press("j")
            await two.pause()
            assert isinstance(second.screen, JobsScreen)

            def both_at(step_seen: list) -> bool:
                first.poll_jobs(), second.poll_jobs()  # both read the job's progress now
                a, b = first.job_events.get(job.id), second.job_events.get(job.id)
                same = a and b and (a.stage, a.step) == (b.stage, b.step)
                if same and a.step > 0 and a.stage.startswith("benchmark"):
                    step_seen.append(a.step)
                return len(set(step_seen)) >= 2  # the same progress, twice, as it moves

            seen: list = []
            await wait_for(two, lambda: both_at(seen), timeout=60, step=0.1)
            table = second.screen.query_one("#jobs")
            assert str(table.get_row_at(0)[1]) == "running"
            status = first.screen.query_one(JobStatus)
            assert f"benchmark cls {job.id}: benchmark cls" in str(status.render())
            await wait_for(two, lambda: str(table.get_row_at(0)[1]) == "done", timeout=60)
            await settle_jobs(second)
    assert ws.get(Job, job.id).state == "done"


# -- the terminal goes away ---------------------------------------------------------------------


def tmux(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, timeout=30)


def screen_of(session: str) -> str:
    return tmux("capture-pane", "-p", "-t", session).stdout


def wait_screen(session: str, text: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        shown = screen_of(session)
        if text in shown:
            return shown
        time.sleep(0.2)
    raise AssertionError(f"{text!r} never showed; the screen:\n{screen_of(session)}")


def start_owb(session: str, home) -> None:
    env = f"env -u COLORTERM TERM=xterm-256color PYTHONPATH={ROOT} OWB_RUNNER_IDLE_S=30"
    cmd = f"{env} {sys.executable} -m owb_tui.cli --home {home}"
    assert tmux("new-session", "-d", "-s", session, "-x", "100", "-y", "30", cmd).returncode == 0


@pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")
def test_a_calibration_survives_tmux_kill_session(ws):
    session = f"owb-survive-{os.getpid()}"
    before = {j.id for j in ws.all(Job)}
    start_owb(session, ws.home)
    try:
        wait_screen(session, "cls-int8")
        tmux("send-keys", "-t", session, "o")  # Optimize INT8 of the first row, the parent cls
        wait_screen(session, "Calibrate")
        # dataset -> calibration dataset -> subset %, 50; method, advanced (opened), preset, bench s, 1.
        # A focused field's text is selected, so typing replaces it.
        for keys in (["Tab", "Tab"], ["-l", "50"], ["Tab", "Tab", "Enter"], ["Tab", "Tab"], ["-l", "1"], ["Enter"]):
            tmux("send-keys", "-t", session, *keys)
            time.sleep(0.5)
        deadline = time.monotonic() + 30
        while not [j for j in ws.all(Job) if j.id not in before] and time.monotonic() < deadline:
            time.sleep(0.2)
        (job,) = [j for j in ws.all(Job) if j.id not in before]
        assert job.kind == "calibrate"
        assert job.params["subset_pct"] == 50 and job.params["bench_time"] == 1
        tui_pid = int(tmux("list-panes", "-t", session, "-F", "#{pane_pid}").stdout.split()[0])
    finally:
        tmux("kill-session", "-t", session)  # the terminal, and the owb in it, go away
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and os.path.exists(f"/proc/{tui_pid}"):
        time.sleep(0.1)
    assert not os.path.exists(f"/proc/{tui_pid}"), "the TUI outlived its terminal"

    done = client.wait(ws, job.id)
    assert done.state == "done", done.error
    child = ws.get(Model, done.result["id"])
    assert child.provenance["pending"] == []
    kinds = {r.kind for r in ws.all(InferenceResult) if r.model == child.id}
    assert {"benchmark", "accuracy"} <= kinds, "the child was benchmarked and evaluated"

    # a new owb lists the child with its figures and shows the job done
    session = f"owb-after-{os.getpid()}"
    start_owb(session, ws.home)
    try:
        shown = wait_screen(session, child.name)
        row = next(line for line in shown.splitlines() if child.name in line)
        assert "%" in row and "incomplete" not in row, row
        tmux("send-keys", "-t", session, "j")
        shown = wait_screen(session, f"calibrate cls {job.id}")
        row = next(line for line in shown.splitlines() if f"calibrate cls {job.id}" in line)
        assert "done" in row, row
    finally:
        tmux("kill-session", "-t", session)
