"""Project archives between workspaces: a real PP-OCRv5 cls parent with its
NNCF INT8 child, a benchmark, accuracy results and a predictions report go
from workspace A to B and come out identical; a second import renames; a
hostile or damaged archive changes nothing."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from conftest import owb_json, run_owb
from engine.benchmark import BenchmarkSettings, run_benchmark
from engine.projects import model_tree
from engine.records import Dataset, InferenceResult, Model, Project, Report
from engine.reports import ReportSpec, create_report, open_table
from engine.workspace import DB_NAME, Workspace
from tui import copy_workspace, template_home


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Workspace:
    """Template workspace (cls, cls-int8, dataset lines, parent accuracy) plus
    a benchmark of the child and a predictions report child vs parent."""
    ws = Workspace(copy_workspace(template_home(tmp_path_factory), tmp_path_factory.mktemp("portable") / "a"))
    child = ws.get(Model, "cls-int8")
    run_benchmark(ws, child, BenchmarkSettings(time_s=0.3), dataset=ws.get(Dataset, "lines"))
    create_report(ws, ReportSpec("predictions", "cls-int8", "lines"))
    return ws


@pytest.fixture(scope="module")
def archive(source, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("owb-archive") / "cls.owb"
    doc = owb_json("project", "export", "cls", "--out", str(out), home=source.home)
    assert doc["models"] == ["cls", "cls-int8"] and doc["reports"] == 1 and not doc["with_datasets"]
    return out


def snapshot(ws: Workspace) -> dict:
    """Everything a user sees of the tree, by names instead of ids (datasets
    by id: without --with-datasets the target has no record to name them)."""
    models = {m.id: m.name for m in ws.all(Model)}
    projects = {p.id: p.name for p in ws.all(Project)}
    history = sorted(
        (models[r.model], r.kind, r.dataset, projects.get(r.project, r.project),
         json.dumps({k: v for k, v in r.result.items() if k not in ("model_id", "model")}, sort_keys=True), r.created)
        for r in ws.all(InferenceResult))
    reports = []
    for rep in ws.all(Report):
        table = open_table(ws, rep)
        reports.append((rep.kind, models[rep.model], models.get(rep.reference), rep.dataset,
                        table.columns, table.rows(), json.dumps(rep.summary.get("value"))))
    return {
        "tree": [(depth, m.name, m.precision, models.get(m.parent), m.config.to_dict()) for depth, m in model_tree(ws)],
        "projects": sorted((p.name, models[p.model], p.dataset, projects.get(p.parent or ""))
                           for p in ws.all(Project)),
        "history": history,
        "reports": reports,
    }


def state(home: Path) -> tuple:
    """The DB bytes and every file under the workspace's data folders."""
    files = sorted(str(p.relative_to(home)) for sub in ("models", "reports", "datasets", "tmp")
                   for p in (home / sub).rglob("*"))
    return (home / DB_NAME).read_bytes(), files


def test_import_into_an_empty_workspace_reproduces_the_tree(source, archive, tmp_path):
    home = tmp_path / "b"
    doc = owb_json("project", "import", str(archive), home=home)
    assert [m["name"] for m in doc["models"]] == ["cls", "cls-int8"]
    assert doc["renamed"] == [] and doc["remapped_ids"] == 0  # every id was free: all kept
    b = Workspace(home)
    assert snapshot(b) == snapshot(source)
    assert {m.id for m in b.all(Model)} == {m.id for m in source.all(Model)}
    # without --with-datasets the dataset stays behind, and the import says so
    assert b.all(Dataset) == [] and doc["datasets"] == [{"name": "lines", "id": source.get(Dataset, "lines").id,
                                                         "action": "missing"}]
    child = b.get(Model, "cls-int8")
    assert b.path(child.path).read_bytes() == source.path(source.get(Model, "cls-int8").path).read_bytes()
    assert not any((home / "tmp").iterdir())


def test_second_import_renames_remaps_and_relinks_datasets(source, archive, tmp_path):
    home = tmp_path / "b"
    full = tmp_path / "full.owb"
    owb_json("project", "export", "cls", "--out", str(full), "--with-datasets", home=source.home)
    first = owb_json("project", "import", str(full), home=home)
    assert first["datasets"][0]["action"] == "imported"
    second = run_owb("project", "import", str(full), home=home)
    assert second.returncode == 0, second.stderr
    assert "model 'cls' imported as 'cls-2'" in second.stdout
    assert "model 'cls-int8' imported as 'cls-int8-2'" in second.stdout
    assert "dataset lines: re-linked" in second.stdout  # same name, same content: no second copy
    b = Workspace(home)
    assert [(d, m.name) for d, m in model_tree(b)] == [(0, "cls"), (1, "cls-int8"), (0, "cls-2"), (1, "cls-int8-2")]
    assert len(b.all(Dataset)) == 1 and len(b.all(Report)) == 2
    assert len({m.id for m in b.all(Model)}) == 4
    # the renamed copy carries the same history and report, re-pointed at its own ids
    copy = b.get(Model, "cls-int8-2")
    assert copy.parent == b.get(Model, "cls-2").id
    (rep,) = [r for r in b.all(Report) if r.model == copy.id]
    assert rep.reference == copy.parent and rep.path == f"reports/{rep.id}"
    original = source.all(Report)[0]
    assert open_table(b, rep).rows() == open_table(source, original).rows()
    results = [r for r in b.all(InferenceResult) if r.model == copy.id]
    assert [r.result["model"] for r in results if r.kind == "benchmark"] == ["cls-int8-2"]
    # and the dataset works here: accuracy of the imported parent runs on it
    from engine.evaluate import evaluate

    parent_acc = [r.result["value"] for r in source.all(InferenceResult) if r.kind == "accuracy"][0]
    assert evaluate(b, b.get(Model, "cls-2"), b.get(Dataset, "lines"), record=False)["value"] == parent_acc


