"""Export (a project page tab): write the model's deployment package.

The export runs in a thread worker owned by the App, so leaving the page
does not stop it; failures reach the App's worker handler (an error
notification) and success is announced with the package's path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Checkbox, Input, Label, Static

from engine.records import Model

from ..app import reports_errors
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
        from engine.deploy import export_package
        from engine.output import output_path

        app, ws, model = self.app, self.app.ws, self.model
        force = self.query_one("#export-force", Checkbox).value
        out = output_path(self.query_one("#export-path", Input).value.strip(), force, home=ws.home)  # bad paths fail here, at once
        note = self.query_one("#export-note", Static)
        note.update(literal(f"exporting {model.name} to {out} …"))

        def work() -> dict:
            result = export_package(ws, model, out, force=force)
            app.call_from_thread(self._done, result)
            return result

        # Started on the App: a worker dies with the node that owns it.
        app.run_worker(work, thread=True, group="export", exit_on_error=False)

    def _done(self, result: dict[str, Any]) -> None:
        speed = result.get("speed_vs_parent")
        slower = f"; its README leads with: slower than {speed['parent']} ({speed['ratio']:.2f}x)" \
            if speed and speed["slower"] else ""
        self.app.notify(f"deployment package written to {result['package']}{slower}", title="export done",
                        timeout=10, severity="warning" if slower else "information")
        if self.is_attached:
            self.query_one("#export-note", Static).update(literal(f"written: {result['package']}") + Text(f"\n{NOTE}"))
