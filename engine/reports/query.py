"""What a viewer asks of a stored report table: its flagged rows only, rows
holding a text, one column's order. `owb report show` and the TUI's report
viewer both ask through a ReportQuery, so a flag, a filter and a sort narrow
a table the same way in either."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from engine.errors import BadInput

from .spec import FLAGS
from .storage import open_table
from .table import ReportTable

if TYPE_CHECKING:
    from engine.records import Report
    from engine.workspace import Workspace


@dataclass(frozen=True)
class ReportQuery:
    mode: str = "basic"  # which stored table: basic, or advanced where the report has one
    flagged: bool = False  # only the rows the report flagged (erroneous, different)
    text: str = ""  # only rows whose text holds this, any case
    sort: str | int | None = None  # a column by title (any case, unique prefix) or position
    descending: bool = False

    def run(self, ws: Workspace, report: Report) -> tuple[ReportTable, int]:
        """The stored table narrowed and ordered, and how many rows it had before."""
        table = open_table(ws, report, self.mode)
        return self.apply(table, report.kind), len(table)

    def apply(self, table: ReportTable, kind: str) -> ReportTable:
        if self.flagged:
            if kind not in FLAGS:
                raise BadInput(f"{kind} reports have no flagged rows; sort by a column instead")
            table = table.only(FLAGS[kind])
        if self.text:
            table = table.where(table.contains(self.text))
        if self.sort is not None:
            table = table.sorted_by(self.sort, self.descending)
        return table
