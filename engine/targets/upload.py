"""The asset cache on a target: files stored by their sha256 under <root>/cas.

An upload streams into a temporary name, is hashed there as it arrives and is
renamed to its hash only when the hash matches; so a file under cas/ is
always whole, and a dropped connection leaves at most a .tmp file that
nothing ever reads. Whether a file needs sending is decided by the hash alone,
so a second run of the same model and dataset sends nothing."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from ..bundle import sha256 as sha256_file
from ..progress import Progress
from .transport import Ssh, in_root

SHA_RE = re.compile(r"^[0-9a-f]{64}$")

# Run by the target's Python inside <root>; the first one before owb's code is there.
PUT = r"""
import hashlib, os, sys
sha = sys.argv[1]
os.makedirs("cas", exist_ok=True)
tmp = os.path.join("cas", ".tmp-%s-%d" % (sha, os.getpid()))
h, n = hashlib.sha256(), 0
with open(tmp, "wb") as f:
    while True:
        b = sys.stdin.buffer.read(1 << 20)
        if not b:
            break
        h.update(b); f.write(b); n += len(b)
    f.flush(); os.fsync(f.fileno())
if h.hexdigest() != sha:
    os.unlink(tmp)
    sys.exit("upload arrived damaged: %d bytes with sha256 %s, expected %s" % (n, h.hexdigest(), sha))
os.replace(tmp, os.path.join("cas", sha))
"""

MISSING = r"""
import os, sys, time
os.makedirs("cas", exist_ok=True)
for name in os.listdir("cas"):
    p = os.path.join("cas", name)
    if name.startswith(".tmp-") and time.time() - os.path.getmtime(p) > 86400:
        os.unlink(p)  # a dead upload's leftovers; never read, removed after a day
for s in sys.stdin.read().split():
    if not os.path.isfile(os.path.join("cas", s)):
        print(s)
"""


class HashCache:
    """sha256 of local files, remembered by (size, mtime) in the workspace so
    an unchanged dataset is not re-read on every remote run."""

    def __init__(self, home: Path) -> None:
        self.path = home / "targets" / "hashes.json"
        try:
            self.known: dict = json.loads(self.path.read_text())
        except (OSError, ValueError):
            self.known = {}
        self.dirty = False

    def sha(self, path: Path) -> str:
        st = path.stat()
        key, stamp = str(path.resolve()), [st.st_size, st.st_mtime_ns]
        hit = self.known.get(key)
        if hit and hit[:2] == stamp:
            return hit[2]
        sha = sha256_file(path)
        self.known[key] = [*stamp, sha]
        self.dirty = True
        return sha

    def save(self) -> None:
        if self.dirty:
            from ..workspace import atomic_write_bytes

            self.path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(self.path, json.dumps(self.known).encode())
            self.dirty = False


def missing(ssh: Ssh, root: str, python: str, shas: list[str]) -> set[str]:
    """The hashes the target does not hold yet."""
    if not shas:
        return set()
    out = ssh.run(in_root(root, [python, "-c", MISSING]), input="\n".join(sorted(set(shas))).encode())
    return {w for w in out.decode(errors="replace").split() if SHA_RE.match(w)}  # not what start-up files print


def put(ssh: Ssh, root: str, python: str, path: Path, sha: str) -> int:
    """Send one file into the cache; the bytes sent."""
    if not SHA_RE.match(sha):
        raise ValueError(f"not a sha256: {sha!r}")
    with open(path, "rb") as f:
        ssh.run(in_root(root, [python, "-c", PUT, sha]), stdin=f, timeout=None)
    return path.stat().st_size


def upload(ssh: Ssh, root: str, python: str, files: dict[str, tuple[Path, str]],
           progress: Progress | None = None) -> dict:
    """Make every (path, sha) of ``files`` present in the target's cache.

    Returns {"files", "sent_files", "sent_bytes", "cached_files"}."""
    need = missing(ssh, root, python, [sha for _, sha in files.values()])
    todo: dict[str, Path] = {}
    for path, sha in files.values():
        if sha in need:
            todo.setdefault(sha, path)
    # Bytes out of a total of at least 1: with everything cached already, a bar still has a scale.
    total = sum(p.stat().st_size for p in todo.values()) or 1
    sent = 0
    if progress:
        progress("upload", 0, total)
    for sha, path in sorted(todo.items(), key=lambda kv: str(kv[1])):
        sent += put(ssh, root, python, path, sha)
        if progress:
            progress("upload", sent, total)
    return {"files": len(files), "sent_files": len(todo), "sent_bytes": sent,
            "cached_files": len({sha for _, sha in files.values()}) - len(todo)}


def download(ssh: Ssh, root: str, remote_rel: str, sha: str, dest: Path) -> None:
    """Fetch one file of the target's folder into ``dest``: to a temporary
    name, kept only when its sha256 is the one the target reported."""
    from ..errors import OwbError

    tmp = dest.with_name(f".{dest.name}.part-{os.getpid()}")
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        with open(tmp, "wb") as f:
            ssh.run(in_root(root, ["cat", "--", remote_rel]), stdout=f, timeout=None)
        got = sha256_file(tmp)
        if got != sha:
            raise OwbError(f"{remote_rel} from target {ssh.name!r} arrived damaged (sha256 {got[:12]}…, "
                           f"expected {sha[:12]}…); nothing was kept, run it again")
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
