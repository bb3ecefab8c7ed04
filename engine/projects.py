"""Projects: a model evaluated on a dataset on a device. Optimized models are
children of their parent model, and so are their projects."""

from __future__ import annotations

from .records import Dataset, Model, Project
from .workspace import Workspace


def ensure_project(ws: Workspace, model: Model, dataset: Dataset, device: str = "CPU") -> Project:
    """The project for (model, dataset, device), created on first use."""
    with ws.locked():
        found = ws.find(Project, model=model.id, dataset=dataset.id, device=device)
        if found:
            return found[0]
        parent = None
        if model.parent:
            parents = ws.find(Project, model=model.parent, dataset=dataset.id, device=device)
            parent = parents[0].id if parents else None
        return ws.add(Project(name=f"{model.name}@{dataset.name}", model=model.id, dataset=dataset.id, device=device,
                              parent=parent), unique=True)


def model_tree(ws: Workspace) -> list[tuple[int, Model]]:
    """Models in display order, each with its depth: children under parents."""
    models = ws.all(Model)
    by_parent: dict[str | None, list[Model]] = {}
    ids = {m.id for m in models}
    for m in models:
        by_parent.setdefault(m.parent if m.parent in ids else None, []).append(m)
    out: list[tuple[int, Model]] = []

    def walk(parent: str | None, depth: int) -> None:
        for m in sorted(by_parent.get(parent, []), key=lambda r: r.created):
            out.append((depth, m))
            walk(m.id, depth + 1)

    walk(None, 0)
    return out


def descendants(ws: Workspace, model: Model) -> list[Model]:
    """Every model optimized from ``model``, at any depth, children first."""
    models = ws.all(Model)
    out: list[Model] = []
    frontier = [model.id]
    while frontier:
        kids = [m for m in models if m.parent in frontier and m not in out]
        out.extend(kids)
        frontier = [m.id for m in kids]
    return out


def remove_model(ws: Workspace, model: Model, *, recursive: bool = False) -> list[Model]:
    """Remove a model with its projects, results, reports and files; its
    optimized children too when ``recursive``. Returns what was removed.

    Refused while a job works on one of them: the job would write results for
    a model that no longer exists."""
    import shutil

    from .errors import BadInput
    from .jobs.client import active
    from .records import InferenceResult, Report

    children = descendants(ws, model)
    if children and not recursive:
        names = ", ".join(m.name for m in children[:5]) + (" …" if len(children) > 5 else "")
        raise BadInput(f"{model.name} has {len(children)} optimized model(s) ({names}); remove them first, "
                       "or remove them all with --recursive")
    doomed = [model, *children]
    ids = {m.id for m in doomed}
    for job in active(ws):
        if ids & {job.params.get(k) for k in ("model", "a", "b")} or \
                any((m.provenance or {}).get("job") == job.id for m in doomed):
            raise BadInput(f"job {job.id} ({job.name}) works on {model.name}; cancel it first "
                           f"(`owb jobs cancel {job.id}`) or wait for it")
    folders = []
    with ws.locked():
        for report in ws.all(Report):
            if report.model in ids or report.reference in ids:
                ws.remove(report)
                folders.append(ws.home / "reports" / report.id)
        for cls in (InferenceResult, Project):
            for record in ws.all(cls):
                if record.model in ids:
                    ws.remove(record)
        for m in doomed:
            ws.remove(m)
            folder = ws.path(m.path).parent if m.path else ws.home / "models" / m.id
            if folder.parent == ws.home / "models":  # never anything outside the model's own folder
                folders.append(folder)
            folders.extend((ws.home / "outputs").glob(f"{m.id}-*"))
    for folder in folders:  # after the records: a crash here leaves files nobody lists, never a broken record
        shutil.rmtree(folder, ignore_errors=True)
    return doomed
