"""Reports (a project page tab) and the report viewer.

A report is built once by a job (engine.reports.report_job) and stored as
numpy columns; the viewer only opens, sorts and filters that table."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Button, Header, Input, Select, Static

from engine.choices import REPORT_KINDS, REPORT_MODES
from engine.records import Model, Report

from ..text import reports_errors
from ..widgets.footer import KeyFooter
from ..widgets.progress import JobStatus
from ..widgets.report_view import ARROWS, ReportView
from ..widgets.tables import FilterBar, FilterKeys, RowTable, cell, clip, filter_binding, literal
from .forms import row

KIND_LABELS = {"accuracy": "accuracy vs annotations", "predictions": "predictions vs parent",
               "tensor-distance": "tensor distance vs parent"}
MODE_LABELS = {"basic": "basic: a row per image", "advanced": "advanced: a row per image and class"}
KIND_NOTES = {
    "accuracy": "each image against its annotation",
    "predictions": "this model vs its parent, image by image",
    "tensor-distance": "raw outputs vs the parent's: MSE, cosine, SQNR",
}


ONE_TABLE = {
    "classification": "classification reports have one table (a row per image); the advanced table, a row "
                      "per image and class, is for detection and segmentation reports",
    "tensor-distance": "tensor-distance reports have one table (a row per image and output)",
}


def summary_line(report: Report) -> str:
    s = report.summary
    if s.get("metric") and s.get("value") is not None:
        return f"{s['metric']} {s['value'] * 100:.2f}% over {s.get('images', '?')} images"
    return f"{s.get('images', '?')} images"


def list_result(report: Report) -> str:
    """The Reports list's result cell: short enough to show whole at 80 columns."""
    s = report.summary
    if s.get("metric") and s.get("value") is not None:
        return f"{s['metric']} {s['value'] * 100:.2f}%, {s.get('images', '?')} img"
    return f"{s.get('images', '?')} img"


def list_name(report: Report, model: Model) -> str:
    """The report's name without what the list already says: the model whose page this is."""
    name = report.name
    prefix = f"{report.kind} {model.name}"
    return report.kind + name[len(prefix):] if name.startswith(prefix) else name


class ReportsPane(Vertical):
    def __init__(self, model: Model) -> None:
        super().__init__(id="reports-pane")
        self.model = model

    def compose(self) -> ComposeResult:
        # Every kind but accuracy sets the model beside its parent.
        kinds = [(KIND_LABELS[k], k) for k in REPORT_KINDS if k == "accuracy" or self.model.parent]
        from engine.dataset_choice import ordered

        found, default = ordered(self.app.ws, self.model)
        datasets = [(literal(f"{d.name} ({d.format})"), d.id) for d in found]
        yield row(("kind", Select(kinds, value=REPORT_KINDS[0], allow_blank=False, id="rep-kind", compact=True)),
                  ("dataset", Select(datasets, value=default if datasets else Select.NULL,
                                     id="rep-dataset", compact=True)))
        if self.model.config.task in ("detection", "segmentation"):
            yield row(("table", Select([(MODE_LABELS[m], m) for m in REPORT_MODES],
                                       value=REPORT_MODES[0], allow_blank=False, id="rep-mode", compact=True)))
        with Horizontal(classes="buttons"):
            yield Static(KIND_NOTES[REPORT_KINDS[0]], id="rep-note", classes="hint", markup=False)
            yield Button("Create", id="rep-create", variant="primary", compact=True)
        table = RowTable(id="rep-list")
        table.add_columns("report", "result")
        yield table

    def on_mount(self) -> None:
        self.app.job_signal.subscribe(self, self._job_changed)
        self.refresh_list()

    def _job_changed(self, event: Any) -> None:
        if event is not None and event.state == "done":
            self.refresh_list()

    @on(Select.Changed, "#rep-kind")
    def _kind(self, event: Select.Changed) -> None:
        self.query_one("#rep-note", Static).update(KIND_NOTES.get(str(event.value), ""))

    @reports_errors
    def refresh_list(self) -> None:
        from engine.reports import list_reports

        table = self.query_one("#rep-list", RowTable)
        table.clear()
        for r in list_reports(self.app.ws, self.model.id):
            table.add_row(cell(clip(list_name(r, self.model), 44)), cell(list_result(r)), key=r.id)

    @on(Button.Pressed, "#rep-create")
    @reports_errors
    def create(self) -> None:
        from engine.reports import ReportSpec

        dataset = self.query_one("#rep-dataset", Select).value
        if dataset == Select.NULL:
            self.app.notify("choose a dataset; import one with d on the projects screen", severity="error")
            return
        modes = self.query("#rep-mode")
        spec = ReportSpec(kind=str(self.query_one("#rep-kind", Select).value), model=self.model.id,
                          dataset=str(dataset), mode=str(modes.first(Select).value) if modes else "basic")
        job = self.app.start_job("report", asdict(spec))
        if job is not None:
            self.app.notify(f"{job.name} started; the report appears in this list when it ends")

    @on(RowTable.RowSelected, "#rep-list")
    def _open(self, event: RowTable.RowSelected) -> None:
        self.app.push_screen(ReportScreen(str(event.row_key.value)))


