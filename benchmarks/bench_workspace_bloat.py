"""Does a hostile dataset slow the workspace down for good? (issue 18, item 2)

Before the fix, an ImageNet val.txt line with label 3,000,000 and no
labels.txt wrote a 73 MB record (three million class names), a label of
2,000,000,000 grew memory past 6 GB, and a 50 MB line was kept verbatim as a
"problem"; every later command re-read that DB, taking 8-38 s.

Method: two workspaces with the same model (owb's demo CNN). The fresh one
holds only that. The other also gets, through the real CLI, each bloating
dataset as it arrives in the wild, with a few good lines so that it imports:
a label of 2,000,000,000, a label of 3,000,000, the largest label owb accepts
without a labels.txt (999: the most classes it numbers by itself), and a
val.txt line of 50 MB. Then `owb model list` runs in each, interleaved fresh/bloated
(A B A B ...) so that the machine's drift hits both alike, and the medians
are compared. GOAL: bloated / fresh < 1.5.

Run: python benchmarks/bench_workspace_bloat.py            (about 1 minute)
     python benchmarks/bench_workspace_bloat.py --quick    (a 5 MB line, 3 rounds: proves it runs)"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GOAL = 1.5


def owb(home: Path, *argv: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("OWB_HOME", None)
    return subprocess.run([sys.executable, "-m", "owb_tui.cli", "--home", str(home), *argv],
                          capture_output=True, text=True, env=env, cwd=home.parent)


def bloating_sets(root: Path, line_mb: int) -> list[Path]:
    from PIL import Image

    sets = {
        "two_billion": "0.jpg 0\n1.jpg 1\n2.jpg 2000000000\n",
        "three_million": "0.jpg 0\n1.jpg 1\n2.jpg 3000000\n",
        "largest_allowed": "0.jpg 0\n1.jpg 1\n2.jpg 999\n",
        "long_line": "0.jpg 0\n1.jpg 1\n" + "x" * (line_mb << 20) + ".jpg 0\n",
    }
    out = []
    for name, val in sets.items():
        folder = root / name
        folder.mkdir(parents=True)
        for i in range(3):
            Image.new("RGB", (16, 16), (40 * i, 90, 160)).save(folder / f"{i}.jpg")
        (folder / "val.txt").write_text(val)
        out.append(folder)
    return out


def timed(home: Path) -> float:
    start = time.perf_counter()
    proc = owb(home, "model", "list")
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"owb model list failed in {home}: {proc.stderr.strip()}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15, help="interleaved pairs of runs (default 15)")
    parser.add_argument("--line-mb", type=int, default=50, help="length of the long val.txt line in MB (default 50)")
    parser.add_argument("--quick", action="store_true", help="3 rounds and a 5 MB line: proves the script runs")
    args = parser.parse_args()
    rounds, line_mb = (3, 5) if args.quick else (args.rounds, args.line_mb)

    model = REPO / "engine" / "assets" / "demo_cnn.onnx"
    with tempfile.TemporaryDirectory(prefix="owb-bloat-") as tmp:
        tmp = Path(tmp)
        fresh, bloated = tmp / "fresh", tmp / "bloated"
        for home in (fresh, bloated):
            proc = owb(home, "model", "import", str(model), "--name", "demo")
            if proc.returncode != 0:
                raise SystemExit(f"model import failed: {proc.stderr.strip()}")
        for folder in bloating_sets(tmp / "sets", line_mb):
            proc = owb(bloated, "dataset", "import", str(folder))
            verdict = "imported" if proc.returncode == 0 else f"refused ({proc.stderr.strip()[:100]})"
            print(f"dataset {folder.name}: {verdict}")
        sizes = {h.name: (h / "owb.json").stat().st_size for h in (fresh, bloated)}
        print(f"owb.json: fresh {sizes['fresh']:,} B, bloated {sizes['bloated']:,} B")
        timed(fresh), timed(bloated)  # warm the page cache and the bytecode
        times: dict[str, list[float]] = {"fresh": [], "bloated": []}
        for _ in range(rounds):
            times["fresh"].append(timed(fresh))
            times["bloated"].append(timed(bloated))
    med = {k: statistics.median(v) for k, v in times.items()}
    ratio = med["bloated"] / med["fresh"]
    for k, v in times.items():
        print(f"`owb model list` {k:8s}: median {med[k] * 1000:.0f} ms (min {min(v) * 1000:.0f}, "
              f"max {max(v) * 1000:.0f}) over {len(v)} runs")
    print(f"ratio bloated / fresh = {ratio:.2f} (GOAL < {GOAL}: {'met' if ratio < GOAL else 'NOT met'})")
    return 0 if ratio < GOAL else 1


if __name__ == "__main__":
    sys.exit(main())
