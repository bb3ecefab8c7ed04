"""Compare: a parent and its optimized child side by side (engine.compare).

The comparison benchmarks both models now, interleaved with identical
settings, and profiles their layers in those settings, so it runs as a job;
the page shows the latest finished comparison of the pair at once and fills
in when a new one ends. Every speed is shown with its spread and runs."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Header, Select, Static

from engine.jobs import ACTIVE, FINAL
from engine.metrics import accuracy_change
from engine.records import Job, Model
from engine.terminal_text import printable

from ..text import human_size, reports_errors
from ..widgets.footer import KeyFooter
from ..widgets.progress import JobStatus
from ..widgets.tables import SortableTable, cell, clip, literal, num
from .forms import precision_select, row


def latest_result(ws: Any, a: Model, b: Model) -> Job | None:
    done = [j for j in ws.find(Job, kind="compare", state="done")
            if j.params.get("a") == a.id and j.params.get("b") == b.id]
    return max(done, key=lambda j: j.created, default=None)


def spread_cell(s: dict | None, fmt: str = "{:.1f}") -> Text:
    if not s:
        return cell(None, justify="right")
    return cell(f"{fmt.format(s['low'])}-{fmt.format(s['high'])} n{s['runs']}", justify="right")


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
        from engine.compare import family

        ws = self.app.ws
        options = [(literal(clip(f"{m.name} {m.precision}", 30)), m.id) for m in family(ws, ws.get(Model, self.a_id))]
        yield Header()
        with VerticalScroll(id="compare-body"):
            yield row(("A", Select(options, value=self.a_id, allow_blank=False, id="cmp-a", compact=True)),
                      ("B", Select(options, value=self.b_id, allow_blank=False, id="cmp-b", compact=True)))
            yield Static(id="verdict", classes="detail")
            for key, labels in (("summary", ("", "A", "B", "B/A")),
                                ("cmp-why", ("ms B-A", "why", "B n", "layers")),
                                ("cmp-precision", ("precision", "A n", "A ms", "B n", "B ms")),
                                ("cmp-type", ("layer type", "A n", "A ms", "B n", "B ms", "delta")),
                                ("cmp-kernels", ("layer", "type", "A ms", "B ms", "delta", "prec A>B"))):
                table = DataTable(id=key, cursor_type="row", classes="compare-table") if key in ("summary", "cmp-why") \
                    else SortableTable(id=key, classes="compare-table")
                if isinstance(table, SortableTable):
                    table.set_columns(*labels)
                else:
                    table.add_columns(*labels)
                yield table
                if key == "summary":
                    # How the speeds were measured, and the precision the next `r` measures in.
                    yield Static(id="cmp-speed", classes="detail")
                    yield row(("float in", precision_select("cmp-infer")))
        yield JobStatus()
        yield KeyFooter()

    def on_mount(self) -> None:
        self.app.job_signal.subscribe(self, self._job_changed)
        self.load(measure=True)

    @reports_errors
    def load(self, measure: bool) -> None:
        """The latest comparison of the chosen pair; measured now if asked and there is none."""
        ws = self.app.ws
        a, b = ws.get(Model, self.a_id), ws.get(Model, self.b_id)
        self.sub_title = f"compare {a.name} (A) with {b.name} (B)"
        found = latest_result(ws, a, b)
        running = next((j for j in self.app.active_jobs() if j.kind == "compare"
                        and (j.params.get("a"), j.params.get("b")) == (a.id, b.id)), None)
        if running is not None:  # measuring this pair already: wait for it, start no second one
            self.job_id = running.id
            self.clear("measuring: both models interleaved, then both models' layers (progress below)…")
        elif found is not None:
            self.show(found.result)
        elif a.id == b.id:
            self.clear(f"A and B are both {a.name}: pick two different models")
        elif measure:
            self.action_rerun()
        else:
            self.clear(f"{a.name} and {b.name} have not been compared yet: r measures them "
                       "(both models interleaved, then both models' layers)")

    @on(Select.Changed, "#cmp-a, #cmp-b")
    def _picked(self, event: Select.Changed) -> None:
        a, b = self.query_one("#cmp-a", Select).value, self.query_one("#cmp-b", Select).value
        if (a, b) != (self.a_id, self.b_id) and isinstance(a, str) and isinstance(b, str):
            self.a_id, self.b_id, self.job_id = a, b, None
            self.load(measure=False)

    def clear(self, message: str) -> None:
        self.query_one("#verdict", Static).update(literal(message))
        self.query_one("#cmp-speed", Static).update("")
        for table in self.query(".compare-table").results(DataTable):
            table.clear()

    def _job_changed(self, event: Any) -> None:
        # event None: the DB changed, maybe a job of another owb process ended
        if self.job_id is None or (event is not None and (event.job != self.job_id or event.state not in FINAL)):
            return
        job = self.app.ws.maybe(Job, self.job_id)
        if job is None or job.state in ACTIVE:
            return
        self.job_id = None
        if job.state == "done":
            self.show(job.result)
        else:
            self.query_one("#verdict", Static).update(literal(f"comparison {job.state}: {job.error}", style="red"))

    @reports_errors
    def action_rerun(self) -> None:
        precision = self.query_one("#cmp-infer", Select).value
        job = self.app.start_job("compare", {"a": self.a_id, "b": self.b_id,
                                             "infer_precision": precision if isinstance(precision, str) else "auto"})
        if job is not None:
            self.job_id = job.id
            self.clear("measuring: both models interleaved, then both models' layers (progress below)…")

    def show(self, r: dict) -> None:
        from engine.measure.protocol import ratio_text
        from engine.measure.rows import precision_rows, why_rows

        a, b = r["a"], r["b"]
        verdict = literal(r["verdict"], style="bold")
        verdict.append(f"\n{r['cpu']}", style="dim")
        self.query_one("#verdict", Static).update(verdict)
        notes = Text()
        speed = r.get("speed")
        if speed:
            st = speed["settings"]
            notes.append(f"throughput ratio {ratio_text(speed)}; {st['hint']} hint, {st['inference_precision']}, "
                         f"{st['seconds_per_run']} s per run, inputs {printable(st['inputs'])}")
            if a.get("disturbed_runs") or b.get("disturbed_runs"):
                notes.append("\nsome runs were disturbed (max latency > 10x median)", style="yellow")
        if r.get("why"):
            notes.append(f"\nCPU: {'; '.join(r['why']['cpu']['notes'])}")
        if r.get("speed_aware"):
            from engine.quantize.trace import group_rows, summary

            search = r["speed_aware"]
            notes.append("\n")
            notes.append(printable(f"{summary(search)}; {len(search['candidates'])} candidates (B's page, t)"))
            for g, ms, effect, how in group_rows(search)[:8]:
                notes.append("\n")
                notes.append(printable(f"  FP: {g}  INT8 added {ms} ms, metric {effect or '?'} pt ({how})"),
                             style="dim")
        self.query_one("#cmp-speed", Static).update(notes)
        summary = self.query_one("#summary", DataTable)
        summary.clear()
        acc_a, acc_b = a.get("accuracy") or {}, b.get("accuracy") or {}
        pct = lambda acc: f"{acc['value'] * 100:.2f}%" if acc.get("value") is not None else None  # noqa: E731
        rows = [
            ("model", cell(clip(a["name"], 20)), cell(clip(b["name"], 20)), cell(None)),
            ("precision", cell(a["precision"]), cell(b["precision"]), cell(None)),
            ("float ops in", cell(a.get("inference_precision")), cell(b.get("inference_precision")), cell(None)),
            ("FPS", num(a["throughput_fps"]), num(b["throughput_fps"]), ratio(r["throughput_ratio"])),
            ("  spread", spread_cell(a.get("throughput_spread")), spread_cell(b.get("throughput_spread")),
             spread_cell(r.get("throughput_ratio_spread"), "{:.2f}")),
            ("latency ms", num(a["latency_ms_median"], "{:.2f}"), num(b["latency_ms_median"], "{:.2f}"),
             ratio(r["latency_ratio"], better_high=False)),
            ("  p99 ms", num((a.get("latency_ms") or {}).get("p99"), "{:.2f}"),
             num((b.get("latency_ms") or {}).get("p99"), "{:.2f}"), cell(None)),
            ("size", cell(human_size(a["size_bytes"]), justify="right"),
             cell(human_size(b["size_bytes"]), justify="right"), ratio(r["size_ratio"], better_high=False)),
            ("accuracy", cell(pct(acc_a), justify="right"), cell(pct(acc_b), justify="right"),
             cell(None if r["accuracy_drop"] is None else accuracy_change(r["accuracy_drop"]),
                  justify="right")),
        ]
        fid = r.get("agreement")
        if fid:
            rows.append((clip(fid["metric"], 18), cell("100%", justify="right"),
                         cell(pct({"value": fid["agreement"]}), justify="right"),
                         cell(f"cos {fid['cosine']:.3f}" if fid["cosine"] is not None else None, justify="right")))
        layers = r["layers"]
        if "measured_latency_ms" in layers:
            rows.append(("layer sum ms", num(layers["total_ms"]["a"], "{:.3f}"), num(layers["total_ms"]["b"], "{:.3f}"),
                         cell(f"{layers['hint']} hint", justify="right")))
            rows.append(("  vs measured", *(cell(f"{(layers['sum_vs_measured'][t] or 0):.0%}, +"
                                                 f"{(layers['profiling_overhead'][t] or 0):.0%} prof.", justify="right")
                                            for t in ("a", "b")), cell(None)))
        for label, *values in rows:
            summary.add_row(cell(label), *values)
        why = self.query_one("#cmp-why", DataTable)
        why.clear()
        for ms, what, nodes, first_layers in why_rows(r.get("why") or {}):
            why.add_row(cell(ms, justify="right"), cell(clip(what, 48)), cell(nodes, justify="right"),
                        cell(clip(first_layers, 40)))
        t = self.query_one("#cmp-precision", SortableTable)
        t.clear()
        for precision, *figures in precision_rows(layers):
            t.add_row(cell(precision), *(cell(f, justify="right") for f in figures))
        t.resort()
        t = self.query_one("#cmp-type", SortableTable)
        t.clear()
        for g in layers["by_type"]:
            t.add_row(cell(g["type"]), num(g["a_count"], "{:.0f}"), num(g["a_ms"], "{:.3f}"),
                      num(g["b_count"], "{:.0f}"), num(g["b_ms"], "{:.3f}"), num(g["delta_ms"], "{:+.3f}"))
        t.resort()
        t = self.query_one("#cmp-kernels", SortableTable)
        t.clear()
        for k in layers["kernels"]:
            only = f" (only {k['only_in']})" if k["only_in"] else ""
            t.add_row(cell(clip(k["layer"], 22)), cell(clip(k["type"], 12)), num(k["time_a_ms"], "{:.4f}"),
                      num(k["time_b_ms"], "{:.4f}"), num(k["delta_ms"], "{:+.4f}"),
                      cell(f"{k['precision_a'] or '-'}>{k['precision_b'] or '-'}{only}"))
        t.resort()
