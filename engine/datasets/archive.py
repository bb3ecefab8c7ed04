"""Bringing a dataset folder or archive into a destination folder safely.

Archives are checked member by member before a single byte is written: no
absolute paths or '..', no symlinks or hardlinks, no device files, no archive
inside the archive (rejected, never extracted recursively), and limits on
member count, total size and compression ratio (zip bombs). Extraction then
writes each member itself, counting bytes, so the checks hold even where the
stdlib's own extraction would differ across Python versions. Any failure
removes everything written into dest; nothing is ever written outside it."""

from __future__ import annotations

import lzma
import os
import re
import shutil
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from engine.errors import BadInput
from engine.progress import Progress  # bytes done of bytes in all; raise from it to cancel

from .images import is_ignored, is_image_name

NESTED_ARCHIVE_SUFFIXES = (".zip", ".tar", ".tgz", ".gz", ".bz2", ".xz", ".zst", ".7z", ".rar", ".lz4")
_TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")
_CHUNK = 1 << 20
_DRIVE = re.compile(r"^[A-Za-z]:")
_CORRUPT = (
    zipfile.BadZipFile, tarfile.TarError, zlib.error, lzma.LZMAError, EOFError, ValueError, NotImplementedError,
    RuntimeError,
)  # fmt: skip


@dataclass(frozen=True)
class ArchiveLimits:
    max_total_bytes: int = 20 * 1024**3
    max_members: int = 1_000_000
    # Images barely compress (JPEG, PNG are compressed already) and COCO JSON
    # reaches ~10x; zeros reach ~1000x. Ratios of small members are noise.
    max_ratio: float = 200.0
    ratio_min_bytes: int = 1 << 20


@dataclass(frozen=True)
class _Member:
    rel: str  # validated '/'-separated path inside dest
    is_dir: bool
    size: int
    source: object  # ZipInfo or TarInfo


def materialize(src: Path, dest: Path, *, limits: ArchiveLimits | None = None, progress: Progress | None = None) -> Path:
    """Copy a folder, or extract a .zip / .tar / .tar.gz / .tgz (also .tar.bz2,
    .tar.xz), into dest and return the dataset root inside it: dest itself, or
    the folder the content is wrapped in (e.g. 'VOCdevkit/VOC2012')."""
    src, dest = Path(src), Path(dest)
    limits = limits or ArchiveLimits()
    if not src.exists():
        raise BadInput(f"{src} does not exist; give a dataset folder or a .zip/.tar/.tar.gz archive")
    if not src.is_dir():  # a FIFO would block the read for ever, /dev/zero never end it
        from engine.limits import regular_file

        regular_file(src, "dataset archive")
    dest.mkdir(parents=True, exist_ok=True)
    if any(dest.iterdir()):
        raise ValueError(f"materialize needs an empty destination, {dest} is not")
    try:
        if src.is_dir():
            _copy_folder(src, dest, progress)
        elif (kind := archive_kind(src)) == "zip":
            with _opened(src, kind) as zf:
                _extract(src, dest, _zip_plan(zf, src, limits), zf.open, limits, progress)
        elif kind == "tar":
            with _opened(src, kind) as tf:
                _extract(src, dest, _tar_plan(tf, src, dest, limits), tf.extractfile, limits, progress)
        else:
            raise BadInput(f"{src} is not a folder, and its content is not a zip or tar archive "
                           "(whatever its name says)")
        if not any(dest.iterdir()):
            raise BadInput(f"{src} holds no files to import")
    except BaseException:
        _clear(dest)
        raise
    return dataset_root(dest)


def dataset_root(dest: Path) -> Path:
    """Descend into a lone top-level folder (always once), and further while
    the lone child holds no images itself: 'set/x.jpg' -> set; 'VOCdevkit/
    VOC2012/...' -> VOC2012; but 'data/cats/x.jpg' stays at data, a one-class
    imagefolder."""
    root, first = Path(dest), True
    while True:
        entries = [e for e in os.scandir(root) if not is_ignored(e.name)]
        if len(entries) != 1 or not entries[0].is_dir(follow_symlinks=False):
            return root
        child = Path(entries[0].path)
        if not first and any(is_image_name(e.name) for e in os.scandir(child)):
            return root
        root, first = child, False


