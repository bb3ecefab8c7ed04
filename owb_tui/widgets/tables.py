"""DataTable helpers: literal cells and a `/` filter bar.

Strings given to a DataTable are parsed as markup, so a model named
``net[v2]`` or a bar like ``[##--]`` would be mangled; every cell goes in
as rich Text."""

from __future__ import annotations

from typing import Any, Iterable

from rich.text import Text
from textual import on
from textual.binding import Binding
from textual.widgets import DataTable, Input


def selected_key(table: DataTable) -> str | None:
    """The row key under the cursor, or None for an empty table."""
    if not table.row_count:
        return None
    row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
    return row_key.value


def cell(value: Any, justify: str = "left", style: str = "") -> Text:
    if value is None or value == "":
        return Text("-", style="dim", justify=justify)
    return Text(str(value), style=style, justify=justify)


def cells(*values: Any) -> list[Text]:
    return [v if isinstance(v, Text) else cell(v) for v in values]


def num(value: float | None, fmt: str = "{:.1f}") -> Text:
    return cell(None if value is None else fmt.format(value), justify="right")


def clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def matches(query: str, texts: Iterable[Any]) -> bool:
    q = query.strip().lower()
    return not q or any(q in str(t).lower() for t in texts)


class FilterBar(Input):
    """Hidden until `/`; typing narrows the table, escape clears and hides,
    enter keeps the filter and goes back to the table."""

    BINDINGS = [Binding("escape", "clear", "clear filter", show=False)]
    DEFAULT_CSS = """
    FilterBar { display: none; height: 1; border: none; padding: 0 1; }
    FilterBar.-shown { display: block; }
    """

    def __init__(self, target: str, **kw: Any) -> None:
        super().__init__(placeholder="filter: type to narrow, enter keeps, esc clears", **kw)
        self.target = target

    def open(self) -> None:
        self.add_class("-shown")
        self.focus()

    def action_clear(self) -> None:
        self.value = ""
        self.remove_class("-shown")
        self.screen.query_one(self.target).focus()

    @on(Input.Submitted)
    def _keep(self, event: Input.Submitted) -> None:
        event.stop()
        if not self.value:
            self.remove_class("-shown")
        self.screen.query_one(self.target).focus()


class RowTable(DataTable):
    """A row-cursor DataTable whose enter shows in the footer as "open"
    (DataTable hides its own, which would hide the screen's too)."""

    BINDINGS = [Binding("enter", "select_cursor", "open", tooltip="Open the selected row")]

    def __init__(self, **kw: Any) -> None:
        kw.setdefault("cursor_type", "row")
        kw.setdefault("zebra_stripes", True)
        super().__init__(**kw)
