"""The CLI's contract on bad model sources and flags: exit 2, one `error:`
line, nothing written or lost, in this process and in a fresh one; and no
telemetry written to HOME."""

from __future__ import annotations

import pytest

import model_builders as mb
from badinput.contract import assert_one_error_line, run_owb_process, tree
from engine.records import Model
from engine.workspace import Workspace
from import_cli import run_cli


@pytest.fixture(scope="module")
def arena(tmp_path_factory):
    """A workspace holding one good model, a folder of broken sources, and
    empty cwd/HOME folders that must stay empty."""
    base = tmp_path_factory.mktemp("arena")
    src, ws, cwd, home = base / "src", base / "ws", base / "cwd", base / "home"
    for d in (src, cwd, home):
        d.mkdir()
    good = mb.build_onnx(src, filename="good.onnx")
    dynamic = mb.build_onnx(src, dynamic_batch=True)
    assert run_cli("--home", str(ws), "model", "import", str(good), "--name", "good") == 0

    mb.write_broken_sources(src, good, mb.build_ir(base / "ir"))
    return {"base": base, "src": src, "ws": ws, "cwd": cwd, "home": home, "good": good, "dynamic": dynamic}


S = "{src}"
# case -> (argv after --home, what the one error line must name)
BAD_CASES = {
    "truncated-xml": (["model", "import", f"{S}/truncated.xml"], "truncated.xml"),
    "bin-not-matching-xml": (["model", "import", f"{S}/mismatch.xml"], "mismatch.xml"),
    "xml-is-binary": (["model", "import", f"{S}/binary.xml"], "binary.xml"),
    "ir-without-bin": (["model", "import", f"{S}/nobin.xml"], "nobin.bin"),
    "onnx-garbage": (["model", "import", f"{S}/garbage.onnx"], "garbage.onnx"),
    "onnx-dangling-input": (["model", "import", f"{S}/dangling.onnx"], "nowhere"),
    "zero-byte-file": (["model", "import", f"{S}/empty.onnx"], "empty"),
    "tflite-garbage": (["model", "import", f"{S}/garbage.tflite"], "garbage.tflite"),
    "pb-garbage": (["model", "import", f"{S}/garbage.pb"], "garbage.pb"),
    "unsupported-extension": (["model", "import", f"{S}/model.txt"], "model.txt"),
    "missing-path": (["model", "import", f"{S}/does-not-exist.onnx"], "does not exist"),
    "folder-not-savedmodel": (["model", "import", f"{S}/folder"], "SavedModel"),
    "savedmodel-garbage": (["model", "import", f"{S}/fake_saved"], "fake_saved"),
    "shape-zero-dim": (["model", "import", "{dynamic}", "--shape", "0,3,32,32"], "shape"),
    "shape-negative-dim": (["model", "import", "{dynamic}", "--shape=-1,3,32,32"], "shape"),
    "shape-negative-as-flag": (["model", "import", "{dynamic}", "--shape", "-1,3,32,32"], "--shape"),
    "shape-wrong-rank": (["model", "import", "{dynamic}", "--shape", "1,3,32"], "shape"),
    "shape-model-cannot-take": (["model", "import", "{dynamic}", "--shape", "1,4,32,32"], "shape"),
    "shape-not-integers": (["model", "import", "{dynamic}", "--shape", "1,3,a,32"], "--shape"),
    "mean-not-a-number": (["model", "import", "{good}", "--mean", "1,x,3"], "--mean"),
    "mean-wrong-count": (["model", "import", "{good}", "--mean", "1,2"], "--mean"),
    "scale-zero": (["model", "import", "{good}", "--scale", "0"], "--scale"),
    "unknown-task": (["model", "import", "{good}", "--task", "poetry"], "poetry"),
    "unknown-color": (["model", "import", "{good}", "--color", "CMYK"], "CMYK"),
    "layout-nonsense": (["model", "import", "{good}", "--layout", "XQZW"], "XQZW"),
    "layout-repeated-letter": (["model", "import", "{good}", "--layout", "NCHH"], "NCHH"),
    "duplicate-name": (["model", "import", "{good}", "--name", "good"], "good"),
    "labels-missing": (["model", "import", "{good}", "--labels", f"{S}/no-labels.txt"], "no-labels.txt"),
    "labels-empty": (["model", "import", "{good}", "--labels", f"{S}/empty_labels.txt"], "no labels"),
    "labels-not-text": (["model", "import", "{good}", "--labels", f"{S}/binary_labels.txt"], "binary_labels.txt"),
    "labels-is-folder": (["model", "import", "{good}", "--labels", f"{S}/folder"], "labels"),
    "model-show-unknown": (["model", "show", "nobody"], "nobody"),
    "dataset-show-unknown": (["dataset", "show", "nothing"], "nothing"),
    "configure-unknown": (["model", "configure", "nobody", "--shape", "1,3,32,32"], "nobody"),
    "configure-wrong-rank": (["model", "configure", "good", "--shape", "1,3"], "shape"),
    "configure-scale-zero": (["model", "configure", "good", "--scale", "1,0,1"], "--scale"),
    "wrong-flag": (["model", "import", "{good}", "--bogus"], "--bogus"),
    "unknown-command": (["modle", "list"], "modle"),
}


