"""Do per-layer times add up? The layer sum against the measured median latency.

For the demo CNN and PP-OCRv5 cls and det, at batch 1 under the latency hint:
`owb benchmark --hint latency` (the measured median latency, no profiling),
then `owb layers --hint latency` (PERF_COUNT on, the same settings). Prints
the sum of per-layer times, the measured median, their ratio (goal: within
±25%) and the profiling overhead (profiled latency over measured latency).

Not run in CI; run it on a quiet machine:

    /work/venv/bin/python benchmarks/bench_layer_sum.py [--time 10] [--runs 200]
        [--models demo,cls,det] [--infer-precision auto]

Smallest smoke run: ``--time 0.6 --runs 5 --models demo``."""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_consistency import owb, setup  # noqa: E402  (the same scratch workspace)

GOAL = 0.25


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--time", type=float, default=10.0, help="seconds of latency-hint benchmarking per model")
    p.add_argument("--runs", type=int, default=200, help="profiled inferences per model")
    p.add_argument("--models", default="demo,cls,det")
    p.add_argument("--infer-precision", default="auto", choices=("auto", "f32", "bf16", "f16"))
    args = p.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="owb-layersum-"))
    home = tmp / "home"
    try:
        models = setup(home, [n for n in args.models.split(",") if n], tmp)
        print(f"{'model':10s} {'precision':9s} {'layer sum ms':>12s} {'measured ms':>12s} {'sum/measured':>12s} "
              f"{'profiling overhead':>18s}  verdict")
        worst = 0.0
        for model in models:
            bench = owb(home, "benchmark", model, "--hint", "latency", "--time", str(args.time),
                        "--infer-precision", args.infer_precision)
            table = owb(home, "layers", model, "--hint", "latency", "--runs", str(args.runs),
                        "--infer-precision", args.infer_precision)
            measured = table["measured_latency_ms"]
            if measured is None:
                raise SystemExit(f"{model}: no latency-hint figure beside the layers (benchmark ran in "
                                 f"{bench['inference_precision']}, layers in {table['inference_precision']})")
            ratio = table["sum_vs_measured"]
            worst = max(worst, abs(ratio - 1))
            print(f"{model:10s} {table['inference_precision']:9s} {table['total_ms']:12.3f} {measured:12.3f} "
                  f"{ratio:12.2f} {table['profiling_overhead']:+18.0%}  "
                  f"{'within' if abs(ratio - 1) <= GOAL else 'OUTSIDE'} ±{GOAL:.0%} "
                  f"(measured median spread {bench['latency_spread']['low']:.3f}–{bench['latency_spread']['high']:.3f})",
                  flush=True)
        print(f"\nworst deviation {worst:.0%} (goal ±{GOAL:.0%})")
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
