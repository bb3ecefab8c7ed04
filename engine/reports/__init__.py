"""Accuracy reports, optimized-vs-parent predictions and tensor distance.

A report is computed once from stored raw outputs (see ``outputs``), kept as
numpy columns beside the workspace DB (see ``storage``), and only read after
that: screens and the CLI open its ReportTable and sort, filter or export it.

    report = create_report(ws, ReportSpec("predictions", "cls-int8", "orient"))
    table = open_table(ws, report, "basic").sorted_by("Image Name").only("different")
"""

from __future__ import annotations

import threading
from typing import Any

from engine.errors import BadInput
from engine.progress import Progress
from engine.records import Dataset, Model, Report
from engine.workspace import Workspace

from .outputs import fingerprint
from .query import ReportQuery
from .spec import FLAGS, KINDS, ReportSpec
from .storage import delete_report, list_reports, modes, open_table, write_report
from .table import ReportTable, json_ready, resolve_column

__all__ = [
    "FLAGS", "KINDS", "ReportQuery", "ReportSpec", "ReportTable", "columns", "create_report", "delete_report", "list_reports",
    "modes", "open_table", "report_job", "report_json", "resolve", "resolve_column",
]


def columns(kind: str, task: str, mode: str = "basic") -> list[str]:
    """The column titles a report of this kind, task and mode will have, so a
    caller can check a sort column (or lay out a table) before building it."""
    from . import accuracy, predictions, rows, tensor_distance

    if kind == "tensor-distance":
        tables = {"basic": tensor_distance.TITLES}
    elif task == "classification":
        tables = {"basic": (accuracy if kind == "accuracy" else predictions).CLASSIFICATION}
    elif task == "detection":
        source = accuracy if kind == "accuracy" else predictions
        tables = {"basic": source.DETECTION_BASIC, "advanced": source.DETECTION_ADVANCED}
    elif task == "segmentation":
        tables = {"basic": rows.SEGMENTATION_BASIC, "advanced": rows.SEGMENTATION_ADVANCED}
    else:
        raise BadInput(f"a {kind} report needs a classification, detection or segmentation model, not {task}; "
                       "tensor-distance works for any")
    if mode not in tables:
        raise BadInput(f"{kind} reports for {task} have no {mode!r} table; they have: {', '.join(tables)}")
    return list(tables[mode])


def resolve(ws: Workspace, spec: ReportSpec) -> tuple[Model, Model | None, Dataset]:
    """The spec's records; the reference defaults to the model's parent."""
    spec.validate()
    model = ws.get(Model, spec.model)
    dataset = ws.get(Dataset, spec.dataset)
    reference = None
    if spec.needs_reference:
        if spec.reference is not None:
            reference = ws.get(Model, spec.reference)
        elif model.parent:
            reference = ws.get(Model, model.parent)
        else:
            raise BadInput(f"model {model.name!r} has no parent to compare with; name one with --vs MODEL")
    return model, reference, dataset


def _fingerprints(model: Model, reference: Model | None) -> dict:
    return {"model": fingerprint(model), "reference": fingerprint(reference) if reference else None}


def find_existing(ws: Workspace, spec: ReportSpec, model: Model, reference: Model | None,
                  dataset: Dataset) -> Report | None:
    """A stored report built from the same models, configuration and options."""
    want = {"options": spec.options(), "fingerprints": _fingerprints(model, reference)}
    for r in list_reports(ws, model.id):
        if (r.kind, r.model, r.reference, r.dataset) != (spec.kind, model.id, reference.id if reference else None,
                                                         dataset.id):
            continue
        if all(r.summary.get(k) == v for k, v in want.items()) and ws.path(r.path).is_dir():
            return r
    return None


def create_report(ws: Workspace, spec: ReportSpec, *, reuse: bool = True, cancel: threading.Event | None = None,
                  progress: Progress | None = None) -> Report:
    """Build and store a report, or return the stored one with the same inputs.

    ``progress(stage, done, total)`` is called from this thread."""
    from engine.projects import ensure_project

    from . import accuracy, predictions, tensor_distance

    model, reference, dataset = resolve(ws, spec)
    columns(spec.kind, model.config.task, spec.mode)  # a table this report will not have is refused now
    if reuse:
        found = find_existing(ws, spec, model, reference, dataset)
        if found is not None:
            if found.summary.get("mode", "basic") != spec.mode:
                ws.update(found, summary={**found.summary, "mode": spec.mode})
            return found
    if spec.kind == "accuracy":
        tables, summary = accuracy.build(ws, model, dataset, spec, cancel=cancel, progress=progress)
    elif spec.kind == "predictions":
        assert reference is not None
        tables, summary = predictions.build(ws, model, reference, dataset, spec, cancel=cancel, progress=progress)
    else:
        assert reference is not None
        tables, summary = tensor_distance.build(ws, model, reference, dataset, cancel=cancel, progress=progress)
    summary.update(options=spec.options(), fingerprints=_fingerprints(model, reference), mode=spec.mode)
    vs = f" vs {reference.name}" if reference else ""
    project = ensure_project(ws, model, dataset)
    with ws.locked():
        report = Report(name=f"{spec.kind} {model.name}{vs} @ {dataset.name}",
                        kind=spec.kind, project=project.id, model=model.id,
                        reference=reference.id if reference else None, dataset=dataset.id,
                        summary=json_ready(summary))
        return write_report(ws, report, tables)


def report_job(ctx: Any, spec: ReportSpec, reuse: bool = True) -> dict:
    """A JobRunner body: ``runner.submit("report", lambda ctx: report_job(ctx, spec))``."""
    report = create_report(ctx.ws, spec, reuse=reuse, cancel=ctx.cancel,
                           progress=ctx.progress)
    return {"report": report.id, "name": report.name, "kind": report.kind, "summary": report.summary}


def report_json(ws: Workspace, report: Report, table: ReportTable, mode: str) -> dict:
    """The `owb report --json` document: kind, columns, rows, summary, and where it came from."""
    names = {m.id: m.name for m in ws.all(Model)}
    datasets = {d.id: d.name for d in ws.all(Dataset)}
    return {
        "kind": report.kind,
        "mode": mode,
        "columns": list(table.columns),
        "rows": table.rows(),
        "summary": report.summary,
        "id": report.id,
        "model": names.get(report.model, report.model),
        "reference": names.get(report.reference, report.reference) if report.reference else None,
        "dataset": datasets.get(report.dataset, report.dataset),
    }
