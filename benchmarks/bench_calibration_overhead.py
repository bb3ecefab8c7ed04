"""`owb calibrate` against a bare `nncf.quantize` script: wall-time ratio.

Both run as fresh processes on the same FP32 IR, the same images, the same
subset and preset, and both save the INT8 IR; they alternate A/B/A/B and the
median ratio is printed. owb's run skips the post-calibration measurements
(`--bench-time 0` on an unannotated dataset) so that only calibration is
compared. Goal (issue 4): ratio ≤ 1.10.

Usage: python benchmarks/bench_calibration_overhead.py [--images 300] [--pairs 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

BARE = textwrap.dedent('''
    import sys, glob
    import numpy as np, openvino as ov, nncf
    from PIL import Image
    xml, folder, out = sys.argv[1:4]
    model = ov.Core().read_model(xml)
    model.reshape([1, 3, 48, 192])  # the static shape owb calibrates at (its --shape)
    files = sorted(glob.glob(folder + "/*.png"))
    def transform(path):
        img = Image.open(path).convert("RGB").resize((192, 48), Image.BILINEAR)
        arr = (np.asarray(img, np.float32)[:, :, ::-1] - 127.5) / 127.5
        return np.ascontiguousarray(arr.transpose(2, 0, 1)[None])
    q = nncf.quantize(model, nncf.Dataset(files, transform), preset=nncf.QuantizationPreset.PERFORMANCE,
                      subset_size=len(files))
    ov.save_model(q, out, compress_to_fp16=False)
''')


def run(cmd: list[str]) -> float:
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        sys.exit(f"{cmd[:4]} failed: {proc.stderr.strip()[-500:]}")
    return time.perf_counter() - t


def main() -> int:
    from ocr_fixtures import ppocr_model, write_text_folder

    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=300)
    ap.add_argument("--pairs", type=int, default=3)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="owb-overhead-"))
    home = work / "home"
    owb = [sys.executable, "-m", "owb_tui.cli", "--home", str(home)]
    folder = write_text_folder(work / "lines", args.images, seed=5)
    subprocess.run(owb + ["model", "import", str(ppocr_model("cls")), "--name", "cls", "--task", "classification",
                          "--shape", "1,3,48,192", "--color", "BGR", "--mean", "127.5", "--scale", "127.5"],
                   check=True, capture_output=True, cwd=ROOT)
    subprocess.run(owb + ["dataset", "import", str(folder), "--name", "lines"], check=True, capture_output=True, cwd=ROOT)
    xml = json.loads(subprocess.run(owb + ["model", "show", "cls", "--json"], capture_output=True, text=True,
                                    check=True, cwd=ROOT).stdout)["path"]
    script = work / "bare_nncf.py"
    script.write_text(BARE)
    owb_t, bare_t = [], []
    for i in range(args.pairs):
        bare_t.append(run([sys.executable, str(script), xml, str(folder), str(work / f"bare{i}.xml")]))
        owb_t.append(run(owb + ["calibrate", "cls", "--dataset", "lines", "--bench-time", "0",
                                "--name", f"cls-int8-{i}", "--json"]))
        print(f"pair {i + 1}: bare nncf.quantize {bare_t[-1]:6.1f} s | owb calibrate {owb_t[-1]:6.1f} s | "
              f"ratio {owb_t[-1] / bare_t[-1]:.3f}")
    ratio = statistics.median(o / b for o, b in zip(owb_t, bare_t))
    print(f"PP-OCRv5 cls, {args.images} images, Default/Performance: median bare {statistics.median(bare_t):.1f} s, "
          f"median owb {statistics.median(owb_t):.1f} s")
    print(f"owb/bare wall-time ratio (median of {args.pairs} pairs): {ratio:.3f}   goal ≤ 1.10 → "
          f"{'MET' if ratio <= 1.10 else 'NOT MET'}")
    return 0 if ratio <= 1.10 else 1


if __name__ == "__main__":
    sys.exit(main())
