"""Archive and folder materialization: path escapes, links, bombs, nested
archives, limits, corruption and cancel. Every refusal must leave dest empty
and everything outside dest untouched."""

from __future__ import annotations

import io
import os
import stat
import tarfile
import zipfile
from contextlib import contextmanager
from pathlib import Path

import pytest

from engine.datasets import ArchiveLimits, load_dataset, materialize
from engine.datasets.archive import dataset_root
from engine.errors import BadInput, Cancelled
from fixtures_datasets import image_bytes, snapshot, tar_link, write_image, write_tar, write_zip

JPEG = image_bytes(1)


@pytest.fixture
def box(tmp_path):
    """(sources folder, dest): dest sits in a sentinel folder whose every
    other file is compared before and after."""
    src = tmp_path / "src"
    src.mkdir()
    (tmp_path / "sentinel.txt").write_text("keep me")
    return src, tmp_path / "sentinel" / "dest"


@contextmanager
def refused(tmp_path: Path, dest: Path, match: str):
    dest.mkdir(parents=True, exist_ok=True)
    before = snapshot(tmp_path, dest)
    with pytest.raises(BadInput, match=match):
        yield
    assert snapshot(tmp_path, dest) == before, "something was written outside dest"
    assert list(dest.iterdir()) == [], "a refused archive left files in dest"


# --- path escapes ------------------------------------------------------------------


@pytest.mark.parametrize("evil", ["../evil.txt", "a/../../evil.txt", "..\\evil.txt"])
def test_zip_slip(box, tmp_path, evil):
    src, dest = box
    archive = write_zip(src / "slip.zip", [("ok.jpg", JPEG), (evil, b"pwned")])
    with refused(tmp_path, dest, "climbs out with '..'"):
        materialize(archive, dest)


def test_zip_absolute_path(box, tmp_path):
    src, dest = box
    archive = write_zip(src / "abs.zip", [("ok.jpg", JPEG), (str(tmp_path / "abs.txt"), b"pwned")])
    with refused(tmp_path, dest, "absolute path"):
        materialize(archive, dest)


@pytest.mark.parametrize("suffix", [".tar", ".tar.gz"])
@pytest.mark.parametrize("evil", ["../evil.txt", "/abs-evil.txt"])
def test_tar_slip(box, tmp_path, evil, suffix):
    src, dest = box
    archive = write_tar(src / f"slip{suffix}", [("ok.jpg", JPEG), (evil, b"pwned")])
    with refused(tmp_path, dest, "climbs out|absolute path"):
        materialize(archive, dest)


# --- links and special files ----------------------------------------------------------


def test_tar_symlink_pointing_outside(box, tmp_path):
    src, dest = box
    archive = write_tar(
        src / "sym.tar",
        [("ok.jpg", JPEG), tar_link("escape", str(tmp_path), tarfile.SYMTYPE), ("escape/sentinel.txt", b"overwritten")],
    )
    with refused(tmp_path, dest, "'escape' is a symbolic link to"):
        materialize(archive, dest)
    assert (tmp_path / "sentinel.txt").read_text() == "keep me"


def test_tar_hardlink_pointing_outside(box, tmp_path):
    src, dest = box
    archive = write_tar(src / "hard.tar", [("ok.jpg", JPEG), tar_link("grab", "../../sentinel.txt", tarfile.LNKTYPE)])
    with refused(tmp_path, dest, "'grab' is a hard link"):
        materialize(archive, dest)


def test_tar_hardlink_inside_is_refused_too(box, tmp_path):
    src, dest = box
    archive = write_tar(src / "hard.tar", [("ok.jpg", JPEG), tar_link("copy.jpg", "ok.jpg", tarfile.LNKTYPE)])
    with refused(tmp_path, dest, "'copy.jpg' is a hard link"):
        materialize(archive, dest)


def test_tar_fifo_is_refused(box, tmp_path):
    src, dest = box
    fifo = tarfile.TarInfo("pipe")
    fifo.type = tarfile.FIFOTYPE
    archive = write_tar(src / "fifo.tar", [("ok.jpg", JPEG), fifo])
    with refused(tmp_path, dest, "'pipe' is a device, fifo"):
        materialize(archive, dest)


