"""DataTable helpers: literal cells and a `/` filter bar.

Strings given to a DataTable are parsed as markup, so a model named
``net[v2]`` or a bar like ``[##--]`` would be mangled; every cell goes in
as rich Text."""

from __future__ import annotations

import math
from typing import Any, Iterable

from rich.text import Text
from textual import on
from textual.binding import Binding
from textual.widgets import DataTable, Input, TextArea

from engine.terminal_text import printable


def selected_key(table: DataTable) -> str | None:
    """The row key under the cursor, or None for an empty table."""
    if not table.row_count:
        return None
    row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
    return row_key.value


def cell(value: Any, justify: str = "left", style: str = "") -> Text:
    """A table cell: plain text, never markup, control characters made visible."""
    if value is None or value == "":
        return Text("-", style="dim", justify=justify)
    return Text(printable(value), style=style, justify=justify)


def literal(value: Any, style: str = "") -> Text:
    """User text (names, labels, errors) for a Static, a Select or a title."""
    return Text(printable(value), style=style)


def cells(*values: Any) -> list[Text]:
    return [v if isinstance(v, Text) else cell(v) for v in values]


def num(value: float | None, fmt: str = "{:.1f}") -> Text:
    return cell(None if value is None else fmt.format(value), justify="right")


def clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def matches(query: str, texts: Iterable[Any]) -> bool:
    q = query.strip().lower()
    return not q or any(q in str(t).lower() for t in texts)


def filter_binding(tooltip: str, id: str, show: bool = True) -> Binding:
    """`/`: open the screen's FilterBar. A priority binding runs when its key is
    read, before the keys behind it (a paste, tmux send-keys '/text') are
    handed to the focused table: so they land in the filter, not on the
    screen's single-letter bindings. FilterKeys lets `/` through to text fields."""
    return Binding("slash", "filter", "filter", show=show, priority=True, tooltip=tooltip, id=id)


class FilterKeys:
    """Mixin for a Screen with a filter_binding: `/` in a text field stays text."""

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "filter" and isinstance(self.app.focused, (Input, TextArea)):  # type: ignore[attr-defined]
            return False
        return True


class FilterBar(Input):
    """Hidden until `/`; typing narrows the table, escape clears and hides,
    enter keeps the filter and goes back to the table."""

    BINDINGS = [Binding("escape", "clear", "clear filter", show=False)]
    DEFAULT_CSS = """
    FilterBar { display: none; height: 1; padding: 0 1; }
    FilterBar.-shown { display: block; }
    """

    def __init__(self, target: str, **kw: Any) -> None:
        # compact: a bordered Input of height 1 hides its own text once focused
        super().__init__(placeholder="filter: type to narrow, enter keeps, esc clears", compact=True, **kw)
        self.target = target

    def open(self) -> None:
        self.add_class("-shown")
        self.screen.set_focus(self)  # now, not after focus()'s call_later: the next key is already read

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


ARROWS = {False: "▲", True: "▼"}  # ascending, descending


def sort_key(value: Any, descending: bool) -> tuple:
    """Numbers by value (``1.86x``, ``+0.25``, ``98.6%`` too), text by text, and
    empty cells (``-``) last in either direction."""
    text = (value.plain if isinstance(value, Text) else str(value)).strip()
    if text in ("", "-"):
        return (-1 if descending else 2, 0.0, "")
    try:
        number = float(text.rstrip("x%").replace(",", ""))
    except ValueError:
        number = math.nan
    if math.isfinite(number):
        return (0, number, "")
    return (1, 0.0, text.casefold())  # text, "nan" and "inf" (a layer's name) among it


class SortableTable(DataTable):
    """A DataTable sorted by a click on a column title, or by `s`, which cycles
    column and direction (first column ▲, ▼, next column ▲, …). The sorted
    title carries the arrow; every title keeps room for one, so sorting never
    shifts the columns."""

    BINDINGS = [Binding("s", "cycle_sort", "sort", tooltip="Sort: reverse this column, or go to the next one")]

    def __init__(self, **kw: Any) -> None:
        kw.setdefault("cursor_type", "row")
        super().__init__(**kw)
        self.titles: list[str] = []
        self.sorted_by: tuple[int, bool] | None = None  # (column, descending)

    def set_columns(self, *titles: str) -> None:
        self.clear(columns=True)
        self.titles = list(titles)
        self.sorted_by = None
        for title in titles:
            self.add_column(Text(title + "  "))  # the arrow's room

    def sort_column(self, column: int, descending: bool = False) -> None:
        self.sorted_by = (column, descending)
        self.resort()

    def resort(self) -> None:
        """Apply the current sort again (after rows were replaced)."""
        for i, col in enumerate(self.ordered_columns):
            arrow = ARROWS[self.sorted_by[1]] if self.sorted_by and self.sorted_by[0] == i else " "
            col.label = Text(f"{self.titles[i]} {arrow}")
        if self.sorted_by is not None and self.row_count:
            column, descending = self.sorted_by
            key = self.ordered_columns[column].key
            self.sort(key, key=lambda value: sort_key(value, descending), reverse=descending)
        self.notify_style_update()  # drops the rendered lines, the header's among them

    def action_cycle_sort(self) -> None:
        if not self.titles:
            return
        if self.sorted_by is None:
            self.sort_column(0)
        elif not self.sorted_by[1]:
            self.sort_column(self.sorted_by[0], descending=True)
        else:
            self.sort_column((self.sorted_by[0] + 1) % len(self.titles))

    @on(DataTable.HeaderSelected)
    def _header_selected(self, event: DataTable.HeaderSelected) -> None:
        event.stop()
        same = self.sorted_by is not None and self.sorted_by[0] == event.column_index
        self.sort_column(event.column_index, descending=same and not self.sorted_by[1])