# Cases where owb breaks the contract today; strict, so a fix turns them red until unmarked.
KNOWN_FAILURES: dict[str, str] = {}


def cases(names) -> list:
    return [pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=KNOWN_FAILURES[n])) if n in KNOWN_FAILURES
            else n for n in names]


def bad_argv(arena: dict, case: str) -> list[str]:
    fill = {"src": arena["src"], "good": arena["good"], "dynamic": arena["dynamic"]}
    return ["--home", str(arena["ws"])] + [a.format(**fill) for a in BAD_CASES[case][0]]


def assert_good_model_intact(arena: dict, ws_before: dict) -> None:
    ws = Workspace(arena["ws"])
    assert [m.name for m in ws.all(Model)] == ["good"]
    assert not any((arena["ws"] / "tmp").iterdir()), "scratch left behind"
    assert tree(arena["ws"]) == ws_before


@pytest.mark.parametrize("case", cases(BAD_CASES))
def test_bad_input_gives_one_error_line_and_changes_nothing(arena, case, capfd, monkeypatch):
    # capfd, not capsys: native code (protobuf, absl) writes to fd 2 directly.
    monkeypatch.chdir(arena["cwd"])
    monkeypatch.setenv("HOME", str(arena["home"]))
    for var in ("XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_CONFIG_HOME"):
        monkeypatch.setenv(var, str(arena["home"] / var.lower()))
    monkeypatch.delenv("OWB_DEBUG", raising=False)
    ws_before = tree(arena["ws"])
    outside_before = tree(arena["src"], arena["cwd"], arena["home"])
    capfd.readouterr()

    rc = run_cli(*bad_argv(arena, case))
    out, err = capfd.readouterr()

    assert_one_error_line(rc, out, err, BAD_CASES[case][1])
    assert tree(arena["src"], arena["cwd"], arena["home"]) == outside_before
    assert_good_model_intact(arena, ws_before)


@pytest.mark.parametrize("case", cases(["truncated-xml", "xml-is-binary", "pb-garbage", "wrong-flag"]))
def test_bad_input_in_a_real_process(arena, case, tmp_path):
    """The same contract from a fresh interpreter: nothing but one line on
    stderr, even from native frontends."""
    cwd, home = tmp_path / "cwd", tmp_path / "home"
    cwd.mkdir(), home.mkdir()
    ws_before = tree(arena["ws"])
    proc = run_owb_process(bad_argv(arena, case), cwd, home)
    assert_one_error_line(proc.returncode, proc.stdout, proc.stderr, BAD_CASES[case][1])
    assert tree(cwd, home) == {}
    assert_good_model_intact(arena, ws_before)


def test_no_telemetry_is_written_to_home(arena, tmp_path):
    """NNCF and the converters start openvino_telemetry, which would create
    ~/intel/openvino_ga_cid and ~/intel/stats; owb declines it (engine.telemetry)."""
    cwd, home = tmp_path / "cwd", tmp_path / "home"
    cwd.mkdir(), home.mkdir()
    proc = run_owb_process(["--home", str(tmp_path / "ws"), "model", "import", str(arena["good"]), "--json"], cwd, home)
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in home.rglob("*")) == []
