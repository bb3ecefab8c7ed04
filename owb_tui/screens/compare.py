"""Compare: a parent and its optimized child side by side (engine.compare).

The comparison benchmarks models that have no history and profiles both
models' layers, so it runs as a job; the page shows the latest finished
comparison of the pair at once and fills in when a new one ends."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Header, Static

from engine.records import Job, Model

from ..app import reports_errors
from ..commands.common import human_size
from ..widgets.footer import KeyFooter
from ..widgets.progress import JobStatus
from ..widgets.tables import cell, clip, num


def pair_for(ws: Any, model: Model) -> tuple[Model, Model] | None:
    """(parent, child): the selected child with its parent, or the selected
    parent with its newest child."""
    if model.parent:
        parent = ws.maybe(Model, model.parent)
        return (parent, model) if parent else None
    children = sorted((m for m in ws.all(Model) if m.parent == model.id), key=lambda m: m.created)
    return (model, children[-1]) if children else None


def latest_result(ws: Any, a: Model, b: Model) -> Job | None:
    done = [j for j in ws.find(Job, kind="compare", state="done")
            if j.params.get("a") == a.id and j.params.get("b") == b.id]
    return max(done, key=lambda j: j.created, default=None)


def ratio(value: float | None, better_high: bool = True) -> Text:
    if value is None:
        return cell(None, justify="right")
    good = value >= 1 if better_high else value <= 1
    return Text(f"{value:.2f}x", style="green" if good else "red", justify="right")


class CompareScreen(Screen):
    HELP_TITLE = "Compare"
    BINDINGS = [
        Binding("r", "rerun", "re-measure", tooltip="Run the comparison again (benchmarks + layer profiles)",
                id="compare-rerun"),
    ]

    def __init__(self, a_id: str, b_id: str) -> None:
        super().__init__()
        self.a_id, self.b_id = a_id, b_id
        self.job_id: str | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="compare-body"):
            yield Static(id="verdict", classes="detail")
            for key, labels in (("summary", ("", "A", "B", "B/A")),
                                ("cmp-precision", ("precision", "A n", "A ms", "B n", "B ms")),
                                ("cmp-type", ("layer type", "A n", "A ms", "B n", "B ms", "delta")),
                                ("cmp-kernels", ("layer", "type", "A ms", "B ms", "delta", "prec A>B"))):
                table: DataTable = DataTable(id=key, cursor_type="row", classes="compare-table")
                table.add_columns(*labels)
                yield table
        yield JobStatus()
        yield KeyFooter()

    @reports_errors
    def on_mount(self) -> None:
        ws = self.app.ws
        a, b = ws.get(Model, self.a_id), ws.get(Model, self.b_id)
        self.sub_title = f"compare {a.name} (A) with {b.name} (B)"
        self.app.job_signal.subscribe(self, self._job_changed)
        found = latest_result(ws, a, b)
        if found is not None:
            self.show(found.result)
        else:
            self.action_rerun()

    def _job_changed(self, event: Any) -> None:
        if event is not None and event.job == self.job_id and event.state in ("done", "failed", "cancelled"):
            job = self.app.ws.maybe(Job, event.job)
            if job is not None and job.state == "done":
                self.show(job.result)
            elif job is not None:
                self.query_one("#verdict", Static).update(Text(f"comparison {job.state}: {job.error}", style="red"))

    @reports_errors
    def action_rerun(self) -> None:
        ws = self.app.ws
        job = self.app.start_compare(ws.get(Model, self.a_id), ws.get(Model, self.b_id))
        if job is not None:
            self.job_id = job.id
            self.query_one("#verdict", Static).update(
                "measuring: benchmarks where a model has none, then both models' layers (progress below)…")

    def show(self, r: dict) -> None:
        a, b = r["a"], r["b"]
        verdict = Text(r["verdict"], style="bold")
        verdict.append(f"\n{r['cpu']}", style="dim")
        self.query_one("#verdict", Static).update(verdict)
        summary = self.query_one("#summary", DataTable)
        summary.clear()
        acc_a, acc_b = a.get("accuracy") or {}, b.get("accuracy") or {}
        pct = lambda acc: f"{acc['value'] * 100:.2f}%" if acc.get("value") is not None else None  # noqa: E731
        rows = [
            ("model", cell(clip(a["name"], 20)), cell(clip(b["name"], 20)), cell(None)),
            ("precision", cell(a["precision"]), cell(b["precision"]), cell(None)),
            ("executed as", cell(a.get("inference_precision")), cell(b.get("inference_precision")), cell(None)),
            ("FPS", num(a["throughput_fps"]), num(b["throughput_fps"]), ratio(r["throughput_ratio"])),
            ("latency ms", num(a["latency_ms_median"], "{:.2f}"), num(b["latency_ms_median"], "{:.2f}"),
             ratio(r["latency_ratio"], better_high=False)),
            ("size", cell(human_size(a["size_bytes"]), justify="right"),
             cell(human_size(b["size_bytes"]), justify="right"), ratio(r["size_ratio"], better_high=False)),
            ("accuracy", cell(pct(acc_a), justify="right"), cell(pct(acc_b), justify="right"),
             cell(None if r["accuracy_drop"] is None else f"{-r['accuracy_drop']:+.2f} pt", justify="right")),
        ]
        for label, *values in rows:
            summary.add_row(cell(label), *values)
        layers = r["layers"]
        t = self.query_one("#cmp-precision", DataTable)
        t.clear()
        for g in layers["by_precision"]:
            t.add_row(cell(g["precision"]), num(g["a_count"], "{:.0f}"), num(g["a_ms"], "{:.3f}"),
                      num(g["b_count"], "{:.0f}"), num(g["b_ms"], "{:.3f}"))
        t = self.query_one("#cmp-type", DataTable)
        t.clear()
        for g in layers["by_type"][:12]:
            t.add_row(cell(g["type"]), num(g["a_count"], "{:.0f}"), num(g["a_ms"], "{:.3f}"),
                      num(g["b_count"], "{:.0f}"), num(g["b_ms"], "{:.3f}"), num(g["delta_ms"], "{:+.3f}"))
        t = self.query_one("#cmp-kernels", DataTable)
        t.clear()
        for k in layers["kernels"][:20]:
            only = f" (only {k['only_in']})" if k["only_in"] else ""
            t.add_row(cell(clip(k["layer"], 22)), cell(clip(k["type"], 12)), num(k["time_a_ms"], "{:.4f}"),
                      num(k["time_b_ms"], "{:.4f}"), num(k["delta_ms"], "{:+.4f}"),
                      cell(f"{k['precision_a'] or '-'}>{k['precision_b'] or '-'}{only}"))
