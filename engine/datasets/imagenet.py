"""ImageNet-style classification: images plus ``val.txt`` lines
``<file> <label>`` and an optional ``labels.txt`` with one name per line."""

from __future__ import annotations

import os
from pathlib import Path

from engine import limits
from engine.errors import BadInput

from .base import DatasetIndex, Item, Problems, finalize
from .images import is_ignored, is_image_name, is_utf8_name, printable_name, safe_relpath


def read_text_lines(path: Path, root: Path) -> list[str]:
    rel = path.relative_to(root).as_posix()
    try:
        text = limits.read_text_file(path, "annotation file").decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadInput(f"{rel} is not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    return text.splitlines()


def read_label_names(path: Path, root: Path) -> list[str] | None:
    """One class name per line; trailing blank lines are dropped."""
    if not path.is_file():
        return None
    names = [line.strip() for line in read_text_lines(path, root)]
    while names and not names[-1]:
        names.pop()
    if not names:
        raise BadInput(f"{path.name} is empty; give one class name per line or delete it")
    if len(names) > limits.MAX_CLASSES:
        raise BadInput(f"{path.name} has {len(names):,} classes, over owb's limit of {limits.MAX_CLASSES:,}")
    long = next((i for i, name in enumerate(names, 1) if len(name) > limits.MAX_LINE_CHARS), None)
    if long is not None:
        raise BadInput(f"{path.name}:{long}: a class name over {limits.MAX_LINE_CHARS} characters long")
    return names


def load(root: Path) -> DatasetIndex:
    root = Path(root)
    val = root / "val.txt"
    if not val.is_file():
        raise BadInput(f"{root} has no val.txt; an imagenet dataset needs lines '<file> <label>'")
    problems = Problems()
    entries: list[tuple[int, str, int]] = []
    seen: set[str] = set()
    for lineno, raw in enumerate(read_text_lines(val, root), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if len(line) > limits.MAX_LINE_CHARS:
            problems.add(f"val.txt:{lineno}: line of {len(line):,} characters skipped (over {limits.MAX_LINE_CHARS})")
            continue
        parts = line.rsplit(None, 1)  # file names may contain spaces, labels do not
        if len(parts) != 2:
            problems.add(f"val.txt:{lineno}: expected '<file> <label>', got {line[:60]!r}")
            continue
        try:
            label = int(parts[1])
        except ValueError:
            problems.add(f"val.txt:{lineno}: label {parts[1][:20]!r} is not an integer")
            continue
        rel = safe_relpath(parts[0])
        if rel is None:
            problems.add(f"val.txt:{lineno}: path {parts[0][:60]!r} leaves the dataset folder")
            continue
        if rel in seen:
            problems.add(f"val.txt:{lineno}: {rel} is listed twice; the first line counts")
            continue
        seen.add(rel)
        entries.append((lineno, rel, label))
    if not entries:
        raise BadInput(f"{val} has no '<file> <label>' lines")

    names = read_label_names(root / "labels.txt", root)
    if names is None:
        # Class names are the numbers themselves; a label of 2,000,000,000
        # must not become two billion names (nor a 73 MB DB record).
        top = max((label for _, _, label in entries if label < limits.MAX_NUMBERED_CLASSES), default=-1)
        names = [str(i) for i in range(top + 1)]
        over = sum(1 for _, _, label in entries if label >= limits.MAX_NUMBERED_CLASSES)
        if over:
            problems.add(f"val.txt: {over} lines have a label of {limits.MAX_NUMBERED_CLASSES:,} or more, over owb's "
                         f"limit of classes numbered without a labels.txt; they were skipped (a labels.txt naming "
                         f"the classes allows up to {limits.MAX_CLASSES:,})")
    top_files = {e.name for e in os.scandir(root) if e.is_file(follow_symlinks=False)}
    items: list[Item] = []
    for lineno, rel, label in entries:
        if not 0 <= label < len(names):
            problems.add(f"val.txt:{lineno}: label {label} of {rel} is out of range 0..{len(names) - 1}")
        elif not (rel in top_files if "/" not in rel else os.path.isfile(root / rel)):
            problems.add(f"val.txt:{lineno}: {rel} is missing")
        else:
            items.append(Item(rel, label=label))
    for name in sorted(n for n in top_files if not is_utf8_name(n)):
        problems.add(f"skipped {printable_name(name)}: file name is not valid UTF-8; rename it")
    unlisted = sum(
        1 for n in top_files if is_image_name(n) and not is_ignored(n) and is_utf8_name(n) and n not in seen
    )
    if unlisted:
        problems.add(f"{unlisted} images in the folder are not in val.txt and were ignored")
    return finalize("imagenet", root, items, names, problems)
