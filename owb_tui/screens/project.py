"""A model's project page: its facts, then Performance (inference history),
Layers (runtime per-layer profile), Optimize, Explore, Reports and Export tabs."""

from __future__ import annotations

import time
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import DataTable, Header, Input, Static, TabbedContent, TabPane

from engine.choices import LAYER_RUNS
from engine.measure.benchmark import history
from engine.records import Dataset, InferenceResult, Model, Project
from engine.terminal_text import printable

from ..text import human_size, reports_errors
from ..widgets.footer import KeyFooter
from ..widgets.progress import JobStatus
from ..widgets.tables import FilterBar, FilterKeys, cell, cells, clip, filter_binding, literal, matches, num
from .explore import ExplorePane
from .optimize import OptimizeForm


def facts_text(ws: Any, m: Model) -> Text:
    """Three lines: what the model is, what it was measured on, where it came from."""
    models = {x.id: x for x in ws.all(Model)}
    datasets = {d.id: d for d in ws.all(Dataset)}
    cfg = m.config
    shape = "x".join(str(d) for d in (cfg.shape or (m.inputs[0]["shape"] if m.inputs else [])))
    gflops = f"{m.gflops:g} GFLOPs" if m.gflops is not None else "GFLOPs ?"
    used = [datasets[p.dataset] for p in ws.find(Project, model=m.id) if p.dataset in datasets]
    ds = ", ".join(f"{d.name} ({d.format}, {d.images} img{'' if d.annotated else ', unannotated'})"
                   for d in used) or "none yet"
    text = Text()
    text.append(printable(m.name), style="bold")
    text.append(f"  {m.precision} {cfg.task}  input {shape} {cfg.layout} {cfg.color}\n")
    text.append(f"{human_size(m.size_bytes)}, {m.params:,} params, {gflops}; datasets: {printable(ds)}\n")
    children = [x.name for x in models.values() if x.parent == m.id]
    if m.parent:
        prov = m.provenance
        parent = models.get(m.parent)
        text.append(f"from {printable(parent.name if parent else prov.get('parent_name', '?'))}: "
                    f"{prov.get('method', '?')}/{prov.get('preset', '?')}, "
                    f"{prov.get('subset_images', '?')} img of {printable(prov.get('calibration_dataset_name', '?'))}, "
                    f"{prov.get('seconds', 0):.1f} s, {len(prov.get('fp32_ops', []))} FP32 ops",
                    style="dim")
        post = (prov.get("post") or {}).get("throughput_fps") or {}
        ratios = [f"{f['ratio']:.2f}x vs the parent in {p}" + (
            f" ({f['ratio_spread']['low']:.2f}-{f['ratio_spread']['high']:.2f})" if f.get("ratio_spread") else "")
            for p, f in (post.get("by_precision") or {}).items() if f.get("ratio")]
        if ratios:
            text.append("\nafter calibration: " + ", ".join(ratios), style="dim")
        if prov.get("verdict"):
            keep = prov.get("keep_parent")
            text.append(f"\n{'KEEP THE PARENT — ' if keep else ''}{prov['verdict']} (t: the search)",
                        style="bold yellow" if keep else "bold green")
    else:
        text.append(f"INT8 children: {printable(', '.join(children)) or 'none yet (o: optimize)'}", style="dim")
    text.append("\n" + printable(speed_line(ws, m)))
    return text


def speed_line(ws: Any, m: Model) -> str:
    """The throughput-hint figure and, apart from it, the latency-hint one,
    each with its spread, runs and precision, in one short line: the figures
    the Projects list shows."""
    from engine.measure.protocol import headline_figure

    parts = []
    for hint in ("throughput", "latency"):
        f = headline_figure(ws, m, hint)
        if f is None:
            parts.append(f"{hint} hint: not measured")
            continue
        t, lat = f["throughput_spread"], f["latency_spread"]
        warn = f", {f['disturbed_runs']} disturbed" if f["disturbed_runs"] else ""
        parts.append(f"{hint} hint: {f['throughput_fps']:.1f} FPS ({t['low']:.1f}-{t['high']:.1f}), "
                     f"{f['latency_ms']['median']:.2f} ms ({lat['low']:.2f}-{lat['high']:.2f}), "
                     f"{f['runs']} runs, {f['inference_precision']}{warn}")
    return "speed: " + " | ".join(parts)


