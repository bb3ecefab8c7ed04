"""A path field with folder and file name completion.

textual-autocomplete's PathAutoComplete lists the names, but here only when
asked with the down arrow: a list that pops up while typing would take over
enter and tab, which in a form mean "submit" and "next field". Down opens
the list, up/down choose, tab or enter puts the name in. Without that
package the field is a plain Input and still works. A leading ``~`` is
expanded as soon as a slash follows it, so completion can look inside the
home folder."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

from textual import on
from textual.widget import Widget
from textual.widgets import Input

try:
    from textual.content import Content
    from textual_autocomplete import PathAutoComplete
except ImportError:  # optional: the field works without completion
    PathAutoComplete = None


class PathInput(Input):
    @on(Input.Changed)
    def _expand_home(self, event: Input.Changed) -> None:
        if self.value.startswith("~/"):
            self.value = os.path.expanduser(self.value)
            self.cursor_position = len(self.value)


if PathAutoComplete is not None:

    class OnRequestCompletion(PathAutoComplete):
        def should_show_dropdown(self, search_string: str) -> bool:
            return False  # only the down arrow opens the list

        def post_completion(self) -> None:
            self.action_hide()


def path_field(id: str, placeholder: str) -> Iterator[Widget]:
    """The Input (with ``id``) and, when available, its completion list."""
    hint = " (down: complete)" if PathAutoComplete is not None else ""
    field = PathInput(placeholder=placeholder + hint, id=id, compact=True)
    yield field
    if PathAutoComplete is not None:
        yield OnRequestCompletion(field, path=Path.cwd(), folder_prefix=Content(""), file_prefix=Content(""))
