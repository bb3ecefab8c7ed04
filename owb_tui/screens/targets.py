"""Targets: the remote machines owb measures on; c checks (and prepares) one.

Adding a target and running work on it are CLI commands (`owb target add`,
`--target`); the screen shows what each target is and whether it answers."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Header, Static

from engine.errors import OwbError
from engine.records import Target

from ..widgets.footer import KeyFooter
from ..widgets.tables import RowTable, cell, selected_key


class TargetsScreen(Screen):
    AUTO_FOCUS = "#targets"
    HELP_TITLE = "Targets"
    BINDINGS = [
        Binding("c", "check", "check", tooltip="Connect to the selected target, prepare it, read its CPU",
                id="target-check"),
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        table = RowTable(id="targets")
        for title in ("target", "destination", "python", "CPU"):
            table.add_column(title, key=title)
        yield table
        yield Static(id="target-detail")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.refresh_targets()

    def refresh_targets(self) -> None:
        table = self.query_one("#targets", RowTable)
        table.clear()
        targets = sorted(self.app.ws.all(Target), key=lambda t: t.created)
        for t in targets:
            table.add_row(cell(t.name), cell(t.dest), cell(t.prepared.get("python") or t.python or "(owb venv)"),
                          cell(t.facts.get("summary", "not checked yet")), key=t.id)
        self.query_one("#target-detail", Static).update(
            "" if targets else "no targets yet: `owb target add NAME user@host[:port]` in a shell")

    def action_check(self) -> None:
        key = selected_key(self.query_one("#targets", RowTable))
        if key is None:
            self.app.notify("no target selected", severity="warning")
            return
        target = self.app.ws.get(Target, key)
        self.app.notify(f"checking {target.name}…")
        self.run_worker(lambda: self._check(target), thread=True, exclusive=True, group="target-check",
                        exit_on_error=False)

    def _check(self, target: Target) -> None:
        from engine.targets.remote import check

        try:
            checked = check(self.app.ws, target)
        except OwbError as exc:
            self.app.call_from_thread(self.app.notify, f"{target.name}: {exc}", severity="error", timeout=12)
            return
        self.app.call_from_thread(self.app.notify, f"{checked.name}: {checked.facts.get('summary', 'ready')}")
        self.app.call_from_thread(self.refresh_targets)