def layer_sum_text(table: dict) -> str:
    measured = table.get("measured_latency_ms")
    if not measured:
        return (f"layers sum to {table['total_ms']:.3f} ms (no latency-hint benchmark in {table['inference_precision']} "
                "to set beside it: b, hint latency)")
    return (f"layers sum to {table['total_ms']:.3f} ms vs {measured:.3f} ms measured by the latest latency-hint "
            f"benchmark ({table['sum_vs_measured']:.0%}), profiling overhead {table['profiling_overhead']:+.0%}")


def result_summary(r: InferenceResult) -> tuple[str, str]:
    """(what was measured, how) for one history row."""
    x = r.result
    if r.kind == "benchmark":
        lat = x.get("latency_ms", {}).get("median")
        series = x.get("series") or {}
        run = f" run {series['index'] + 1}/{series['runs']}" if series else ""
        flag = " disturbed" if x.get("disturbed") else ""
        return (f"{x.get('throughput_fps', 0):.1f} FPS  {lat:.2f} ms{flag}",
                f"{x.get('hint', '?')[:3]} {x.get('streams', '?')}s/{x.get('requests', '?')}r "
                f"b{x.get('batch', '?')} {x.get('inference_precision', '')}{run}")
    if r.kind == "accuracy":
        return f"{x.get('metric', '?')} {x.get('value', 0) * 100:.2f}%", f"{x.get('images', '?')} images"
    if r.kind == "explore":
        best = x.get("sweet_spot")
        if best:
            return (f"best {best['throughput_fps']:.1f} FPS", f"b{best['batch']} {best['requested_streams']}s "
                    f"{best['latency_ms']['median']:.2f} ms")
        return "no sweet spot", clip(x.get("sweet_spot_note", ""), 22)
    return r.kind, ""


def search_pane(search: dict) -> Widget:
    """The speed-aware search behind a child: every candidate, and the groups kept in FP."""
    from engine.quantize.trace import CANDIDATE_COLUMNS, GROUP_COLUMNS, candidate_rows, group_rows, summary

    parts: list[Widget] = [Static(summary(search), classes="hint", markup=False)]
    for key, columns, rows in (("search-candidates", CANDIDATE_COLUMNS, candidate_rows(search)),
                               ("search-groups", GROUP_COLUMNS, group_rows(search))):
        t: DataTable = DataTable(id=key, cursor_type="row", zebra_stripes=True)
        t.add_columns(*columns)
        for r in rows:
            t.add_row(*cells(*r))
        parts.append(t)
    return VerticalScroll(*parts)


