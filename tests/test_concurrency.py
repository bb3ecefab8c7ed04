"""Two owb processes in one workspace at once, end to end through the CLI:
A imports 3 models and 2 datasets per round, round after round, while B
calibrates PP-OCRv5 cls to INT8 (its job writes progress to the same DB all
along). Afterwards the DB parses, every record is there exactly once, and
every model's and dataset's files exist."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter

import model_builders as mb
from conftest import CLS_CONFIG, ROOT
from engine.dataset_store import import_dataset, load_index
from engine.models import import_model
from engine.records import Dataset, Job, Model
from engine.workspace import Workspace
from fixtures_datasets import image_bytes, pack
from ocr_fixtures import ppocr_model, write_orientation_set

# Process A: one owb process running the CLI's main() in a loop until B is done.
IMPORTER = """
import json, sys, time
from pathlib import Path
from owb_tui.cli import main

home, stop, models, datasets = sys.argv[1], Path(sys.argv[2]), sys.argv[3].split(","), sys.argv[4].split(",")
rounds, started = 0, time.time()
while rounds < 40 and (rounds < 2 or not stop.exists()):
    for k, path in enumerate(models):
        assert main(["--home", home, "model", "import", path, "--name", f"a{rounds}-m{k}", "--json"]) == 0
    for k, path in enumerate(datasets):
        assert main(["--home", home, "dataset", "import", path, "--name", f"a{rounds}-d{k}", "--json"]) == 0
    rounds += 1
print(json.dumps({"rounds": rounds, "started": started, "ended": time.time()}))
"""


def test_importing_while_calibrating_never_corrupts_the_workspace(tmp_path):
    home = tmp_path / "home"
    ws = Workspace(home)
    import_model(ws, ppocr_model("cls"), name="cls", **CLS_CONFIG)
    import_dataset(ws, write_orientation_set(tmp_path / "orient", 40, seed=3), name="orient")
    sources = tmp_path / "sources"
    models = [mb.build_onnx(sources), mb.build_ir(sources), mb.build_int8_ir(sources)]
    folder = sources / "set"
    folder.mkdir()
    for i in range(6):
        (folder / f"{i}.jpg").write_bytes(image_bytes(i))
    (folder / "val.txt").write_text("".join(f"{i}.jpg {i % 2}\n" for i in range(6)))
    datasets = [folder, pack(folder, sources / "set.zip")]

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    stop = tmp_path / "calibration-done"
    calibrate = subprocess.Popen(
        [sys.executable, "-m", "owb_tui.cli", "--home", str(home), "calibrate", "cls", "--dataset", "orient",
         "--subset", "10", "--bench-time", "0", "--name", "cls-int8", "--json"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    b_started = time.time()
    importer = subprocess.Popen(
        [sys.executable, "-c", IMPORTER, str(home), str(stop), ",".join(map(str, models)), ",".join(map(str, datasets))],
        env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    b_out, b_err = calibrate.communicate(timeout=300)
    b_ended = time.time()
    stop.touch()
    a_out, a_err = importer.communicate(timeout=300)

    assert calibrate.returncode == 0, b_err
    assert importer.returncode == 0, a_err
    a = json.loads(a_out.splitlines()[-1])
    assert a["started"] < b_ended and b_started < a["ended"], "the two processes never overlapped"
    child = json.loads(b_out)
    assert child["model"] == "cls-int8" and child["subset_images"] == 4

    doc = json.loads((home / "owb.json").read_bytes())  # the DB parses
    rounds = a["rounds"]
    ws = Workspace(home)
    model_names = Counter(m.name for m in doc_records(doc, "models"))
    dataset_names = Counter(d.name for d in doc_records(doc, "datasets"))
    expected_models = {"cls", "cls-int8", *(f"a{r}-m{k}" for r in range(rounds) for k in range(3))}
    expected_datasets = {"orient", *(f"a{r}-d{k}" for r in range(rounds) for k in range(2))}
    assert model_names == Counter(expected_models), "a model is missing or listed twice"
    assert dataset_names == Counter(expected_datasets), "a dataset is missing or listed twice"
    assert len({m.id for m in ws.all(Model)}) == len(expected_models)
    for m in ws.all(Model):
        xml = ws.path(m.path)
        assert xml.is_file() and xml.with_suffix(".bin").is_file(), m.name
        assert m.size_bytes == xml.stat().st_size + xml.with_suffix(".bin").stat().st_size
    for d in ws.all(Dataset):
        index = load_index(ws, d)
        assert len(index.items) == d.images and all((index.root / it.file).is_file() for it in index.items)
    assert ws.get(Model, "cls-int8").precision == "INT8"
    assert [j.kind for j in ws.all(Job)].count("calibrate") == 1  # the archives were imported by jobs too
    assert {j.state for j in ws.all(Job)} == {"done"}
    assert os.listdir(home / "tmp") == []
    assert sorted(os.listdir(home / "models")) == sorted(m.id for m in ws.all(Model))
    assert sorted(os.listdir(home / "datasets")) == sorted(d.id for d in ws.all(Dataset))


def doc_records(doc: dict, table: str) -> list:
    cls = {"models": Model, "datasets": Dataset}[table]
    return [cls.from_dict(row) for row in doc.get(table, {}).values()]
