"""Export (a project page tab): write the model's deployment package.

The export is a job of the workspace's runner (as `owb export` is), so
leaving the page, or owb, does not stop it; the App announces its end with
the package's path, or its failure."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Checkbox, Input, Label, Static

from engine.jobs import FINAL
from engine.records import Job, Model

from ..text import reports_errors
from ..widgets.path_input import path_field
from ..widgets.tables import literal

NOTE = ("A tar.gz with the IR, infer.py (owb's preprocessing and decoding; needs only openvino, numpy "
        "and pillow), benchmark.sh (the best measured configuration), requirements.txt and a README "
        "quoting only measured figures.")


def default_package_path(model: Model) -> str:
    from engine.deploy import safe_name

    return str(Path.cwd() / f"{safe_name(model.name)}-deploy.tar.gz")


class ExportPane(VerticalScroll):
    DEFAULT_CSS = """
    ExportPane { padding: 1 1 0 1; }
    ExportPane Checkbox { margin-left: 10; }
    """

    def __init__(self, model: Model) -> None:
        super().__init__(id="export-pane")
        self.model = model
        self.job_id: str | None = None

    def compose(self) -> ComposeResult:
        with Horizontal(classes="form-row"):
            yield Label("package", classes="field-label")
            field, *completion = path_field("export-path", "package file, like ~/model.tar.gz")
            field.value = default_package_path(self.model)
            yield field
            yield from completion
        yield Checkbox("overwrite an existing file", id="export-force", compact=True)
        with Horizontal(classes="buttons"):
            yield Button("Export", id="export-run", variant="primary")
        warning = self.slower_warning()
        if warning:
            yield Static(warning, id="export-warning", classes="warning", markup=False)
        yield Static(NOTE, id="export-note", classes="hint", markup=False)

    def slower_warning(self) -> str | None:
        """Said before the package is written, from the stored measurements only."""
        from engine.child_speed import against_parent, sentence

        speed = against_parent(self.app.ws, self.model)
        return f"Warning: {sentence(self.model, speed)}" if speed and speed["slower"] else None

    @on(Button.Pressed, "#export-run")
    @on(Input.Submitted, "#export-path")
    @reports_errors
    def export(self) -> None:
        force = self.query_one("#export-force", Checkbox).value
        out = self.query_one("#export-path", Input).value.strip()
        job = self.app.start_job("export", {"model": self.model.id, "out": out, "force": force})
        if job is not None:
            self.job_id = job.id
            self.query_one("#export-note", Static).update(
                literal(f"exporting {self.model.name} to {job.params['out']} …") + Text(f"\n{NOTE}"))

    def on_mount(self) -> None:
        self.app.job_signal.subscribe(self, self._job_changed)

    def _job_changed(self, event: Any) -> None:
        # event None: the DB changed; a final event this pane missed still shows
        if self.job_id is None or (event is not None and (event.job != self.job_id or event.state not in FINAL)):
            return
        job = self.app.ws.maybe(Job, self.job_id)
        if job is None or job.state not in FINAL:
            return
        self.job_id = None
        if job.state != "done":
            self.query_one("#export-note", Static).update(literal(f"export {job.state}: {job.error}")
                                                          + Text(f"\n{NOTE}"))
            return
        result = job.result
        speed = result.get("speed_vs_parent")
        if speed and speed["slower"]:  # the App's notice says where it went; this one, that it is slower
            self.app.notify(f"its README leads with: slower than {speed['parent']} ({speed['ratio']:.2f}x)",
                            title="export done", timeout=10, severity="warning")
        self.query_one("#export-note", Static).update(literal(f"written: {result['package']}") + Text(f"\n{NOTE}"))
