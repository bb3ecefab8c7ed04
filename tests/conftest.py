"""Shared fixtures: workspaces in tmp dirs, the PP-OCRv5 models, and the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from ocr_fixtures import ppocr_model, write_orientation_set  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
# Runners started by tests (every long CLI command runs as a job) go away
# soon on their own; the fixtures below stop them at once.
os.environ.setdefault("OWB_RUNNER_IDLE_S", "20")


def stop_runners(root: Path) -> list[Path]:
    """Stop every job runner serving a workspace below ``root``."""
    from types import SimpleNamespace

    from engine.jobs.client import stop_runner

    stopped = []
    for pid_file in root.rglob("jobs/runner.pid"):
        home = pid_file.parent.parent
        if stop_runner(SimpleNamespace(home=home), timeout=30):
            stopped.append(home)
    return stopped


@pytest.fixture(autouse=True)
def _no_runner_left_behind(tmp_path):
    yield
    stop_runners(tmp_path)


@pytest.fixture(scope="session", autouse=True)
def _no_runner_left_at_exit(tmp_path_factory):
    yield
    stop_runners(tmp_path_factory.getbasetemp())


@pytest.fixture
def ws(tmp_path):
    from engine.workspace import Workspace

    return Workspace(tmp_path / "home")


def run_owb(*args: str, home: Path | None = None, cwd: Path | None = None, env: dict | None = None,
            timeout: float = 600) -> subprocess.CompletedProcess:
    """`owb ...` in a subprocess, the way a user runs it."""
    cmd = [sys.executable, "-m", "owb_tui.cli"]
    if home is not None:
        cmd += ["--home", str(home)]
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    full_env.pop("OWB_DEBUG", None)
    return subprocess.run(cmd + list(args), capture_output=True, text=True, cwd=cwd, env=full_env, timeout=timeout)


def owb_json(*args: str, home: Path) -> dict | list:
    proc = run_owb(*args, "--json", home=home)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


CLS_CONFIG = dict(task="classification", shape=[1, 3, 48, 192], color="BGR",
                  mean=[127.5, 127.5, 127.5], scale=[127.5, 127.5, 127.5])


def calibrate(ws, parent, dataset, subset_pct: float):
    """The Default INT8 child, made by the same job `owb calibrate` runs."""
    from engine.calibration import CalibrationSpec
    from engine.jobs import JobRunner
    from engine.optimize import run_optimize
    from engine.records import Model

    spec = CalibrationSpec(model=parent.id, dataset=dataset.id, subset_pct=subset_pct)
    runner = JobRunner(ws)
    job = runner.submit("calibrate", lambda ctx: run_optimize(ctx, spec, bench_time=0, measure=False))
    job = runner.wait(job.id)
    assert job.state == "done", job.error
    return ws.get(Model, job.result["id"])


def cls_with_children(tmp: Path, images: int, *subsets: float) -> tuple:
    """(workspace, PP-OCRv5 cls, a generated orientation set, one INT8 child per subset %)."""
    from engine.dataset_store import import_dataset
    from engine.models import import_model
    from engine.workspace import Workspace

    ws = Workspace(tmp / "ws")
    parent = import_model(ws, ppocr_model("cls"), name="cls", **CLS_CONFIG)
    dataset = import_dataset(ws, write_orientation_set(tmp / "orient", images), name="orient")
    return ws, parent, dataset, [calibrate(ws, parent, dataset, subset_pct=pct) for pct in subsets]


@pytest.fixture(scope="session")
def orientation_dir(tmp_path_factory) -> Path:
    """200 generated text lines, half turned 180°, ImageNet layout."""
    return write_orientation_set(tmp_path_factory.mktemp("orient") / "orient", 200, seed=7)


@pytest.fixture(scope="session")
def cls_workspace(tmp_path_factory, orientation_dir):
    """A workspace holding PP-OCRv5 cls (configured) and the orientation set."""
    from engine.dataset_store import import_dataset
    from engine.models import import_model
    from engine.workspace import Workspace

    ws = Workspace(tmp_path_factory.mktemp("clsws") / "home")
    import_model(ws, ppocr_model("cls"), name="cls", **CLS_CONFIG)
    import_dataset(ws, orientation_dir, name="orient")
    return ws


def assert_cancel_leaves_nothing(ws, spec, reached, what: str, wait: float = 120) -> None:
    """Run ``run_optimize(spec)`` as a job and cancel it once an event
    satisfies ``reached``: it must end 'cancelled' within 5 s, with no model
    recorded and nothing half-written left behind."""
    import threading
    import time

    from engine.jobs import JobRunner
    from engine.optimize import run_optimize
    from engine.records import Model

    models_before = {m.id for m in ws.all(Model)}
    dirs_before = set(os.listdir(ws.home / "models"))
    runner = JobRunner(ws)
    seen = threading.Event()
    runner.subscribe(lambda e: seen.set() if reached(e) else None)
    job = runner.submit("calibrate", lambda ctx: run_optimize(ctx, spec, bench_time=0, measure=False))
    assert seen.wait(wait), f"the job never reached {what}"
    asked = time.monotonic()
    runner.cancel(job.id)
    final = runner.wait(job.id, timeout=30)
    assert time.monotonic() - asked < 5
    assert final.state == "cancelled"
    assert {m.id for m in ws.all(Model)} == models_before
    assert set(os.listdir(ws.home / "models")) == dirs_before
    assert not any((ws.home / "tmp").iterdir()), "no half-written model may stay behind"


def kill_then_retry(ws, calibrate_args: list[str], name: str, reached, what: str, wait: float = 120) -> dict:
    """Start ``owb calibrate ... --name name`` and kill -9 the process running
    its job (the workspace's runner) once the job satisfies ``reached``; the
    job must read 'interrupted', no model ``name`` may exist, and `owb jobs
    retry` (which starts a new runner) must finish it. Returns the retry's JSON."""
    import signal
    import time

    from engine.records import Job, Model

    before = {j.id for j in ws.all(Job)}
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "owb_tui.cli", "--home", str(ws.home), "calibrate",
                             *calibrate_args, "--name", name, "--json"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + wait
    job = None
    while time.monotonic() < deadline and job is None:
        job = next((j for j in ws.all(Job) if j.id not in before and j.pid and reached(j)), None)
        time.sleep(0.2)
    assert job is not None, f"the calibration never reached {what}"
    os.kill(job.pid, signal.SIGKILL)
    proc.wait(60)  # the client sees its job interrupted and ends
    listed = json.loads(run_owb("jobs", "--json", home=ws.home).stdout)
    assert next(j for j in listed if j["id"] == job.id)["state"] == "interrupted"
    assert ws.maybe(Model, name) is None, "no half-written model is listed"
    retry = run_owb("jobs", "retry", job.id, "--json", home=ws.home, timeout=1200)
    assert retry.returncode == 0, retry.stderr
    out = json.loads(retry.stdout)
    assert out["model"] == name and ws.get(Model, name).precision == "INT8"
    assert [m.name for m in ws.all(Model)].count(name) == 1, "no duplicate"
    return out
