"""Issue 18's fixes that are behaviours, not refusals: hostile names round-trip
literally through the CLI, the TUI and the CSV export; CSV formula cells are
quoted; a dataset that once bloated the workspace now leaves a small record;
names race safely; `owb dataset remove`; the DB keeps its mode; an ONNX model
with two static inputs imports; temp files of a killed export are cleaned; a
COCO box of 1e299 is drawn; the machine's errors (a full disk) are one line."""

from __future__ import annotations

import csv
import json
import multiprocessing
import os
import re
import resource
import stat
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import model_builders as mb
from engine.errors import BadInput, environment_error
from engine.records import Dataset, Model
from engine.terminal_text import printable
from engine.workspace import Workspace
from fixtures_datasets import image_bytes

from .contract import REPO, assert_one_error_line, run_owb_process

CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")
HOSTILE = "evil[/] \x1b]0;pwned\x07\x1b[2J [link=file:///etc/passwd]x[/link] \r😀 :smile:"
LABELS = ["=HYPERLINK(\"http://x\")", "+1", "-2", "@SUM(A1)", "[bold]b[/bold]", "plain"]


def owb(ws: Path, tmp: Path, *argv: str) -> subprocess.CompletedProcess:
    proc = run_owb_process(["--home", str(ws), *argv], tmp, tmp)
    assert proc.returncode == 0, proc.stderr
    assert not CONTROL.search(proc.stdout + proc.stderr), "a control character reached the terminal"
    return proc


def hostile_dataset(root: Path, n: int = 6) -> Path:
    root.mkdir(parents=True)
    for i in range(n):
        (root / f"={i}+1.jpg").write_bytes(image_bytes(i))
    (root / "val.txt").write_text("".join(f"={i}+1.jpg {i % len(LABELS)}\n" for i in range(n)))
    (root / "labels.txt").write_text("\n".join(LABELS) + "\n")
    return root


@pytest.fixture(scope="module")
def hostile_ws(tmp_path_factory, corpus) -> Path:
    tmp = tmp_path_factory.mktemp("hostile")
    ws = tmp / "ws"
    labels = tmp / "labels.txt"
    labels.write_text("\n".join(LABELS[:mb.CLASSES]) + "\n")
    owb(ws, tmp, "model", "import", str(corpus / "models" / "good.onnx"), "--name", HOSTILE, "--labels", str(labels))
    owb(ws, tmp, "dataset", "import", str(hostile_dataset(tmp / "set", n=4)), "--name", HOSTILE)
    return ws


def test_hostile_names_print_literally_in_every_listing(hostile_ws, tmp_path):
    shown = printable(HOSTILE)
    for argv in (("model", "list"), ("dataset", "list"), ("project", "list"), ("jobs",)):
        owb(hostile_ws, tmp_path, *argv)  # exit 0, no control character
    for argv in (("model", "show", HOSTILE), ("dataset", "show", HOSTILE)):
        out = owb(hostile_ws, tmp_path, *argv).stdout.replace("\n", "")  # rich wraps at 80 columns
        assert "evil[/]" in out and "[link=file:///etc/passwd]x[/link]" in out and "\\x1b]0;pwned\\x07" in out
        assert "😀" in out and ":smile:" in out  # emoji kept, emoji codes not expanded
    assert shown.startswith("evil[/] \\x1b]0;pwned\\x07\\x1b[2J")
    listed = json.loads(owb(hostile_ws, tmp_path, "model", "list", "--json").stdout)
    assert [m["name"] for m in listed] == [HOSTILE]  # JSON carries the name exactly


def test_csv_export_quotes_formulas_and_keeps_names(hostile_ws, tmp_path):
    out = tmp_path / "rows.csv"
    owb(hostile_ws, tmp_path, "report", HOSTILE, "--dataset", HOSTILE, "--kind", "accuracy", "--csv", str(out))
    rows = list(csv.reader(out.open(encoding="utf-8")))
    cells = [c for row in rows[1:] for c in row]
    assert {f"'={i}+1.jpg" for i in range(4)} <= set(cells)
    assert not [c for c in cells if c[:1] in "=+-@" and not re.fullmatch(r"-?[\d.e+-]+|-inf", c)]
    again = run_owb_process(["--home", str(hostile_ws), "report", HOSTILE, "--dataset", HOSTILE, "--kind", "accuracy",
                             "--csv", str(out)], tmp_path, tmp_path)
    assert_one_error_line(again.returncode, again.stdout, again.stderr, "already exists")


async def test_hostile_names_in_the_tui_tables_and_notifications(hostile_ws):
    from owb_tui.app import OwbApp

    app = OwbApp(Workspace(hostile_ws))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        table = app.screen.query_one("#models")
        first = str(table.get_row_at(0)[0])
        assert first.startswith("evil[/] \\x1b]0;") and "\x1b" not in first
        app.notify(HOSTILE)  # would raise MarkupError if parsed
        await pilot.pause()
        assert app.format_title(HOSTILE, "").plain.startswith("evil[/] \\x1b")


