"""The normalized dataset index every format loader produces, and the shared
last step that checks images, counts classes and writes the summary."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from engine.errors import BadInput, NotFound
from engine.limits import note

from .images import check_images

INDEX_VERSION = 1
# The summary lands in the workspace DB, which TinyDB rewrites whole on every
# write, so long lists are capped and the full count is kept beside them.
MAX_PROBLEM_LINES = 50
MAX_UNREADABLE_LISTED = 200
_OPTIONAL_COLUMNS = ("label", "boxes", "box_labels", "difficult", "mask")


@dataclass
class Item:
    file: str  # path relative to the dataset root, '/' separators
    label: int | None = None  # classification class index
    boxes: list[list[float]] | None = None  # [[x1, y1, x2, y2], ...] in original pixels
    box_labels: list[int] | None = None
    difficult: list[bool] | None = None
    mask: str | None = None  # PNG of class indices (255 = ignore), relative path


@dataclass
class DatasetIndex:
    format: str
    root: Path
    items: list[Item]
    labels: list[str]
    annotated: bool
    summary: dict

    def save(self, path: Path) -> None:
        """Columnar JSON: one list per field, written atomically. Columns no
        item uses are left out, so a 50k classification index stays ~2 MB."""
        columns: dict[str, list] = {"file": [it.file for it in self.items]}
        for name in _OPTIONAL_COLUMNS:
            values = [getattr(it, name) for it in self.items]
            if any(v is not None for v in values):
                columns[name] = values
        doc = {
            "version": INDEX_VERSION,
            "format": self.format,
            "root": str(self.root),
            "labels": self.labels,
            "annotated": self.annotated,
            "summary": self.summary,
            "items": columns,
        }
        text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
        path = Path(path)
        fd, tmp = tempfile.mkstemp(prefix=".index-", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8", errors="surrogateescape") as fh:
                fh.write(text)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: Path) -> DatasetIndex:
        path = Path(path)
        try:
            doc = json.loads(path.read_text(encoding="utf-8", errors="surrogateescape"))
            if doc.get("version") != INDEX_VERSION:
                raise ValueError(f"index version {doc.get('version')!r}, expected {INDEX_VERSION}")
            columns = doc["items"]
            files = columns["file"]
            n = len(files)
            rest = [columns.get(name) or [None] * n for name in _OPTIONAL_COLUMNS]
            items = [Item(f, *values) for f, *values in zip(files, *rest)]
            return cls(
                format=doc["format"],
                root=Path(doc["root"]),
                items=items,
                labels=list(doc["labels"]),
                annotated=bool(doc["annotated"]),
                summary=doc["summary"],
            )
        except FileNotFoundError:
            raise NotFound(f"dataset index {path} is missing; re-import the dataset") from None
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise BadInput(f"dataset index {path} is unreadable ({exc}); re-import the dataset") from None


class Problems:
    """Annotation and file problems as one-line strings, capped but counted."""

    def __init__(self, cap: int = MAX_PROBLEM_LINES) -> None:
        self.cap = cap
        self.lines: list[str] = []
        self.count = 0

    def add(self, line: str) -> None:
        self.count += 1
        if len(self.lines) < self.cap:
            self.lines.append(note(line))  # a 50 MB val.txt line must not land in the DB

    def listing(self) -> list[str]:
        more = self.count - len(self.lines)
        return self.lines + ([f"... and {more} more problems"] if more else [])


def class_keys(labels: list[str]) -> list[str]:
    """Keys for per_class: the names, made unique because real label files
    repeat names (ImageNet has two 'crane' and two 'maillot' classes)."""
    seen: dict[str, int] = {}
    for name in labels:
        seen[name] = seen.get(name, 0) + 1
    return [f"{name} [{i}]" if seen[name] > 1 else name for i, name in enumerate(labels)]


def count_per_class(
    items: list[Item], labels: list[str], present: Mapping[str, Iterable[int]] | None = None
) -> dict[str, int]:
    """Classification: images per class. Detection: boxes per class.
    Segmentation (``present``: classes found in each item's mask): images
    in which the class appears."""
    counts = [0] * len(labels)
    for it in items:
        if present is not None:
            indices: Iterable[int] = present.get(it.file, ())
        elif it.box_labels is not None:
            indices = it.box_labels
        elif it.label is not None:
            indices = (it.label,)
        else:
            continue
        for idx in indices:
            if 0 <= idx < len(counts):
                counts[idx] += 1
    return dict(zip(class_keys(labels), counts))


ItemCheck = Callable[[Item, "tuple[int, int]"], bool]


def finalize(
    fmt: str,
    root: Path,
    items: list[Item],
    labels: list[str],
    problems: Problems,
    *,
    annotated: bool = True,
    check: ItemCheck | None = None,
    present: Mapping[str, Iterable[int]] | None = None,
    extra: dict | None = None,
) -> DatasetIndex:
    """Check every item's image header, drop the unreadable ones, let the
    format veto items that need the image size (``check`` returns False to
    drop), and build the summary. BadInput when nothing usable is left."""
    results = check_images(root, [it.file for it in items])
    unreadable: list[str] = []
    kept: list[Item] = []
    for it in items:
        result = results[it.file]
        if result.error is not None:
            unreadable.append(it.file)
            problems.add(f"unreadable image {it.file}: {result.error}")
            continue
        if check is not None and not check(it, result.size):
            continue
        kept.append(it)
    if not kept:
        raise BadInput(_nothing_left(root, items, unreadable, problems))
    summary = {
        "images": len(kept),
        "classes": len(labels),
        "per_class": count_per_class(kept, labels, present),
        "unreadable": unreadable[:MAX_UNREADABLE_LISTED],
        "unreadable_count": len(unreadable),
        "problems": problems.listing(),
        "problem_count": problems.count,
        **(extra or {}),
    }
    return DatasetIndex(fmt, Path(root), kept, list(labels), annotated, summary)


def _nothing_left(root: Path, items: list[Item], unreadable: list[str], problems: Problems) -> str:
    if items and len(unreadable) == len(items):
        first = next((line for line in problems.lines if line.startswith("unreadable image")), unreadable[0])
        return f"none of the {len(items)} images in {root} could be read ({first}); check the files"
    first = f": {problems.lines[0]}" if problems.lines else ""
    return f"no usable annotated images in {root}{first} ({problems.count} problems in all)"
