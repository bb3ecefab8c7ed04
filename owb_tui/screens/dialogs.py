"""Small modal dialogs: yes/no, and the settings asked before a benchmark or
an accuracy run. The run dialogs start the job through the App and close;
on bad settings the App shows the error and the dialog stays open."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from engine.records import Dataset, Model

from ..text import error_text, reports_errors
from ..widgets.tables import literal
from .forms import FORM_HELP, chosen_precision, chosen_target, precision_select, row, target_picker


class ConfirmScreen(ModalScreen[bool]):
    BINDINGS = [
        Binding("y", "answer(True)", "yes", id="confirm-yes"),
        Binding("n,escape", "answer(False)", "no", id="confirm-no"),
    ]

    def __init__(self, question: str) -> None:
        super().__init__(classes="dialog-screen")
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.question, markup=False)
            with Horizontal(classes="buttons"):
                yield Button("Yes (y)", id="yes", variant="error")
                yield Button("No (n)", id="no", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")


class QuitScreen(ModalScreen[str]):
    """Quit while jobs run: they can go on without this UI (they run in the
    workspace's runner), be cancelled, or the user stays."""

    BINDINGS = [
        Binding("l", "choose('leave')", "leave running", id="quit-leave"),
        Binding("c", "choose('cancel')", "cancel them", id="quit-cancel"),
        Binding("s,escape", "choose('stay')", "stay", id="quit-stay"),
    ]

    def __init__(self, running: list[Any]) -> None:
        super().__init__(classes="dialog-screen")
        self.running = running

    def compose(self) -> ComposeResult:
        names = ", ".join(j.name for j in self.running[:3]) + (" …" if len(self.running) > 3 else "")
        with Vertical(classes="dialog"):
            yield Static(f"{len(self.running)} job(s) running: {names}.\nThey run in the background and "
                         "survive quitting; `owb jobs` and a new owb show them.", markup=False)
            with Horizontal(classes="buttons"):
                yield Button("Quit, leave running (l)", id="leave", variant="primary")
                yield Button("Cancel them, quit (c)", id="cancel", variant="error")
                yield Button("Stay (s)", id="stay")

    def on_mount(self) -> None:
        self.query_one("#leave", Button).focus()

    def action_choose(self, choice: str) -> None:
        self.dismiss(choice)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id or "stay")


class RunDialog(ModalScreen[Any]):
    """Base of the run dialogs: a title, fields, Start/Cancel."""

    BINDINGS = [Binding("escape", "cancel", "cancel", id="dialog-cancel"), *FORM_HELP]
    TITLE_TEXT = ""

    def __init__(self, model: Model) -> None:
        super().__init__(classes="dialog-screen")
        self.model = model

    def fields(self) -> ComposeResult:
        yield from ()

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(f"{self.TITLE_TEXT} {self.model.name}", classes="dialog-title", markup=False)
            yield from self.fields()
            with Horizontal(classes="buttons"):
                yield Button("Start", id="start", variant="primary")
                yield Button("Cancel", id="cancel")

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#start")
    @on(Input.Submitted)
    @reports_errors
    def _start(self) -> None:
        job = self.start()
        if job is not None:
            self.dismiss(job)

    def start(self) -> Any:
        raise NotImplementedError

    def dataset(self, select_id: str) -> Dataset | None:
        value = self.query_one(select_id, Select).value
        if value in (Select.NULL, ""):
            return None
        return self.app.ws.get(Dataset, str(value))


class BenchmarkDialog(RunDialog):
    TITLE_TEXT = "Benchmark"

    def fields(self) -> ComposeResult:
        from engine.choices import BENCHMARK_TIME_S, HINTS, ROUNDS
        from engine.dataset_choice import ordered

        datasets = [(literal(d.name), d.id) for d in ordered(self.app.ws, self.model)[0]]
        yield row(("inputs", Select([("random data (benchmark_app default)", ""), *datasets], value="",
                                    allow_blank=False, id="dataset", compact=True)))
        yield row(("seconds", Input(f"{BENCHMARK_TIME_S:g}", id="time", type="number", compact=True)),
                  ("hint", Select([(h, h) for h in HINTS], value=HINTS[0], allow_blank=False, id="hint",
                                  compact=True)))
        yield row(("float in", precision_select("infer-precision")))
        yield from target_picker(self.app.ws)
        yield Static("Throughput hint: all streams busy, like benchmark_app -hint throughput. The time is split "
                     f"into {ROUNDS} runs; the figure is their median with its spread. A running job slows the "
                     "measurement, so benchmarks queue behind other jobs.", classes="hint")

    def start(self) -> Any:
        from engine.benchmark import BenchmarkSettings
        from engine.errors import BadInput

        try:
            seconds = float(self.query_one("#time", Input).value)
        except ValueError:
            self.app.notify("seconds must be a number, like 20", severity="error")
            return None
        try:
            dataset = self.dataset("#dataset")
        except BadInput as exc:
            self.app.notify(error_text(exc), severity="error")
            return None
        settings = BenchmarkSettings(time_s=seconds, hint=str(self.query_one("#hint", Select).value),
                                     infer_precision=chosen_precision(self, "infer-precision"))
        return self.app.start_job("benchmark", {"model": self.model.id, "dataset": dataset.id if dataset else None,
                                                "settings": asdict(settings), "target": chosen_target(self)})


class AccuracyDialog(RunDialog):
    TITLE_TEXT = "Accuracy of"

    def fields(self) -> ComposeResult:
        from engine.dataset_choice import ordered

        datasets, default = ordered(self.app.ws, self.model, annotated_only=True)
        annotated = [(literal(f"{d.name} ({d.format}, {d.images} images)"), d.id) for d in datasets]
        if annotated:
            select = Select(annotated, value=default, allow_blank=False, id="dataset", compact=True)
        else:
            select = Select([], id="dataset", prompt="no annotated dataset: import one with d", compact=True)
        yield row(("dataset", select))
        yield row(("float in", precision_select("infer-precision", "f32")))
        yield from target_picker(self.app.ws)
        yield Static("f32 (default) gives the model's own accuracy; bf16 shows what bf16 execution costs.",
                     classes="hint")

    def start(self) -> Any:
        dataset = self.dataset("#dataset")
        if dataset is None:
            self.app.notify("choose an annotated dataset; import one with d on the projects screen",
                            severity="error")
            return None
        return self.app.start_job("accuracy", {"model": self.model.id, "dataset": dataset.id,
                                               "infer_precision": chosen_precision(self, "infer-precision"),
                                               "target": chosen_target(self)})
