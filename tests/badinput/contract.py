"""owb's contract on bad input, as assertions shared by every bad-input test:
exit code 2, exactly one `error:` line on stderr and nothing on stdout,
nothing written outside the workspace, and nothing already saved changed."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def tree(*roots: Path) -> dict[str, str]:
    """Every file and folder under ``roots`` with a content hash; the lock file
    is filelock's business and may come and go. A refused job leaves its record
    and log (the job history, where `owb jobs` says why it failed), which
    changes nothing saved: a workspace's jobs/ folder and the DB's jobs table
    are left out."""
    out: dict[str, str] = {}
    for root in roots:
        for p in sorted(Path(root).rglob("*")):
            if p.name == ".owb.lock" or _job_history(p):
                continue
            out[str(p)] = _digest(p) if p.is_file() else "dir"
    return out


def _job_history(p: Path) -> bool:
    return any(d.name == "jobs" and (d.parent / "owb.json").is_file() for d in (p, *p.parents))


def _digest(p: Path) -> str:
    data = p.read_bytes()
    if p.name == "owb.json":
        try:
            doc = json.loads(data)
            doc.pop("jobs", None)
            data = json.dumps(doc, sort_keys=True).encode()
        except ValueError:  # a damaged DB is hashed as it is
            pass
    return hashlib.sha256(data).hexdigest()


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
