"""A PIL picture drawn in the terminal, with a loading and an error state.

Why textual-image rather than rich-pixels: textual-image picks the best way
the terminal offers when owb starts (Sixel or the Kitty graphics protocol
give real pixels in a local xterm, WezTerm, Kitty or foot) and falls back to
coloured half-blocks over plain SSH and in tmux, so one widget serves every
terminal; rich-pixels only draws half-blocks. Its Textual widget also sizes
the picture to the space it gets while keeping the aspect ratio.

textual-image would probe the terminal when first imported, which it cannot
do once Textual owns stdin, and which delayed owb's first paint by up to
0.85 s: ``owb_tui.terminal_probe`` asks the terminal while owb starts and
textual-image is imported here, on the first picture, with those answers.
Anywhere else (Pilot tests, pipes) nothing was asked and pictures are drawn
with Unicode blocks."""

from __future__ import annotations

from typing import Any

from PIL import Image
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Container
from textual.widgets import Static

from engine.terminal_text import printable

from ..terminal_probe import picture_widget


class ImageView(Container):
    """One picture fitted to the widget; ``wait``, ``show`` and ``fail`` switch state."""

    DEFAULT_CSS = """
    ImageView { height: 1fr; align: center middle; }
    ImageView > #picture { width: auto; height: auto; }
    ImageView > #image-note { width: 1fr; height: auto; text-align: center; color: $text-muted; }
    ImageView > #image-note.-error { color: $error; }
    """

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.picture: Image.Image | None = None
        self.widget_class, self.method = picture_widget()  # method: sixel, tgp (Kitty), halfcell or unicode

    def compose(self) -> ComposeResult:
        yield Static(id="image-note", markup=False)
        yield self.widget_class(None, id="picture")

    def wait(self, note: str) -> None:
        """Show the loading indicator; the previous picture is not shown meanwhile."""
        self.picture = None
        self._note(note, error=False)
        self.loading = True

    def show(self, picture: Image.Image) -> None:
        self.picture = picture
        self.loading = False
        note = self.query_one("#image-note", Static)
        note.display = False
        image = self.query_one("#picture", self.widget_class)
        image.image = picture
        image.display = True

    def fail(self, message: str) -> None:
        self.picture = None
        self.loading = False
        self._note(message, error=True)

    def _note(self, text: str, *, error: bool) -> None:
        note = self.query_one("#image-note", Static)
        note.update(Text(printable(text)))
        note.set_class(error, "-error")
        note.display = True
        image = self.query_one("#picture", self.widget_class)
        image.display = False
        image.image = None
