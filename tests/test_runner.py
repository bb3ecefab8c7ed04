"""The detached job runner: one per workspace, started on demand, surviving
its clients; jobs followed and cancelled from other processes; a runner
killed with SIGKILL in a late stage leaves its job 'interrupted' and a retry
resumes it without a duplicate (killed mid-statistics: test_calibration's
kill_then_retry); liveness that a PID namespace cannot fool."""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT, run_owb
from engine.jobs import client, mark_interrupted, read_log, read_progress
from engine.jobs.liveness import boot_id, process_token, start_time, token_alive
from engine.jobs.runner import runner_alive, runner_info
from engine.records import Job, Model
from engine.workspace import Workspace


def owb_env() -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("OWB_DEBUG", None)
    return env


def wait_until(condition, timeout: float = 120.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"{what} not met within {timeout:.0f} s")


def detach(ws: Workspace, *args: str) -> str:
    proc = run_owb(*args, "--detach", "--json", home=ws.home)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)["job"]


def in_stage(ws: Workspace, job_id: str, word: str) -> bool:
    event = read_progress(ws, job_id)
    return event is not None and word in event.stage


def kill_runner_in(ws: Workspace, job_id: str, stage: str) -> int:
    """SIGKILL the runner once ``job_id`` reached ``stage``."""
    wait_until(lambda: in_stage(ws, job_id, stage), what=f"stage {stage!r}")
    pid = int(runner_info(ws)["pid"])
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not runner_alive(ws), 30, "the killed runner's lock released")
    return pid


@pytest.fixture
def work(cls_workspace, tmp_path):
    """A private copy of the cls workspace (the runner and the jobs are per workspace)."""
    import shutil

    home = tmp_path / "home"
    shutil.copytree(cls_workspace.home, home, ignore=shutil.ignore_patterns("runner*"))
    return Workspace(home)


def test_detach_then_follow_from_another_process_then_cancel_within_5_s(work):
    ws = work
    before = {m.id for m in ws.all(Model)}
    job_id = detach(ws, "calibrate", "cls", "--dataset", "orient", "--bench-time", "0")
    runner = runner_info(ws)
    assert runner and runner_alive(ws)
    pid = int(runner["pid"])
    assert os.getsid(pid) != os.getsid(0), "the runner has a session of its own"
    assert os.readlink(f"/proc/{pid}/fd/0") == "/dev/null"

    # `owb jobs follow` in another process, on a terminal: its progress bar shows the stages live
    master, slave = pty.openpty()
    follower = subprocess.Popen([sys.executable, "-m", "owb_tui.cli", "--home", str(ws.home), "jobs", "follow",
                                 job_id], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave,
                                env=owb_env())
    os.close(slave)
    seen = b""
    deadline = time.monotonic() + 120
    while b"Statistics collection" not in seen and time.monotonic() < deadline:
        if select.select([master], [], [], 0.5)[0]:
            try:
                seen += os.read(master, 65536)
            except OSError:
                break
    assert b"Statistics collection" in seen, seen[-500:]

    asked = time.monotonic()
    cancel = run_owb("jobs", "cancel", job_id, "--json", home=ws.home)
    took = time.monotonic() - asked
    assert cancel.returncode == 0, cancel.stderr
    assert json.loads(cancel.stdout) == {"job": job_id, "state": "cancelled"}
    assert took < 5, f"cancel took {took:.1f} s"
    assert follower.wait(60) == 130  # the follower saw the end too
    os.close(master)
    assert ws.get(Job, job_id).state == "cancelled"
    assert {m.id for m in ws.all(Model)} == before, "a cancelled calibration leaves no model"


def test_a_kill_after_the_child_was_saved_resumes_its_missing_stages(work):
    """Killed while benchmarking: the retry benchmarks the saved child, not a new calibration."""
    ws = work
    before = {m.id for m in ws.all(Model)}
    job_id = detach(ws, "calibrate", "cls", "--dataset", "orient", "--subset", "10", "--bench-time", "2")
    kill_runner_in(ws, job_id, "benchmark")
    child = next(m for m in ws.all(Model) if m.id not in before)
    listed = {m["name"]: m for m in json.loads(run_owb("model", "list", "--json", home=ws.home).stdout)}
    assert listed[child.name]["incomplete"] == ["benchmark"]
    assert "incomplete" in run_owb("model", "list", home=ws.home).stdout

    retry = run_owb("jobs", "retry", job_id, "--json", home=ws.home)
    assert retry.returncode == 0, retry.stderr
    out = json.loads(retry.stdout)
    assert out["id"] == child.id and out["throughput_fps"]["child"] > 0 and "accuracy" in out
    assert [m.id for m in ws.all(Model) if m.id not in before] == [child.id], "no duplicate"
    assert ws.get(Model, child.id).provenance["pending"] == []
    log = read_log(ws, ws.get(Job, out["job"]))
    assert "resuming" in log and "Statistics collection" not in log


def test_two_clients_starting_at_once_start_one_runner(ws):
    code = ("import sys, time; from engine.workspace import Workspace; from engine.jobs import client, runner; "
            "ws = Workspace(sys.argv[1]); t = float(sys.argv[2]); time.sleep(max(0, t - time.time())); "
            "client.ensure_runner(ws); print(runner.runner_info(ws)['pid'])")
    at = str(time.time() + 1.5)
    procs = [subprocess.Popen([sys.executable, "-c", code, str(ws.home), at], stdout=subprocess.PIPE, text=True,
                              env=owb_env()) for _ in range(3)]
    pids = {p.communicate(timeout=60)[0].strip() for p in procs}
    assert len(pids) == 1 and runner_alive(ws)
    log = (ws.home / "jobs" / "runner.log").read_text()
    assert log.count("serving") == 1 and "another runner" not in log


