"""Project archives: a model, its optimized children, their inference history
and reports (optionally their datasets), moved between workspaces as one
.owb file (a tar.gz with a manifest).

Import never trusts the archive: it is extracted by the dataset importer's
safe extractor (no traversal, links, specials or bombs) into the workspace's
scratch folder, every file is checked against the manifest's sizes and
SHA-256s, and every record against the files it names. Only then, under the
workspace lock, are ids and names mapped (kept when free, else fresh, and the
caller is told), folders renamed into place and all records added in ONE
database write, so the workspace gets all of the project or none of it."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .bundle import ARCHIVE_FORMAT, ARCHIVE_SCHEMA, KINDS, MANIFEST, Bundle, bad, read_bundle, sha256
from .errors import BadInput, NotFound
from .records import Dataset, InferenceResult, Model, Project, Record, Report, new_id
from .workspace import SCHEMA_VERSION, Workspace

# ---------------------------------------------------------------- export

def resolve_root(ws: Workspace, key: str) -> Model:
    """A model by name or id, or the model of a project of that name."""
    model = ws.maybe(Model, key)
    if model is not None:
        return model
    project = ws.maybe(Project, key)
    if project is not None:
        return ws.get(Model, project.model)
    return ws.get(Model, key)  # raises NotFound listing the models


def subtree(ws: Workspace, root: Model) -> list[Model]:
    """``root`` and every model optimized from it, parents before children."""
    models = sorted(ws.all(Model), key=lambda m: m.created)
    out, frontier = [root], {root.id}
    while frontier:
        children = [m for m in models if m.parent in frontier and m not in out]
        out += children
        frontier = {m.id for m in children}
    return out


def dataset_fingerprint(index_file: Path) -> str | None:
    """What a dataset holds (format, labels, items), not where it was imported."""
    try:
        doc = json.loads(index_file.read_text(encoding="utf-8", errors="surrogateescape"))
        content = {k: doc[k] for k in ("format", "labels", "items")}
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def _dataset_ids(models: list[Model], *groups: list[Any]) -> set[str]:
    ids = {r.dataset for g in groups for r in g if getattr(r, "dataset", None)}
    for m in models:
        ids |= {m.provenance[k] for k in ("dataset", "calibration_dataset") if isinstance(m.provenance.get(k), str)}
    return ids


def _files_of(ws: Workspace, kind: str, record: Any) -> list[tuple[str, Path]]:
    """(path inside the archive's files/, source file) for a record's bulk data."""
    if kind == "models":
        xml = ws.path(record.path)
        found = [xml, xml.with_suffix(".bin")]
    elif kind == "reports":
        found = sorted(ws.path(record.path).glob("*.npz"))
    else:
        top = ws.home / "datasets" / record.id
        if not (record.path.startswith(f"datasets/{record.id}/") and record.index.startswith(f"datasets/{record.id}/")):
            raise BadInput(f"dataset {record.name!r} is not stored under datasets/{record.id}/; export without --with-datasets")
        found = sorted(p for p in top.rglob("*") if p.is_file() and not p.is_symlink())
        return [(f"datasets/{record.id}/{p.relative_to(top).as_posix()}", p) for p in found]
    missing = [p for p in found if not p.is_file()]
    if missing or not found:
        raise NotFound(f"{kind[:-1]} {record.name!r} is missing its files ({missing[0] if missing else ws.path(record.path)}); "
                       "it cannot be exported")
    return [(f"{kind}/{record.id}/{p.name}", p) for p in found]


def export_project(ws: Workspace, key: str, out: str | os.PathLike, *, with_datasets: bool = False,
                   force: bool = False) -> dict:
    """Write ``key``'s model tree, history and reports to ``out`` (.owb)."""
    from .datasets.archive import NESTED_ARCHIVE_SUFFIXES
    from .deploy import add_bytes, add_file, atomic_tar
    from .output import output_path

    target = output_path(out, force, home=ws.home, example="project.owb")
    root = resolve_root(ws, key)
    models = subtree(ws, root)
    ids = {m.id for m in models}
    records: dict[str, list[Any]] = {
        "models": models,
        "projects": [p for p in ws.all(Project) if p.model in ids],
        "inferences": sorted((r for r in ws.all(InferenceResult) if r.model in ids), key=lambda r: r.created),
        "reports": sorted((r for r in ws.all(Report) if r.model in ids), key=lambda r: r.created),
    }
    wanted = _dataset_ids(models, records["projects"], records["inferences"], records["reports"])
    records["datasets"] = [d for d in ws.all(Dataset) if d.id in wanted]
    files = [f for kind in ("models", "reports") for r in records[kind] for f in _files_of(ws, kind, r)]
    skipped: list[str] = []
    if with_datasets:
        for d in records["datasets"]:
            for rel, src in _files_of(ws, "datasets", d):
                # The safe extractor refuses archives inside archives; owb's
                # index never points at one, so leaving them out loses nothing.
                (skipped if rel.lower().endswith(NESTED_ARCHIVE_SUFFIXES) else files).append((rel, src))
    entries: dict[str, dict] = {}
    with atomic_tar(target) as tar:
        for rel, src in files:
            add_file(tar, f"files/{rel}", src)
            entries[rel] = {"size": src.stat().st_size, "sha256": sha256(src)}
        docs = {kind: [r.to_dict() for r in rs] for kind, rs in records.items()}
        for doc in docs["datasets"]:
            doc["fingerprint"] = dataset_fingerprint(ws.path(doc["index"]))
        manifest = {"format": ARCHIVE_FORMAT, "schema": ARCHIVE_SCHEMA, "workspace_schema": SCHEMA_VERSION,
                    "created": round(time.time(), 3), "root": root.id, "with_datasets": with_datasets,
                    **docs, "files": entries}
        add_bytes(tar, MANIFEST, json.dumps(manifest, indent=1).encode())
    return {"archive": str(target), "bytes": target.stat().st_size, "root": root.name,
            "models": [m.name for m in models], "projects": len(records["projects"]),
            "inferences": len(records["inferences"]), "reports": len(records["reports"]),
            "datasets": [d.name for d in records["datasets"]], "with_datasets": with_datasets,
            "files": len(entries), "skipped": skipped}


# ---------------------------------------------------------------- importing

@dataclass
class _Plan:
    """What an import adds, with the ids and names taken so far (the
    workspace's and this import's own)."""

    ws: Workspace
    docs: dict[str, list[dict]] = field(default_factory=lambda: {cls.table: [] for cls in KINDS.values()})
    moves: list[tuple[Path, Path]] = field(default_factory=list)  # extracted folder -> its place in the home
    models: list[dict] = field(default_factory=list)
    datasets: list[dict] = field(default_factory=list)
    renamed: list[str] = field(default_factory=list)
    remapped: int = 0

    def __post_init__(self) -> None:
        self.ids = {cls: {r.id for r in self.ws.all(cls)} for cls in KINDS.values()}
        self.names = {cls: {r.name for r in self.ws.all(cls) if r.name} for cls in KINDS.values()}

    def id_for(self, cls: type[Record], old: str, folder: str | None = None) -> str:
        def free(i: str) -> bool:
            return i not in self.ids[cls] and (folder is None or not (self.ws.home / folder / i).exists())

        new = old
        while not free(new):
            new = new_id()
        self.remapped += new != old
        self.ids[cls].add(new)
        return new

    def name_for(self, cls: type[Record], wanted: str) -> str:
        name, n = wanted, 2
        while name and name in self.names[cls]:
            name, n = f"{wanted}-{n}", n + 1
        if name != wanted:
            self.renamed.append(f"{cls.table[:-1]} {wanted!r} imported as {name!r} (the name was taken)")
        self.names[cls].add(name)
        return name


def _plan(ws: Workspace, b: Bundle) -> _Plan:
    from .reports.outputs import fingerprint

    plan = _Plan(ws)
    here = {cls: {r.id: r for r in ws.all(cls)} for cls in (Model, Dataset, Project)}
    files = b.root / "files"
    dmap: dict[str, str] = {}
    for d in b.records["datasets"]:
        same = [x for x in ws.all(Dataset) if x.name == d.name]
        ours = b.fingerprints.get(d.id)
        if same and (not b.with_datasets or (ours and dataset_fingerprint(ws.path(same[0].index)) == ours)):
            dmap[d.id] = same[0].id
            plan.datasets.append({"name": d.name, "id": same[0].id, "action": "re-linked"})
        elif b.with_datasets:
            new = plan.id_for(Dataset, d.id, "datasets")
            doc = {**d.to_dict(), "id": new, "name": plan.name_for(Dataset, d.name),
                   "path": f"datasets/{new}/" + d.path.split("/", 2)[2],
                   "index": f"datasets/{new}/" + d.index.split("/", 2)[2]}
            dmap[d.id] = new
            plan.docs["datasets"].append(doc)
            plan.moves.append((files / "datasets" / d.id, ws.home / "datasets" / new))
            plan.datasets.append({"name": doc["name"], "id": new, "action": "imported"})
        else:
            # Kept dangling under its old id unless another dataset has it.
            dmap[d.id] = d.id if d.id not in here[Dataset] else plan.id_for(Dataset, d.id)
            plan.datasets.append({"name": d.name, "id": dmap[d.id], "action": "missing"})
    for ref in _dataset_ids(*(b.records[k] for k in ("models", "projects", "inferences", "reports"))):
        if ref not in dmap:  # dangling already in the source workspace: stays so here
            dmap[ref] = ref if ref not in here[Dataset] else plan.id_for(Dataset, ref)
    archived = {m.id: m for m in b.records["models"]}
    mmap = {m.id: plan.id_for(Model, m.id, "models") for m in b.records["models"]}
    pmap = {p.id: plan.id_for(Project, p.id) for p in b.records["projects"]}

    def outside(ref: str | None, mapping: dict[str, str], cls: type[Record]) -> str | None:
        """An id inside the archive maps; one outside is kept only where it resolves here."""
        if ref in mapping:
            return mapping[ref]
        return ref if ref in here[cls] else None

    new_models: dict[str, Model] = {}
    for m in b.records["models"]:
        new = Model.from_dict({**m.to_dict(), "id": mmap[m.id], "name": plan.name_for(Model, m.name),
                               "path": f"models/{mmap[m.id]}/{Path(m.path).name}",
                               "parent": outside(m.parent, mmap, Model)})
        prov = dict(new.provenance)
        if "parent" in prov:
            prov["parent"] = new.parent or prov["parent"]
        for key in ("dataset", "calibration_dataset"):
            if isinstance(prov.get(key), str):
                prov[key] = dmap.get(prov[key], prov[key])
        new.provenance = prov
        new_models[m.id] = new
        plan.docs["models"].append(new.to_dict())
        plan.moves.append((files / "models" / m.id, ws.home / "models" / new.id))
        plan.models.append({"name": new.name, "id": new.id, "was": m.name, "old_id": m.id, "precision": new.precision})
    for p in b.records["projects"]:
        plan.docs["projects"].append({**p.to_dict(), "id": pmap[p.id], "name": plan.name_for(Project, p.name),
                                      "model": mmap[p.model], "dataset": dmap.get(p.dataset, p.dataset),
                                      "parent": outside(p.parent, pmap, Project)})
    for r in b.records["inferences"]:
        result = dict(r.result)
        if result.get("model_id") == r.model:
            result.update(model_id=mmap[r.model], model=new_models[r.model].name)
        plan.docs["inferences"].append({**r.to_dict(), "id": plan.id_for(InferenceResult, r.id),
                                        "project": pmap.get(r.project, ""), "model": mmap[r.model],
                                        "dataset": dmap.get(r.dataset, r.dataset) if r.dataset else None,
                                        "result": result})
    for rep in b.records["reports"]:
        new = plan.id_for(Report, rep.id, "reports")
        summary = dict(rep.summary)
        prints = summary.get("fingerprints")
        if isinstance(prints, dict):  # keep stored reports reusable: fingerprints include the IR path
            prints = dict(prints)
            for role, ref in (("model", rep.model), ("reference", rep.reference)):
                if ref in archived and prints.get(role) == fingerprint(archived[ref]):
                    prints[role] = fingerprint(new_models[ref])
            summary["fingerprints"] = prints
        plan.docs["reports"].append({**rep.to_dict(), "id": new, "name": plan.name_for(Report, rep.name),
                                     "project": pmap.get(rep.project, ""), "model": mmap[rep.model],
                                     "reference": mmap.get(rep.reference, rep.reference) if rep.reference else None,
                                     "dataset": dmap.get(rep.dataset, rep.dataset), "path": f"reports/{new}",
                                     "summary": summary})
        plan.moves.append((files / "reports" / rep.id, ws.home / "reports" / new))
    return plan


def _insert_all(ws: Workspace, docs: dict[str, list[dict]]) -> None:
    """Every new record in one atomic write of the DB file (TinyDB's layout:
    table -> {doc id: record}, doc ids counting up per table)."""
    data = ws.db.storage.read() or {}
    for table, rows in docs.items():
        stored = data.setdefault(table, {})
        next_id = max((int(k) for k in stored), default=0) + 1
        for row in rows:
            stored[str(next_id)] = json.loads(json.dumps(row))
            next_id += 1
    ws.db.storage.write(data)


def import_project(ws: Workspace, archive: str | os.PathLike) -> dict:
    """Add an archive's models, history and reports to ``ws``: all or nothing."""
    from .datasets.archive import archive_kind, materialize

    src = Path(archive).expanduser()
    if not src.is_file():
        raise BadInput(f"{src} does not exist or is not a file; give an .owb archive from `owb project export`")
    if archive_kind(src) != "tar":
        raise BadInput(f"{src.name} is not an owb project archive (a tar.gz written by `owb project export`)")
    scratch = ws.tmp_dir("import-")
    try:
        root = scratch / "archive"
        materialize(src, root)
        bundle = read_bundle(src, root)
        if not bundle.records["models"]:
            raise bad(src, "it holds no model")
        with ws.locked():
            plan = _plan(ws, bundle)
            moved: list[Path] = []
            try:
                for source, dest in plan.moves:
                    if dest.exists():
                        raise BadInput(f"{dest} appeared during the import; run it again")
                    source.rename(dest)
                    moved.append(dest)
                _insert_all(ws, plan.docs)
            except BaseException:
                for dest in moved:
                    shutil.rmtree(dest, ignore_errors=True)
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return {"archive": str(src), "models": plan.models, "datasets": plan.datasets, "renamed": plan.renamed,
            "remapped_ids": plan.remapped, "projects": len(plan.docs["projects"]),
            "inferences": len(plan.docs["inferences"]), "reports": len(plan.docs["reports"])}
