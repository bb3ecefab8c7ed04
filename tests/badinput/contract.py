"""owb's contract on bad input, as assertions shared by every bad-input test:
exit code 2, exactly one `error:` line on stderr and nothing on stdout,
nothing written outside the workspace, and nothing already saved changed."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def tree(*roots: Path) -> dict[str, str]:
    """Every file and folder under ``roots`` with a content hash; the lock file
    is filelock's business and may come and go."""
    out: dict[str, str] = {}
    for root in roots:
        for p in sorted(Path(root).rglob("*")):
            if p.name == ".owb.lock":
                continue
            out[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
    return out


def assert_one_error_line(rc: int, out: str, err: str, mention: str) -> None:
    assert rc == 2, (rc, err)
    assert "Traceback" not in out + err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and len(lines[0]) > len("error: ") + 10, err
    assert "internal error" not in err
    assert mention.lower() in err.lower(), f"the error should name {mention!r}: {err}"
    assert out == ""


def run_owb_process(argv: list[str], cwd: Path, home: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    """`python -m owb_tui.cli ARGV` in a fresh interpreter, as a user runs it,
    with cwd and HOME where the caller can watch them."""
    # CI=true would switch OpenVINO telemetry off and hide what a user's run
    # would write to ~/intel if owb did not decline it (engine.telemetry).
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OWB_", "XDG_")) and k not in ("CI", "TF_BUILD", "JENKINS_URL")}
    env.update(HOME=str(home), PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])))
    return subprocess.run([sys.executable, "-m", "owb_tui.cli", *argv],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