def test_bloating_val_txt_leaves_a_small_record(tmp_path):
    from engine.dataset_store import import_dataset

    src = tmp_path / "set"
    src.mkdir()
    for i in range(4):
        (src / f"{i}.jpg").write_bytes(image_bytes(i))
    (src / "val.txt").write_text("0.jpg 0\n1.jpg 1\n2.jpg 3000000\n3.jpg 2000000000\n" + "y" * 2_000_000 + ".jpg 0\n")
    ws = Workspace(tmp_path / "ws")
    d = import_dataset(ws, src)
    assert d.images == 2 and d.classes == 2
    assert max(len(p) for p in d.summary["problems"]) <= 300
    assert (ws.home / "owb.json").stat().st_size < 20_000


def _add_many(home: str, n: int) -> None:
    ws = Workspace(home)
    for _ in range(n):
        ws.add(Dataset(name="plain"), unique=True)


def test_parallel_auto_names_never_collide(tmp_path):
    Workspace(tmp_path / "ws")
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_add_many, args=(str(tmp_path / "ws"), 8)) for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    names = [d.name for d in Workspace(tmp_path / "ws").all(Dataset)]
    assert len(names) == 24 and len(set(names)) == 24


def test_dataset_remove_deletes_record_and_copy(tmp_path):
    ws = tmp_path / "ws"
    src = hostile_dataset(tmp_path / "set", n=3)
    made = json.loads(owb(ws, tmp_path, "dataset", "import", str(src), "--json").stdout)
    assert Path(made["path"]).is_dir()
    gone = json.loads(owb(ws, tmp_path, "dataset", "remove", made["name"], "--json").stdout)
    assert gone["id"] == made["id"] and gone["bytes_freed"] > 0
    assert not (ws / "datasets" / made["id"]).exists() and Workspace(ws).all(Dataset) == []
    assert json.loads(owb(ws, tmp_path, "dataset", "list", "--json").stdout) == []


def test_db_keeps_its_mode_on_every_write(tmp_path):
    ws = Workspace(tmp_path / "ws")
    db = ws.home / "owb.json"
    os.chmod(db, 0o664)
    ws.add(Model(name="m"))
    assert stat.S_IMODE(db.stat().st_mode) == 0o664


def test_onnx_with_two_static_inputs_imports(tmp_path):
    """No --shape given, so none is applied (it once said "--shape applies to
    single-input models"): the model's own static shapes stand. owb feeds one
    image, so a graph whose outputs read both inputs is cut with --output."""
    import onnx
    from onnx import TensorProto, helper

    from engine.models import import_model

    graph = helper.make_graph(
        [helper.make_node("Relu", ["a"], ["image_out"]), helper.make_node("Add", ["a", "b"], ["sum"])], "two_inputs",
        [helper.make_tensor_value_info("a", TensorProto.FLOAT, [1, 3, 8, 8]),
         helper.make_tensor_value_info("b", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("image_out", TensorProto.FLOAT, [1, 3, 8, 8]),
         helper.make_tensor_value_info("sum", TensorProto.FLOAT, [1, 3, 8, 8])])
    path = tmp_path / "two.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8), str(path))
    ws = Workspace(tmp_path / "ws")
    with pytest.raises(BadInput) as refused:
        import_model(ws, path, task="generic", image_input="a")
    assert "--shape" not in str(refused.value) and "--output" in str(refused.value)
    m = import_model(ws, path, task="generic", image_input="a", outputs=["image_out"])
    assert [i["name"] for i in m.inputs] == ["a"] and m.config.shape == [1, 3, 8, 8]


def test_a_killed_writers_temp_file_is_removed_by_the_next_write(tmp_path):
    from engine.output import atomic_output, output_path

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f".pkg.tar.gz.owb-{int(dead.stdout)}-abc123.tmp"
    stale.write_bytes(b"half a package")
    live = tmp_path / f".pkg.tar.gz.owb-{os.getpid()}-xyz789.tmp"  # a writer still running keeps its file
    live.write_bytes(b"in progress")
    target = output_path(tmp_path / "pkg.tar.gz")
    with atomic_output(target) as tmp:
        tmp.write_bytes(b"whole")
    assert target.read_bytes() == b"whole" and not stale.exists() and live.exists()
    with pytest.raises(RuntimeError), atomic_output(output_path(tmp_path / "other.csv")) as tmp:
        tmp.write_bytes(b"partial")
        raise RuntimeError("killed halfway")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, "pkg.tar.gz"])