def test_runner_exits_when_idle_and_the_next_job_starts_another(ws, monkeypatch):
    monkeypatch.setenv("OWB_RUNNER_IDLE_S", "1")
    client.ensure_runner(ws)
    first = runner_info(ws)["pid"]
    wait_until(lambda: not runner_alive(ws), 60, "the idle runner's exit")
    assert not (ws.home / "jobs" / "runner.pid").exists()
    client.ensure_runner(ws)
    assert runner_alive(ws) and runner_info(ws)["pid"] != first


def test_a_killed_runners_lock_and_pid_file_are_recovered_by_the_next_client(ws):
    client.ensure_runner(ws)
    first = int(runner_info(ws)["pid"])
    os.kill(first, signal.SIGKILL)
    wait_until(lambda: not runner_alive(ws), 30, "the lock released by the kernel")
    assert (ws.home / "jobs" / "runner.lock").exists() and runner_info(ws)["pid"] == first  # left behind
    client.ensure_runner(ws)
    assert runner_alive(ws) and runner_info(ws)["pid"] != first


def test_heavy_jobs_queue_behind_each_other_across_clients(work):
    ws = work
    a = detach(ws, "benchmark", "cls", "--time", "1")
    b = detach(ws, "benchmark", "cls", "--time", "1")
    done = [client.wait(ws, j) for j in (a, b)]
    assert [j.state for j in done] == ["done", "done"]
    assert done[1].started >= done[0].finished, "the second heavy job waited for the first"


def test_jobs_json_lists_cli_benchmark_accuracy_and_report_jobs(work):
    ws = work
    for args in (["benchmark", "cls", "--time", "1"], ["accuracy", "cls", "--dataset", "orient"],
                 ["report", "cls", "--dataset", "orient", "--kind", "accuracy"]):
        proc = run_owb(*args, "--json", home=ws.home)
        assert proc.returncode == 0, proc.stderr
    mine = {j.id for j in ws.all(Job)}
    listed = [j for j in json.loads(run_owb("jobs", "--json", home=ws.home).stdout) if j["id"] in mine]
    assert [(j["kind"], j["state"]) for j in listed][-3:] == [("benchmark", "done"), ("accuracy", "done"),
                                                              ("report", "done")]
    bench = listed[-3]
    assert bench["result"]["throughput_fps"] > 0 and bench["params"]["settings"]["time_s"] == 1


def test_bad_settings_are_refused_before_a_job_exists(work):
    ws = work
    jobs = len(ws.all(Job))
    for args, words in ((["calibrate", "cls", "--dataset", "orient", "--bench-time", "inf"], "--bench-time"),
                        (["calibrate", "cls", "--dataset", "orient", "--bench-time", "nan"], "--bench-time"),
                        (["benchmark", "cls", "--time", "0"], "--time"),
                        (["layers", "cls", "--runs", "0"], "--runs")):
        proc = run_owb(*args, home=ws.home)
        assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and words in proc.stderr, proc.stderr
    assert len(ws.all(Job)) == jobs and not runner_alive(ws)


# -- liveness -------------------------------------------------------------------------------


def test_a_pid_namespace_pid_1_never_keeps_a_dead_job_running(ws):
    """In a container the recorded pid is 1, which always exists out here: the
    start time in the token tells it is not the same process."""
    ghost = f"{boot_id()}/1/{int(start_time(1) or 0) + 12345}"
    assert not token_alive(ghost) and token_alive(process_token(1)) and token_alive(process_token())
    assert not token_alive(f"not-this-boot/{os.getpid()}/{start_time(os.getpid())}")
    dead = ws.add(Job(name="calibrate x", kind="calibrate", state="running", pid=1, owner=ghost))
    legacy = ws.add(Job(name="calibrate y", kind="calibrate", state="running", pid=1))
    waiting = ws.add(Job(name="benchmark z", kind="benchmark", state="queued"))
    marked = {j.id for j in mark_interrupted(ws)}
    assert marked == {dead.id, legacy.id}
    assert ws.get(Job, waiting.id).state == "queued", "a job queued for the runner is not dead"


# -- removing models ---------------------------------------------------------------------------


def test_model_remove_needs_recursive_for_children_and_removes_everything(tmp_path):
    from conftest import cls_with_children

    ws, parent, dataset, (child,) = cls_with_children(tmp_path, 12, 50)
    from engine.evaluate import evaluate

    evaluate(ws, child, dataset)
    refused = run_owb("model", "remove", "cls", home=ws.home)
    assert refused.returncode == 2 and "--recursive" in refused.stderr and ws.maybe(Model, "cls") is not None
    folders = [ws.path(m.path).parent for m in (parent, child)]
    gone = run_owb("model", "remove", "cls", "--recursive", "--json", home=ws.home)
    assert gone.returncode == 0, gone.stderr
    assert {m["name"] for m in json.loads(gone.stdout)["removed"]} == {"cls", child.name}
    assert ws.all(Model) == [] and not any(f.exists() for f in folders)
    from engine.records import InferenceResult, Project

    assert ws.all(InferenceResult) == [] and ws.all(Project) == []
    assert not list(Path(ws.home / "outputs").glob(f"{child.id}-*"))
