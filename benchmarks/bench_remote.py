"""owb benchmark on a remote target reached over SSH vs the same benchmark here.

Not run in CI. The target is this machine through a throwaway OpenSSH server
on 127.0.0.1 (its own host key, client key and ssh_config in a scratch dir;
~/.ssh is never touched), so a remote run should measure what a local one
does: goal, median remote/local FPS ratio within [0.95, 1.05]. Runs are
interleaved in pairs, who goes first alternating, as in bench_parity.py.
It also checks the upload cache: the first remote run sends the model, every
later one sends nothing; the bytes sent are printed.

    python benchmarks/bench_remote.py [--pairs 5] [--time 10] [--model demo-cnn] [--home DIR]

Without --home a scratch workspace is made with `owb demo`. Needs sshd
(`apt-get install openssh-server`) and ssh-keygen/ssh-keyscan."""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

PY = sys.executable
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from sshd_server import SshServer, available  # noqa: E402

ENV: dict[str, str] = {}


def owb(home: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    import os

    out = subprocess.run([PY, "-m", "owb_tui.cli", "--home", str(home), *args], cwd=REPO, capture_output=True,
                         text=True, env={**os.environ, **ENV})
    if check and out.returncode != 0:
        raise SystemExit(f"owb {' '.join(args)} failed: {out.stderr.strip()}")
    return out


def owb_json(home: Path, *args: str) -> dict:
    return json.loads(owb(home, *args, "--json").stdout)


def add_loopback_target(home: Path, server: SshServer, root: Path) -> None:
    owb(home, "target", "add", "loopback", server.alias, "--python", PY, "--root", str(root))
    refused = owb(home, "target", "check", "loopback", check=False)
    found = re.search(r"--fingerprint (SHA256:\S+)", refused.stderr)
    if refused.returncode != 2 or not found:
        raise SystemExit(f"expected the unknown host key to be refused: {refused.stderr.strip()}")
    owb(home, "target", "trust", "loopback", "--fingerprint", found[1])
    owb(home, "target", "check", "loopback")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", type=int, default=5)
    ap.add_argument("--time", type=float, default=10.0)
    ap.add_argument("--model", default="demo-cnn")
    ap.add_argument("--home", type=Path)
    args = ap.parse_args()
    if not available():
        raise SystemExit("needs OpenSSH's sshd, ssh and ssh-keygen (apt-get install openssh-server)")
    scratch = Path(tempfile.mkdtemp(prefix="owb-bench-remote-"))
    home = args.home or scratch / "home"
    if args.home is None:
        owb(home, "demo")
    server = SshServer(scratch / "ssh")
    ENV.update(server.env)
    server.start()
    try:
        add_loopback_target(home, server, scratch / "target-root")
        local, remote, sent = [], [], []
        for i in range(args.pairs):
            order = ("here", "there") if i % 2 == 0 else ("there", "here")
            for where in order:
                extra = ["--target", "loopback"] if where == "there" else []
                r = owb_json(home, "benchmark", args.model, "--time", str(args.time), *extra)
                (remote if where == "there" else local).append(r["throughput_fps"])
                if where == "there":
                    sent.append(r["upload"]["sent_bytes"])
                print(f"pair {i + 1} {where:5s} {r['throughput_fps']:9.1f} FPS ({r['inference_precision']})",
                      flush=True)
        again = owb_json(home, "benchmark", args.model, "--time", "0.5", "--target", "loopback")["upload"]
        ratios = [t / h for t, h in zip(remote, local)]
        ratio = statistics.median(ratios)
        ok = 0.95 <= ratio <= 1.05
        print(f"remote/local FPS ratio, median of {len(ratios)} pairs: {ratio:.3f} "
              f"(pairs {', '.join(f'{x:.2f}' for x in ratios)}) -> {'PASS' if ok else 'FAIL'} [0.95, 1.05]")
        print(f"bytes sent per remote run: {sent} then {again['sent_bytes']} "
              f"({again['cached_files']} files already cached on the target)")
        cache_ok = again["sent_bytes"] == 0 and all(b == 0 for b in sent[1:])
        print(f"second and later runs upload nothing: {'PASS' if cache_ok else 'FAIL'}")
        return 0 if ok and cache_ok else 1
    finally:
        owb(home, "target", "remove", "loopback", check=False)
        server.kill()
        if args.home is None:
            import shutil

            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
