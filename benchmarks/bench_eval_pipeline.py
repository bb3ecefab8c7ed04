"""Accuracy evaluation speed against benchmark speed, on the same model.

Runs `owb benchmark MODEL --infer-precision f32 --json` (pure inference,
random inputs, throughput hint) and `owb accuracy MODEL --dataset DS --json`
(decode + preprocess + inference + adapter + metric) on a 2,000-image
generated dataset, interleaved, and prints the median ratio evaluation
images/s ÷ benchmark FPS. Goals (issue 19): ≥ 0.90 for the demo CNN, ≥ 0.80
for PP-OCRv5 cls, i.e. decoding and preprocessing are not the bottleneck.

**Like with like:** accuracy runs in true f32 (engine/precision.py), so the
benchmark it is compared with runs in f32 too (`--infer-precision f32`). The
plugin's default (bf16 on BF16 CPUs) would measure a faster model than the one
evaluation runs and charge the precision gap to the pipeline.

**Cold and warm:** owb keeps a decoded, resized copy of a dataset (the decode
cache), so only the first pass over a dataset under an input configuration
decodes. Each round measures a cold pass (cache emptied first; the pass also
writes the cache) and a warm one (every later pass: the next accuracy run,
reports, AccuracyAware validation); the goal line is judged on the warm median,
and the cold median is printed beside it.

Usage: python benchmarks/bench_eval_pipeline.py [--model demo|cls|both] [--images 2000] [--rounds 3] [--time 10]
Smoke run: python benchmarks/bench_eval_pipeline.py --model both --images 40 --rounds 1 --time 1
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
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


def prepare(home: Path, scratch: Path, which: str, images: int) -> tuple[str, str]:
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


GOALS = {"demo": 0.90, "cls": 0.80}


def empty_decode_cache(home: Path) -> None:
    shutil.rmtree(home / "cache" / "decoded", ignore_errors=True)


def run_model(which: str, args: argparse.Namespace) -> bool:
    home = Path(tempfile.mkdtemp(prefix="owb-eval-home-"))
    scratch = Path(tempfile.mkdtemp(prefix="owb-eval-"))
    model, dataset = prepare(home, scratch, which, args.images)
    warm, cold, fps_all, ips_all = [], [], [], []
    for r in range(args.rounds):
        bench = owb(home, "benchmark", model, "--time", str(args.time), "--infer-precision", "f32")
        empty_decode_cache(home)
        first = owb(home, "accuracy", model, "--dataset", dataset)
        acc = owb(home, "accuracy", model, "--dataset", dataset)
        fps, ips = bench["throughput_fps"], acc["images_per_s"]
        fps_all.append(fps)
        ips_all.append(ips)
        warm.append(ips / fps)
        cold.append(first["images_per_s"] / fps)
        print(f"[{which}] round {r + 1}: benchmark {fps:8.1f} FPS ({bench.get('inference_precision', '?')}) | "
              f"evaluation cold {first['images_per_s']:8.1f}, warm {ips:8.1f} images/s over {acc['images']} images "
              f"({acc['metric']} {acc['value']:.4f}) | ratio cold {cold[-1]:.3f}, warm {warm[-1]:.3f}")
    # Bounded memory: evaluating the full set must not need more than a quarter of it does.
    small = scratch / "small"
    small.mkdir()
    src = Path(owb(home, "dataset", "show", dataset)["path"])
    lines = (src / "val.txt").read_text().splitlines()[: max(1, args.images // 4)]
    for line in lines:
        name = line.split()[0]
        (small / name).write_bytes((src / name).read_bytes())
    (small / "val.txt").write_text("\n".join(lines) + "\n")
    if (src / "labels.txt").exists():
        (small / "labels.txt").write_text((src / "labels.txt").read_text())
    owb(home, "dataset", "import", str(small), "--name", "quarter")
    for state in ("cold", "warm"):
        if state == "cold":
            empty_decode_cache(home)
        rss_small = peak_rss_mb(home, "accuracy", model, "--dataset", "quarter")
        rss_full = peak_rss_mb(home, "accuracy", model, "--dataset", dataset)
        print(f"[{which}] peak RSS of `owb accuracy` ({state} cache): {len(lines)} images {rss_small:.0f} MB, "
              f"{args.images} images {rss_full:.0f} MB (growth {rss_full - rss_small:+.0f} MB)")
    goal = GOALS[which]
    med, med_cold = statistics.median(warm), statistics.median(cold)
    print(f"[{which}] model {model}, {args.images} images: median benchmark {statistics.median(fps_all):.1f} FPS (f32), "
          f"median evaluation {statistics.median(ips_all):.1f} images/s (warm)")
    print(f"[{which}] evaluation/benchmark ratio (median of {args.rounds}): warm {med:.3f}, cold {med_cold:.3f}   "
          f"goal warm ≥ {goal:.2f} → {'MET' if med >= goal else 'NOT MET'}")
    for folder in (home, scratch):
        shutil.rmtree(folder, ignore_errors=True)
    return med >= goal


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", choices=("demo", "cls", "both"), default="both")
    ap.add_argument("--images", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--time", type=float, default=10.0, help="benchmark seconds per round")
    args = ap.parse_args()
    met = [run_model(which, args) for which in (("demo", "cls") if args.model == "both" else (args.model,))]
    return 0 if all(met) else 1


if __name__ == "__main__":
    sys.exit(main())
