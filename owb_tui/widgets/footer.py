"""The key-hint footer every screen shows, and above it the message line
where notifications go (OwbApp.notify): a message takes a line of the layout
for a few seconds instead of a toast stacked over the table's last rows."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import events
from textual.screen import Screen
from textual.widget import Widget


MESSAGE_LINES = 2  # a longer message ends in …


class KeyFooter(Widget):
    """The keys of the focused screen, one line: ``⏎ open  m model …``.

    One widget drawing one Text, where Textual's Footer mounts and styles a
    widget per key and rebuilds them all on every focus move. Before the first
    complete frame of the start screen that took about 50 ms on 2 cores, most
    of what owb's start cost over a bare Textual app. A click on a hint
    presses its key, as in Textual's footer."""

    COMPONENT_CLASSES = {"footer--key", "footer--description", "footer--information", "footer--warning",
                         "footer--error"}
    DEFAULT_CSS = """
    KeyFooter {
        dock: bottom;
        height: auto;
        background: $footer-background;
        color: $footer-foreground;
        text-wrap: nowrap;
        text-overflow: ellipsis;
        & > .footer--key { color: $footer-key-foreground; text-style: bold; }
        & > .footer--description { color: $footer-description-foreground; }
        & > .footer--information { background: $primary-muted; color: $text; }
        & > .footer--warning { background: $warning-muted; color: $text; }
        & > .footer--error { background: $error-muted; color: $text; text-style: bold; }
    }
    """

    def __init__(self) -> None:
        super().__init__()
        self._spans: list[tuple[int, int, str, bool]] = []
        self.message: tuple[str, str] | None = None  # (text, severity) on the message line
        self._message_timer: Any = None

    def show_message(self, text: str, severity: str = "information", timeout: float = 6.0) -> None:
        """Show one message (the newest replaces the last) for ``timeout`` seconds."""
        self.message = (" ".join(text.split()), severity)
        if self._message_timer is not None:
            self._message_timer.stop()
        self._message_timer = self.set_timer(timeout, self.clear_message)
        self.refresh(layout=True)

    def clear_message(self) -> None:
        self.message = None
        self.refresh(layout=True)

    def message_lines(self, width: int) -> list[Text]:
        """The message wrapped to ``width``, at most MESSAGE_LINES lines."""
        if self.message is None:
            return []
        message, severity = self.message
        style = self.get_component_rich_style(f"footer--{severity}")
        lines = Text(message).wrap(self.app.console, max(width - 2, 8))[:MESSAGE_LINES]
        out = []
        for line in lines:
            line = Text(" ") + line
            line.truncate(max(width, 1), overflow="ellipsis", pad=True)
            line.stylize(style)
            out.append(line)
        return out

    def get_content_height(self, container: Any, viewport: Any, width: int) -> int:
        return 1 + len(self.message_lines(width))

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
        lines = self.message_lines(self.size.width)
        return Text("\n").join([*lines, text]) if lines else text

    def on_click(self, event: events.Click) -> None:
        if self.message is not None and event.y < len(self.message_lines(self.size.width)):
            self.clear_message()
            return
        for start, end, key, enabled in self._spans:
            if start <= event.x < end:
                if enabled:
                    self.app.simulate_key(key)
                else:
                    self.app.bell()
                return
