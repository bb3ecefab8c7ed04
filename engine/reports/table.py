"""A report's rows as numpy columns: sorted, filtered, searched and exported
without ever turning 50,000 rows into Python objects.

Every column is one 1-D array: float64 (NaN = no value, e.g. a precision with
no detections), int64, or a fixed-width unicode array for text. Sorting is an
argsort over one column and filtering a boolean mask, so a screen can re-order
or narrow a 50k-row report in milliseconds and format only the rows it shows."""

from __future__ import annotations

import csv
import io
import math
import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from engine.errors import BadInput

TEXT, INT, FLOAT = "text", "int", "float"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # what spreadsheets read as a formula
_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "=": operator.eq, "!=": operator.ne,
}


def column_kind(array: np.ndarray) -> str:
    if array.dtype.kind in "US":
        return TEXT
    if array.dtype.kind in "iub":
        return INT
    return FLOAT


def as_column(values: Any, kind: str) -> np.ndarray:
    """A list of row values as the column array a ReportTable holds."""
    if kind == TEXT:
        return np.asarray([str(v) for v in values], dtype=np.str_) if len(values) else np.zeros(0, "U1")
    if kind == INT:
        return np.asarray(values, dtype=np.int64).reshape(-1)
    return np.asarray(values, dtype=np.float64).reshape(-1)


def json_value(value: Any) -> Any:
    """A cell as JSON: NaN (no value) is null; infinities, which JSON cannot
    hold, are the strings "inf"/"-inf" (an SQNR of identical tensors)."""
    if isinstance(value, (np.floating, float)):
        v = float(value)
        if math.isnan(v):
            return None
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return v
    if isinstance(value, (np.integer, int)):
        return int(value)
    return str(value)


def format_value(value: Any, kind: str) -> str:
    """A cell as the text a table shows: 4 significant figures for floats,
    scientific notation for the very small or large, '—' for no value."""
    if kind == TEXT:
        return str(value)
    if kind == INT:
        return str(int(value))
    v = float(value)
    if math.isnan(v):
        return "—"
    if math.isinf(v):
        return "∞" if v > 0 else "-∞"
    if v != 0 and (abs(v) < 1e-3 or abs(v) >= 1e6):
        return f"{v:.3e}"
    return f"{v:.4f}"


def resolve_column(columns: list[str], name: str) -> int:
    """A column by title: exact (any case), else a unique prefix, else a
    unique part of a title. BadInput lists the columns otherwise."""
    wanted = name.strip().casefold()
    titles = [c.casefold() for c in columns]
    if wanted in titles:
        return titles.index(wanted)
    hits: list[int] = []
    for test in (str.startswith, str.__contains__):
        hits = [i for i, t in enumerate(titles) if wanted and test(t, wanted)]
        if len(hits) == 1:
            return hits[0]
        if hits:
            break
    why = "matches several columns" if hits else "is not a column"
    raise BadInput(f"{name!r} {why}; columns: {'; '.join(columns)}")


