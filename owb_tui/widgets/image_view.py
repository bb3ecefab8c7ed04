"""A PIL picture drawn in the terminal, with a loading and an error state.

Why textual-image rather than rich-pixels: textual-image picks the best way
the terminal offers when owb starts (Sixel or the Kitty graphics protocol
give real pixels in a local xterm, WezTerm, Kitty or foot) and falls back to
coloured half-blocks over plain SSH and in tmux, so one widget serves every
terminal; rich-pixels only draws half-blocks. Its Textual widget also sizes
the picture to the space it gets while keeping the aspect ratio.

textual-image probes the terminal when it is first imported, which it cannot
do once Textual owns stdin: ``owb_tui.app.run_tui`` imports it before
``App.run()``; this module only uses what that probe chose. Anywhere else
(Pilot tests, pipes) it finds no terminal and draws with Unicode blocks."""

from __future__ import annotations

from typing import Any

from PIL import Image
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Container
from textual.widgets import Static
from textual_image.widget import Image as TerminalImage


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

    def compose(self) -> ComposeResult:
        yield Static(id="image-note", markup=False)
        yield TerminalImage(None, id="picture")

    @property
    def method(self) -> str:
        """How pictures reach this terminal: sixel, tgp (Kitty), halfcell or unicode."""
        from textual_image.renderable import Image as chosen

        return chosen.__module__.rsplit(".", 1)[-1]

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
        image = self.query_one("#picture", TerminalImage)
        image.image = picture
        image.display = True

    def fail(self, message: str) -> None:
        self.picture = None
        self.loading = False
        self._note(message, error=True)

    def _note(self, text: str, *, error: bool) -> None:
        note = self.query_one("#image-note", Static)
        note.update(Text(text))
        note.set_class(error, "-error")
        note.display = True
        image = self.query_one("#picture", TerminalImage)
        image.display = False
        image.image = None
