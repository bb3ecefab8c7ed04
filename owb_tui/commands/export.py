"""`owb export` (deployment package) and `owb project export|import`
(moving a model tree with its history and reports between workspaces)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..text import human_size
from .common import add_command, emit, styled, workspace
from .jobs import add_detach, run_job


def register(sub: Any) -> None:
    p = add_command(sub, "export", "write a deployment package: IR, infer.py, benchmark.sh, README", cmd_export)
    p.add_argument("model", help="model name or id")
    p.add_argument("--out", required=True, metavar="PKG.tar.gz", help="package file to write")
    p.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    add_detach(p)


def register_project(gsub: Any) -> None:
    """The `project export` and `project import` actions, under `owb project`."""
    p = add_command(gsub, "export", "archive a model, its INT8 children, their history and reports", cmd_project_export)
    p.add_argument("name", help="model (or project) name or id")
    p.add_argument("--out", required=True, metavar="FILE.owb", help="archive file to write")
    p.add_argument("--with-datasets", action="store_true", help="include the datasets' records and files")
    p.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    p = add_command(gsub, "import", "add the projects of an .owb archive to this workspace", cmd_project_import)
    p.add_argument("archive", help=".owb file written by `owb project export`")


def cmd_export(args: argparse.Namespace) -> int:
    from engine.output import output_path
    from engine.records import Model

    ws = workspace(args)
    output_path(args.out, args.force, home=ws.home)  # a bad --out fails before any work
    model = ws.get(Model, args.model)
    r = run_job(args, "export", {"model": model.id, "out": args.out, "force": args.force},
                say=f"packaging {model.name}…")
    if isinstance(r, int):
        return r
    speed = r.get("speed_vs_parent")
    if speed and speed["slower"]:
        from engine.child_speed import sentence

        print(f"warning: {sentence(model, speed)}", file=sys.stderr, flush=True)
    return emit(args, r, lambda c: render_export(c, r))


def render_export(c: Any, r: dict) -> None:
    c.print(styled(("deployment package", "bold"), f" {r['package']} ({human_size(r['bytes'])}): "
            f"{r['folder']}/{{{', '.join(r['files'])}}}"))
    b = r["benchmark"]
    c.print(f"infer.py decodes {r['decoder']}; benchmark.sh: {b['source']}")
    missing = [k for k, v in r["measured"].items() if not v]
    if missing:
        c.print(styled((f"README says 'not measured' for: {', '.join(missing)}", "dim")))


def cmd_project_export(args: argparse.Namespace) -> int:
    from engine.output import output_path
    from engine.portable import export_project

    ws = workspace(args)
    output_path(args.out, args.force, home=ws.home, example="project.owb")
    r = export_project(ws, args.name, args.out, with_datasets=args.with_datasets, force=args.force)

    def render(c: Any) -> None:
        c.print(styled(("exported", "bold"), f" {', '.join(r['models'])} to {r['archive']} ({human_size(r['bytes'])}): "
                f"{r['projects']} projects, {r['inferences']} results, {r['reports']} reports"))
        names = ", ".join(r["datasets"]) or "none"
        c.print(f"datasets {names}: " + ("records and files included" if r["with_datasets"]
                                          else "names only (re-linked by name on import; --with-datasets copies them)"))
        for rel in r["skipped"]:
            c.print(styled(("left out", "yellow"), f" {rel} (an archive inside a dataset folder; owb never reads it)"))

    return emit(args, r, render)


def cmd_project_import(args: argparse.Namespace) -> int:
    from engine.portable import import_project

    ws = workspace(args)
    r = import_project(ws, args.archive)

    def render(c: Any) -> None:
        c.print(styled(("imported", "bold"), f" {', '.join(m['name'] for m in r['models'])}: {r['projects']} projects, "
                f"{r['inferences']} results, {r['reports']} reports"))
        for line in r["renamed"]:
            c.print(styled(("renamed", "yellow"), f": {line}"))
        if r["remapped_ids"]:
            c.print(f"{r['remapped_ids']} ids were taken here and got new ones")
        for d in r["datasets"]:
            note = {"re-linked": "re-linked to the dataset of that name here",
                    "imported": "imported with its files",
                    "missing": "not in this workspace; its results and reports are kept "
                            "(export with --with-datasets to bring it along)"}
            c.print(f"dataset {d['name']}: {note[d['action']]}")

    return emit(args, r, render)
