"""The key-hint footer every screen shows."""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.screen import Screen
from textual.widget import Widget


class KeyFooter(Widget):
    """The keys of the focused screen, one line: ``⏎ open  m model …``.

    One widget drawing one Text, where Textual's Footer mounts and styles a
    widget per key and rebuilds them all on every focus move. Before the first
    complete frame of the start screen that took about 50 ms on 2 cores, most
    of what owb's start cost over a bare Textual app. A click on a hint
    presses its key, as in Textual's footer."""

    COMPONENT_CLASSES = {"footer--key", "footer--description"}
    DEFAULT_CSS = """
    KeyFooter {
        dock: bottom;
        height: 1;
        background: $footer-background;
        color: $footer-foreground;
        text-wrap: nowrap;
        text-overflow: ellipsis;
        & > .footer--key { color: $footer-key-foreground; text-style: bold; }
        & > .footer--description { color: $footer-description-foreground; }
    }
    """

    def __init__(self) -> None:
        super().__init__()
        self._spans: list[tuple[int, int, str, bool]] = []

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, lambda _screen: self.refresh())
        self.app.screen_change_signal.subscribe(self, self._screen_changed)

    def _screen_changed(self, top: Screen) -> None:
        # a dialog over this screen has no footer of its own: this one shows its keys.
        # Signal.subscribe appends, so drop an earlier subscription to the same dialog first.
        if top is not self.screen and top.is_modal:
            top.bindings_updated_signal.unsubscribe(self)
            top.bindings_updated_signal.subscribe(self, lambda _screen: self.refresh())
        self.refresh()

    def hints(self) -> list[tuple[str, str, str, bool]]:
        """(key, shown key, description, enabled) of each binding shown, once per action,
        for this screen or the dialog open over it."""
        seen, out = set(), []
        screen = self.app.screen if self.app.screen.is_modal else self.screen
        for active in screen.active_bindings.values():
            b = active.binding
            if b.show and b.action not in seen:
                seen.add(b.action)
                out.append((b.key, self.app.get_key_display(b), b.description, active.enabled))
        return out

    def render(self) -> Text:
        key_style = self.get_component_rich_style("footer--key")
        text_style = self.get_component_rich_style("footer--description")
        text, spans = Text(no_wrap=True, overflow="ellipsis"), []
        for key, shown, description, enabled in self.hints():
            start = len(text)
            text.append(shown, key_style)
            text.append(" " + description, text_style)
            if not enabled:
                text.stylize("dim", start)
            spans.append((start, len(text), key, enabled))
            text.append(" ")
        self._spans = spans
        return text

    def on_click(self, event: events.Click) -> None:
        for start, end, key, enabled in self._spans:
            if start <= event.x < end:
                if enabled:
                    self.app.simulate_key(key)
                else:
                    self.app.bell()
                return
