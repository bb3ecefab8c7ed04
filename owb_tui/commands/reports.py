"""`owb report | visualize`: accuracy reports, optimized vs parent, tensor
distance, and predictions drawn on an image (`owb compare` is in compare.py)."""

from __future__ import annotations

import argparse
from typing import Any

from .common import add_command, cli_table, emit, number, positive_int, styled, workspace
from .jobs import add_detach, run_job

SHOWN_ROWS = 40


def register(sub: Any) -> None:
    from engine.choices import CONF_THRESHOLD, REPORT_KINDS, REPORT_MODES

    from .compare import register as register_compare

    p = add_command(sub, "report", "build or show a report: accuracy, optimized vs parent predictions, tensor "
                    "distance; `owb report list [MODEL]`, `owb report show ID`", cmd_report)
    p.add_argument("model", metavar="MODEL", help="model name or id; or `list` / `show`")
    p.add_argument("target", nargs="?", metavar="ARG", help="with list: a model to filter by; with show: a report id")
    p.add_argument("--vs", metavar="PARENT", help="reference model (default: the model's parent)")
    p.add_argument("--dataset", metavar="DS", help="dataset name or id")
    p.add_argument("--kind", choices=REPORT_KINDS,
                   help="default: predictions with --vs or a parent, else accuracy")
    p.add_argument("--mode", choices=REPORT_MODES, default=REPORT_MODES[0],
                   help="detection/segmentation: per image (basic) or per image and class (advanced)")
    p.add_argument("--sort", metavar="COLUMN", help="column title, any case, or a unique prefix")
    p.add_argument("--desc", action="store_true", help="sort descending")
    p.add_argument("--only-different", action="store_true", help="predictions: rows where the models differ")
    p.add_argument("--only-erroneous", action="store_true", help="accuracy: rows that disagree with the annotation")
    p.add_argument("--filter", metavar="TEXT", help="rows whose text holds TEXT (any case)")
    p.add_argument("--csv", metavar="FILE", help="write the (sorted, filtered) rows as CSV")
    p.add_argument("--force", action="store_true", help="overwrite --csv if it exists")
    p.add_argument("--limit", type=positive_int, default=SHOWN_ROWS, metavar="N",
                   help=f"rows printed as text (default {SHOWN_ROWS}; --json and --csv get all)")
    p.add_argument("--conf-threshold", type=number, default=CONF_THRESHOLD, metavar="P",
                   help=f"detection: count detections from this score (default {CONF_THRESHOLD:g})")
    p.add_argument("--iou-threshold", type=number, metavar="T",
                   help="segmentation: flag results below T (default 0.5 accuracy, 0.9 predictions)")
    p.add_argument("--refresh", action="store_true", help="rebuild even if a matching report is stored")
    add_detach(p)

    register_compare(sub)  # here, so `owb --help` lists report, compare, visualize in that order

    p = add_command(sub, "visualize", "draw a model's predictions (and its parent's) on a dataset image",
                    cmd_visualize)
    p.add_argument("model", help="model name or id")
    p.add_argument("--vs", metavar="PARENT", help="reference model (default: the model's parent, if any)")
    p.add_argument("--dataset", required=True, metavar="DS")
    p.add_argument("--image", required=True, metavar="NAME", help="image path in the dataset, file name, or a unique part")
    p.add_argument("--out", required=True, metavar="FILE.png")
    p.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    p.add_argument("--blend", action="store_true", help="segmentation: one blended picture instead of side by side")
    p.add_argument("--conf-threshold", type=number, default=CONF_THRESHOLD, metavar="P")


# ------------------------------------------------------------------ report

def cmd_report(args: argparse.Namespace) -> int:
    from engine.errors import BadInput

    if args.model == "list":
        return report_list(args)
    if args.model == "show":
        if not args.target:
            raise BadInput("`owb report show` needs a report id; see `owb report list`")
        return report_show(args)
    if args.target:
        raise BadInput(f"unexpected argument {args.target!r}; options go after MODEL, like --dataset DS")
    return report_build(args)