def test_zip_symlink_member(box, tmp_path):
    src, dest = box
    info = zipfile.ZipInfo("escape")
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    archive = write_zip(src / "sym.zip", [("ok.jpg", JPEG), (info, str(tmp_path).encode())])
    with refused(tmp_path, dest, "'escape' is a symbolic link"):
        materialize(archive, dest)


# --- bombs and limits ---------------------------------------------------------------


def test_zip_bomb_ratio(box, tmp_path):
    src, dest = box
    archive = write_zip(src / "bomb.zip", [("ok.jpg", JPEG), ("zeros.bin", bytes(30 << 20))])
    assert archive.stat().st_size < 100_000
    with refused(tmp_path, dest, r"'zeros.bin' expands \d+x \(limit 200x\), like a zip bomb"):
        materialize(archive, dest)


def test_tar_gz_bomb_ratio(box, tmp_path):
    src, dest = box
    archive = write_tar(src / "bomb.tar.gz", [("ok.jpg", JPEG), ("zeros.bin", bytes(30 << 20))])
    with refused(tmp_path, dest, r"bomb.tar.gz expands \d+x \(limit 200x\)"):
        materialize(archive, dest)


def test_total_size_and_member_count_limits(box, tmp_path):
    src, dest = box
    archive = write_zip(src / "many.zip", [(f"{i}.jpg", JPEG) for i in range(8)])
    with refused(tmp_path, dest, "expands to over .* GiB, the limit"):
        materialize(archive, dest, limits=ArchiveLimits(max_total_bytes=3 * len(JPEG)))
    with refused(tmp_path, dest, "8 members, over the limit of 5"):
        materialize(archive, dest, limits=ArchiveLimits(max_members=5))
    tar = write_tar(src / "many.tar", [(f"{i}.jpg", JPEG) for i in range(8)])
    with refused(tmp_path, dest, "over 5 members"):
        materialize(tar, dest, limits=ArchiveLimits(max_members=5))


@pytest.mark.parametrize("inner", ["inner.zip", "deeper/inner.tar.gz"])
def test_nested_archive_is_refused_not_extracted(box, tmp_path, inner):
    src, dest = box
    nested = write_zip(tmp_path / "inner.zip", [("x.jpg", JPEG)]).read_bytes()
    (tmp_path / "inner.zip").unlink()
    archive = write_zip(src / "outer.zip", [("ok.jpg", JPEG), (inner, nested)])
    with refused(tmp_path, dest, f"'{inner}' is itself an archive; owb never extracts archives inside archives"):
        materialize(archive, dest)


# --- corruption, cleanup, cancel ------------------------------------------------------


def test_corrupt_member_after_good_ones_cleans_dest(box, tmp_path):
    src, dest = box
    payload = b"PAYLOAD-" * 512
    archive = write_zip(src / "crc.zip", [("a.jpg", JPEG), ("b.jpg", JPEG), ("c.bin", payload)], zipfile.ZIP_STORED)
    data = archive.read_bytes()
    spot = data.index(payload) + 100
    archive.write_bytes(data[:spot] + b"X" + data[spot + 1 :])  # c.bin fails its CRC after a, b are written
    with refused(tmp_path, dest, "crc.zip is corrupt or unsupported.*CRC"):
        materialize(archive, dest)


def test_truncated_and_fake_archives(box, tmp_path):
    src, dest = box
    good = write_tar(src / "good.tar.gz", [(f"{i}.jpg", JPEG) for i in range(20)])
    cut = src / "cut.tar.gz"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with refused(tmp_path, dest, "cut.tar.gz is"):
        materialize(cut, dest)
    fake = src / "fake.zip"
    fake.write_bytes(b"PK\x03\x04 but nothing else")
    with refused(tmp_path, dest, "its content is not a zip or tar archive"):
        materialize(fake, dest)
    with refused(tmp_path, dest, "does not exist"):
        materialize(src / "missing.zip", dest)


def test_cancel_from_progress_cleans_dest(box, tmp_path):
    src, dest = box
    archive = write_zip(src / "ok.zip", [(f"{i}.jpg", JPEG) for i in range(10)])
    calls = []

    def progress(stage: str, done: int, total: int | None) -> None:
        calls.append(done)
        if len(calls) == 3:
            raise Cancelled("cancelled by the user")

    dest.mkdir(parents=True)
    with pytest.raises(Cancelled):
        materialize(archive, dest, progress=progress)
    assert list(dest.iterdir()) == []