class ReportScreen(FilterKeys, Screen):
    HELP_TITLE = "Report"
    AUTO_FOCUS = "#report-rows"
    BINDINGS = [
        Binding("s", "sort", "sort", tooltip="Sort by the underlined column (again: reverse)", id="report-sort"),
        Binding("f", "flagged", "flagged", tooltip="Only the flagged rows (erroneous / different), or all",
                id="report-flagged"),
        Binding("t", "mode", "table", tooltip="Switch between the basic and advanced tables", id="report-mode", show=False),
        filter_binding("Show only rows containing a text", "report-filter"),
        Binding("x", "export", "csv", tooltip="Export the rows shown to a CSV file in the current folder",
                id="report-export"),
        Binding("enter", "visualize", "visualize", tooltip="Draw the predictions on this row's image",
                id="report-visualize"),
    ]

    def __init__(self, report_id: str) -> None:
        super().__init__()
        self.report_id = report_id
        self.mode = "basic"
        self.sort: tuple[int, bool] | None = None
        self.shown: Any = None  # the filtered, sorted table; None until a show succeeds
        self.flagged = False
        self.total: int | None = None  # rows before the flag and text filters

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="report-summary", classes="detail")
        yield Static(id="report-legend", classes="hint")
        yield FilterBar("#report-rows", id="filter")
        yield ReportView(id="report-rows")
        yield Static(id="report-status", classes="hint")
        yield JobStatus()
        yield KeyFooter()

    @property
    def report(self) -> Report:
        return self.app.ws.get(Report, self.report_id)

    @reports_errors
    def on_mount(self) -> None:
        from engine.reports import modes

        report = self.report
        self.sub_title = report.name
        wanted = report.summary.get("mode", "basic")
        self.mode = wanted if wanted in modes(report) else "basic"
        self.query_one("#report-summary", Static).update(literal(f"{report.name}: {summary_line(report)}"))
        self.watch(self.query_one(ReportView), "cursor_col", lambda _col: self.update_status(), init=False)
        self.show()

    @reports_errors
    def show(self) -> None:
        """Open the stored table, then apply flag, text filter and sort."""
        from engine.reports import ReportQuery
        from engine.reports.headings import short

        report = self.report
        sort, descending = self.sort or (None, False)
        text = self.query_one("#filter", FilterBar).value.strip()
        query = ReportQuery(mode=self.mode, flagged=self.flagged, text=text, sort=sort, descending=descending)
        table, total = query.run(self.app.ws, report)
        self.shown = table
        view = self.query_one(ReportView)
        view.sort = self.sort
        view.set_table(table, [short(title) for title in table.columns])
        self.query_one("#report-legend", Static).update(literal(self.legend(report, list(table.columns))))
        self.total = total
        self.update_status()

    def legend(self, report: Report, columns: list[str]) -> str:
        from engine.reports.headings import legend

        names = {m.id: m.name for m in self.app.ws.all(Model)}
        reference = names.get(report.reference) if report.reference else None
        return legend(report.kind, columns, names.get(report.model, report.model), reference)

    def update_status(self) -> None:
        view = self.query_one(ReportView)
        table = view.table
        if table is None:
            return
        total = self.total
        parts = [f"{len(table)} rows" + (f" of {total}" if total is not None and total != len(table) else "")]
        if self.flagged:
            parts.append("flagged only")
        parts.append(f"{self.mode} table")
        column = f"column: {table.columns[view.cursor_col]}"
        if self.sort is not None and self.sort[0] == view.cursor_col:
            column += f" (sorted {ARROWS[self.sort[1]]})"
        elif self.sort is not None:
            parts.append(f"sorted {ARROWS[self.sort[1]]} {table.columns[self.sort[0]]}")
        parts.append(column)
        self.query_one("#report-status", Static).update(Text("  |  ".join(parts)))

    def action_sort(self) -> None:
        self.sort_by(self.query_one(ReportView).cursor_col)

    @on(ReportView.HeaderClicked)
    def _header_clicked(self, event: ReportView.HeaderClicked) -> None:
        self.sort_by(event.column)

    def sort_by(self, col: int) -> None:
        """Sort ascending by ``col``; the same column again reverses."""
        descending = self.sort is not None and self.sort[0] == col and not self.sort[1]
        self.sort = (col, descending)
        self.show()

    def action_flagged(self) -> None:
        from engine.reports import FLAGS

        if self.report.kind not in FLAGS:
            self.app.notify("tensor-distance reports have no flagged rows; sort by a column instead",
                            severity="warning")
            return
        self.flagged = not self.flagged
        self.show()

    @reports_errors
    def action_mode(self) -> None:
        from engine.reports import modes

        report = self.report
        have = modes(report)
        if len(have) < 2:
            self.app.notify(self.one_table_note(report), severity="warning")
            return
        self.mode = have[(have.index(self.mode) + 1) % len(have)]
        self.sort = None
        self.show()

    def one_table_note(self, report: Report) -> str:
        """Why `t` has nothing to switch to, and how to get the advanced table where one exists."""
        model = self.app.ws.maybe(Model, report.model)
        task = model.config.task if model else "?"
        if report.kind == "tensor-distance":
            return ONE_TABLE["tensor-distance"]
        if task == "classification":
            return ONE_TABLE["classification"]
        return ("this report was stored without its advanced table: build it again from the model's Reports "
                "tab (r) with table advanced, or `owb report MODEL --dataset DS --mode advanced --refresh`")

    def action_filter(self) -> None:
        self.query_one("#filter", FilterBar).open()

    @on(Input.Changed, "#filter")
    def _filter(self) -> None:
        self.show()

    @reports_errors
    def action_visualize(self) -> None:
        from .visualize import VisualizeScreen

        view = self.query_one(ReportView)
        if view.table is None or not len(view.table):
            self.app.notify("no rows to visualize", severity="warning")
            return

        def returned(row: int | None) -> None:
            if row is not None and view.table is not None and row < len(view.table):
                view.action_jump(row)

        self.app.push_screen(VisualizeScreen(self.report, view.table, view.cursor_row), returned)

    @reports_errors
    def action_export(self) -> None:
        from engine.output import free_path, output_path

        safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in self.report.name)
        if self.shown is None:
            self.app.notify("no rows are shown yet: nothing to export", severity="warning")
            return
        target = output_path(free_path(Path.cwd() / f"{safe}.csv"), home=self.app.ws.home, flag="CSV file")
        self.shown.to_csv(target)
        self.app.notify(f"wrote {len(self.shown)} rows to {target}")
