"""Accuracy evaluation speed against benchmark speed, on the same model.

Runs `owb benchmark MODEL --json` (pure inference, random inputs, throughput
hint) and `owb accuracy MODEL --dataset DS --json` (decode + preprocess +
inference + adapter + metric) on a 2,000-image generated dataset, interleaved
three times, and prints the median ratio evaluation images/s ÷ benchmark FPS.
Goal (issue 3): ≥ 0.80, i.e. decode and preprocess are not the bottleneck.

Usage: python benchmarks/bench_eval_pipeline.py [--model demo|cls] [--images 2000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))


def owb(home: Path, *args: str) -> dict:
    proc = subprocess.run([sys.executable, "-m", "owb_tui.cli", "--home", str(home), *args, "--json"],
                          capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        sys.exit(f"owb {' '.join(args)} failed: {proc.stderr.strip()}")
    return json.loads(proc.stdout)


def peak_rss_mb(home: Path, *args: str) -> float:
    pid = os.fork()
    if pid == 0:
        fd = os.open(os.devnull, os.O_WRONLY)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.chdir(ROOT)
        os.execv(sys.executable, [sys.executable, "-m", "owb_tui.cli", "--home", str(home), *args, "--json"])
    _, status, usage = os.wait4(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"owb {' '.join(args)} failed")
    return usage.ru_maxrss / 1024


def prepare(home: Path, which: str, images: int) -> tuple[str, str]:
    scratch = Path(tempfile.mkdtemp(prefix="owb-eval-"))
    if which == "demo":
        from engine import synth

        owb(home, "demo")
        synth.write_imagenet(scratch / "shapes2k", images, seed=4242)
        owb(home, "dataset", "import", str(scratch / "shapes2k"), "--name", "shapes2k")
        return "demo-cnn", "shapes2k"
    from ocr_fixtures import ppocr_model, write_orientation_set

    owb(home, "model", "import", str(ppocr_model("cls")), "--name", "cls", "--task", "classification",
        "--shape", "1,3,48,192", "--color", "BGR", "--mean", "127.5,127.5,127.5", "--scale", "127.5,127.5,127.5")
    write_orientation_set(scratch / "lines2k", images, seed=11)
    owb(home, "dataset", "import", str(scratch / "lines2k"), "--name", "lines2k")
    return "cls", "lines2k"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", choices=("demo", "cls"), default="demo")
    ap.add_argument("--images", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--time", type=float, default=10.0, help="benchmark seconds per round")
    args = ap.parse_args()
    home = Path(tempfile.mkdtemp(prefix="owb-eval-home-"))
    model, dataset = prepare(home, args.model, args.images)
    ratios, fps_all, ips_all = [], [], []
    for r in range(args.rounds):
        bench = owb(home, "benchmark", model, "--time", str(args.time))
        acc = owb(home, "accuracy", model, "--dataset", dataset)
        fps, ips = bench["throughput_fps"], acc["images_per_s"]
        fps_all.append(fps)
        ips_all.append(ips)
        ratios.append(ips / fps)
        print(f"round {r + 1}: benchmark {fps:8.1f} FPS | evaluation {ips:8.1f} images/s over {acc['images']} images "
              f"({acc['metric']} {acc['value']:.4f}) | ratio {ips / fps:.3f}")
    # Bounded memory: evaluating the full set must not need more than a quarter of it does.
    small = Path(tempfile.mkdtemp(prefix="owb-eval-small-")) / "small"
    small.mkdir()
    src = Path(owb(home, "dataset", "show", dataset)["path"])
    lines = (src / "val.txt").read_text().splitlines()[: args.images // 4]
    for line in lines:
        name = line.split()[0]
        (small / name).write_bytes((src / name).read_bytes())
    (small / "val.txt").write_text("\n".join(lines) + "\n")
    if (src / "labels.txt").exists():
        (small / "labels.txt").write_text((src / "labels.txt").read_text())
    owb(home, "dataset", "import", str(small), "--name", "quarter")
    rss_small = peak_rss_mb(home, "accuracy", model, "--dataset", "quarter")
    rss_full = peak_rss_mb(home, "accuracy", model, "--dataset", dataset)
    print(f"peak RSS of `owb accuracy`: {len(lines)} images {rss_small:.0f} MB, {args.images} images {rss_full:.0f} MB "
          f"(growth {rss_full - rss_small:+.0f} MB)")
    med = statistics.median(ratios)
    print(f"model {model}, {args.images} images: median benchmark {statistics.median(fps_all):.1f} FPS, "
          f"median evaluation {statistics.median(ips_all):.1f} images/s")
    print(f"evaluation/benchmark ratio (median of {args.rounds}): {med:.3f}   goal ≥ 0.80 → {'MET' if med >= 0.8 else 'NOT MET'}")
    return 0 if med >= 0.8 else 1


if __name__ == "__main__":
    sys.exit(main())
