"""Which datasets a model's pickers offer, and which one they start on: those
whose annotations the model's task reads come first, and the default is the
dataset last used with the model (else the first that fits), so a
segmentation model never starts on an ImageNet set."""

from __future__ import annotations

from .records import TASK_FORMATS, Dataset, InferenceResult, Job, Model, Report
from .workspace import Workspace


def fits(model: Model, dataset: Dataset) -> bool:
    """The dataset's annotations are what the model's task measures against
    (any dataset fits a generic model: its reports compare raw outputs)."""
    formats = TASK_FORMATS.get(model.config.task)
    return formats is None or dataset.format in formats


def recently_used(ws: Workspace, model: Model) -> list[str]:
    """Ids of the datasets measured, reported or calibrated on with this
    model, most recent first (failed jobs do not count)."""
    uses: list[tuple[float, str]] = []
    for r in ws.find(InferenceResult, model=model.id):
        if r.dataset:
            uses.append((r.created, r.dataset))
    uses += [(r.created, r.dataset) for r in ws.find(Report, model=model.id) if r.dataset]
    for job in ws.all(Job):
        if job.params.get("model") == model.id and job.params.get("dataset") and job.state == "done":
            uses.append((job.created, str(job.params["dataset"])))
    order: list[str] = []
    for _, dataset in sorted(uses, reverse=True):
        if dataset not in order:
            order.append(dataset)
    return order


def ordered(ws: Workspace, model: Model, *, annotated_only: bool = False) -> tuple[list[Dataset], str | None]:
    """(datasets in picker order, the default's id): those that fit the
    task first, each group most recently used first, then in import order.
    The first is the default."""
    datasets = [d for d in ws.all(Dataset) if d.annotated or not annotated_only]
    recent = recently_used(ws, model)
    rank = {d: i for i, d in enumerate(recent)}
    datasets.sort(key=lambda d: (not fits(model, d), rank.get(d.id, len(rank))))  # stable otherwise
    return datasets, (datasets[0].id if datasets else None)
