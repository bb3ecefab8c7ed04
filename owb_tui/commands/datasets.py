"""`owb dataset import|list|show`."""

from __future__ import annotations

import argparse
from typing import Any

from .common import OwbArgumentParser, add_command, cli_table, emit, styled, workspace
from .jobs import add_detach, run_job


def register(sub: Any) -> None:
    from engine.choices import DATASET_FORMATS

    group = sub.add_parser("dataset", help="import and inspect datasets")
    gsub = group.add_subparsers(dest="dataset_command", metavar="ACTION", required=True, parser_class=OwbArgumentParser)
    p = add_command(gsub, "import", "import a dataset folder or archive (.zip, .tar, .tar.gz)", cmd_import)
    p.add_argument("path")
    p.add_argument("--name")
    p.add_argument("--format", default="auto", choices=("auto", *DATASET_FORMATS))
    p.add_argument("--model", metavar="MODEL",
                   help="the model the dataset is for: its task settles a folder that fits two formats")
    add_detach(p)
    add_command(gsub, "list", "list datasets", cmd_list)
    p = add_command(gsub, "show", "show a dataset's validation summary", cmd_show)
    p.add_argument("dataset", help="dataset name or id")
    p = add_command(gsub, "remove", "delete a dataset and its copy in the workspace (results measured on it stay)",
                    cmd_remove)
    p.add_argument("dataset", help="dataset name or id")


def dataset_json(ws: Any, d: Any) -> dict:
    return {
        "name": d.name,
        "id": d.id,
        "format": d.format,
        "images": d.images,
        "classes": d.classes,
        "annotated": d.annotated,
        "labels": d.labels,
        "path": str(ws.path(d.path)),
        "summary": d.summary,
        "source": d.source,
    }


def cmd_import(args: argparse.Namespace) -> int:
    """A folder is read here; an archive, which can take long to unpack, is a
    job of the runner (--detach then works as for any job)."""
    from pathlib import Path

    from engine.dataset_store import import_dataset
    from engine.datasets.archive import archive_kind
    from engine.records import Dataset, Model

    ws = workspace(args)
    task = ws.get(Model, args.model).config.task if args.model else None
    src = Path(args.path).expanduser()
    if src.is_file() and archive_kind(src) is not None:
        done = run_job(args, "dataset-import", {"path": args.path, "name": args.name, "format": args.format,
                                                "task": task})
        if isinstance(done, int):
            return done
        d = ws.get(Dataset, done["dataset"])
    else:
        d = import_dataset(ws, args.path, name=args.name, fmt=args.format, task=task)
    return emit(args, dataset_json(ws, d), lambda c: render_dataset(c, d, f"imported dataset {d.name}"))


def render_import_job(c: Any, r: dict) -> None:
    c.print(f"imported dataset {r['name']} ({r['images']} images); `owb dataset show {r['name']}`")


def cmd_list(args: argparse.Namespace) -> int:

    from engine.records import Dataset

    ws = workspace(args)
    ds = ws.all(Dataset)

    def render(c: Any) -> None:
        t = cli_table("name", "id", "format", "images", "classes", "annotated")
        for d in ds:
            t.add_row(d.name, d.id, d.format, str(d.images), str(d.classes), "yes" if d.annotated else "no")
        c.print(t if ds else "no datasets yet: `owb dataset import PATH` or `owb demo`")

    return emit(args, [dataset_json(ws, d) for d in ds], render)


def cmd_show(args: argparse.Namespace) -> int:
    from engine.records import Dataset

    ws = workspace(args)
    d = ws.get(Dataset, args.dataset)
    return emit(args, dataset_json(ws, d), lambda c: render_dataset(c, d, f"dataset {d.name}"))


def cmd_remove(args: argparse.Namespace) -> int:
    from engine.dataset_store import remove_dataset
    from engine.records import Dataset

    from ..text import human_size

    ws = workspace(args)
    r = remove_dataset(ws, ws.get(Dataset, args.dataset))
    return emit(args, r, lambda c: c.print(f"removed dataset {r['name']} ({r['id']}): {r['images']} images, "
                                           f"{human_size(r['bytes_freed'])} freed"))


def render_dataset(c: Any, d: Any, title: str) -> None:
    from engine.dataset_store import summary_lines

    c.print(styled((title, "bold"), f" ({d.id})  format {d.format}, {d.images} images, {d.classes} classes, "
            f"{'annotated' if d.annotated else 'unannotated'}"))
    for line in summary_lines(d, classes=20, problems=10):
        c.print(styled((line, "yellow" if not line.startswith(("per class", "validation")) else "")))
