"""`?`: every key of the screen underneath, read from the bindings its
classes declare (and the App's), so the list cannot drift from what the keys
really do."""

from __future__ import annotations

from functools import partial
from typing import Any, Callable, Iterator

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingsMap
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.containers import VerticalScroll
from textual.dom import DOMNode
from textual.keys import key_to_character
from textual.screen import ModalScreen, Screen
from textual.widgets import Static


def declared_bindings(node: DOMNode) -> dict[str, list[Binding]]:
    """The node's keys as its classes declare them in BINDINGS, a subclass's
    key replacing its base's: the merge Textual makes when it builds a node,
    read from the public class attributes. owb binds no key at run time and
    applies no keymap, so this is what each key does."""
    keys: dict[str, list[Binding]] = {}
    for base in reversed(type(node).__mro__):
        if issubclass(base, DOMNode):
            keys.update(BindingsMap(base.__dict__.get("BINDINGS", [])).key_to_bindings)
    return keys


def screen_bindings(screen: Any) -> Iterator[tuple[str, Binding, Any]]:
    """(key shown, binding, node) for the screen's and (unless the screen is
    modal) the App's bindings, including keys a focused table shadows,
    without the keys a focused text field would swallow: what the key does
    when the focused widget passes it on."""
    app = screen.app
    focused = screen.focused
    swallowers = [] if focused is None or focused.loading else \
        [n for n in focused.ancestors_with_self if n is not screen and n is not app]
    seen: set[tuple[str, str]] = set()
    for node in (screen,) if screen.is_modal else (screen, app):
        for key, bindings in declared_bindings(node).items():
            if key.startswith("super+") or any(n.check_consume_key(key, key_to_character(key)) for n in swallowers):
                continue
            for binding in bindings:
                if not binding.description or (key, binding.action) in seen:
                    continue
                seen.add((key, binding.action))
                yield app.get_key_display(binding), binding, node


class OwbCommands(Provider):
    """Every action of the current screen and the App, for ctrl+p."""

    def _commands(self) -> Iterator[tuple[str, str, Callable[[], Any]]]:
        for key, binding, node in screen_bindings(self.screen):
            if binding.id is None:  # Textual's own (focus next, copy): the palette lists those itself
                continue
            title = binding.tooltip or binding.description
            yield title, f"key: {key}", partial(self.app.run_action, binding.action, node)
        extra = getattr(self.screen, "palette_commands", None)
        if extra is not None:
            for title, help_text, callback in extra():
                yield title, help_text, callback
        yield "Targets: remote machines to measure on", "screen", self.app.action_targets

    async def discover(self) -> Hits:
        for title, help_text, callback in self._commands():
            yield DiscoveryHit(title, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, callback in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), callback, help=help_text)


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
        from .field_help import fields_of

        fields = list(fields_of(self.under))
        if fields:
            text.append("Fields\n", style="bold")
            for label, meaning in fields:
                text.append(f"  {label}", style="bold")
                text.append(f": {meaning}\n")
        text.append(f"\n{CONVENTIONS}\n", style="dim")
        text.append("esc closes this help.", style="dim")
        return text

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog help"):
            yield Static(self.help_text(), id="help-text")

    def action_close(self) -> None:
        self.dismiss(None)
