"""Where reports live: rows as uncompressed ``.npz`` files of numpy columns in
``<home>/reports/<report id>/<table>.npz``, and a Report record in the DB with
the metadata and summary only (TinyDB rewrites its whole file on each write,
so 50,000 rows must never go there).

A report folder is written in a scratch folder and renamed into place before
its record is added, so a crash never leaves a listed half-written report."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from engine.errors import BadInput, NotFound
from engine.records import Report
from engine.workspace import Workspace

from .table import ReportTable

FORMAT_VERSION = 1


def save_table(path: Path, table: ReportTable) -> None:
    """One table as one .npz: no pickle, so loading never runs code."""
    arrays: dict[str, np.ndarray] = {
        "meta": np.asarray(json.dumps({"version": FORMAT_VERSION, "columns": table.columns,
                                       "flags": list(table.flags)})),
        "items": np.asarray(table.items, np.int64),
    }
    for i, col in enumerate(table.data):
        arrays[f"col{i}"] = col
    for i, name in enumerate(table.flags):
        arrays[f"flag{i}"] = table.flags[name]
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **arrays)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_table(path: Path) -> ReportTable:
    try:
        with np.load(path, allow_pickle=False) as npz:
            meta = json.loads(str(npz["meta"]))
            if meta.get("version") != FORMAT_VERSION:
                raise ValueError(f"format version {meta.get('version')!r}")
            data = [npz[f"col{i}"] for i in range(len(meta["columns"]))]
            flags = {name: npz[f"flag{i}"] for i, name in enumerate(meta["flags"])}
            return ReportTable(list(meta["columns"]), data, npz["items"], flags)
    except FileNotFoundError:
        raise NotFound(f"report rows {path} are missing; create the report again") from None
    except (OSError, ValueError, KeyError) as exc:
        raise BadInput(f"report rows {path} are unreadable ({exc}); create the report again") from None


def write_report(ws: Workspace, report: Report, tables: dict[str, ReportTable]) -> Report:
    """Store ``tables`` (by mode: "basic", "advanced") and add the record."""
    scratch = ws.tmp_dir("report-")
    final = ws.home / "reports" / report.id
    try:
        for mode, table in tables.items():
            save_table(scratch / f"{mode}.npz", table)
        scratch.rename(final)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    report.path = ws.rel(final)
    report.summary = {**report.summary, "tables": {mode: len(t) for mode, t in tables.items()}}
    try:
        return ws.add(report, unique=True)
    except BaseException:
        shutil.rmtree(final, ignore_errors=True)
        raise


def modes(report: Report) -> list[str]:
    return list(report.summary.get("tables", {}))


def open_table(ws: Workspace, report: Report, mode: str = "basic") -> ReportTable:
    """A stored report's rows. ``mode`` is "basic" or "advanced"; reports
    with one table (classification, tensor distance) have only "basic"."""
    have = modes(report)
    if mode not in have:
        raise BadInput(f"report {report.id} ({report.kind}) has no {mode!r} table; it has: {', '.join(have)}")
    return load_table(ws.path(report.path) / f"{mode}.npz")


def list_reports(ws: Workspace, model: str | None = None, project: str | None = None) -> list[Report]:
    """Reports, newest first; ``model`` (id) matches the model or its reference."""
    out = ws.all(Report)
    if model is not None:
        out = [r for r in out if model in (r.model, r.reference)]
    if project is not None:
        out = [r for r in out if r.project == project]
    return sorted(out, key=lambda r: -r.created)


def delete_report(ws: Workspace, report: Report) -> None:
    ws.remove(report)
    shutil.rmtree(ws.path(report.path), ignore_errors=True)