def _rewrite(archive: Path, dest: Path, change) -> Path:
    """A copy of ``archive`` whose members pass through ``change(info, data)``
    (returning None drops a member, a list adds several)."""
    with tarfile.open(archive) as src, tarfile.open(dest, "w:gz") as out:
        for info in src.getmembers():
            data = src.extractfile(info).read() if info.isfile() else b""
            for new_info, new_data in change(info, data) or []:
                new_info.size = len(new_data)
                out.addfile(new_info, io.BytesIO(new_data))
    return dest


def _member(name: str) -> tarfile.TarInfo:
    return tarfile.TarInfo(name)


def _with_parent(manifest: bytes, parent: object) -> bytes:
    doc = json.loads(manifest)
    doc["models"][1]["parent"] = parent
    return json.dumps(doc).encode()


def _with_file(manifest: bytes, rel: str) -> bytes:
    doc = json.loads(manifest)
    doc["files"][rel] = {"size": 1, "sha256": "0" * 64}
    return json.dumps(doc).encode()


@pytest.mark.parametrize("tamper, message", [
    (lambda i, d: [(i, d)] + ([(_member("../escape.txt"), b"x")] if i.name == "manifest.json" else []),
     "climbs out with '..'"),
    (lambda i, d: None if i.name.endswith("model.bin") else [(i, d)], "named in the manifest is missing"),
    (lambda i, d: [(i, d[:-10] + b"0" * 10 if i.name.endswith(".npz") else d)], "does not match the manifest"),
    (lambda i, d: [(i, d)] + ([(_member("files/models/zz/extra.bin"), b"x")] if i.name == "manifest.json" else []),
     "is in the archive but not in its manifest"),
    (lambda i, d: [(i, _with_file(d, "models/zz/model.bin") if i.name == "manifest.json" else d)],
     "belongs to no record"),
    (lambda i, d: [(i, json.dumps({**json.loads(d), "schema": 99}).encode() if i.name == "manifest.json" else d)],
     "newer owb"),
    (lambda i, d: [(i, _with_parent(d, {"id": "x"}) if i.name == "manifest.json" else d)],
     "fields of the wrong type"),
])
def test_tampered_archive_is_refused_and_changes_nothing(source, archive, tmp_path, tamper, message):
    home = tmp_path / "b"
    assert run_owb("project", "import", str(archive), home=home).returncode == 0
    before = state(home)
    bad = _rewrite(archive, tmp_path / "bad.owb", tamper)
    proc = run_owb("project", "import", str(bad), home=home)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("error: ") and message in proc.stderr
    assert state(home) == before
    assert not (tmp_path / "escape.txt").exists()


def test_manifest_cannot_point_records_outside_the_workspace(source, tmp_path):
    out = tmp_path / "full.owb"
    owb_json("project", "export", "cls-int8", "--out", str(out), "--with-datasets", home=source.home)

    def hostile(info, data):
        if info.name != "manifest.json":
            return [(info, data)]
        doc = json.loads(data)
        doc["datasets"][0]["index"] = doc["datasets"][0]["index"].replace("/index.json", "/../../../x/index.json")
        return [(info, json.dumps(doc).encode())]

    home = tmp_path / "b"
    proc = run_owb("project", "import", str(_rewrite(out, tmp_path / "bad.owb", hostile)), home=home)
    assert proc.returncode == 2 and "has no index file under datasets/" in proc.stderr
    assert Workspace(home).all(Model) == []


def test_export_only_a_child_and_bad_paths(source, tmp_path):
    out = tmp_path / "child.owb"
    doc = owb_json("project", "export", "cls-int8", "--out", str(out), home=source.home)
    assert doc["models"] == ["cls-int8"]
    again = run_owb("project", "export", "cls-int8", "--out", str(out), home=source.home)
    assert again.returncode == 2 and "already exists" in again.stderr and again.stderr.count("\n") == 1
    for args, text in ((["--out", str(tmp_path / "no" / "x.owb")], "does not exist"),
                       (["--out", str(tmp_path)], "is a folder")):
        proc = run_owb("project", "export", "cls", *args, home=source.home)
        assert proc.returncode == 2 and text in proc.stderr
    proc = run_owb("project", "import", str(tmp_path / "missing.owb"), home=tmp_path / "b")
    assert proc.returncode == 2 and "does not exist" in proc.stderr
    (tmp_path / "notes.owb").write_text("hello")
    proc = run_owb("project", "import", str(tmp_path / "notes.owb"), home=tmp_path / "b")
    assert proc.returncode == 2 and "not an owb project archive" in proc.stderr
    # a child alone: its parent is not here, so it becomes a root that remembers where it came from
    home = tmp_path / "c"
    owb_json("project", "import", str(out), home=home)
    (child,) = Workspace(home).all(Model)
    assert child.parent is None and child.provenance["parent_name"] == "cls"
    # ... and back into (a copy of) the source workspace, where the parent is: linked under it again
    a = Workspace(copy_workspace(source.home, tmp_path / "a"))
    doc = owb_json("project", "import", str(out), home=a.home)
    copy = a.get(Model, doc["models"][0]["id"])
    assert copy.name == "cls-int8-2" and copy.parent == a.get(Model, "cls").id
    assert [m.name for m in a.find(Model, parent=copy.parent)] == ["cls-int8", "cls-int8-2"]
