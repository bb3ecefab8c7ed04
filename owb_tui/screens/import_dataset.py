"""Import Dataset: a folder or archive. Entering a folder's path shows what
the import would record (format, counts, validation) before Import copies
it; an archive is checked once extracted, on import. Opened for a model, the
model's task settles a folder that fits two formats; otherwise the format
list offers just the formats that fit."""

from __future__ import annotations

from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Input, Label, Select, Static
from textual.worker import Worker, WorkerState

from engine.choices import DATASET_FORMATS
from engine.errors import AmbiguousFormat
from engine.records import Dataset, Model

from ..text import error_text
from ..widgets.path_input import path_field
from .forms import ImportForm, row

ALL_FORMATS = [("auto-detect", "auto"), *[(f, f) for f in DATASET_FORMATS]]


def inspect(path: str, fmt: str, task: str | None = None) -> str:
    from engine.dataset_store import inspect_dataset

    found = inspect_dataset(path, fmt, task)
    if found is None:
        return "archive: extracted, detected and validated inside the workspace when imported"
    return summary_text(found, "found") + "\nImport copies it into the workspace."


def summary_text(d: Dataset, verb: str = "imported") -> str:
    from engine.dataset_store import summary_lines

    head = (f"{verb} {d.name}: {d.format}, {d.images} images, {d.classes} classes, "
            f"{'annotated' if d.annotated else 'no annotations'}")
    return "\n".join([head, *summary_lines(d)])


class ImportDatasetScreen(ImportForm):
    HELP_TITLE = "Import dataset"
    BINDINGS = [Binding("escape", "close", "close", id="import-dataset-close")]
    STATUS = "#summary"
    KIND = "dataset"

    def __init__(self, model: Model | None = None) -> None:
        super().__init__()
        self.imported: Dataset | None = None
        self.model = model
        self.model_task = model.config.task if model is not None else None
        self.following: str | None = None  # the import job this form reports the end of

    def on_unmount(self) -> None:
        if self.following is not None:  # closed before its import ended: the App says how it ends
            self.app.told_by_screen.discard(self.following)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog form", id="import-dataset"):
            title = "Import dataset"
            if self.model is not None:
                title += f" for {self.model.name} ({self.model_task})"
            yield Label(title, classes="dialog-title", markup=False)
            with Horizontal(classes="form-row"):
                yield Label("path", classes="field-label")
                yield from path_field("path", "dataset folder or .zip / .tar / .tar.gz archive")
            yield row(("name", Input(placeholder="default: folder name", id="name", compact=True)),
                      ("format", Select(ALL_FORMATS,
                                        value="auto", allow_blank=False, id="format", compact=True)))
            with VerticalScroll(id="summary-box") as box:
                box.can_focus = False  # not a Tab stop: after the format, Tab reaches Import
                yield Static("ImageNet (val.txt), ImageFolder, VOC detection/segmentation, COCO, or a plain "
                             "folder of images (unannotated).", id="summary", classes="hint", markup=False)
            with Horizontal(classes="buttons"):
                yield Button("Import", id="import", variant="primary")
                yield Button("Close", id="close")

    def action_close(self) -> None:
        self.dismiss(self.imported)

    @on(Button.Pressed, "#close")
    def _close(self) -> None:
        self.dismiss(self.imported)

    @on(Input.Submitted, "#path")
    @on(Input.Blurred, "#path")
    def _path_entered(self, event: Input.Submitted | Input.Blurred | None = None) -> None:
        previous = self._read_path
        path = self._new_path()
        if path is None:
            return
        if event is not None and previous:
            self._reset_format()  # a format chosen for another folder says nothing about this one
        self._inspect(path)

    def _inspect(self, path: str) -> None:
        fmt, task = str(self.query_one("#format", Select).value), self.model_task
        self._say(f"reading {path} … (annotations, and every image's header)")
        self._read(lambda: inspect(path, fmt, task), path, "detect")

    @on(Select.Changed, "#format")
    def _format_changed(self) -> None:
        path = self.query_one("#path", Input).value.strip()
        if path:  # the same folder read as another format
            self._read_path = path
            self._inspect(path)

    def _reset_format(self) -> None:
        select = self.query_one("#format", Select)
        with self.prevent(Select.Changed):
            select.set_options(ALL_FORMATS)
            select.value = "auto"

    def _offer(self, error: AmbiguousFormat) -> None:
        """A folder that fits several formats: the list offers just those."""
        select = self.query_one("#format", Select)
        with self.prevent(Select.Changed):
            select.set_options([("fits several: choose", "auto"), *[(f, f) for f in error.candidates]])
            select.value = "auto"
        select.focus()

    @on(Button.Pressed, "#import")
    @on(Input.Submitted, "#name")
    def _import(self) -> None:
        path = self._required_path()
        if path is None:
            return
        name = self.query_one("#name", Input).value.strip() or None
        fmt = str(self.query_one("#format", Select).value)
        ws, task, app = self.app.ws, self.model_task, self.app

        def work() -> Dataset:
            from engine.dataset_store import import_dataset
            from engine.datasets.archive import archive_kind

            src = Path(path).expanduser()
            if not (src.is_file() and archive_kind(src) is not None):
                return import_dataset(ws, path, name=name, fmt=fmt, task=task)
            # An archive can take long to unpack: a job of the runner, as with
            # `owb dataset import`, so it goes on if this owb quits.
            from engine.errors import BadInput
            from engine.jobs import client

            job = client.submit(ws, "dataset-import", {"path": path, "name": name, "format": fmt, "task": task})
            app.told_by_screen.add(job.id)  # this form says how it ended
            self.following = job.id
            done = client.wait(ws, job.id)
            if done.state != "done":
                raise BadInput(done.error or f"the import was {done.state}")
            return ws.get(Dataset, done.result["dataset"])

        self._run_import(work, f"importing {path} … (copying and validating every image)")

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.group not in ("detect", "import"):
            return
        event.stop()
        if worker.group == "detect":
            if not self._still_wanted(worker):
                return
            if event.state == WorkerState.SUCCESS:
                self._say(worker.result)
            elif event.state == WorkerState.ERROR:
                self._say(error_text(worker.error), error=True)
                if isinstance(worker.error, AmbiguousFormat):
                    self._offer(worker.error)
        elif event.state == WorkerState.SUCCESS:
            self.imported = worker.result
            self._say(summary_text(self.imported))
            self.app.notify(f"imported dataset {self.imported.name}")
            self.query_one("#import", Button).disabled = False
            self.query_one("#path", Input).value = ""
            self._read_path = ""
            self._reset_format()
            self.query_one("#close", Button).focus()
        elif event.state == WorkerState.ERROR:
            self.query_one("#import", Button).disabled = False
            self._say(error_text(worker.error), error=True)
            self.app.show_error(worker.error)
            if isinstance(worker.error, AmbiguousFormat):
                self._offer(worker.error)
            elif str(self.query_one("#format", Select).value) != "auto":
                self._reset_format()  # never left to fail the next import
