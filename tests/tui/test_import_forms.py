"""Real models and real data in the TUI: the dataset form's format detection
(a resolving val.txt, a folder that fits two formats, the model's task), the
dataset pickers (what fits the model's task first), and the model form's
preprocessing, image input and graph cut fields."""

from __future__ import annotations

import pytest
from textual.widgets import Select

from engine.dataset_store import import_dataset
from engine.models import import_model
from engine.records import Dataset
from engine.workspace import Workspace
from fixtures_datasets import make_voc_detection, make_voc_segmentation, write_image
from owb_tui.app import OwbApp

from . import record_notifications, type_text, wait_for

SIZE = (100, 30)


@pytest.fixture
def ws(tmp_path):
    return Workspace(tmp_path / "home")


@pytest.fixture
def voc(tmp_path):
    root = tmp_path / "VOC2012"
    make_voc_detection(root, n=3, extra_outside_split=0)
    make_voc_segmentation(root, n=3)
    return root


def subfolder_imagenet(root):
    for i in range(4):
        write_image(root / "images" / f"x{i}.png", i % 2, "PNG")
    (root / "val.txt").write_text("".join(f"images/x{i}.png {i % 2}\n" for i in range(4)))
    (root / "labels.txt").write_text("a\nb\n")
    return root


def summary(app) -> str:
    return str(app.screen.query_one("#summary").render())


async def test_form_detects_subfolder_imagenet_and_offers_the_formats_that_fit(ws, voc, tmp_path):
    from owb_tui.screens.import_dataset import ImportDatasetScreen

    layout = subfolder_imagenet(tmp_path / "layout")
    app = OwbApp(ws)
    async with app.run_test(size=SIZE) as pilot:
        seen = record_notifications(app)
        await pilot.pause()
        await pilot.press("d")
        await pilot.pause()
        assert isinstance(app.screen, ImportDatasetScreen)
        await type_text(pilot, str(layout))
        await pilot.press("enter")
        await wait_for(pilot, lambda: "found layout: imagenet, 4 images" in summary(app), timeout=30)

        path = app.screen.query_one("#path")
        path.value = str(voc)
        await pilot.press("enter")
        await wait_for(pilot, lambda: "fits several formats" in summary(app), timeout=30)
        assert "--" not in summary(app)  # a form has fields, not flags
        select = app.screen.query_one("#format", Select)
        assert [value for _, value in select._options][1:] == ["voc-detection", "voc-segmentation"]
        assert app.focused is select
        select.value = "voc-segmentation"  # what picking it in the list does
        await wait_for(pilot, lambda: "found VOC2012: voc-segmentation" in summary(app), timeout=30)
        app.screen.query_one("#import").press()
        await wait_for(pilot, lambda: "imported VOC2012: voc-segmentation" in summary(app), timeout=30)
        assert select.value == "auto" and len(select._options) == 7  # the next import detects again

        # a format that fails is not kept for the next import
        select.value = "coco"
        path.value = str(layout)
        app.screen.query_one("#import").press()
        await wait_for(pilot, lambda: any(sev == "error" for sev, _ in seen), timeout=30)
        await pilot.pause()
        assert select.value == "auto"
        assert all("--" not in message for _, message in seen)
    assert [d.format for d in ws.all(Dataset)] == ["voc-segmentation"]


async def test_form_opened_for_a_model_follows_its_task(ws, voc, tmp_path):
    import model_builders as mb
    from owb_tui.screens.import_dataset import ImportDatasetScreen
    from owb_tui.screens.project import ProjectScreen

    seg = import_model(ws, mb.build_onnx(tmp_path), name="seg", task="segmentation")
    app = OwbApp(ws)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.push_screen(ProjectScreen(seg.id))
        await pilot.pause()
        await pilot.press("d")
        await pilot.pause()
        assert isinstance(app.screen, ImportDatasetScreen) and app.screen.model_task == "segmentation"
        await type_text(pilot, str(voc))
        await pilot.press("enter")
        await wait_for(pilot, lambda: "found VOC2012: voc-segmentation" in summary(app), timeout=30)
        app.screen.query_one("#import").press()
        await wait_for(pilot, lambda: "imported VOC2012" in summary(app), timeout=30)
    assert ws.get(Dataset, "VOC2012").format == "voc-segmentation"


@pytest.fixture
def picker_ws(ws, tmp_path):
    """A segmentation model, an ImageNet set imported first, then two VOC segmentation sets."""
    import model_builders as mb
    from fixtures_datasets import make_imagenet

    make_imagenet(tmp_path / "imagenet")
    import_dataset(ws, tmp_path / "imagenet", name="imagenet")
    for name in ("pages-a", "pages-b"):
        make_voc_segmentation(tmp_path / name, n=3)
        import_dataset(ws, tmp_path / name, name=name)
    import_model(ws, mb.build_onnx(tmp_path), name="seg", task="segmentation")
    return ws


