"""Pieces shared by the forms: one-line labelled fields and value parsing
that turns a bad entry into BadInput naming the field."""

from __future__ import annotations

from typing import Any

from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Button, Input, Label, Static

from engine.errors import BadInput

from ..widgets.tables import literal


def row(*pairs: tuple[str, Widget]) -> Horizontal:
    """One form line: ``label [field]  label [field]``."""
    children: list[Widget] = []
    for label, widget in pairs:
        children.append(Label(label, classes="field-label"))
        children.append(widget)
    return Horizontal(*children, classes="form-row")


def precision_select(id: str, default: str = "auto") -> Widget:
    """The inference-precision field (engine.precision): auto is the plugin's
    choice, bf16 on CPUs with BF16."""
    from textual.widgets import Select

    from engine.choices import INFER_PRECISIONS

    labels = {"auto": "auto (plugin's choice)", "f32": "f32", "bf16": "bf16", "f16": "f16"}
    return Select([(labels[c], c) for c in INFER_PRECISIONS], value=default, allow_blank=False, id=id, compact=True)


def chosen_precision(screen: Any, id: str) -> str:
    from textual.widgets import Select

    value = screen.query_one(f"#{id}", Select).value
    return value if isinstance(value, str) else "auto"


def target_picker(ws: Any, id: str = "target") -> list[Widget]:
    """A "run on" row, only once a remote target exists (`owb target add`)."""
    from textual.widgets import Select

    from engine.records import Target

    targets = sorted(ws.all(Target), key=lambda t: t.created)
    if not targets:
        return []
    choices = [("this machine", ""), *[(literal(f"target {t.name} ({t.dest})"), t.id) for t in targets]]
    return [row(("run on", Select(choices, value="", allow_blank=False, id=id, compact=True)))]


def chosen_target(screen: Any, id: str = "target") -> str | None:
    """The target id picked in ``target_picker``; None for this machine."""
    from textual.widgets import Select

    found = screen.query(f"#{id}")
    value = found.first(Select).value if found else ""
    return value if isinstance(value, str) and value else None


def ints(text: str, field: str) -> list[int] | None:
    text = text.strip()
    if not text:
        return None
    try:
        return [int(v) for v in text.replace("x", ",").replace(" ", ",").split(",") if v]
    except ValueError:
        raise BadInput(f"{field} must be integers separated by commas, like 1,3,224,224; got {text!r}") from None


def floats(text: str, field: str) -> list[float] | None:
    text = text.strip()
    if not text:
        return None
    try:
        return [float(v) for v in text.replace(" ", ",").split(",") if v]
    except ValueError:
        raise BadInput(f"{field} must be numbers separated by commas, like 123.7,116.3,103.5; got {text!r}") from None


def number(text: str, field: str, default: float | None = None) -> float:
    text = text.strip()
    if not text and default is not None:
        return default
    try:
        return float(text)
    except ValueError:
        raise BadInput(f"{field} must be a number; got {text!r}") from None


def joined(values: list[Any] | None) -> str:
    if values is None:
        return ""
    return ",".join(f"{v:g}" if isinstance(v, float) else str(v) for v in values)


# A dialog is modal, so the App's keys do not reach it: help is bound here.
# `?` types into a text field; F1 works from any field.
FORM_HELP = [
    Binding("question_mark", "app.help", "help", tooltip="What every key and field of this form does",
            id="form-help"),
    Binding("f1", "app.help", "help", show=False, id="form-help-f1"),
]


class ImportForm(ModalScreen):
    """What the Import Model and Import Dataset forms share: a status text,
    reading the path once per new value, and running the import in a thread."""

    BINDINGS = FORM_HELP
    STATUS = "#summary"  # the Static that shows progress, facts and errors
    KIND = "file"  # named in "enter the …'s path first"

    def __init__(self) -> None:
        super().__init__(classes="dialog-screen")
        self._read_path = ""

    def on_mount(self) -> None:
        self.query_one("#path", Input).focus()

    def _say(self, text: str, error: bool = False) -> None:
        status = self.query_one(self.STATUS, Static)
        status.update(literal(text))
        status.set_class(error, "error")

    def _new_path(self) -> str | None:
        """The path field's value when it changed since it was last read."""
        path = self.query_one("#path", Input).value.strip()
        if not path or path == self._read_path:
            return None
        self._read_path = path
        return path

    def _required_path(self) -> str | None:
        path = self.query_one("#path", Input).value.strip()
        if not path:
            self.app.notify(f"enter the {self.KIND}'s path first", severity="error")
            self.query_one("#path", Input).focus()
        return path or None

    def _read(self, work: Any, path: str, group: str) -> None:
        """Read what ``path`` holds in a thread; its answer is shown only while still wanted."""
        self.run_worker(work, name=path, thread=True, exclusive=True, group=group, exit_on_error=False)

    def _still_wanted(self, worker: Any) -> bool:
        """A read's answer is stale once the path changed or an import started:
        it must not overwrite "importing …" or the import's own summary."""
        path = self.query_one("#path", Input).value.strip()
        return worker.name == path and not self.query_one("#import", Button).disabled

    def _run_import(self, work: Any, status: str) -> None:
        self.query_one("#import", Button).disabled = True
        self._say(status)
        self.run_worker(work, thread=True, exclusive=True, group="import", exit_on_error=False)