def test_dest_must_be_empty(box):
    src, dest = box
    dest.mkdir(parents=True)
    (dest / "old").write_text("x")
    with pytest.raises(ValueError, match="empty destination"):
        materialize(write_zip(src / "a.zip", [("a.jpg", JPEG)]), dest)
    assert (dest / "old").read_text() == "x"


def test_works_without_tarfile_data_filter(box, tmp_path, monkeypatch):
    """Python 3.10 before 3.10.12 has no tarfile.data_filter; the own checks carry."""
    monkeypatch.delattr(tarfile, "data_filter", raising=False)
    src, dest = box
    good = write_tar(src / "good.tar", [("set/a.jpg", JPEG), ("set/b.jpg", JPEG)])
    assert sorted(p.name for p in materialize(good, dest).iterdir()) == ["a.jpg", "b.jpg"]
    other = tmp_path / "sentinel" / "dest2"
    bad = write_tar(src / "bad.tar", [tar_link("x", "/etc", tarfile.SYMTYPE)])
    with refused(tmp_path, other, "symbolic link"):
        materialize(bad, other)


# --- folders and the dataset root -------------------------------------------------------


def test_folder_copy_skips_symlinks(box, tmp_path):
    src, dest = box
    write_image(src / "a.jpg", 1)
    write_image(src / "sub" / "b.png", 2, "PNG")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.jpg").write_bytes(JPEG)
    os.symlink(outside / "secret.jpg", src / "file_link.jpg")
    os.symlink(outside, src / "dir_link")
    os.symlink(tmp_path / "nowhere", src / "dangling.jpg")
    dest.mkdir(parents=True)
    before = snapshot(tmp_path, dest)
    root = materialize(src, dest)
    assert snapshot(tmp_path, dest) == before
    copied = sorted(p.relative_to(root).as_posix() for p in root.rglob("*"))
    assert copied == ["a.jpg", "sub", "sub/b.png"]
    assert not any(p.is_symlink() for p in root.rglob("*"))
    assert load_dataset(root, "unannotated").summary["images"] == 2


def test_folder_copy_into_itself_terminates(tmp_path):
    write_image(tmp_path / "a.jpg", 1)
    root = materialize(tmp_path, tmp_path / "ws" / "data")
    assert sorted(p.name for p in root.iterdir()) == ["a.jpg"]


def test_dataset_root_descends_through_wrappers(tmp_path):
    voc = tmp_path / "voc"
    write_image(voc / "VOCdevkit" / "VOC2012" / "JPEGImages" / "1.jpg", 1)
    (voc / "VOCdevkit" / "VOC2012" / "Annotations").mkdir()
    (voc / "__MACOSX").mkdir()
    assert dataset_root(voc) == voc / "VOCdevkit" / "VOC2012"
    one_class = tmp_path / "one"
    write_image(one_class / "data" / "cats" / "1.jpg", 1)
    assert dataset_root(one_class) == one_class / "data"  # a one-class imagefolder, not a flat folder
    flat = tmp_path / "flat"
    write_image(flat / "photos" / "1.jpg", 1)
    assert dataset_root(flat) == flat / "photos"


def test_empty_folder_and_empty_archive_are_bad_input(box, tmp_path):
    src, dest = box
    (src / "empty").mkdir()
    with refused(tmp_path, dest, "holds no files"):
        materialize(src / "empty", dest)
    empty = write_zip(src / "empty.zip", [])
    with refused(tmp_path, dest, "holds no files"):
        materialize(empty, dest)


def test_non_utf8_member_name_extracts_and_is_skipped_on_load(box, tmp_path):
    src, dest = box
    archive = src / "names.tar"
    with tarfile.open(archive, "w", encoding="utf-8", errors="surrogateescape") as tf:
        for name in ("ok.jpg", os.fsdecode(b"caf\xe9.jpg")):
            info = tarfile.TarInfo(name)
            info.size = len(JPEG)
            tf.addfile(info, io.BytesIO(JPEG))
    root = materialize(archive, dest)
    assert sorted(os.listdir(os.fsencode(root))) == [b"caf\xe9.jpg", b"ok.jpg"]
    summary = load_dataset(root).summary
    assert summary["images"] == 1
    assert summary["problems"] == ["skipped caf\\xe9.jpg: file name is not valid UTF-8; rename it"]
