"""Preparing a target: a Python with openvino (and nncf), owb's worker code,
and the facts of the CPU that will run the model.

The target needs no git and no internet for owb itself: owb pushes its own
engine package as a content-hashed tarball. openvino and nncf come from an
interpreter given with --python that already has them, or go into a venv in
owb's folder there, pinned to the versions the host runs, installed from the
target's own package index or from a wheelhouse pushed from the host."""

from __future__ import annotations

import io
import tarfile
from importlib import metadata
from pathlib import Path
from typing import Callable

from ..errors import BadInput
from ..records import Target, now
from ..workspace import Workspace
from .transport import RemoteFailed, Ssh, answer, answer_json, in_root
from .upload import HashCache, put

# What the engine imports on the target: the inference stack, not the TUI.
RUNTIME = ("openvino", "nncf", "numpy", "pillow", "tinydb", "filelock", "platformdirs", "defusedxml",
           "pycocotools")
PINNED = ("openvino", "nncf")  # the versions that decide numbers; the venv gets the host's exact ones
VENV_PYTHON = "venv/bin/python"

PROBE = r"""
import json, sys
from importlib import metadata
out = {"version": sys.version.split()[0], "ok": sys.version_info >= (3, 10), "packages": {}}
for name in sys.argv[1:]:
    try:
        out["packages"][name] = metadata.version(name)
    except Exception:
        out["packages"][name] = None
print(json.dumps(out))
"""

UNPACK = r"""
import os, sys, tarfile
code, sha = sys.argv[1], sys.argv[2]
final = os.path.join("code", code)
if os.path.isfile(os.path.join(final, ".complete")):
    print("present"); sys.exit(0)
if not os.path.isfile(os.path.join("cas", sha)):
    print("need"); sys.exit(0)
tmp = os.path.join("code", ".tmp-%s-%d" % (code, os.getpid()))
os.makedirs(tmp)
with tarfile.open(os.path.join("cas", sha)) as tar:
    tar.extractall(tmp, filter="data") if hasattr(tarfile, "data_filter") else tar.extractall(tmp)
open(os.path.join(tmp, ".complete"), "w").close()
try:
    os.rename(tmp, final)
except OSError:  # another run unpacked it first
    import shutil; shutil.rmtree(tmp, ignore_errors=True)
print("present")
"""

Say = Callable[[str], None]


def local_versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in RUNTIME:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def code_tarball() -> tuple[bytes, str]:
    """owb's engine package as a reproducible tar (sorted, no times, no owners)
    and the short hash that names its folder on the target."""
    import hashlib

    pkg = Path(__file__).resolve().parents[1]
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(pkg.rglob("*")):
            if not path.is_file() or "__pycache__" in path.parts or path.suffix == ".pyc":
                continue
            info = tarfile.TarInfo(f"engine/{path.relative_to(pkg).as_posix()}")
            data = path.read_bytes()
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tar.addfile(info, io.BytesIO(data))
    data = buf.getvalue()
    return data, hashlib.sha256(data).hexdigest()


def worker_argv(prepared: dict, *args: str) -> list[str]:
    """The remote worker of engine.targets.worker, with the pushed code first on
    the path and none of the Python settings the user's shell start-up may export."""
    return ["env", "-u", "PYTHONHOME", "-u", "PYTHONSTARTUP", f"PYTHONPATH=code/{prepared['code'][:16]}",
            prepared["python"], "-m", "engine.targets.worker", *args]


def probe(ssh: Ssh, target: Target, python: str) -> dict | None:
    """The interpreter's version and packages; None when it does not exist."""
    try:
        out = ssh.run(in_root(target.root, [python, "-c", PROBE, *RUNTIME]))
    except RemoteFailed:
        return None
    return answer_json(out)