def test_pickers_list_what_fits_the_task_first_and_start_on_the_last_used(picker_ws):
    from engine.dataset_choice import ordered
    from engine.records import InferenceResult, Model

    ws = picker_ws
    seg = ws.get(Model, "seg")
    names = lambda found: [d.name for d in found[0]]  # noqa: E731
    assert names(ordered(ws, seg)) == ["pages-a", "pages-b", "imagenet"]
    b = ws.get(Dataset, "pages-b")
    ws.add(InferenceResult(kind="accuracy", model=seg.id, dataset=b.id, project="p"))
    found = ordered(ws, seg)
    assert names(found) == ["pages-b", "pages-a", "imagenet"] and found[1] == b.id
    # a later run on a set that does not fit the task never becomes the default
    ws.add(InferenceResult(kind="benchmark", model=seg.id, dataset=ws.get(Dataset, "imagenet").id, project="p"))
    assert ordered(ws, seg)[1] == b.id


async def test_dialogs_and_tabs_start_on_a_dataset_that_fits(picker_ws):
    from textual.widgets import Select

    from engine.records import Model
    from owb_tui.screens.dialogs import AccuracyDialog
    from owb_tui.screens.project import ProjectScreen

    ws = picker_ws
    seg = ws.get(Model, "seg")
    pages_a = ws.get(Dataset, "pages-a").id
    app = OwbApp(ws)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.push_screen(AccuracyDialog(seg))
        await pilot.pause()
        select = app.screen.query_one("#dataset", Select)
        assert select.value == pages_a
        assert [label.plain if hasattr(label, "plain") else str(label) for label, _ in select._options][-1].startswith("imagenet")
        await pilot.press("escape")
        app.push_screen(ProjectScreen(seg.id, tab="optimize"))
        await wait_for(pilot, lambda: app.screen.query("#opt-dataset"), timeout=30)
        assert app.screen.query_one("#opt-dataset", Select).value == pages_a
        await app.screen.action_tab("reports")
        await wait_for(pilot, lambda: app.screen.query("#rep-dataset"), timeout=30)
        assert app.screen.query_one("#rep-dataset", Select).value == pages_a


async def open_model_form(pilot, app, path, shown: str):
    """m, then the model's path: the form once it shows the model's tensors."""
    await pilot.pause()
    await pilot.press("m")
    await pilot.pause()
    form = app.screen
    form.query_one("#path").value = str(path)
    await pilot.press("enter")
    await wait_for(pilot, lambda: shown in str(form.query_one("#facts").render()), timeout=30)
    return form


async def test_import_form_picks_the_image_input_and_cuts_the_graph(ws, tmp_path):
    """The form's input and cut at fields do what --input and --output do."""
    import model_builders as mb

    from engine.records import Model
    from owb_tui.screens.import_model import ImportModelScreen

    app = OwbApp(ws)
    async with app.run_test(size=(80, 24)) as pilot:
        form = await open_model_form(pilot, app, mb.build_two_input_ir(tmp_path), "in: image")
        assert isinstance(form, ImportModelScreen)
        form.query_one("#task").value = "generic"
        await pilot.click("#import")
        await wait_for(pilot, lambda: "2 inputs" in str(form.query_one("#facts").render()), timeout=30)
        assert "input field" in str(form.query_one("#facts").render()) and "--" not in str(form.query_one("#facts").render())
        form.query_one("#image-input").value = "image"
        form.query_one("#outputs").value = "logits"
        await pilot.click("#import")
        await wait_for(pilot, lambda: ws.maybe(Model, "two_inputs") is not None, timeout=30)
    model = ws.get(Model, "two_inputs")
    assert [i["name"] for i in model.inputs] == ["image"] and [o["name"] for o in model.outputs] == ["logits"]


async def test_import_form_stores_center_crop_and_a_norm_preset(ws):
    from ocr_fixtures import ppocr_model

    from engine.records import Model

    app = OwbApp(ws)
    async with app.run_test(size=(80, 24)) as pilot:
        form = await open_model_form(pilot, app, ppocr_model("cls"), "softmax")
        form.query_one("#shape").value = "1,3,48,192"
        form.query_one("#color").value = "BGR"
        form.query_one("#norm").value = "imagenet"  # the preset's numbers, in BGR order
        await wait_for(pilot, lambda: form.query_one("#mean").value == "103.53,116.28,123.675", timeout=5)
        assert form.query_one("#scale").value == "57.375,57.12,58.395"
        form.query_one("#resize").value = "center-crop"
        form.query_one("#crop-fraction").value = "0.9"
        await pilot.click("#import")
        await wait_for(pilot, lambda: ws.maybe(Model, "cls") is not None, timeout=30)
    cfg = ws.get(Model, "cls").config
    assert (cfg.resize, cfg.crop_fraction, cfg.norm, cfg.color) == ("center-crop", 0.9, "imagenet", "BGR")
    assert cfg.mean == [103.53, 116.28, 123.675]
