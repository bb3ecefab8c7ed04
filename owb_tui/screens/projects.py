"""The start screen: every model, optimized children indented under their
parents, with the latest speed and accuracy measured for each."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Header, Input, Static

from engine.errors import NotFound, OwbError
from engine.measure.benchmark import history
from engine.measure.protocol import headline_figure
from engine.projects import model_tree
from engine.records import Dataset, InferenceResult, Model, Project
from engine.terminal_text import printable

from ..text import error_text, human_size, reports_errors
from ..widgets.footer import KeyFooter
from ..widgets.progress import JobStatus
from ..widgets.tables import FilterBar, FilterKeys, RowTable, cell, clip, filter_binding, matches, num, selected_key


@dataclass
class ModelRow:
    depth: int
    model: Model
    datasets: list[str]
    throughput: dict | None  # the latest throughput-hint figure (engine.measure.protocol)
    latency: dict | None  # the latest latency-hint figure: its own column, never a stand-in
    accuracy: InferenceResult | None


def model_rows(ws: Any) -> list[ModelRow]:
    """The model tree with each model's datasets and latest measurements:
    the throughput-hint figure (benchmark_app's default) and, apart from it,
    the latency-hint figure."""
    datasets = {d.id: d.name for d in ws.all(Dataset)}
    projects = ws.all(Project)
    results = history(ws)
    rows = []
    for depth, m in model_tree(ws):
        mine = [r for r in results if r.model == m.id]
        acc = [r for r in mine if r.kind == "accuracy"]
        names = sorted({datasets[p.dataset] for p in projects if p.model == m.id and p.dataset in datasets})
        rows.append(ModelRow(depth, m, names, headline_figure(ws, m, "throughput"), headline_figure(ws, m, "latency"),
                             acc[-1] if acc else None))
    return rows


def speed_cell(fig: dict, value: float | None, fmt: str) -> Text:
    """A figure's value; its precision appended where it is not the default one."""
    from engine.precision import SPEED_DEFAULT, resolved

    if value is None:
        return num(None)
    other = fig.get("inference_precision") != resolved("CPU", SPEED_DEFAULT)
    return cell(fmt.format(value) + (f" {fig['inference_precision']}" if other else ""), justify="right")


def tree_label(depth: int, name: str, busy: bool, incomplete: bool = False) -> Text:
    """The name in the tree; * while a job works on it, and "incomplete" for
    a model an interrupted job left unmeasured (retry the job, or remove it)."""
    prefix = "  " * max(0, depth - 1) + ("└ " if depth else "")
    text = Text(clip(prefix + printable(name), 24))
    if busy:
        text.append(" *", style="bold yellow")
    elif incomplete:
        text.append(" incomplete", style="yellow")
    return text


class ProjectsScreen(FilterKeys, Screen):
    AUTO_FOCUS = "#models"
    BINDINGS = [
        Binding("enter", "open", "open", show=False, tooltip="Open the selected model's project page", id="open"),
        Binding("m", "import_model", "model", tooltip="Import a model", id="import-model"),
        Binding("d", "import_dataset", "data", tooltip="Import a dataset", id="import-dataset"),
        Binding("o", "optimize", "int8", tooltip="Optimize the selected model to INT8", id="optimize"),
        Binding("c", "compare", "compare", tooltip="Compare: a child with its parent, a parent with its fastest child",
                id="compare"),
        Binding("b", "benchmark", "bench", tooltip="Benchmark the selected model", id="benchmark"),
        Binding("a", "accuracy", "accuracy", tooltip="Measure accuracy on an annotated dataset", id="accuracy"),
        filter_binding("Filter the model list", "filter", show=False),
        Binding("r", "refresh", "refresh", show=False, tooltip="Re-read the workspace", id="refresh"),
        Binding("delete", "remove", "remove", show=False, id="remove-model",
                tooltip="Remove the selected model with its results and files (asks first; children too)"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._stages: dict[str, tuple[str, str] | None] = {}

    def compose(self) -> ComposeResult:
        yield Header()
        yield FilterBar("#models", id="filter")
        table = RowTable(id="models")
        table.add_column("model", key="model")
        table.add_column("prec", key="precision")
        table.add_column("dataset", key="dataset")
        # Named by hint: a latency-hint run is its own figure and never
        # replaces the throughput figure (benchmark_app's default).
        table.add_column(Text("FPS thr", justify="right"), key="fps")
        table.add_column(Text("ms thr", justify="right"), key="latency")
        table.add_column(Text("ms lat", justify="right"), key="latency-hint")
        table.add_column(Text("acc", justify="right"), key="accuracy")
        table.add_column(Text("size", justify="right"), key="size")
        yield table
        yield Static(id="empty", classes="hint")
        yield JobStatus()
        yield KeyFooter()

    def on_mount(self) -> None:
        self.app.job_signal.subscribe(self, self._job_changed)
        self.refresh_rows()

    def on_screen_resume(self) -> None:
        self.refresh_rows()

    def _job_changed(self, event: Any) -> None:
        # Progress ticks only move the status line. A new stage (the child
        # model exists once calibration's stages are over), a job that ends,
        # or a change seen in the DB rebuild the rows.
        stage = None if event is None else (event.state, event.stage)
        if event is None or stage != self._stages.get(event.job):
            if event is not None:
                self._stages[event.job] = stage
            self.refresh_rows()

    @reports_errors
    def refresh_rows(self) -> None:
        table = self.query_one("#models", DataTable)
        selected = self.selected_id()
        query = self.query_one("#filter", FilterBar).value
        rows = model_rows(self.app.ws)
        table.clear()
        from engine.optimize import unfinished_stages

        active = self.app.active_jobs()
        busy = {j.params.get("model") for j in active}
        building = {j.id for j in active}
        for r in rows:
            m = r.model
            thr, lat = r.throughput or {}, r.latency or {}
            a = r.accuracy.result if r.accuracy else None
            if not matches(query, [m.name, m.precision, *r.datasets]):
                continue
            table.add_row(
                tree_label(r.depth, m.name, m.id in busy or m.provenance.get("job") in building,
                           bool(unfinished_stages(m))),
                cell(m.precision, style="bold green" if m.precision == "INT8" else ""),
                cell(clip(", ".join(r.datasets), 10)),
                speed_cell(thr, thr.get("throughput_fps"), "{:.1f}"),
                speed_cell(thr, (thr.get("latency_ms") or {}).get("median"), "{:.2f}"),
                speed_cell(lat, (lat.get("latency_ms") or {}).get("median"), "{:.2f}"),
                num(a["value"] * 100 if a else None, "{:.1f}%"),
                cell(human_size(m.size_bytes), justify="right"),
                key=m.id,
            )
        if selected is not None:
            try:
                table.move_cursor(row=table.get_row_index(selected), animate=False)
            except Exception:  # the selected row was filtered out or removed
                pass
        empty = self.query_one("#empty", Static)
        if not rows:
            empty.update("No models yet. Press m to import a model (IR, ONNX, TFLite, Paddle, TF),\n"
                         "d to import a dataset, or quit and run `owb demo` for a ready-made one.")
        elif not table.row_count:
            empty.update(f"No model matches the filter {query!r}; / then esc clears it.")
        else:
            empty.update("")
        empty.display = not table.row_count

    def selected_id(self) -> str | None:
        return selected_key(self.query_one("#models", DataTable))

    def selected_model(self) -> Model | None:
        key = self.selected_id()
        if key is None:
            self.app.notify("no model selected: import one with m", severity="warning")
            return None
        try:
            return self.app.ws.get(Model, key)
        except NotFound as exc:
            self.app.notify(error_text(exc), severity="error")
            self.refresh_rows()
            return None

    @on(Input.Changed, "#filter")
    def _filter(self) -> None:
        self.refresh_rows()

    @on(DataTable.RowSelected, "#models")
    def _row_selected(self) -> None:
        self.action_open()

    @reports_errors
    def action_open(self, tab: str | None = None) -> None:
        from .project import ProjectScreen

        model = self.selected_model()
        if model is not None:
            self.app.push_screen(ProjectScreen(model.id, tab=tab))

    def action_optimize(self) -> None:
        self.action_open(tab="optimize")

    def action_import_model(self) -> None:
        from .import_model import ImportModelScreen

        self.app.push_screen(ImportModelScreen(), lambda _m: self.refresh_rows())

    def action_import_dataset(self) -> None:
        from .import_dataset import ImportDatasetScreen

        self.app.push_screen(ImportDatasetScreen(), lambda _d: self.refresh_rows())

    @reports_errors
    def action_benchmark(self) -> None:
        from .dialogs import BenchmarkDialog

        model = self.selected_model()
        if model is not None:
            self.app.push_screen(BenchmarkDialog(model))

    @reports_errors
    def action_accuracy(self) -> None:
        from .dialogs import AccuracyDialog

        model = self.selected_model()
        if model is not None:
            self.app.push_screen(AccuracyDialog(model))

    @reports_errors
    def action_compare(self) -> None:
        model = self.selected_model()
        if model is not None:
            # picking B reads the benchmarks made on this CPU, which asks OpenVINO: off the UI
            # thread. Run by the App, whose handler turns a failure into a notification.
            self.app.run_worker(lambda: self._open_compare(model), thread=True, exclusive=True,
                                group="open-compare", exit_on_error=False)

    def _open_compare(self, model: Model) -> None:
        from engine.compare import default_pair

        pair = default_pair(self.app.ws, model)
        if pair is None:
            self.app.call_from_thread(
                self.app.notify, f"{model.name} has no INT8 child to compare with yet: optimize it first (o)",
                severity="warning")
            return
        self.app.call_from_thread(self._push_compare, pair[0].id, pair[1].id)

    def _push_compare(self, a_id: str, b_id: str) -> None:
        from .compare import CompareScreen

        if not any(isinstance(s, CompareScreen) for s in self.app.screen_stack):  # c pressed twice
            self.app.push_screen(CompareScreen(a_id, b_id))

    @reports_errors
    def action_remove(self) -> None:
        from engine.projects import descendants

        from .dialogs import ConfirmScreen

        model = self.selected_model()
        if model is None:
            return
        kids = descendants(self.app.ws, model)
        also = f" and its {len(kids)} optimized model(s) ({', '.join(k.name for k in kids[:3])})" if kids else ""
        question = f"Remove {model.name}{also}, with their results, reports and files?"
        self.app.push_screen(ConfirmScreen(question),
                             lambda yes: self._remove(model, recursive=bool(kids)) if yes else None)

    @reports_errors
    def _remove(self, model: Model, recursive: bool) -> None:
        from engine.projects import remove_model

        gone = remove_model(self.app.ws, model, recursive=recursive)
        self.app.notify(f"removed {', '.join(m.name for m in gone)}")
        self.refresh_rows()

    def action_filter(self) -> None:
        self.query_one("#filter", FilterBar).open()

    def action_refresh(self) -> None:
        self.refresh_rows()

    def palette_commands(self) -> list[tuple[str, str, Any]]:
        """ctrl+p: `Remove dataset NAME`, asked first, as `owb dataset remove` does it."""
        return [(f"Remove dataset {printable(d.name)}", f"{d.images} images; delete its record and copy (asks first)",
                 lambda d=d: self.remove_dataset(d)) for d in self.app.ws.all(Dataset)]

    def remove_dataset(self, dataset: Dataset) -> None:
        from engine.dataset_store import remove_dataset

        from .dialogs import ConfirmScreen

        app = self.app

        def work() -> None:  # deleting 50k files would freeze the UI thread
            try:
                r = remove_dataset(app.ws, dataset)
            except OwbError as exc:
                app.call_from_thread(app.notify, str(exc), severity="error", timeout=8)
                return
            app.call_from_thread(app.notify, f"removed dataset {r['name']} ({human_size(r['bytes_freed'])} freed)")

        def decided(yes: bool | None) -> None:
            if yes:
                app.run_worker(work, thread=True, group="remove-dataset", exit_on_error=False)

        self.app.push_screen(ConfirmScreen(f"Remove dataset {printable(dataset.name)} ({dataset.images} images) and "
                                           "its copy in the workspace? Results measured on it stay."), decided)
