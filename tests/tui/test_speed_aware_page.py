"""A speed-aware child's page: the keep-the-parent mark and the Search tab
with every candidate and the groups kept in floating point. The trace comes
from the search itself, run on injected sources (tests/test_speed_search.py),
so the page is checked against what the search returned."""

from __future__ import annotations

from engine.quantize.search import Budget, Search
from engine.quantize.speed_aware import group_report
from engine.records import Model
from engine.workspace import Workspace
from owb_tui.app import OwbApp

from . import copy_workspace, template_home


def _trace(src) -> dict:
    out = Search(src, Budget(max_drop=1.0), parent="parent").run()
    return {**out.to_dict(), "metric": "top-1 agreement", "agreement": True, "max_drop": 1.0,
            "drop_type": "absolute", "kept_in_fp": group_report(out), "inference_precision": "bf16",
            "seconds_per_run": 1.0, "rounds": 3}, out


async def test_child_page_shows_the_verdict_and_the_search(tmp_path_factory, tmp_path):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from test_speed_search import Injected, int8_with_losses

    ws = Workspace(copy_workspace(template_home(tmp_path_factory), tmp_path / "home"))
    search, out = _trace(Injected(int8_with_losses({"c2": 0.4, "c4": 0.2})))
    child = ws.get(Model, "cls-int8")
    ws.update(child, provenance={**child.provenance, "method": "speed-aware", "speed_aware": search,
                                 "keep_parent": True, "verdict": "keep the parent: test verdict"})
    app = OwbApp(ws)
    async with app.run_test(size=(120, 40)) as pilot:
        from owb_tui.screens.project import ProjectScreen

        await app.push_screen(ProjectScreen(child.id))
        await pilot.pause()
        facts = str(app.screen.query_one("#facts").render())
        assert "KEEP THE PARENT" in facts and "keep the parent: test verdict" in facts
        await pilot.press("t")
        await pilot.pause()
        await pilot.pause()
        candidates = app.screen.query_one("#search-candidates")
        groups = app.screen.query_one("#search-groups")
        assert candidates.row_count == len(out.candidates)
        assert [str(groups.get_row_at(i)[0]) for i in range(groups.row_count)] == ["c2", "c4"]
        assert str(candidates.get_row_at(0)[1]) == "Default INT8"
