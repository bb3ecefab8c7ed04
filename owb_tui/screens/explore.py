"""Explore (a project page tab): the batch × streams sweep as a job, and the
latest grid with its sweet spot."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, DataTable, Input, Static

from engine.errors import BadInput
from engine.records import InferenceResult, Job, Model

from ..text import error_text, reports_errors
from .forms import chosen_precision, ints, number, precision_select, row


def latest_explore(ws: Any, model: Model) -> InferenceResult | None:
    from engine.benchmark import history

    rows = history(ws, model, "explore")
    return rows[-1] if rows else None


class ExplorePane(VerticalScroll):
    def __init__(self, model: Model) -> None:
        super().__init__(id="explore-pane")
        self.model = model

    def compose(self) -> ComposeResult:
        from engine.choices import EXPLORE_BATCHES, EXPLORE_CELL_TIME_S, EXPLORE_STREAMS

        yield row(("batches", Input(",".join(map(str, EXPLORE_BATCHES)), id="ex-batches", compact=True)),
                  ("streams", Input(",".join(map(str, EXPLORE_STREAMS)), id="ex-streams", compact=True)))
        yield row(("s / cell", Input(f"{EXPLORE_CELL_TIME_S:g}", id="ex-time", type="number", compact=True)),
                  ("max ms", Input(placeholder="latency limit", id="ex-limit", type="number", compact=True)),
                  ("float in", precision_select("ex-infer")))
        with Horizontal(classes="buttons"):
            yield Button("Run sweep", id="ex-run", variant="primary")
        yield Static(id="ex-note", classes="hint", markup=False)
        grid: DataTable = DataTable(id="ex-grid", cursor_type="none")
        yield grid

    def on_mount(self) -> None:
        self.app.job_signal.subscribe(self, self._job_changed)
        self.show_latest()

    def _job_changed(self, event: Any) -> None:
        if event is not None and event.state == "done":
            self.show_latest()
            job = self.app.ws.maybe(Job, event.job)
            if job is not None and job.kind == "explore" and self.has_focus_within:
                self.focus_grid()

    def focus_grid(self) -> None:
        """The grid, not a field, holds focus after a sweep, so that q quits and
        j opens the jobs instead of typing into the batches field."""
        grid = self.query_one("#ex-grid", DataTable)
        if grid.display:
            grid.focus()

    @reports_errors
    def show_latest(self) -> None:
        record = latest_explore(self.app.ws, self.model)
        note = self.query_one("#ex-note", Static)
        grid = self.query_one("#ex-grid", DataTable)
        grid.clear(columns=True)
        charts = self.query("#ex-chart")
        if record is None:
            charts.remove()
            note.update("No sweep yet. Each cell is a benchmark_app-style run (hint none) of the "
                        "given seconds; the sweet spot is the best throughput within the latency limit.")
            grid.display = False
            return
        r = record.result
        best = r.get("sweet_spot")
        grid.add_column("batch")
        for s in r["streams"]:
            grid.add_column(Text(f"{s} streams", justify="right"))
        by = {(c["batch"], c["requested_streams"]): c for c in r["cells"]}
        for b in r["batches"]:
            values: list[Text] = [Text(str(b))]
            for s in r["streams"]:
                c = by[(b, s)]
                if not c["measured"]:
                    values.append(Text(f"= {c['same_as']['streams']} streams", style="dim", justify="right"))
                    continue
                text = f"{c['throughput_fps']:.1f}/{c['latency_ms']['median']:.1f}"
                if best is not None and (best["batch"], best["requested_streams"]) == (b, s):
                    values.append(Text(f"* {text}", style="bold green", justify="right"))
                else:
                    values.append(Text(text, justify="right"))
            grid.add_row(*values)
        grid.display = True
        from ..widgets.explore_chart import ExploreChart

        chart = charts.first() if charts else None
        if chart is None:
            chart = ExploreChart(id="ex-chart")
            self.mount(chart)
        chart.show(r)
        capped = f" This CPU runs at most {r['max_streams']} streams." if any(
            not c["measured"] for c in r["cells"]) else ""
        note.update(f"FPS / median latency ms, {r['time_s']:g} s per cell. "
                    f"{'Sweet spot (*)' if best else 'No sweet spot'}: {r['sweet_spot_note']}.{capped} "
                    "Chart: o a measured cell (batch·streams), * the sweet spot"
                    + (", red line the latency limit." if r.get("latency_limit_ms") is not None else "."))

    @on(Button.Pressed, "#ex-run")
    @on(Input.Submitted)
    @reports_errors
    def run_sweep(self) -> None:
        value = lambda i: self.query_one(i, Input).value.strip()  # noqa: E731
        try:
            batches = ints(value("#ex-batches"), "batches") or []
            streams = ints(value("#ex-streams"), "streams") or []
            time_s = number(value("#ex-time"), "seconds per cell")
            limit = number(value("#ex-limit"), "latency limit") if value("#ex-limit") else None
        except BadInput as exc:
            self.app.notify(error_text(exc), severity="error")
            return
        job = self.app.start_job("explore", {"model": self.model.id, "batches": batches, "streams": streams,
                                             "time_s": time_s, "latency_limit_ms": limit,
                                             "infer_precision": chosen_precision(self, "ex-infer")})
        if job is not None:
            cells = len(set(batches)) * len(set(streams))
            self.app.notify(f"{job.name} started: {cells} cells x {time_s:g} s; the grid fills in when it ends")
            self.focus_grid()
