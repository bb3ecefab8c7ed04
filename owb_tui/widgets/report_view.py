"""A virtual table over a report's numpy columns (engine.reports.ReportTable).

Only the rows on screen are ever formatted: DataTable builds every row up
front (3.45 s for 50,000 rows here), while this draws a line when Textual
asks for it, so a report of any size opens, sorts and filters at once."""

from __future__ import annotations

from typing import Any

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ..text import fit_widths

SAMPLE_ROWS = 200  # column widths come from the first rows' values
FLOOR = 8  # with too little room, no column is cut narrower than this
ARROWS = {False: "▲", True: "▼"}  # ascending, descending


def header_text(title: str, width: int, descending: bool | None) -> str:
    """A column title cut to ``width``; the sorted column's arrow always shows,
    the title giving way to it."""
    if descending is None:
        return title if len(title) <= width else title[: width - 1] + "…"
    arrow = ARROWS[descending]
    if width < 3:
        return arrow
    room = width - 2
    name = title if len(title) <= room else title[: room - 1] + "…"
    return f"{name} {arrow}"


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

    class HeaderClicked(Message):
        """A click on a column title: the screen sorts by that column."""

        def __init__(self, column: int) -> None:
            super().__init__()
            self.column = column

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.table: Any = None
        self.headings: list[str] = []  # what the header row shows; the table keeps the full titles
        self.natural: list[int] = []
        self.widths: list[int] = []
        self.sort: tuple[int, bool] | None = None  # (column, descending), drawn as an arrow

    def set_table(self, table: Any, headings: list[str] | None = None) -> None:
        self.table = table
        self.headings = list(headings or table.columns)
        sample = min(len(table), SAMPLE_ROWS)
        # +2 leaves room for the sort arrow, so sorting never cuts a heading
        self.natural = [max([len(h) + 2] + [len(table.cell(r, c)) for r in range(sample)])
                        for c, h in enumerate(self.headings)]
        self.cursor_row = min(self.cursor_row, max(len(table) - 1, 0))
        self.cursor_col = min(self.cursor_col, len(table.columns) - 1)
        self.fit()

    def fit(self) -> None:
        """Column widths for the width the view has: every value whole when
        they fit (a two-column report is not cut at an arbitrary width); else
        the widest columns give way first and the rest scroll sideways."""
        if self.table is None:
            return
        room = (self.size.width or 80) - 2 * len(self.natural) - 1
        self.widths = fit_widths(self.natural, [min(n, FLOOR) for n in self.natural], room)
        self.virtual_size = Size(sum(w + 2 for w in self.widths), len(self.table) + 1)
        self.refresh()

    def on_resize(self) -> None:
        self.fit()

    def _line(self, values: list[str], style: Style, highlight: int | None = None,
              header: bool = False) -> list[Segment]:
        segments = []
        for c, (value, width) in enumerate(zip(values, self.widths)):
            if header:
                text = header_text(value, width, self.sort[1] if self.sort and self.sort[0] == c else None)
            else:
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
            segments = self._line(self.headings, Style(bold=True, reverse=True), self.cursor_col,
                                  header=True)
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

    def column_at(self, x: int) -> int | None:
        """The column under screen column ``x`` of this widget."""
        x += self.scroll_offset.x
        for c, width in enumerate(self.widths):
            if x < width + 2:
                return c
            x -= width + 2
        return None

    def on_click(self, event: events.Click) -> None:
        if self.table is None:
            return
        if event.y == 0:
            column = self.column_at(event.x)
            if column is not None:
                self.cursor_col = column
                self.post_message(self.HeaderClicked(column))
        elif len(self.table):
            self.action_jump(min(len(self.table) - 1, self.scroll_offset.y + event.y - 1))

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()
