"""`owb project list`: the model tree with each model's projects."""

from __future__ import annotations

import argparse
from typing import Any

from .common import OwbArgumentParser, add_command, cli_table, emit, workspace


def register(sub: Any) -> None:
    group = sub.add_parser("project", help="list, export and import projects (model × dataset × device)")
    gsub = group.add_subparsers(dest="project_command", metavar="ACTION", required=True, parser_class=OwbArgumentParser)
    add_command(gsub, "list", "list projects, optimized models under their parents", cmd_list)
    from .export import register_project

    register_project(gsub)


def cmd_list(args: argparse.Namespace) -> int:
    from engine.projects import model_tree
    from engine.records import Dataset, Project

    ws = workspace(args)
    datasets = {d.id: d.name for d in ws.all(Dataset)}
    projects = ws.all(Project)
    rows = []
    for depth, m in model_tree(ws):
        for p in [p for p in projects if p.model == m.id] or [None]:
            rows.append({
                "depth": depth,
                "model": m.name,
                "model_id": m.id,
                "precision": m.precision,
                "project": p.name if p else None,
                "project_id": p.id if p else None,
                "dataset": datasets.get(p.dataset) if p else None,
                "device": p.device if p else None,
            })

    def render(c: Any) -> None:

        t = cli_table("model", "precision", "dataset", "device")
        for r in rows:
            t.add_row("  " * r["depth"] + r["model"], r["precision"], r["dataset"] or "-", r["device"] or "-")
        c.print(t if rows else "no models yet: `owb demo` makes one")

    return emit(args, rows, render)