def report_build(args: argparse.Namespace) -> int:
    from engine.errors import BadInput
    from engine.records import Model
    from engine.reports import ReportSpec, columns, resolve_column

    if not args.dataset:
        raise BadInput("--dataset is required to build a report")
    ws = workspace(args)
    _csv_target(args, ws)
    model = ws.get(Model, args.model)
    kind = args.kind or ("predictions" if args.vs or model.parent else "accuracy")
    spec = ReportSpec(kind=kind, model=args.model, dataset=args.dataset, reference=args.vs,
                      conf_threshold=args.conf_threshold, seg_threshold=args.iou_threshold, mode=args.mode)
    spec.validate()
    _check_filters(args, kind)
    # Refuse a bad --mode or --sort now, not after minutes of inference.
    titles = columns(kind, model.config.task, args.mode)
    if args.sort:
        resolve_column(titles, args.sort)
    from dataclasses import asdict

    from engine.records import Report

    done = run_job(args, "report", {**asdict(spec), "reuse": not args.refresh})
    if isinstance(done, int):
        return done
    return _show(args, ws, ws.get(Report, done["report"]))


def render_report_job(c: Any, r: dict) -> None:
    """What `owb jobs follow` prints for a report job: where to read it."""
    c.print(f"report ready: {r['name']} (id {r['report']}); `owb report show {r['report']}` prints its rows")


def report_show(args: argparse.Namespace) -> int:
    from engine.records import Report

    ws = workspace(args)
    _csv_target(args, ws)
    report = ws.get(Report, args.target)
    _check_filters(args, report.kind)
    return _show(args, ws, report)


def _csv_target(args: argparse.Namespace, ws: Any) -> None:
    """Refuse a bad --csv before minutes of inference (and never inside the workspace)."""
    from engine.output import output_path

    if args.csv is not None:
        args.csv = str(output_path(args.csv, args.force, home=ws.home, flag="--csv", example="rows.csv"))


def _check_filters(args: argparse.Namespace, kind: str) -> None:
    from engine.errors import BadInput

    if args.only_erroneous and kind != "accuracy":
        raise BadInput(f"--only-erroneous applies to accuracy reports; a {kind} report "
                       + ("filters with --only-different" if kind == "predictions" else "has no such filter"))
    if args.only_different and kind != "predictions":
        raise BadInput(f"--only-different applies to predictions reports; a {kind} report "
                       + ("filters with --only-erroneous" if kind == "accuracy" else "has no such filter"))


def _show(args: argparse.Namespace, ws: Any, report: Any) -> int:
    from engine.reports import ReportQuery, report_json

    query = ReportQuery(mode=args.mode, flagged=args.only_erroneous or args.only_different, text=args.filter or "",
                        sort=args.sort or None, descending=args.desc)
    table, total = query.run(ws, report)
    if args.csv:
        table.to_csv(args.csv)
    data = report_json(ws, report, table, args.mode)
    data["total_rows"] = total
    if args.csv:
        data["csv"] = args.csv
    return emit(args, data, lambda c: render_report(c, data, table, args.limit))


def render_report(c: Any, data: dict, table: Any, limit: int) -> None:
    s = data["summary"]
    vs = f" vs {data['reference']}" if data["reference"] else ""
    c.print(styled((f"{data['kind']} report", "bold"), f" {data['model']}{vs} on {data['dataset']} ({data['mode']}), "
            f"id {data['id']}: {len(table)} of {data['total_rows']} rows"))
    if s.get("metric"):
        value = s.get("value")
        shown = f"{value * 100:.2f}%" if isinstance(value, float) else "n/a"
        c.print(styled((f"{s['metric']} = {shown}", "bold"), f" over {s.get('images')} images"))
    coco = s.get("coco") or {}
    if coco.get("map50") is not None:
        c.print(f"pycocotools: mAP@[.5:.95] {coco['map'] * 100:.2f}%, mAP@0.5 {coco['map50'] * 100:.2f}%")
    if s.get("flag"):
        counts = ", ".join(f"{k} {v}" for k, v in (s.get("flagged") or {}).items())
        c.print(f"{s['flag']} rows: {counts}")
    for name, m in (s.get("outputs") or {}).items():
        c.print(f"output {name}: MSE mean {_num(m['mse']['mean'])} worst {_num(m['mse']['worst'])}; cosine mean "
                f"{_num(m['cosine']['mean'])} worst {_num(m['cosine']['worst'])}; SQNR mean "
                f"{_num(m['sqnr_db']['mean'])} dB worst {_num(m['sqnr_db']['worst'])} dB "
                f"({m['sqnr_db']['worst_image']})")
    print_rows(c, data, table, limit)
    if len(table) > limit:
        c.print(styled((f"… {len(table) - limit} more rows; --limit N, --json or --csv FILE for all", "dim")))
    if data.get("csv"):
        c.print(f"wrote {len(table)} rows to {data['csv']}")


