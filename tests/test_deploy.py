"""The deployment package: infer.py in a fresh venv holding only its
requirements gives owb's own predictions (PP-OCRv5 cls FP32 and its INT8
child), the template's preprocessing and decoders match the engine's on every
image mode and output form, a segmentation mask PNG equals owb's, and
benchmark.sh runs benchmark_app with the explored configuration."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import run_owb
from engine.adapters import ImageMeta, make_adapter
from engine.deploy import export_package, render_infer, requirements
from engine.evaluate import predictions
from engine.preprocess import Preprocessor
from engine.choices import RESIZE_MODES
from engine.records import Dataset, InferenceResult, InputConfig, Model
from engine.workspace import Workspace
from tui import copy_workspace, template_home

IMAGES = 20


@pytest.fixture(scope="session")
def fresh_venv(tmp_path_factory) -> Path:
    """A venv holding only the package's requirements.txt (one per session)."""
    root = tmp_path_factory.mktemp("deploy-venv")
    (root / "requirements.txt").write_text(requirements())
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "venv", str(root / "venv")], check=True, capture_output=True)
    pip = subprocess.run([str(root / "venv" / "bin" / "python"), "-m", "pip", "install", "-q", "-r",
                          str(root / "requirements.txt")], capture_output=True, text=True, timeout=900)
    assert pip.returncode == 0, pip.stderr[-2000:]
    print(f"\nfresh venv with {requirements().split()} in {time.perf_counter() - start:.1f} s")
    return root / "venv"