@dataclass
class ReportTable:
    """Rows of one report table.

    ``columns`` are the titles in display order and ``data`` one array per
    title. ``items`` is each row's dataset item index (for Visualize), and
    ``flags`` are named row filters computed when the report was built, such
    as "erroneous" (accuracy) or "different" (optimized vs parent)."""

    columns: list[str]
    data: list[np.ndarray]
    items: np.ndarray
    flags: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.items)
        if len(self.columns) != len(self.data):
            raise ValueError(f"{len(self.columns)} column titles for {len(self.data)} columns")
        for title, col in zip(self.columns, self.data):
            if col.ndim != 1 or len(col) != n:
                raise ValueError(f"column {title!r} has shape {col.shape}, expected ({n},)")
        for name, mask in self.flags.items():
            if mask.dtype != bool or len(mask) != n:
                raise ValueError(f"flag {name!r} must be a boolean array of {n} rows")

    def __len__(self) -> int:
        return len(self.items)

    @property
    def kinds(self) -> list[str]:
        return [column_kind(c) for c in self.data]

    # -- columns ---------------------------------------------------------
    def column_index(self, name: str) -> int:
        return resolve_column(self.columns, name)

    def column(self, name: str) -> np.ndarray:
        return self.data[self.column_index(name)]

    # -- ordering and filtering ------------------------------------------
    def order(self, column: str | int, descending: bool = False) -> np.ndarray:
        """Row positions sorted by one column; stable, NaN last either way."""
        col = self.data[column if isinstance(column, int) else self.column_index(column)]
        if column_kind(col) == TEXT:
            # Ranks of the distinct values sort both ways while staying stable.
            _, key = np.unique(col, return_inverse=True)
            key = key.reshape(-1).astype(np.int64)
        else:
            key = col
        if descending:
            key = -key.astype(np.float64) if key.dtype.kind == "f" else -key
        return np.argsort(key, kind="stable")

    def take(self, rows: np.ndarray) -> ReportTable:
        rows = np.asarray(rows)
        return ReportTable(list(self.columns), [c[rows] for c in self.data], self.items[rows],
                           {k: v[rows] for k, v in self.flags.items()})

    def sorted_by(self, column: str | int, descending: bool = False) -> ReportTable:
        return self.take(self.order(column, descending))

    def flag(self, name: str) -> np.ndarray:
        if name not in self.flags:
            known = ", ".join(self.flags) or "none"
            raise BadInput(f"this report has no {name!r} filter (it has: {known})")
        return self.flags[name]

    def only(self, name: str) -> ReportTable:
        return self.take(np.flatnonzero(self.flag(name)))

    def contains(self, text: str, column: str | None = None) -> np.ndarray:
        """Rows whose text (any text column, or the shown text of one column)
        holds ``text``, any case. A plain loop over Python strings: numpy's
        np.char functions are ten times slower on 50k rows."""
        needle = text.casefold()
        if column is not None:
            cols = [self.column_index(column)]
        else:
            cols = [i for i, c in enumerate(self.data) if column_kind(c) == TEXT]
        mask = np.zeros(len(self), bool)
        for i in cols:
            col = self.data[i]
            kind = column_kind(col)
            values = col.tolist() if kind == TEXT else [format_value(v, kind) for v in col.tolist()]
            mask |= np.fromiter((needle in v.casefold() for v in values), bool, len(values))
        return mask

    def compare(self, column: str, op: str, value: float | str) -> np.ndarray:
        """Rows where ``column op value`` holds, e.g. ("Result", "<", 0.5)."""
        if op not in _COMPARE:
            raise BadInput(f"unknown comparison {op!r}; use one of {' '.join(_COMPARE)}")
        col = self.column(column)
        if column_kind(col) != TEXT:
            try:
                value = float(value)
            except (TypeError, ValueError):
                raise BadInput(f"column {self.columns[self.column_index(column)]!r} holds numbers; "
                               f"{value!r} is not one") from None
        with np.errstate(invalid="ignore"):
            return np.asarray(_COMPARE[op](col, value), bool)

    def where(self, mask: np.ndarray) -> ReportTable:
        return self.take(np.flatnonzero(mask))

    # -- cells and export ------------------------------------------------
    def cell(self, row: int, col: int) -> str:
        return format_value(self.data[col][row], column_kind(self.data[col]))

    def rows(self, start: int = 0, stop: int | None = None) -> list[list]:
        """Rows as JSON-ready lists (see ``json_value``)."""
        stop = len(self) if stop is None else min(stop, len(self))
        cols = [c[start:stop].tolist() for c in self.data]
        return [[json_value(v) for v in row] for row in zip(*cols)] if cols else []

    def to_csv(self, target: str | Path | io.TextIOBase) -> None:
        """CSV with a header of column titles. Floats keep full precision
        (repr), NaN is an empty cell and infinities are inf/-inf, so the
        numbers read back exactly with float(). A text cell that a
        spreadsheet would run as a formula gets a leading quote (OWASP's
        advice): labels and file names come from datasets owb did not make.
        A path is written atomically; check it with engine.output.output_path."""
        def cell(v: Any) -> Any:
            if isinstance(v, float):
                return "" if math.isnan(v) else repr(v)
            if isinstance(v, str) and v[:1] in FORMULA_STARTS:
                return "'" + v
            return v

        def write(fh: Any) -> None:
            w = csv.writer(fh)
            w.writerow([cell(c) for c in self.columns])
            chunk = 4096
            for start in range(0, len(self), chunk):
                cols = [c[start:start + chunk].tolist() for c in self.data]
                w.writerows([cell(v) for v in row] for row in zip(*cols))

        if isinstance(target, (str, Path)):
            from ..output import atomic_output

            with atomic_output(Path(target)) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
                write(fh)
        else:
            write(target)


def json_ready(obj: Any) -> Any:
    """Nested dicts/lists with every float made JSON-safe by ``json_value``."""
    if isinstance(obj, dict):
        return {str(k): json_ready(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_ready(v) for v in obj]
    if isinstance(obj, (float, np.floating, np.integer)):
        return json_value(obj)
    return obj