class ProjectScreen(FilterKeys, Screen):
    AUTO_FOCUS = None  # on_mount focuses the first field of the initial tab
    HELP_TITLE = "Project page"
    BINDINGS = [
        Binding("b", "benchmark", "bench", tooltip="Benchmark this model", id="project-benchmark"),
        Binding("a", "accuracy", "accuracy", tooltip="Measure accuracy on an annotated dataset",
                id="project-accuracy"),
        Binding("d", "import_dataset", "dataset", show=False,
                tooltip="Import a dataset for this model: its task settles a folder that fits two formats",
                id="project-import-dataset"),
        Binding("p", "tab('performance')", "perf", show=False, tooltip="Performance tab: inference history",
                id="tab-performance"),
        Binding("l", "layers", "layers", show=False,
                tooltip="Layers tab: profile per-layer time and precision",
                id="tab-layers"),
        Binding("o", "tab('optimize')", "optimize", show=False, tooltip="Optimize tab: INT8 calibration",
                id="tab-optimize"),
        Binding("e", "tab('explore')", "explore", show=False, tooltip="Explore tab: batch x streams sweep",
                id="tab-explore"),
        Binding("r", "tab('reports')", "reports", show=False,
                tooltip="Reports tab: accuracy, predictions, tensor distance",
                id="tab-reports"),
        Binding("x", "tab('export')", "export", show=False,
                tooltip="Export tab: deployment package (IR, infer.py, benchmark.sh)", id="tab-export"),
        Binding("t", "search_tab", "search", show=False,
                tooltip="Search tab: a speed-aware child's candidates and the groups kept in floating point",
                id="tab-search"),
        filter_binding("Filter the inference history", "project-filter", show=False),
        Binding("escape", "leave", "back", tooltip="From a field: back to the tab bar; from there: back to "
                "the previous screen", id="project-back"),
    ]

    def __init__(self, model_id: str, tab: str | None = None) -> None:
        super().__init__()
        self.model_id = model_id
        self.initial_tab = tab or "performance"
        self.layer_table: dict | None = None
        self.layers_job: str | None = None

    @property
    def model(self) -> Model:
        return self.app.ws.get(Model, self.model_id)

    def compose(self) -> ComposeResult:
        model = self.model
        yield Header()
        yield Static(facts_text(self.app.ws, model), id="facts")
        with TabbedContent(initial=self.initial_tab, id="tabs"):
            with TabPane("Perf (p)", id="performance"):
                yield FilterBar("#history", id="history-filter")
                table: DataTable = DataTable(id="history", cursor_type="row", zebra_stripes=True)
                for label in ("when", "kind", "inputs", "result", "settings"):
                    table.add_column(label, key=label)
                yield table
            # The other tabs are built when first shown: their forms hold many
            # widgets, and styling them all up front delays the page by seconds.
            yield TabPane("Layers (l)", id="layers")
            yield TabPane("Optimize (o)", id="optimize")
            yield TabPane("Explore (e)", id="explore")
            yield TabPane("Reports (r)", id="reports")
            yield TabPane("Export (x)", id="export")
            if model.provenance.get("speed_aware"):
                yield TabPane("Search (t)", id="search")
        yield JobStatus()
        yield KeyFooter()

    def on_mount(self) -> None:
        self.sub_title = f"project {self.model.name}"
        self.app.job_signal.subscribe(self, self._job_changed)
        self.refresh_history()
        self.run_worker(self.action_tab(self.initial_tab))

    def on_screen_resume(self) -> None:
        self.refresh_history()

    def _job_changed(self, event: Any) -> None:
        if event is None or event.state != "running":
            self.refresh_history()
        if self.layers_job is not None and (event is None or event.job == self.layers_job):
            self._layers_ended()

    @reports_errors
    def refresh_history(self) -> None:
        ws = self.app.ws
        try:
            model = self.model
        except Exception:  # removed meanwhile by another process
            return
        self.query_one("#facts", Static).update(facts_text(ws, model))
        datasets = {d.id: d.name for d in ws.all(Dataset)}
        query = self.query_one("#history-filter", FilterBar).value
        table = self.query_one("#history", DataTable)
        table.clear()
        for r in reversed(history(ws, model)):
            inputs = datasets.get(r.dataset or "", "random")
            what, how = result_summary(r)
            when = time.strftime("%m-%d %H:%M", time.localtime(r.created))
            if matches(query, [r.kind, inputs, what, how]):
                table.add_row(*cells(when, r.kind, clip(inputs, 12), what, how), key=r.id)

    def tab_content(self, tab: str) -> list[Widget]:
        if tab == "optimize":
            return [OptimizeForm(self.model)]
        if tab == "explore":
            return [ExplorePane(self.model)]
        if tab == "reports":
            from .reports import ReportsPane

            return [ReportsPane(self.model)]
        if tab == "export":
            from .export import ExportPane

            return [ExportPane(self.model)]
        if tab == "search":
            return [search_pane(self.model.provenance["speed_aware"])]
        tables = []
        for key, labels in (("by-precision", ("precision", "count", "ms", "share")),
                            ("by-type", ("layer type", "count", "ms", "share")),
                            ("slowest", ("layer", "type", "prec", "kernel", "ms"))):
            t: DataTable = DataTable(id=key, cursor_type="row", classes="layers-table")
            t.add_columns(*labels)
            t.display = False
            tables.append(t)
        note = Static(f"l profiles every layer of the runtime graph ({LAYER_RUNS} inferences, latency hint).",
                      id="layers-note", classes="hint", markup=False)
        return [VerticalScroll(note, *tables)]

    async def ensure_tab(self, tab: str) -> None:
        pane = self.query_one(f"#{tab}", TabPane)
        if tab != "performance" and not pane.children:
            await pane.mount_all(self.tab_content(tab))

    @on(TabbedContent.TabActivated, "#tabs")
    async def _tab_shown(self, event: TabbedContent.TabActivated) -> None:
        await self.ensure_tab(event.pane.id or "")

    async def action_tab(self, tab: str) -> None:
        self.query_one("#tabs", TabbedContent).active = tab
        await self.ensure_tab(tab)
        first = {"performance": "#history", "layers": "#layers VerticalScroll",
                 "optimize": "#opt-dataset, #calibrate", "explore": "#ex-batches", "reports": "#rep-list",
                 "export": "#export-path", "search": "#search-candidates"}[tab]
        found = self.query(first)
        if found:
            found.first().focus()

    def action_leave(self) -> None:
        """esc leaves a field for the tab bar, and only from there the page:
        a newcomer pressing esc to get out of a form must not lose the page."""
        from textual.widgets import Button, Checkbox, Select, Tabs

        focused = self.app.focused
        if isinstance(focused, (Input, Select, Checkbox, Button)) and focused.screen is self:
            self.query_one("#tabs", TabbedContent).query_one(Tabs).focus()
            return
        self.app.action_back()

    async def action_search_tab(self) -> None:
        if self.model.provenance.get("speed_aware"):
            await self.action_tab("search")
        else:
            self.notify("only a speed-aware child has a search to show", severity="warning")

    async def action_filter(self) -> None:
        await self.action_tab("performance")
        self.query_one("#history-filter", FilterBar).open()

    @on(Input.Changed, "#history-filter")
    def _filter(self) -> None:
        self.refresh_history()

    @reports_errors
    def action_benchmark(self) -> None:
        from .dialogs import BenchmarkDialog

        self.app.push_screen(BenchmarkDialog(self.model))

    @reports_errors
    def action_accuracy(self) -> None:
        from .dialogs import AccuracyDialog

        self.app.push_screen(AccuracyDialog(self.model))

    def action_import_dataset(self) -> None:
        from .import_dataset import ImportDatasetScreen

        self.app.push_screen(ImportDatasetScreen(self.model), lambda _d: self.refresh_history())

    # -- layers --------------------------------------------------------------
    async def action_layers(self) -> None:
        await self.action_tab("layers")
        if self.layer_table is None:
            self.profile_layers()

    @reports_errors
    def profile_layers(self) -> None:
        """A layers job (as `owb layers`), or the one already running for this model."""
        model = self.model
        job = next((j for j in self.app.active_jobs() if j.kind == "layers" and j.params.get("model") == model.id),
                   None) or self.app.start_job("layers", {"model": model.id})
        if job is None:
            return
        self.layers_job = job.id
        busy = any(j.id != job.id and j.state == "running" for j in self.app.active_jobs())
        note = " (another job is running: it goes first, and times would be inflated beside it)" if busy else ""
        self.query_one("#layers-note", Static).update(literal(f"profiling {model.name} … job {job.id}{note}"))

    def _layers_ended(self) -> None:
        from engine.jobs import FINAL, job_result
        from engine.records import Job

        job = self.app.ws.maybe(Job, self.layers_job or "")
        if job is None or job.state not in FINAL:
            return
        self.layers_job = None
        if job.state == "done":
            self.layer_table = job_result(self.app.ws, job)
            self.show_layers(self.layer_table)
        else:
            self.query_one("#layers-note", Static).update(literal(f"layers {job.state}: {job.error}", style="red"))

    def show_layers(self, table: dict) -> None:
        from engine.device import float_precision_note
        from engine.layers import slowest
        from engine.measure.rows import layer_groups

        self.query_one("#layers-note", Static).update(Text(
            f"{table['executed_layers']} of {table['graph_nodes']} runtime nodes executed, "
            f"{table['latency_ms_avg']:.3f} ms per inference (mean of {table['runs']}), "
            f"{float_precision_note(table['model_precision'], table['inference_precision'])}, latency hint; "
            f"{layer_sum_text(table)}; {table['cpu']}"))
        for key, field in (("by-precision", "runtime_precision"), ("by-type", "type")):
            t = self.query_one(f"#{key}", DataTable)
            t.clear()
            for name, *figures in layer_groups(table, field):
                t.add_row(cell(name), *(cell(f, justify="right") for f in figures))
            t.display = True
        t = self.query_one("#slowest", DataTable)
        t.clear()
        for r in slowest(table, 15):
            t.add_row(cell(clip(r["name"], 24)), cell(r["type"]), cell(r["runtime_precision"]),
                      cell(clip(r["primitive"], 18)), num(r["exec_ms"], "{:.4f}"))
        t.display = True

    def palette_commands(self) -> list[tuple[str, str, Any]]:
        async def again() -> None:
            await self.action_tab("layers")
            self.profile_layers()

        return [("Re-profile layers", "measure the per-layer table again", again)]
