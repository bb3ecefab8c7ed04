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