def test_a_coco_box_of_1e299_is_drawn(tmp_path):
    from PIL import Image

    from engine.dataset_store import import_dataset, load_index
    from engine.visualize import _detection

    root = tmp_path / "coco"
    (root / "val2017").mkdir(parents=True)
    (root / "val2017" / "1.jpg").write_bytes(image_bytes(1))
    doc = {"images": [{"id": 1, "file_name": "1.jpg", "width": 32, "height": 32}],
           "categories": [{"id": 1, "name": "thing"}],
           "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1e299, -1e299, 1e299, 1e299]},
                           {"id": 2, "image_id": 1, "category_id": 1, "bbox": [2, 2, 9, 9]}]}
    (root / "annotations").mkdir()
    (root / "annotations" / "instances_val2017.json").write_text(json.dumps(doc))
    ws = Workspace(tmp_path / "ws")
    dataset = import_dataset(ws, root)
    index = load_index(ws, dataset)
    (item,) = [it for it in index.items if it.boxes]
    base = Image.new("RGB", (32, 32), "white")
    picture = _detection(base, item, dataset.labels, [])
    drawn = np.asarray(picture)
    assert (drawn != 255).any()  # the sane box is drawn, the absurd one clipped, nothing raised


def test_tensor_distance_of_non_finite_outputs_warns_nothing():
    from engine.reports.tensor_distance import distances

    out = np.array([[np.inf, 1.0], [np.nan, 2.0], [1e308, 1e308]])
    ref = np.array([[np.inf, 1.0], [1.0, 2.0], [-1e308, -1e308]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        distances(out, ref)


def test_the_machines_errors_are_one_bad_input_line():
    import errno

    for code in (errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EISDIR, errno.EFBIG):
        err = environment_error(OSError(code, os.strerror(code), "/ws/owb.json"))
        assert err is not None and err.exit_code == 2 and "/ws/owb.json" in str(err)
    assert environment_error(OSError(errno.EINVAL, "odd")) is None  # not the machine: still a bug report
    assert environment_error(ValueError("x")) is None


def test_a_full_disk_during_import_is_one_line(tmp_path):
    """RLIMIT_FSIZE makes every write past 64 KB fail (EFBIG), as a full disk would."""
    src = tmp_path / "big"
    src.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        from PIL import Image

        Image.fromarray(rng.integers(0, 255, (256, 256, 3), dtype=np.uint8)).save(src / f"{i}.png")
    ws = tmp_path / "ws"
    Workspace(ws)
    env = {k: v for k, v in os.environ.items() if not k.startswith("OWB_")}
    env.update(HOME=str(tmp_path), PYTHONPATH=str(REPO), PYTHONDONTWRITEBYTECODE="1")

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 << 10, 64 << 10))

    proc = subprocess.run([sys.executable, "-m", "owb_tui.cli", "--home", str(ws), "dataset", "import", str(src)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, preexec_fn=limit)
    assert_one_error_line(proc.returncode, proc.stdout, proc.stderr, "too large")
    assert Workspace(ws).all(Dataset) == [] and not any((ws / "tmp").iterdir())


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through read-only modes")
def test_a_read_only_workspace_is_one_line(tmp_path, corpus):
    ws = tmp_path / "ws"
    Workspace(ws)
    os.chmod(ws, 0o555)
    try:
        proc = run_owb_process(["--home", str(ws), "model", "import", str(corpus / "models" / "good.onnx")],
                               tmp_path, tmp_path)
        assert_one_error_line(proc.returncode, proc.stdout, proc.stderr, "permission")
    finally:
        os.chmod(ws, 0o755)


def test_output_guard_refuses_a_bad_target(tmp_path):
    from engine.output import output_path

    home = tmp_path / "ws"
    home.mkdir()
    (tmp_path / "link.csv").symlink_to(home / "owb.json")
    for target, why in ((home / "x.csv", "inside the workspace"), (tmp_path / "link.csv", "inside the workspace"),
                        ("", "needs a file name"), (tmp_path, "is a folder"), (tmp_path / "no" / "x.csv", "does not exist")):
        with pytest.raises(BadInput, match=why):
            output_path(target, force=True, home=home)


async def test_tui_palette_removes_a_dataset_after_asking(tmp_path):
    from owb_tui.app import OwbApp
    from owb_tui.screens.dialogs import ConfirmScreen

    ws = Workspace(tmp_path / "ws")
    from engine.dataset_store import import_dataset

    d = import_dataset(ws, hostile_dataset(tmp_path / "set", n=2), name=HOSTILE)
    app = OwbApp(ws)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        ((title, _, remove),) = app.screen.palette_commands()
        assert title == f"Remove dataset {printable(HOSTILE)}"
        remove()
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert ws.all(Dataset) == [] and not (ws.home / "datasets" / d.id).exists()
