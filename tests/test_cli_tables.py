"""CLI tables at 80 columns: no cell wraps or folds mid-word, long cells end
in …, short values stay whole, and --json keeps every full value."""

from __future__ import annotations

import json

from model_builders import build_ir
from test_reports import owb

from engine.models import import_model
from engine.records import Model
from engine.workspace import Workspace
from owb_tui.text import fit_widths

LONG = "a-model-name-long-enough-that-no-80-column-table-can-hold-it-whole"


def test_fit_widths_cuts_the_widest_columns_first():
    natural = [40, 8, 14, 4, 60]
    widths = fit_widths(natural, [20, 8, 8, 4, 8], 80)
    assert sum(widths) <= 80
    assert widths[1] == 8 and widths[3] == 4  # an id and a short value stay whole
    assert widths[0] >= 20 and widths[4] < 60  # the key keeps its floor; the longest gives way
    assert fit_widths([5, 6], [5, 6], 80) == [5, 6]


def test_model_list_fits_80_columns_and_json_keeps_the_name(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", "80")
    ws = Workspace(tmp_path / "home")
    for name in (LONG, "short"):
        import_model(ws, build_ir(tmp_path, filename=f"{name[:10]}.xml"), name=name, task="classification")
    code, out, _ = owb(capsys, ws.home, "model", "list")
    lines = out.splitlines()
    assert code == 0 and len(lines) == 3, out  # one line per row: nothing wrapped
    assert all(len(line) <= 80 for line in lines), out
    row = next(line for line in lines if line.startswith(LONG[:15]))
    assert "…" in row and LONG not in row
    short_ids = [m.id for m in ws.all(Model)]
    assert all(i in out for i in short_ids), out  # ids are never cut
    code, out, _ = owb(capsys, ws.home, "model", "list", "--json")
    assert LONG in [m["name"] for m in json.loads(out)]