def choose_python(ws: Workspace, ssh: Ssh, target: Target, say: Say) -> tuple[str, dict]:
    want = local_versions()
    if target.python:
        found = probe(ssh, target, target.python)
        if found is None:
            raise BadInput(f"target {target.name!r}: {target.python} does not run there")
        if not found["ok"]:
            raise BadInput(f"target {target.name!r}: {target.python} is Python {found['version']}; owb needs ≥ 3.10")
        if not found["packages"].get("openvino"):
            raise BadInput(f"target {target.name!r}: {target.python} has no openvino; install it there, or "
                           "drop --python so owb makes its own venv")
        return target.python, found
    found = probe(ssh, target, VENV_PYTHON)
    if found and all(found["packages"].get(n) for n in RUNTIME) and \
            all(found["packages"].get(n) == want[n] for n in PINNED):
        return VENV_PYTHON, found
    system = probe(ssh, target, "python3")
    if system is None:
        raise BadInput(f"target {target.name!r} has no python3; install Python ≥ 3.10 there or give --python")
    if not system["ok"]:
        raise BadInput(f"target {target.name!r} has Python {system['version']}; owb needs ≥ 3.10 there "
                       "(give another one with --python)")
    make_venv(ws, ssh, target, want, say)
    found = probe(ssh, target, VENV_PYTHON)
    if not found or not found["packages"].get("openvino"):
        raise BadInput(f"target {target.name!r}: the venv owb made there has no openvino")
    return VENV_PYTHON, found


def make_venv(ws: Workspace, ssh: Ssh, target: Target, want: dict, say: Say) -> None:
    """A venv in owb's folder on the target, with the host's exact versions."""
    reqs = [f"{n}=={v}" if n in PINNED and v else n for n, v in want.items() if v]
    source: list[str] = []
    if target.wheelhouse:
        say("push wheelhouse")
        wheels = sorted(Path(target.wheelhouse).glob("*.whl"))
        if not wheels:
            raise BadInput(f"wheelhouse {target.wheelhouse} holds no .whl files")
        cache = HashCache(ws.home)
        links = []
        for w in wheels:
            sha = cache.sha(w)
            put(ssh, target.root, "python3", w, sha)
            links.append(["ln", "-f", "--", f"cas/{sha}", f"wheelhouse/{w.name}"])
        cache.save()
        ssh.run(in_root(target.root, ["rm", "-rf", "wheelhouse"], ["mkdir", "wheelhouse"], *links))
        source = ["--no-index", "--find-links", "wheelhouse"]
    say("install openvino on the target")
    # --no-cache-dir: pip's cache would be ~/.cache/pip, outside owb's folder there.
    ssh.run(in_root(target.root, ["rm", "-rf", "venv"], ["python3", "-m", "venv", "venv"],
                    [VENV_PYTHON, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-cache-dir",
                     *source, *reqs]),
            timeout=3600)


def push_code(ws: Workspace, ssh: Ssh, target: Target, python: str) -> str:
    data, sha = code_tarball()
    code = sha[:16]
    argv = [python, "-c", UNPACK, code, sha]
    if answer(ssh.run(in_root(target.root, argv))) == "present":
        return sha
    scratch = ws.tmp_dir("code-")
    try:
        tar = scratch / "engine.tar"
        tar.write_bytes(data)
        put(ssh, target.root, python, tar, sha)
    finally:
        import shutil

        shutil.rmtree(scratch, ignore_errors=True)
    if answer(ssh.run(in_root(target.root, argv))) != "present":
        raise RemoteFailed(f"target {target.name!r}: owb's code did not unpack there")
    return sha


def prepare(ws: Workspace, ssh: Ssh, target: Target, say: Say = lambda s: None) -> Target:
    """Check and prepare the target; records its Python, versions and CPU facts."""
    say("check python")
    python, found = choose_python(ws, ssh, target, say)
    say("push owb's worker code")
    sha = push_code(ws, ssh, target, python)
    prepared = {"python": python, "python_version": found["version"], "packages": found["packages"],
                "code": sha, "checked": now()}
    say("read CPU facts")
    facts = answer_json(ssh.run(in_root(target.root, worker_argv(prepared, "facts"))))
    warnings = [f"{n} {found['packages'].get(n)} there, {v} here" for n, v in local_versions().items()
                if n in PINNED and v and found["packages"].get(n) and found["packages"][n] != v]
    prepared["warnings"] = warnings
    return ws.update(target, prepared=prepared, facts=facts)


def ensure_prepared(ws: Workspace, ssh: Ssh, target: Target, say: Say = lambda s: None) -> Target:
    """Prepare on first use, and again when owb's code changed since."""
    _, sha = code_tarball()
    if target.prepared.get("code") == sha and target.facts:
        return target
    return prepare(ws, ssh, target, say)