def print_rows(c: Any, data: dict, table: Any, limit: int) -> None:
    """The first ``limit`` rows under short headings and a legend line naming
    the sides; the full titles are in --json and the CSV."""
    from engine.reports.headings import legend, short

    c.print(styled((legend(data["kind"], list(table.columns), data["model"], data["reference"]), "dim")))
    t = cli_table(*(short(title) for title in table.columns))
    for k, column in enumerate(t.columns):
        if k and table.kinds[k] != "text":
            column.justify = "right"
    for r in range(min(limit, len(table))):
        t.add_row(*(table.cell(r, k) for k in range(len(table.columns))))
    c.print(t)


def _num(v: Any) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, str):
        return "∞" if v == "inf" else v
    return f"{v:.4g}"


def report_list(args: argparse.Namespace) -> int:

    from engine.records import Dataset, Model
    from engine.reports import list_reports

    ws = workspace(args)
    model = ws.get(Model, args.target) if args.target else None
    reports = list_reports(ws, model.id if model else None)
    names = {m.id: m.name for m in ws.all(Model)}
    datasets = {d.id: d.name for d in ws.all(Dataset)}
    rows = [{"id": r.id, "name": r.name, "kind": r.kind, "model": names.get(r.model, r.model),
             "reference": names.get(r.reference, r.reference) if r.reference else None,
             "dataset": datasets.get(r.dataset, r.dataset), "project": r.project, "created": r.created,
             "tables": r.summary.get("tables", {}), "metric": r.summary.get("metric"),
             "value": r.summary.get("value")} for r in reports]

    def render(c: Any) -> None:
        t = cli_table("id", "kind", "model", "vs", "dataset", "rows", "summary", key=2)
        for r in rows:
            value = f"{r['metric']} {r['value'] * 100:.2f}%" if isinstance(r["value"], float) else ""
            t.add_row(r["id"], r["kind"], r["model"], r["reference"] or "-", r["dataset"],
                      "/".join(str(n) for n in r["tables"].values()), value)
        c.print(t if rows else "no reports yet: `owb report MODEL --dataset DS`")

    return emit(args, rows, render)


# ------------------------------------------------------------------ visualize

def cmd_visualize(args: argparse.Namespace) -> int:
    from pathlib import Path

    from engine.errors import BadInput
    from engine.output import output_path
    from engine.records import Dataset, Model
    from engine.visualize import render, save_picture

    ws = workspace(args)
    model = ws.get(Model, args.model)
    dataset = ws.get(Dataset, args.dataset)
    reference = ws.get(Model, args.vs) if args.vs else (ws.get(Model, model.parent) if model.parent else None)
    if Path(args.out).suffix.lower() not in (".png", ".jpg", ".jpeg"):
        raise BadInput(f"--out {Path(args.out).name} must end in .png or .jpg")
    out = output_path(args.out, args.force, home=ws.home, example="picture.png")
    picture = render(ws, model, dataset, args.image, reference=reference,
                     layout="blend" if args.blend else "side-by-side", conf_threshold=args.conf_threshold)
    save_picture(picture, out)
    data = {"out": str(out), "width": picture.width, "height": picture.height, "model": model.name,
            "reference": reference.name if reference else None, "image": args.image}
    return emit(args, data, lambda c: c.print(f"wrote {out} ({picture.width}×{picture.height})"))