def member_path(name: str) -> str:
    """The member's path inside dest, or BadInput when it would escape."""
    norm = name.replace("\\", "/")  # Windows packers write backslashes
    if norm.startswith("/") or _DRIVE.match(norm):
        raise BadInput(f"archive member {name!r} has an absolute path; owb refuses archives that write outside their folder")
    if "\x00" in norm:
        raise BadInput(f"archive member {name!r} has a NUL byte in its name; the archive is corrupt or hostile")
    parts = [p for p in norm.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise BadInput(f"archive member {name!r} climbs out with '..'; owb refuses archives that write outside their folder")
    return "/".join(parts)


def _zip_plan(zf: zipfile.ZipFile, src: Path, limits: ArchiveLimits) -> list[_Member]:
    infos = zf.infolist()
    if len(infos) > limits.max_members:
        raise BadInput(f"{src.name} has {len(infos)} members, over the limit of {limits.max_members}")
    plan, total = [], 0
    for info in infos:
        rel = member_path(info.filename)
        kind = stat.S_IFMT(info.external_attr >> 16)
        if kind == stat.S_IFLNK:
            raise BadInput(f"archive member {info.filename!r} is a symbolic link; owb does not extract links")
        if info.flag_bits & 0x1:
            raise BadInput(f"archive member {info.filename!r} is encrypted; extract it yourself and import the folder")
        if info.is_dir():
            plan.append(_Member(rel, True, 0, info))
            continue
        if kind not in (0, stat.S_IFREG):
            raise BadInput(f"archive member {info.filename!r} is not a regular file; owb extracts only files and folders")
        _refuse_nested(info.filename, rel)
        if info.file_size > limits.ratio_min_bytes and info.file_size > limits.max_ratio * max(info.compress_size, 1):
            ratio = info.file_size / max(info.compress_size, 1)
            raise BadInput(
                f"archive member {info.filename!r} expands {ratio:.0f}x (limit {limits.max_ratio:.0f}x), "
                "like a zip bomb; owb will not extract it"
            )
        total += info.file_size
        _check_total(total, src, limits)
        plan.append(_Member(rel, False, info.file_size, info))
    return plan


def _tar_plan(tf: tarfile.TarFile, src: Path, dest: Path, limits: ArchiveLimits) -> list[_Member]:
    """Reads the member headers (decompressing the whole stream once), and
    stops early when a limit is crossed, before a bomb is fully inflated."""
    plan, total = [], 0
    for number, info in enumerate(tf, 1):
        if number > limits.max_members:
            raise BadInput(f"{src.name} has over {limits.max_members} members, the limit")
        rel = member_path(info.name)
        if info.issym() or info.islnk():
            kind = "symbolic" if info.issym() else "hard"
            raise BadInput(
                f"archive member {info.name!r} is a {kind} link to {info.linkname!r}; owb does not extract links"
            )
        if not (info.isfile() or info.isdir()):
            raise BadInput(f"archive member {info.name!r} is a device, fifo or other special file; owb refuses it")
        # Python >= 3.10.12 / 3.11.4 ships tarfile's 'data' filter: a second
        # opinion on top of the checks above, where the running Python has it.
        data_filter = getattr(tarfile, "data_filter", None)
        if data_filter is not None:
            try:
                data_filter(info, str(dest))
            except tarfile.FilterError as exc:
                raise BadInput(f"archive member {info.name!r} is unsafe: {exc}") from None
        if info.isdir():
            plan.append(_Member(rel, True, 0, info))
            continue
        _refuse_nested(info.name, rel)
        total += info.size
        _check_total(total, src, limits)
        _check_ratio(total, src, limits)
        plan.append(_Member(rel, False, info.size, info))
    return plan


def _extract(
    src: Path,
    dest: Path,
    plan: list[_Member],
    open_member: Callable[[object], IO[bytes] | None],
    limits: ArchiveLimits,
    progress: Progress | None,
) -> None:
    _check_ratio(sum(m.size for m in plan), src, limits)
    base = os.path.realpath(dest)
    total, done = sum(m.size for m in plan), 0
    for member in plan:
        if not member.rel:
            continue
        target = Path(base, member.rel)
        # Belt and braces: no link is ever created, so this cannot trip, but
        # it is what guarantees nothing lands outside dest.
        if os.path.commonpath([base, os.path.realpath(target)]) != base:
            raise BadInput(f"archive member {member.rel!r} would land outside the destination")
        if member.is_dir:
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        stream = open_member(member.source)
        if stream is None:
            raise BadInput(f"archive member {member.rel!r} has no data")
        with stream, open(target, "wb") as out:
            written = 0
            while chunk := stream.read(_CHUNK):
                written += len(chunk)
                if written > member.size:
                    raise BadInput(f"archive member {member.rel!r} holds more data than its header says; corrupt or hostile")
                out.write(chunk)
                if progress is not None:
                    progress("extracting", done + written, total)
        done += member.size


@contextmanager
def _opened(src: Path, kind: str) -> Iterator:
    """Opens the archive and turns corruption, whatever the layer that finds
    it (zip, tar, gzip, bz2, lzma, zlib, the OS), into one BadInput."""
    try:
        archive = zipfile.ZipFile(src) if kind == "zip" else tarfile.open(src, "r:*")
    except (*_CORRUPT, OSError) as exc:
        raise BadInput(f"{src.name} is not a readable archive ({exc})") from None
    try:
        with archive:
            yield archive
    except _CORRUPT as exc:
        raise BadInput(f"{src.name} is corrupt or unsupported ({type(exc).__name__}: {exc}); re-create the archive") from None
    except OSError as exc:
        if exc.errno is None:  # gzip/bz2 report bad data as errno-less OSErrors
            raise BadInput(f"{src.name} is corrupt ({exc}); re-create the archive") from None
        raise BadInput(f"cannot extract {src.name}: {exc.strerror or exc}") from None


def _copy_folder(src: Path, dest: Path, progress: Progress | None) -> None:
    """Regular files only; symlinks (to files or folders) are skipped, never
    followed, and dest is pruned in case it sits inside src."""
    dest_real = os.path.realpath(dest)
    files: list[tuple[str, str, int]] = []
    for dirpath, dirnames, filenames in os.walk(src, followlinks=False):
        dirnames[:] = [
            d for d in dirnames
            if not os.path.islink(os.path.join(dirpath, d)) and os.path.realpath(os.path.join(dirpath, d)) != dest_real
        ]  # fmt: skip
        for name in filenames:
            path = os.path.join(dirpath, name)
            try:
                st = os.lstat(path)
            except OSError:  # vanished or unreadable while walking: not part of the copy
                continue
            if stat.S_ISREG(st.st_mode):
                files.append((path, os.path.relpath(path, src), st.st_size))
    total = sum(size for _, _, size in files)
    free = shutil.disk_usage(dest).free
    if total > free:
        raise BadInput(f"{src} holds {total / 1e9:.1f} GB but only {free / 1e9:.1f} GB are free; make room first")
    done = 0
    for path, rel, size in files:
        target = os.path.join(dest, rel)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        try:
            shutil.copyfile(path, target, follow_symlinks=False)
        except OSError as exc:
            raise BadInput(f"cannot copy {rel}: {exc.strerror or exc}") from None
        done += size
        if progress is not None:
            progress("copying", done, total)


def archive_kind(src: Path) -> str | None:
    """'zip', 'tar' or None. The name decides when the content agrees; the
    content alone decides otherwise, tar first, because a tar whose last
    member is a zip can pass zipfile's end-of-file sniff."""
    name = src.name.lower()
    by_name = "zip" if name.endswith(".zip") else "tar" if name.endswith(_TAR_SUFFIXES) else None
    if by_name == "zip" and zipfile.is_zipfile(src):
        return "zip"
    try:
        if tarfile.is_tarfile(src):
            return "tar"
    except (OSError, tarfile.TarError, EOFError, ValueError):
        pass
    return "zip" if zipfile.is_zipfile(src) else None  # a zip named .tar.gz is still a zip


def _refuse_nested(name: str, rel: str) -> None:
    if rel.lower().endswith(NESTED_ARCHIVE_SUFFIXES):
        raise BadInput(
            f"archive member {name!r} is itself an archive; owb never extracts archives inside archives: "
            "extract it yourself and import the folder"
        )


def _check_total(total: int, src: Path, limits: ArchiveLimits) -> None:
    if total > limits.max_total_bytes:
        raise BadInput(
            f"{src.name} expands to over {limits.max_total_bytes / 2**30:.1f} GiB, the limit; "
            "extract it yourself and import the folder"
        )


def _check_ratio(total: int, src: Path, limits: ArchiveLimits) -> None:
    packed = max(src.stat().st_size, 1)
    if total > limits.ratio_min_bytes and total > limits.max_ratio * packed:
        raise BadInput(
            f"{src.name} expands {total / packed:.0f}x (limit {limits.max_ratio:.0f}x), like a zip bomb; "
            "owb will not extract it"
        )


def _clear(dest: Path) -> None:
    for entry in os.scandir(dest):
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path, ignore_errors=True)
        else:
            Path(entry.path).unlink(missing_ok=True)
