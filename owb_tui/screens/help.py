"""`?`: every key of the screen underneath, read from its live bindings (and
the App's), so the list cannot drift from what the keys really do."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from ..app import screen_bindings

CONVENTIONS = ("tab / shift+tab moves between panes and fields; arrows move in tables and lists; "
               "ctrl+p opens the command palette with every action by name.")


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "close", "close", id="help-close")]

    def __init__(self, under: Screen) -> None:
        super().__init__(classes="dialog-screen")
        self.under = under

    def help_text(self) -> Text:
        title = getattr(self.under, "HELP_TITLE", type(self.under).__name__.removesuffix("Screen"))
        here = [(k, b) for k, b, node in screen_bindings(self.under) if node is self.under]
        everywhere = [(k, b) for k, b, node in screen_bindings(self.under) if node is not self.under]
        text = Text()
        for heading, keys in ((f"Keys: {title}", here), ("Everywhere", everywhere)):
            text.append(f"{heading}\n", style="bold")
            for key, binding in keys:
                text.append(f"  {key:<10}", style="bold")
                text.append(f"{binding.tooltip or binding.description}\n")
        text.append(f"\n{CONVENTIONS}\n", style="dim")
        text.append("esc closes this help.", style="dim")
        return text

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog help"):
            yield Static(self.help_text(), id="help-text")

    def action_close(self) -> None:
        self.dismiss(None)
