"""A sample of the corpus through the TUI's Import Model and Import Dataset
forms (Pilot, 80x24): each one ends in an error notification that carries
the engine's one line, the form stays open, the app keeps running, and the
workspace gains nothing."""

from __future__ import annotations

from engine.records import Dataset, Model
from engine.workspace import Workspace
from owb_tui.app import OwbApp
from tui import record_notifications, wait_for

# (key that opens the form, corpus file, words of the error line)
SAMPLE = [
    ("m", "models/truncated.xml", "cannot read truncated.xml as a model"),
    ("m", "models/mismatch.xml", "cannot read mismatch.xml as a model"),
    ("d", "archives/slip.zip", "climbs out with '..'"),
    ("d", "images/corrupt_jpeg", "none of the 3 images"),
]


async def test_import_forms_refuse_corpus_cases_and_keep_running(corpus, tmp_path):
    from owb_tui.screens.import_dataset import ImportDatasetScreen
    from owb_tui.screens.import_model import ImportModelScreen
    from owb_tui.screens.projects import ProjectsScreen

    ws = Workspace(tmp_path / "home")
    app = OwbApp(ws)
    async with app.run_test(size=(80, 24)) as pilot:
        seen = record_notifications(app)
        await pilot.pause()
        for key, rel, words in SAMPLE:
            form = ImportModelScreen if key == "m" else ImportDatasetScreen
            await pilot.press(key)
            await wait_for(pilot, lambda form=form: isinstance(app.screen, form))
            app.screen.query_one("#path").value = str(corpus / rel)
            seen.clear()
            await pilot.click("#import")
            errors = await wait_for(pilot, lambda: [m for s, m in seen if s == "error"])
            assert len(errors) == 1 and words in errors[0] and "\n" not in errors[0], errors
            assert app.is_running and isinstance(app.screen, form), "the form stays open for a correction"
            assert not app.screen.query_one("#import").disabled, "the form can be used again"
            await pilot.press("escape")
            await wait_for(pilot, lambda: isinstance(app.screen, ProjectsScreen))
        assert app.is_running
    assert ws.all(Model) == [] and ws.all(Dataset) == []
    assert not any((ws.home / "tmp").iterdir()) and not any((ws.home / "models").iterdir())
    assert not any((ws.home / "datasets").iterdir())
