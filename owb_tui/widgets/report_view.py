"""A virtual table over a report's numpy columns (engine.reports.ReportTable).

Only the rows on screen are ever formatted: DataTable builds every row up
front (3.45 s for 50,000 rows here), while this draws a line when Textual
asks for it, so a report of any size opens, sorts and filters at once."""

from __future__ import annotations

from typing import Any

from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding
from textual.geometry import Size
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

SAMPLE_ROWS = 200  # column widths come from the first rows' values
MAX_WIDTH = 32
HEADER_WIDTH = 12  # long titles are cut to this; the focused column's full title is shown elsewhere


class ReportView(ScrollView, can_focus=True):
    BINDINGS = [
        Binding("up", "move(-1)", "up", show=False),
        Binding("down", "move(1)", "down", show=False),
        Binding("pageup", "move(-20)", "page up", show=False),
        Binding("pagedown", "move(20)", "page down", show=False),
        Binding("home", "jump(0)", "first row", show=False),
        Binding("end", "jump(-1)", "last row", show=False),
        Binding("left", "column(-1)", "column left", show=False),
        Binding("right", "column(1)", "column right", show=False),
    ]
    DEFAULT_CSS = "ReportView { height: 1fr; }"
    cursor_row = reactive(0)
    cursor_col = reactive(0)

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.table: Any = None
        self.widths: list[int] = []

    def set_table(self, table: Any) -> None:
        self.table = table
        sample = min(len(table), SAMPLE_ROWS)
        self.widths = [
            min(MAX_WIDTH, max([min(len(title), HEADER_WIDTH)] + [len(table.cell(r, c)) for r in range(sample)]))
            for c, title in enumerate(table.columns)
        ]
        self.cursor_row = min(self.cursor_row, max(len(table) - 1, 0))
        self.cursor_col = min(self.cursor_col, len(table.columns) - 1)
        self.virtual_size = Size(sum(w + 2 for w in self.widths), len(table) + 1)
        self.refresh()

    def _line(self, values: list[str], style: Style, highlight: int | None = None) -> list[Segment]:
        segments = []
        for c, (value, width) in enumerate(zip(values, self.widths)):
            text = value if len(value) <= width else value[: width - 1] + "…"
            right = c > 0 and self.table is not None and self.table.kinds[c] != "text"
            text = text.rjust(width) if right else text.ljust(width)
            cell_style = style + Style(underline=True) if c == highlight else style
            segments.append(Segment(f" {text} ", cell_style))
        return segments

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.size.width
        if self.table is None:
            return Strip.blank(width)
        if y == 0:  # the header stays put while rows scroll under it
            segments = self._line(list(self.table.columns), Style(bold=True, reverse=True), self.cursor_col)
            return Strip(segments).crop(scroll_x, scroll_x + width).extend_cell_length(width)
        row = scroll_y + y - 1
        if row >= len(self.table):
            return Strip.blank(width)
        values = [self.table.cell(row, c) for c in range(len(self.table.columns))]
        style = Style(reverse=True) if row == self.cursor_row and self.has_focus else Style()
        return Strip(self._line(values, style)).crop(scroll_x, scroll_x + width).extend_cell_length(width)

    def watch_cursor_row(self, old: int, new: int) -> None:
        self.refresh()

    def watch_cursor_col(self, old: int, new: int) -> None:
        self.refresh()

    def action_move(self, delta: int) -> None:
        if self.table is None or not len(self.table):
            return
        self.action_jump(max(0, min(len(self.table) - 1, self.cursor_row + delta)))

    def action_jump(self, row: int) -> None:
        if self.table is None or not len(self.table):
            return
        self.cursor_row = row % len(self.table)
        visible = max(self.size.height - 1, 1)
        top = self.scroll_offset.y
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False)
        elif self.cursor_row >= top + visible:
            self.scroll_to(y=self.cursor_row - visible + 1, animate=False)

    def action_column(self, delta: int) -> None:
        if self.table is None:
            return
        self.cursor_col = max(0, min(len(self.table.columns) - 1, self.cursor_col + delta))
        left = sum(w + 2 for w in self.widths[: self.cursor_col])
        right = left + self.widths[self.cursor_col] + 2
        if left < self.scroll_offset.x:
            self.scroll_to(x=left, animate=False)
        elif right > self.scroll_offset.x + self.size.width:
            self.scroll_to(x=right - self.size.width, animate=False)

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()
