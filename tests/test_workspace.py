"""The workspace: home resolution, atomic DB, corruption refusal, locking,
and the headless-engine contract."""

from __future__ import annotations

import json
import multiprocessing
import subprocess
import sys

import pytest

from engine.errors import NotFound, WorkspaceError
from engine.records import Dataset, Model
from engine.workspace import Workspace, resolve_home


def test_home_resolution_order(tmp_path, monkeypatch):
    monkeypatch.setenv("OWB_HOME", str(tmp_path / "env"))
    assert resolve_home(tmp_path / "flag") == (tmp_path / "flag").resolve()
    assert resolve_home(None) == (tmp_path / "env").resolve()
    monkeypatch.delenv("OWB_HOME")
    assert "owb" in str(resolve_home(None))


def test_layout_and_schema(ws):
    for sub in ("models", "datasets", "outputs", "reports", "jobs"):
        assert (ws.home / sub).is_dir()
    data = json.loads((ws.home / "owb.json").read_text())
    assert data["meta"]["1"]["schema"] == 1


def test_records_round_trip_and_lookup(ws):
    m = ws.add(Model(name="m1", path="models/x/model.xml"))
    m.config.task = "detection"
    ws.update(m, precision="INT8")
    again = Workspace(ws.home)
    got = again.get(Model, "m1")
    assert got.id == m.id and got.precision == "INT8" and got.config.task == "detection"
    assert again.get(Model, m.id).name == "m1"
    with pytest.raises(NotFound, match="no model named"):
        again.get(Model, "nope")
    with pytest.raises(WorkspaceError, match="already exists"):
        again.add(Model(name="m1"))
    assert again.unique_name(Model, "m1") == "m1-2"


def test_corrupt_db_is_refused_and_kept(tmp_path):
    home = tmp_path / "home"
    ws = Workspace(home)
    ws.add(Dataset(name="d"))
    db = home / "owb.json"
    db.write_text(db.read_text()[:-7])  # a torn write from some other tool
    before = db.read_bytes()
    with pytest.raises(WorkspaceError, match="corrupt") as err:
        Workspace(home)
    assert "owb.json.corrupt" in str(err.value)
    assert db.read_bytes() == before, "a corrupt DB must never be reset"
    assert (home / "owb.json.corrupt").read_bytes() == before


def test_newer_schema_is_refused(tmp_path):
    home = tmp_path / "home"
    Workspace(home)
    db = home / "owb.json"
    data = json.loads(db.read_text())
    data["meta"]["1"]["schema"] = 99
    db.write_text(json.dumps(data))
    with pytest.raises(WorkspaceError, match="newer"):
        Workspace(home)


def _add_many(home: str, prefix: str, n: int) -> None:
    ws = Workspace(home)
    for i in range(n):
        ws.add(Dataset(name=f"{prefix}-{i}"))


def test_two_processes_never_corrupt_the_db(tmp_path):
    home = str(tmp_path / "home")
    Workspace(home)
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_add_many, args=(home, p, 25)) for p in ("a", "b")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    names = {d.name for d in Workspace(home).all(Dataset)}
    assert names == {f"{p}-{i}" for p in "ab" for i in range(25)}


def test_engine_never_imports_textual():
    """Every engine module, imported in one fresh interpreter, pulls in no UI."""
    code = (
        "import importlib, pkgutil, sys, engine\n"
        "names = [m.name for m in pkgutil.walk_packages(engine.__path__, 'engine.')]\n"
        "for name in names: importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'owb_tui'))\n"
        "print(len(names)); print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    count, bad = out.stdout.split("\n")[:2]
    assert int(count) >= 40, "the walk should reach every engine module"
    assert bad.strip() == ""


def test_cli_import_is_light():
    code = ("import sys, owb_tui.cli\n"
            "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('openvino', 'nncf', 'textual', 'numpy'))\n"
            "print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
