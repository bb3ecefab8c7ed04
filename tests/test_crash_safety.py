"""Crash safety: a damaged workspace DB is refused by every command and kept
byte for byte (never silently reset); an `owb dataset import` killed with
SIGKILL leaves no half dataset listed and nothing that breaks the next
import; and the scratch folders of dead processes are removed at the next
start, while a live writer's are left alone. (SIGKILL during calibration
statistics is covered in test_calibration.py.)"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from badinput.cases import noise_image
from badinput.contract import assert_one_error_line, run_owb_process
from conftest import ROOT
from engine.dataset_store import load_index
from engine.records import Dataset, Job, Model
from engine.workspace import STALE_SCRATCH_S, Workspace, clean_stale_scratch
from fixtures_datasets import image_bytes, pack


def damaged(doc: bytes) -> dict[str, bytes]:
    return {
        "truncated-mid-json": doc[: len(doc) // 2],
        "zero-bytes": b"",
        "tables-not-records": json.dumps({"models": [1, 2], "meta": {"1": {"schema": 1}}}).encode(),
    }


@pytest.fixture(scope="module")
def saved_home(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("db") / "home"
    ws = Workspace(home)
    ws.add(Model(name="m", path="models/x/model.xml"))
    ws.add(Dataset(name="d"))
    ws.add(Job(name="j", kind="calibrate", state="done"))
    return home


@pytest.mark.parametrize("damage", ["truncated-mid-json", "zero-bytes", "tables-not-records"])
def test_damaged_db_is_refused_by_every_command_and_never_reset(saved_home, tmp_path, damage):
    home = tmp_path / "home"
    subprocess.run(["cp", "-a", str(saved_home), str(home)], check=True)
    db = home / "owb.json"
    bad = damaged(db.read_bytes())[damage]
    db.write_bytes(bad)
    source = tmp_path / "set"
    source.mkdir()
    (source / "a.jpg").write_bytes(image_bytes(1))
    for argv in (["model", "list"], ["dataset", "list"], ["jobs"], ["jobs", "--json"],
                 ["dataset", "import", str(source)]):
        proc = run_owb_process(["--home", str(home), *argv], tmp_path, tmp_path)
        assert_one_error_line(proc.returncode, proc.stdout, proc.stderr, "is corrupt")
        assert f"a copy is kept at {db}.corrupt" in proc.stderr
        assert db.read_bytes() == bad, f"`owb {' '.join(argv)}` changed the damaged DB"
        assert (home / "owb.json.corrupt").read_bytes() == bad
    assert not any((home / "datasets").iterdir()) and not any((home / "tmp").iterdir())


def test_a_new_workspace_is_not_mistaken_for_a_damaged_one(tmp_path):
    assert run_owb_process(["--home", str(tmp_path / "new"), "model", "list"], tmp_path, tmp_path).returncode == 0
    assert json.loads((tmp_path / "new" / "owb.json").read_text())["meta"]["1"]["schema"] == 1


# -- SIGKILL during a dataset import -------------------------------------------------------


@pytest.fixture(scope="module")
def big_archive(tmp_path_factory) -> Path:
    """300 noise PNGs (~15 MB, barely compressible) in an ImageNet-layout zip."""
    d = tmp_path_factory.mktemp("big")
    folder = d / "lines"
    folder.mkdir()
    for i in range(300):
        (folder / f"{i:04d}.png").write_bytes(noise_image("PNG", 128, seed=i))
    (folder / "val.txt").write_text("".join(f"{i:04d}.png {i % 3}\n" for i in range(300)))
    return pack(folder, d / "lines.zip")


def kill_mid_import(home: Path, archive: Path) -> list[str]:
    """Start `owb dataset import` of an archive (a job of the workspace's
    runner) and SIGKILL the process writing it as soon as its scratch folder
    exists; returns what it left in tmp/ (empty when it finished first)."""
    import re

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "owb_tui.cli", "--home", str(home), "dataset", "import",
                             str(archive), "--name", "big"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    tmp = home / "tmp"
    killed = False
    try:
        while proc.poll() is None and not killed:
            writers = [re.match(r"dataset-(\d+)-", e.name) for e in os.scandir(tmp)] if tmp.is_dir() else []
            for found in filter(None, writers):
                os.kill(int(found.group(1)), signal.SIGKILL)
                killed = True
            time.sleep(0.002)
    finally:
        proc.wait(60)  # the client sees its job interrupted and ends
    return sorted(os.listdir(tmp)) if killed else []


def test_sigkill_during_dataset_import_leaves_nothing_half_done(tmp_path, big_archive):
    home = tmp_path / "home"
    for _ in range(5):  # the import takes a fraction of a second; retry if it won the race
        left = kill_mid_import(home, big_archive)
        if left:
            break
        for d in Workspace(home).all(Dataset):
            Workspace(home).remove(d)
    assert left, "could not kill the import while it ran"
    listed = run_owb_process(["--home", str(home), "dataset", "list", "--json"], tmp_path, tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout) == [], "a half-imported dataset is listed"
    json.loads((home / "owb.json").read_bytes())  # the DB parses

    again = run_owb_process(["--home", str(home), "dataset", "import", str(big_archive), "--name", "big", "--json"],
                            tmp_path, tmp_path)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["images"] == 300
    ws = Workspace(home)
    assert len(load_index(ws, ws.get(Dataset, "big")).items) == 300
    assert sorted(os.listdir(home / "tmp")) == left, "a young leftover is kept (its writer might be on another host)"

    old = time.time() - STALE_SCRATCH_S - 60
    for name in left:
        os.utime(home / "tmp" / name, (old, old))
    Workspace(home)  # the next start cleans up after the dead process
    assert os.listdir(home / "tmp") == []
    assert Workspace(home).get(Dataset, "big").images == 300


def test_stale_scratch_rules(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    tmp = tmp_path / "tmp"
    names = {
        "dataset-{dead}-old": (dead.pid, True),
        "model-{dead}-young": (dead.pid, False),
        "calib-{live}-old": (os.getpid(), True),
        "report-legacyname": (None, True),  # from an owb that did not put its pid in the name
    }
    old = time.time() - STALE_SCRATCH_S - 60
    for pattern, (_, is_old) in names.items():
        path = tmp / pattern.format(dead=dead.pid, live=os.getpid())
        (path / "data").mkdir(parents=True)
        (path / "data" / "x.jpg").write_bytes(b"x")
        if is_old:
            os.utime(path, (old, old))
    removed = clean_stale_scratch(tmp)
    assert sorted(removed) == sorted([f"dataset-{dead.pid}-old", "report-legacyname"])
    assert sorted(os.listdir(tmp)) == sorted([f"model-{dead.pid}-young", f"calib-{os.getpid()}-old"])


def test_scratch_folders_carry_their_writer_pid(tmp_path):
    ws = Workspace(tmp_path / "home")
    assert ws.tmp_dir("dataset-").name.startswith(f"dataset-{os.getpid()}-")