def clean_env(venv: Path) -> dict:
    """The environment of a user who never installed owb."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env["PATH"] = f"{venv / 'bin'}:{env.get('PATH', '')}"
    return env


def unpack(package: Path, dest: Path) -> Path:
    with tarfile.open(package) as tar:
        names = tar.getnames()
        tar.extractall(dest, filter="data")
    (folder,) = {n.split("/")[0] for n in names}
    return dest / folder


def owb_top1(ws: Workspace, model: Model, dataset: Dataset, count: int) -> dict[int, np.ndarray]:
    return {i: p.probs for i, p in predictions(ws, model, dataset, items=list(range(count)))}


def check_same_as_owb(ws: Workspace, model: Model, dataset: Dataset, venv: Path, tmp_path: Path) -> dict:
    package = Path(export_package(ws, model, tmp_path / "pkg.tar.gz")["package"])
    folder = unpack(package, tmp_path / "unpacked")
    from engine.dataset_store import load_index

    index = load_index(ws, dataset)
    files = [str(index.root / it.file) for it in index.items[:IMAGES]]
    proc = subprocess.run([str(venv / "bin" / "python"), "infer.py", "--json", "--top", "2", "--infer-precision", "f32", *files], cwd=folder,
                          capture_output=True, text=True, env=clean_env(venv), timeout=300)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    ours = owb_top1(ws, model, dataset, IMAGES)
    for i, row in enumerate(doc["results"]):
        probs = ours[i]
        assert row["top"][0]["class"] == int(np.argmax(probs))
        assert row["top"][0]["probability"] == pytest.approx(float(probs.max()), abs=1e-5)
        assert row["top"][0]["label"] == dataset.labels[row["top"][0]["class"]]
    return {"folder": folder, "doc": doc}


def test_cls_package_in_a_fresh_venv_matches_owb(cls_workspace, fresh_venv, tmp_path):
    from engine.evaluate import evaluate

    ws = cls_workspace
    model, dataset = ws.get(Model, "cls"), ws.get(Dataset, "orient")
    evaluate(ws, model, dataset)  # the model has no labels of its own: the package takes the dataset's
    out = check_same_as_owb(ws, model, dataset, fresh_venv, tmp_path)
    folder = out["folder"]
    assert sorted(p.name for p in folder.iterdir()) == ["README.md", "benchmark.sh", "infer.py", "model.bin",
                                                       "model.xml", "requirements.txt"]
    assert "import engine" not in (folder / "infer.py").read_text() and "owb_tui" not in (folder / "infer.py").read_text()
    probe = subprocess.run([str(fresh_venv / "bin" / "python"), "-c", "import engine"], capture_output=True,
                           env=clean_env(fresh_venv), cwd=folder)
    assert probe.returncode != 0  # owb really is absent from that venv
    bad = subprocess.run([str(fresh_venv / "bin" / "python"), "infer.py", "missing.png"], cwd=folder,
                         capture_output=True, text=True, env=clean_env(fresh_venv))
    assert bad.returncode == 2 and bad.stderr == "error: image missing.png does not exist\n"


def test_center_crop_package_gives_owbs_top1(cls_workspace, fresh_venv, tmp_path):
    """A centre-crop model (crop fraction 0.875, ImageNet's 224-of-256): infer.py
    in its own venv predicts what owb predicts, image by image."""
    from engine.models import import_model
    from ocr_fixtures import ppocr_model

    from conftest import CLS_CONFIG

    ws = cls_workspace
    model = import_model(ws, ppocr_model("cls"), name="cls-crop", labels=["0", "180"],
                         **{**CLS_CONFIG, "resize": "center-crop"})
    out = check_same_as_owb(ws, model, ws.get(Dataset, "orient"), fresh_venv, tmp_path)
    assert "resize center-crop 0.875" in (out["folder"] / "README.md").read_text()


def test_int8_child_package_matches_owb_and_benchmark_sh_runs(tmp_path_factory, fresh_venv, tmp_path):
    from engine.explore import run_explore

    ws = Workspace(copy_workspace(template_home(tmp_path_factory), tmp_path / "home"))
    child, dataset = ws.get(Model, "cls-int8"), ws.get(Dataset, "lines")
    _, sweep = run_explore(ws, child, [2], [1], time_s=0.3)
    out = check_same_as_owb(ws, child, dataset, fresh_venv, tmp_path)
    folder = out["folder"]
    script = (folder / "benchmark.sh").read_text()
    assert '-hint none -nstreams 1 -shape "[2,3,48,192]"' in script
    proc = subprocess.run(["sh", "benchmark.sh", "-t", "1"], cwd=folder, capture_output=True, text=True,
                          env=clean_env(fresh_venv), timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Throughput:" in proc.stdout and "[2,3,48,192]" in proc.stdout.replace(" ", "")
    readme = (folder / "README.md").read_text()
    assert "INT8 model calibrated from **cls**" in readme
    assert "- Throughput: not measured" in readme and "- Latency (latency hint): not measured" in readme
    best = sweep["sweet_spot"]
    assert f"batch 2, {best['streams']} streams, {best['throughput_fps']:.1f} FPS" in readme


def test_readme_quotes_the_history(tmp_path_factory, tmp_path):
    from engine.benchmark import BenchmarkSettings, run_benchmark

    ws = Workspace(copy_workspace(template_home(tmp_path_factory), tmp_path / "home"))
    model = ws.get(Model, "cls")
    _, bench = run_benchmark(ws, model, BenchmarkSettings(time_s=0.3))
    export_package(ws, model, tmp_path / "p.tar.gz")
    folder = unpack(tmp_path / "p.tar.gz", tmp_path / "u")
    readme = (folder / "README.md").read_text()
    lat = bench["latency_ms"]
    fps = bench["throughput_fps"]
    assert (f"- Throughput: {fps:.1f} FPS ({fps:.1f}–{fps:.1f}, 1 run), latency median {lat['median']:.2f} ms / "
            f"p90 {lat['p90']:.2f} ms / p99 {lat['p99']:.2f} ms; throughput hint") in readme
    (acc,) = [r.result for r in ws.all(InferenceResult) if r.kind == "accuracy"]
    assert f"  - top1 **{acc['value'] * 100:.2f}%** on dataset lines ({acc['images']} images)" in readme
    for line in ("- Latency (latency hint): not measured", "- Best batch x streams: not measured",
                 "Imported by owb from cls.onnx (onnx).", "INT8 children in the workspace: cls-int8."):
        assert line in readme
    assert "benchmark_app's throughput hint" in readme
    # the IR keeps the ONNX model's dynamic input; the script fixes the shape owb measured
    assert 'benchmark_app -m model.xml -d CPU -hint throughput -shape "[1,3,48,192]" -t 20 "$@"' in (
        folder / "benchmark.sh").read_text()


def load_infer(config: dict, tmp_path: Path):
    path = tmp_path / "infer_under_test.py"
    path.write_text(render_infer(config))
    spec = importlib.util.spec_from_file_location(f"infer_{abs(hash(str(path)))}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def sample_images() -> list[Image.Image]:
    rng = np.random.default_rng(3)
    rgb = Image.fromarray(rng.integers(0, 256, (37, 53, 3), dtype=np.uint8), "RGB")
    pal = rgb.convert("P")
    pal.info["transparency"] = 0
    return [rgb, rgb.convert("L"), rgb.convert("CMYK"), rgb.convert("RGBA"), rgb.convert("LA"), pal, rgb.convert("P"),
            Image.fromarray(rng.integers(0, 65536, (29, 41), dtype=np.uint16)),
            Image.fromarray(rng.integers(0, 1 << 20, (29, 41)).astype(np.int32)),
            Image.fromarray(rng.random((23, 31)).astype(np.float32)), rgb.resize((4, 90))]


TOP_LEFT_114 = {"pad_position": "top-left", "pad_value": 114}


@pytest.mark.parametrize("layout, shape, color, resize, u8, options", [
    ("NCHW", [1, 3, 48, 192], "BGR", "stretch", False, {}),
    ("NCHW", [1, 3, 48, 192], "RGB", "keep-aspect-pad", False, {}),
    ("NHWC", [1, 64, 64, 3], "RGB", "keep-aspect-pad", True, {}),
    ("NCHW", [1, 1, 32, 32], "GRAY", "stretch", False, {}),
    ("NHWC", [1, 40, 30, 1], "GRAY", "keep-aspect-pad", False, TOP_LEFT_114),
    ("NCHW", [1, 3, 48, 192], "BGR", "keep-aspect-pad", False, TOP_LEFT_114),
    ("NCHW", [1, 3, 32, 32], "RGB", "center-crop", False, {}),
    ("NHWC", [1, 40, 30, 1], "GRAY", "center-crop", False, {"crop_fraction": 0.5}),
])
def test_template_preprocessing_is_the_engines(tmp_path, layout, shape, color, resize, u8, options):
    cfg = InputConfig(layout=layout, color=color, resize=resize, mean=[10.0, 20.0, 30.0][: shape[layout.index("C")]],
                      scale=[2.0, 3.0, 4.0][: shape[layout.index("C")]], shape=shape, **options)
    infer = load_infer({"input": cfg.to_dict(), "decoder": {"kind": "generic", "options": {}}}, tmp_path)
    ours, theirs = Preprocessor(cfg, shape, "u8" if u8 else "f32"), infer.Preprocessor(cfg.to_dict(), shape, u8)
    assert set(infer.PLACEMENTS) == set(RESIZE_MODES)
    # the same PrePostProcessor steps folded into the model: a model that returns its input shows them
    folded = [fold_identity(pre, shape, u8) for pre in (ours, theirs)]
    for img in sample_images():
        a, meta = ours.from_image(img)
        b, geo = theirs.from_image(img)
        assert a.dtype == b.dtype and np.array_equal(a, b), img.mode
        assert vars(geo) == {k: getattr(meta, k) for k in vars(geo)}
        pa, pb = ours.host(img)[0], theirs.host(img)[0]
        assert pa.dtype == pb.dtype == np.uint8 and np.array_equal(pa, pb), img.mode
        outs = [req.infer({0: pre.folded_input(pa[None])})[0] for req, pre in zip(folded, (ours, theirs))]
        assert np.array_equal(outs[0], outs[1]) and np.allclose(outs[0], a, atol=1e-4), img.mode


def fold_identity(pre, shape: list[int], u8: bool):
    import openvino as ov
    import openvino.opset13 as ops

    param = ops.parameter(shape, ov.Type.u8 if u8 else ov.Type.f32)
    model = ov.Model([ops.result(param)], [param])
    assert pre.fold(model)
    return ov.Core().compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": "f32"}).create_infer_request()


def _decoders_agree(tmp_path: Path, task: str, shapes: dict, outputs: dict, meta: ImageMeta, **options) -> int:
    adapter = make_adapter(task, shapes, **options)
    from engine.deploy import _decoder_kind

    infer = load_infer({"decoder": {"kind": _decoder_kind(adapter), "options": adapter.opts}}, tmp_path)
    geo = infer.Geometry(**vars(meta))
    (theirs,) = infer.decode(outputs, [geo])
    (ours,) = adapter.process(outputs, [meta])
    if task == "classification":
        assert np.array_equal(theirs, ours.probs)
        return 1
    if task == "segmentation":
        assert theirs.dtype == ours.classes.dtype and np.array_equal(theirs, ours.classes)
        return int(theirs.size)
    boxes, scores, labels = theirs
    assert np.array_equal(boxes, ours.boxes) and np.array_equal(scores, ours.scores)
    assert np.array_equal(labels, ours.labels)
    return len(labels)


def test_template_decoders_are_the_engines(tmp_path):
    rng = np.random.default_rng(5)
    meta = ImageMeta(orig_w=300, orig_h=200, in_w=96, in_h=96, scale_x=0.32, scale_y=0.32, pad_x=0, pad_y=16)
    logits = rng.normal(size=(1, 10)).astype(np.float32)
    soft = np.exp(logits) / np.exp(logits).sum()
    for arr in (logits, soft, logits.reshape(1, 10, 1, 1)):
        _decoders_agree(tmp_path, "classification", {"out": arr.shape}, {"out": arr}, meta)
    ssd = np.zeros((1, 1, 50, 7), np.float32)
    ssd[0, 0, :, 1] = rng.integers(0, 5, 50)
    ssd[0, 0, :, 2] = rng.random(50)
    xy = np.sort(rng.random((50, 2, 2)), axis=1)
    ssd[0, 0, :, 3:7] = xy.reshape(50, 4)[:, [0, 1, 2, 3]]
    ssd[0, 0, 40, 0] = -1
    assert _decoders_agree(tmp_path, "detection", {"det": ssd.shape}, {"det": ssd}, meta) > 0
    boxes = np.sort(rng.random((1, 30, 2, 2)) * 96, axis=2).reshape(1, 30, 4).astype(np.float32)
    outs = {"boxes": boxes, "labels": rng.integers(0, 3, (1, 30)).astype(np.int64),
            "scores": rng.random((1, 30)).astype(np.float32)}
    assert _decoders_agree(tmp_path, "detection", {k: v.shape for k, v in outs.items()}, outs, meta) > 0
    unnamed = {"boxes": boxes, "a": outs["scores"], "b": outs["labels"].astype(np.float32)}
    assert _decoders_agree(tmp_path, "detection", {k: v.shape for k, v in unnamed.items()}, unnamed, meta,
                           label_offset=1, max_detections=5) > 0
    for yolo in (rng.random((1, 84, 500)).astype(np.float32) * [[[96]] * 4 + [[0.6]] * 80],
                 rng.random((1, 300, 10)).astype(np.float32) * np.array([96] * 4 + [1] * 6, np.float32)):
        assert _decoders_agree(tmp_path, "detection", {"output0": yolo.shape}, {"output0": yolo}, meta) > 0
    for seg in (rng.random((1, 1, 24, 24)).astype(np.float32), rng.random((1, 4, 24, 24)).astype(np.float32),
                rng.integers(0, 300, (1, 24, 24)).astype(np.int64)):
        _decoders_agree(tmp_path, "segmentation", {"seg": seg.shape}, {"seg": seg}, meta)


def test_segmentation_mask_png_equals_owb(tmp_path):
    from ocr_fixtures import ppocr_model, write_text_segmentation_set

    from engine.dataset_store import import_dataset
    from engine.models import import_model

    ws = Workspace(tmp_path / "home")
    model = import_model(ws, ppocr_model("det"), name="det", task="segmentation", shape=[1, 3, 320, 320],
                         mean=[123.675, 116.28, 103.53], scale=[58.395, 57.12, 57.375])
    dataset = import_dataset(ws, write_text_segmentation_set(tmp_path / "pages", 1, size=256), name="pages")
    (pred,) = [p for _, p in predictions(ws, model, dataset, items=[0])]
    folder = unpack(Path(export_package(ws, model, tmp_path / "det.tar.gz")["package"]), tmp_path / "u")
    image = next((ws.path(dataset.path) / "JPEGImages").glob("*.jpg"))
    proc = subprocess.run([sys.executable, "infer.py", "--json", "--infer-precision", "f32", "--out-dir", str(tmp_path),
                           str(image)],
                          cwd=folder, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    (row,) = json.loads(proc.stdout)["results"]
    mask = np.asarray(Image.open(row["mask"]))
    assert mask.shape == (256, 256) and np.array_equal(mask, pred.classes)
    assert pred.classes.any() and not pred.classes.all()  # text found, and not everywhere


def test_export_cli_paths_are_safe(cls_workspace, tmp_path):
    home = cls_workspace.home
    out = tmp_path / "pkg.tar.gz"
    first = run_owb("export", "cls", "--out", str(out), "--json", home=home)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["package"] == str(out)
    stamp = out.stat().st_mtime_ns
    for args, text in ((["--out", str(out)], "already exists; overwrite it with --force"),
                       (["--out", str(tmp_path / "no" / "pkg.tar.gz")], "does not exist"),
                       (["--out", str(tmp_path)], "is a folder")):
        proc = run_owb("export", "cls", *args, home=home)
        assert proc.returncode == 2 and proc.stderr.startswith("error: ") and text in proc.stderr
        assert proc.stderr.count("\n") == 1
    assert out.stat().st_mtime_ns == stamp
    assert run_owb("export", "cls", "--out", str(out), "--force", home=home).returncode == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pkg.tar.gz"]  # no temp file left behind
