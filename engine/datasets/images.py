"""Finding image files and checking them cheaply: headers only, in a thread
pool, so that 50k images take seconds. Decoding to RGB happens elsewhere."""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from PIL import Image, UnidentifiedImageError

IMAGE_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".jpe", ".png", ".bmp", ".tif", ".tiff", ".webp", ".gif", ".ppm", ".pgm", ".pnm"}
)
# Names packers and desktops leave behind; '._x.jpg' AppleDouble files even
# carry image extensions while holding no image.
IGNORED_NAMES = frozenset({"__MACOSX", "Thumbs.db", "desktop.ini"})
# Header parsing holds the GIL, so threads mostly overlap file I/O (cold
# caches, network mounts); more than a few only add contention.
CHECK_WORKERS = 4
_TAIL_BYTES = 4096
_BATCH = 128
# A file that misses its end marker is decoded in full before it is called
# truncated: cameras append data after a JPEG's EOI (motion photos, trailers).
_END_MARKERS = {"JPEG": b"\xff\xd9", "MPO": b"\xff\xd9", "PNG": b"IEND"}
_DRIVE = re.compile(r"^[A-Za-z]:")


class ProblemSink(Protocol):
    def add(self, line: str) -> None: ...


@dataclass(frozen=True)
class ImageCheck:
    size: tuple[int, int] | None = None  # (width, height)
    error: str | None = None


def is_image_name(name: str) -> bool:
    return os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS


def is_ignored(name: str) -> bool:
    return name.startswith(".") or name in IGNORED_NAMES


def printable_name(name: str) -> str:
    """A file name as text even when its bytes are not UTF-8."""
    return os.fsencode(name).decode("utf-8", "backslashreplace")


def is_utf8_name(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:  # undecodable bytes arrive as lone surrogates
        return False
    return True


def safe_relpath(text: str) -> str | None:
    """A path from an annotation file as a '/'-separated path inside the
    dataset root, or None when it is absolute or climbs out with '..'."""
    norm = text.strip().replace("\\", "/")
    if not norm or norm.startswith("/") or _DRIVE.match(norm) or "\x00" in norm:
        return None
    parts = [p for p in norm.split("/") if p not in ("", ".")]
    if not parts or ".." in parts:
        return None
    return "/".join(parts)


def list_images(root: Path, sub: str, problems: ProblemSink, *, recursive: bool) -> list[str]:
    """Image files under ``root/sub`` as sorted paths relative to root. Hidden
    and packer files are skipped, symlinks are not followed, and names that
    are not valid UTF-8 are skipped with a problem line (they could not be
    stored or printed safely)."""
    found: list[str] = []
    pending = [sub]
    while pending:
        rel_dir = pending.pop()
        try:
            entries = list(os.scandir(root / rel_dir if rel_dir else root))
        except OSError as exc:
            problems.add(f"cannot list {rel_dir or '.'}/: {exc.strerror or exc}")
            continue
        for entry in entries:
            if is_ignored(entry.name):
                continue
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            if entry.is_dir(follow_symlinks=False):
                if recursive:
                    pending.append(rel)
            elif is_image_name(entry.name) and entry.is_file(follow_symlinks=False):
                if is_utf8_name(rel):
                    found.append(rel)
                else:
                    problems.add(f"skipped {printable_name(rel)}: file name is not valid UTF-8; rename it")
    found.sort()
    return found


def check_image(path: Path) -> ImageCheck:
    """Open the header, read the size, and look for the format's end marker.
    Never raises: Pillow's plugins raise many exception types on hostile
    files, and every one of them means "unreadable" here."""
    try:
        with open(path, "rb") as fp, Image.open(fp) as img:
            width, height = img.size
            if width <= 0 or height <= 0:
                return ImageCheck(error=f"image has no pixels ({width}x{height})")
            limit = Image.MAX_IMAGE_PIXELS
            if limit and width * height > limit:
                return ImageCheck(
                    error=f"{width}x{height} pixels is over Pillow's MAX_IMAGE_PIXELS ({limit}); "
                    "possible decompression bomb"
                )
            marker = _END_MARKERS.get(img.format or "")
            if marker is not None and not _tail_has(fp, marker):
                img.load()  # raises when the file is really cut short
            return ImageCheck(size=(width, height))
    except Image.DecompressionBombError as exc:
        return ImageCheck(error=f"possible decompression bomb: {exc}")
    except UnidentifiedImageError:
        return ImageCheck(error="not an image Pillow can read (corrupt or unknown format)")
    except OSError as exc:
        return ImageCheck(error=_short(exc.strerror or str(exc)))
    except Exception as exc:  # noqa: BLE001 - see docstring
        return ImageCheck(error=_short(f"{type(exc).__name__}: {exc}"))


def check_images(root: Path, relpaths: Iterable[str], workers: int = CHECK_WORKERS) -> dict[str, ImageCheck]:
    unique = list(dict.fromkeys(relpaths))
    if not unique:
        return {}
    root = Path(root)
    # The over-limit case is reported as an error above; silence Pillow's
    # warning for it so it does not spill onto a TUI's terminal.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        # Batches, because a future per image costs about as much as the
        # header read itself (ThreadPoolExecutor.map ignores chunksize).
        batches = [unique[i : i + _BATCH] for i in range(0, len(unique), _BATCH)]
        with ThreadPoolExecutor(max_workers=max(1, min(workers, len(batches)))) as pool:
            done = pool.map(lambda batch: [check_image(root / rel) for rel in batch], batches)
            results = [result for batch in done for result in batch]
    return dict(zip(unique, results))


def _tail_has(fp, marker: bytes) -> bool:
    pos = fp.tell()
    try:
        size = os.fstat(fp.fileno()).st_size
        fp.seek(max(0, size - _TAIL_BYTES))
        return marker in fp.read(_TAIL_BYTES)
    finally:
        fp.seek(pos)


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
