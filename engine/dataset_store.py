"""Dataset import into the workspace: copy or safely extract, parse, validate,
then record. The normalized index is stored beside the copy so that later
runs never re-parse annotations."""

from __future__ import annotations

import shutil
from pathlib import Path

from .errors import BadInput
from .records import Dataset
from .workspace import Workspace


def import_dataset(
    ws: Workspace,
    path: str | Path,
    *,
    name: str | None = None,
    fmt: str = "auto",
    move: bool = False,
    task: str | None = None,
) -> Dataset:
    """Bring a folder or archive into the workspace as a Dataset.

    Everything is built in a scratch folder inside the workspace and renamed
    into place before the record is added, so a failure writes nothing that
    stays and never touches datasets already saved. ``move`` is for folders
    owb generated itself (the demo), which need no copy. ``task`` is the task
    of the model the dataset is imported for: it settles a folder that fits
    two formats (VOC2012's Annotations/ and SegmentationClass/)."""
    from .datasets import FORMATS, load_dataset, materialize

    src = Path(path).expanduser()
    if not src.exists():
        raise BadInput(f"dataset {src} does not exist")
    if fmt != "auto" and fmt not in FORMATS:
        raise BadInput(f"unknown dataset format {fmt!r}; use auto or one of {', '.join(FORMATS)}")
    if name and ws.maybe(Dataset, name) is not None:
        raise BadInput(f"a dataset named {name!r} already exists; choose another --name",
                       tui=f"a dataset named {name!r} already exists; choose another name")
    record = Dataset(name=name or (src.name.split(".")[0] if src.is_file() else src.name) or "dataset",
                     source=str(src))
    scratch = ws.tmp_dir("dataset-")
    final = ws.home / "datasets" / record.id
    try:
        if move and src.is_dir():
            shutil.move(str(src), str(scratch / "data"))
            root = scratch / "data"
        else:
            root = materialize(src, scratch / "data")
        index = load_dataset(root, fmt, task)
        index.save(scratch / "index.json")
        rel_root = root.relative_to(scratch)
        scratch.rename(final)
    except BadInput as exc:
        shutil.rmtree(scratch, ignore_errors=True)
        # Loaders name the scratch copy, which is gone now; the user knows the source.
        exc.args = (str(exc).replace(str(scratch / "data"), str(src)),)
        if exc.tui:
            exc.tui = exc.tui.replace(str(scratch / "data"), str(src))
        raise exc from None
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    describe(record, index)
    record.path = ws.rel(final / rel_root)
    record.index = ws.rel(final / "index.json")
    try:
        return ws.add(record, unique=not name)  # a free name chosen under the lock, as the record is written
    except BaseException:
        shutil.rmtree(final, ignore_errors=True)
        raise


def describe(record: Dataset, index) -> Dataset:
    """Fill a record's format, counts and validation summary from its index."""
    record.format = index.format
    record.images = len(index.items)
    record.labels = list(index.labels)
    record.classes = len(index.labels)
    record.annotated = index.annotated
    record.summary = index.summary
    return record


def summary_lines(record: Dataset, classes: int = 8, problems: int = 4) -> list[str]:
    """The validation summary as plain lines: images per class, unreadable
    images, problems (the first few, with the count of the rest)."""
    s = record.summary or {}
    lines = []
    per_class = s.get("per_class") or {}
    if per_class:
        shown = ", ".join(f"{k}: {v}" for k, v in list(per_class.items())[:classes])
        more = f" … +{len(per_class) - classes} classes" if len(per_class) > classes else ""
        lines.append(f"per class: {shown}{more}")
    unreadable = s.get("unreadable") or []
    if unreadable:
        lines.append(f"{s.get('unreadable_count', len(unreadable))} unreadable images skipped: "
                     + ", ".join(map(str, unreadable[:3])))
    listed = s.get("problems") or []
    lines += [f"problem: {p}" for p in listed[:problems]]
    total = s.get("problem_count", len(listed))
    if total > problems:
        lines.append(f"… {total - problems} more problems")
    if not unreadable and not listed:
        lines.append("validation: no problems found")
    return lines


def inspect_dataset(path: str | Path, fmt: str = "auto", task: str | None = None) -> Dataset | None:
    """What importing a folder would record (format, counts, validation), read
    in place and saved nowhere, so a user can look before confirming. None for
    an archive: its contents are only read once extracted inside a workspace."""
    from .datasets import load_dataset
    from .datasets.archive import dataset_root

    src = Path(path).expanduser()
    if not src.exists():
        raise BadInput(f"dataset {src} does not exist")
    if src.is_file():
        return None
    # the root the import will use: a lone wrapping folder is stepped into ('VOCdevkit/VOC2012')
    return describe(Dataset(name=src.name, source=str(src)), load_dataset(dataset_root(src), fmt, task))


def load_index(ws: Workspace, record: Dataset):
    """The stored normalized index, with its root pointing into the workspace."""
    from .datasets.base import DatasetIndex

    index = DatasetIndex.load(ws.path(record.index))
    index.root = ws.path(record.path)
    return index


def remove_dataset(ws: Workspace, record: Dataset) -> dict:
    """Delete a dataset's record and its copy in the workspace. Results and
    reports measured on it are kept (they name it by id, as an exported
    project without its datasets does); a job still using it refuses."""
    from .jobs.client import active
    from .records import Job

    def uses(job: Job) -> bool:
        return record.id in (job.params.get("dataset"), job.params.get("calibration_dataset"))

    busy = [j for j in active(ws) if uses(j)]  # active() first marks the jobs of a killed runner interrupted
    if busy:
        raise BadInput(f"dataset {record.name!r} is in use by job {busy[0].id} ({busy[0].state}); "
                       "wait for it or cancel it (`owb jobs`)")
    folder = ws.home / "datasets" / record.id
    trash = ws.tmp_dir("remove-")
    with ws.locked():
        if ws.maybe(Dataset, record.id) is None:
            raise BadInput(f"dataset {record.name!r} was removed meanwhile")
        if folder.exists():
            folder.rename(trash / "data")  # one rename: the copy is gone at once, deleted at leisure
        try:
            ws.remove(record)
        except BaseException:
            if (trash / "data").exists():
                (trash / "data").rename(folder)
            raise
    freed = sum(p.stat().st_size for p in trash.rglob("*") if p.is_file() and not p.is_symlink())
    shutil.rmtree(trash, ignore_errors=True)
    from .feed.cache import drop_dataset

    drop_dataset(ws, record.id)
    return {"name": record.name, "id": record.id, "images": record.images, "bytes_freed": freed}
