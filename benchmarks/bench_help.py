"""`owb --help` wall time against `python -c pass`, medians of interleaved runs.

Goal (issue 2): `owb --help` ≤ 0.3 s wall time. Run: python benchmarks/bench_help.py"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import time

RUNS = 15


def wall(cmd: list[str]) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t


def main() -> int:
    owb = shutil.which("owb")
    owb_cmd = [owb, "--help"] if owb else [sys.executable, "-m", "owb_tui.cli", "--help"]
    base_cmd = [sys.executable, "-c", "pass"]
    wall(owb_cmd)  # warm the page cache once, as a user's second call would be
    owb_t, base_t = [], []
    for _ in range(RUNS):
        base_t.append(wall(base_cmd))
        owb_t.append(wall(owb_cmd))
    o, b = statistics.median(owb_t), statistics.median(base_t)
    print(f"python -c pass : median {b * 1000:7.1f} ms  (min {min(base_t) * 1000:.1f}, max {max(base_t) * 1000:.1f})")
    print(f"owb --help     : median {o * 1000:7.1f} ms  (min {min(owb_t) * 1000:.1f}, max {max(owb_t) * 1000:.1f})")
    print(f"ratio owb/python: {o / b:.2f}×   goal: owb --help ≤ 300 ms → {'MET' if o <= 0.3 else 'NOT MET'}")
    return 0 if o <= 0.3 else 1


if __name__ == "__main__":
    sys.exit(main())
