"""Reports on real inference: PP-OCRv5 cls and its INT8 child (accuracy,
optimized vs parent), PP-OCRv5 rec (tensor distance), PP-OCRv5 det as a
text segmenter, and a tiny detector whose boxes are known by construction."""

from __future__ import annotations

import csv
import json
import math
import time
from pathlib import Path

import numpy as np
import openvino as ov
import openvino.opset13 as ops
import pytest
from conftest import cls_with_children
from ocr_fixtures import ppocr_model, write_text_folder
from PIL import Image, ImageDraw, ImageFont

from engine.dataset_store import import_dataset
from engine.errors import BadInput
from engine.models import import_model
from engine.records import Model
from engine.reports import ReportSpec, create_report, open_table
from engine.reports.storage import load_table, save_table
from engine.reports.table import ReportTable
from engine.workspace import Workspace
from owb_tui.cli import main

DET_CONFIG = {"task": "segmentation", "shape": [1, 3, 320, 320], "mean": [123.675, 116.28, 103.53],
              "scale": [58.395, 57.12, 57.375], "resize": "keep-aspect-pad"}


# ---------------------------------------------------------------- helpers (also used by the other report tests)

def owb(capsys, home: Path, *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["--home", str(home), *argv])
    out, err = capsys.readouterr()
    return code, out, err


def named(node, name: str):
    node.output(0).get_tensor().set_names({name})
    return ops.result(node)


def box_model(rows: list[list[float]], size: int = 64) -> ov.Model:
    """A detector that outputs fixed boxes [x1, y1, x2, y2, score] and labels,
    each score raised by 1e-4 × the image's mean pixel: brighter images rank
    first, so no two images' detections tie."""
    x = ops.parameter([1, 3, size, size], np.float32, name="image")
    mean = ops.reshape(ops.reduce_mean(x, np.array([1, 2, 3]), keep_dims=True), np.array([1, 1, 1]), False)
    arr = np.asarray(rows, np.float32)
    lift = ops.multiply(mean, np.array([[[0, 0, 0, 0, 1e-4]]], np.float32))
    boxes = ops.add(ops.constant(arr[None, :, :5]), lift)
    labels = ops.add(ops.constant(arr[None, :, 5]), ops.multiply(ops.reshape(mean, np.array([1, 1]), False),
                                                                 np.float32(0)))
    return ov.Model([named(boxes, "boxes"), named(labels, "labels")], [x])


def import_box_model(ws: Workspace, tmp: Path, name: str, rows: list[list[float]]) -> Model:
    path = tmp / f"{name}.xml"
    ov.save_model(box_model(rows), str(path), compress_to_fp16=False)
    return import_model(ws, path, name=name, task="detection")


def write_voc(root: Path, objects: list[list[tuple[str, list[int]]]], size: int = 64) -> Path:
    from fixtures_datasets import voc_xml

    (root / "JPEGImages").mkdir(parents=True)
    (root / "Annotations").mkdir()
    for i, objs in enumerate(objects):
        gray = i * 50  # scores rise by 0.005 per image (see box_model)
        Image.new("RGB", (size, size), (gray, gray, gray)).save(root / "JPEGImages" / f"img{i}.png")
        (root / "Annotations" / f"img{i}.xml").write_text(voc_xml(f"img{i}.png", [(n, b, 0) for n, b in objs], size))
    return root


def write_text_segmentation(root: Path, count: int, seed: int = 3) -> Path:
    """VOC segmentation of rendered text pages; the text boxes are the mask (class 1)."""
    rng = np.random.default_rng(seed)
    for sub in ("JPEGImages", "SegmentationClass"):
        (root / sub).mkdir(parents=True)
    for i in range(count):
        page = Image.new("RGB", (320, 128), "white")
        mask = Image.new("P", (320, 128), 0)
        mask.putpalette([0, 0, 0, 255, 255, 255] + [0] * 762)
        draw, paint = ImageDraw.Draw(page), ImageDraw.Draw(mask)
        for line in range(1 + i % 2):
            font = ImageFont.load_default(size=int(rng.integers(28, 36)))
            text = " ".join(rng.choice(["OpenVINO", "int8", "report", "tensor", "owb"], 2))
            xy = (int(rng.integers(8, 40)), 10 + 60 * line)
            draw.text(xy, text, fill="black", font=font)
            paint.rectangle(draw.textbbox(xy, text, font=font), fill=1)
        page.save(root / "JPEGImages" / f"page{i}.jpg", quality=95)
        mask.save(root / "SegmentationClass" / f"page{i}.png")
    (root / "labels.txt").write_text("background\ntext\n")
    return root


# ---------------------------------------------------------------- classification: PP-OCRv5 cls and its INT8 child

@pytest.fixture(scope="module")
def cls_pair(tmp_path_factory):
    ws, parent, dataset, (child,) = cls_with_children(tmp_path_factory.mktemp("cls"), 24, 34)
    return ws, parent, child, dataset


def test_predictions_report_has_one_row_per_image_matching_fresh_inference(cls_pair):
    from engine.evaluate import predictions

    ws, parent, child, dataset = cls_pair
    report = create_report(ws, ReportSpec("predictions", child.name, dataset.name))
    assert report.reference == parent.id  # the parent is the default reference
    table = open_table(ws, report)
    assert table.columns == [
        "Image Name", "Class Predicted by Optimized Model", "Class Predicted by Parent Model",
        "Rank of Class Predicted by Parent Model in Optimized Model Predictions",
        "Optimized Model Confidence in Class Predicted by Optimized Model",
        "Optimized Model Confidence in Class Predicted by Parent Model"]
    assert len(table) == dataset.images == 24
    mine, theirs = dict(predictions(ws, child, dataset)), dict(predictions(ws, parent, dataset))
    for r, row in enumerate(table.rows()):
        i = int(table.items[r])
        p, q = mine[i], theirs[i]
        assert row[0] == f"line_{i:05d}.png"
        assert row[1:4] == [["0", "180"][p.label], ["0", "180"][q.label], p.rank_of(q.label)]
        assert row[4] == pytest.approx(p.confidence(p.label), abs=1e-6)
        assert row[5] == pytest.approx(p.confidence(q.label), abs=1e-6)
        assert table.flags["different"][r] == (p.label != q.label)
    assert report.summary["value"] == pytest.approx(np.mean([mine[i].label == theirs[i].label for i in mine]))


def test_predictions_need_no_annotations(cls_pair, tmp_path):
    ws, parent, child, _ = cls_pair
    folder = import_dataset(ws, write_text_folder(tmp_path / "lines", 4), name="lines")
    table = open_table(ws, create_report(ws, ReportSpec("predictions", child.name, folder.name)))
    assert len(table) == 4 and set(table.column("Class Predicted by Parent")) <= {"0", "1"}  # class indices
    with pytest.raises(BadInput, match="has no annotations"):
        create_report(ws, ReportSpec("accuracy", child.name, folder.name))


def test_accuracy_report_summary_equals_owb_accuracy(cls_pair, capsys):
    ws, parent, child, dataset = cls_pair
    for model in (parent, child):
        code, out, _ = owb(capsys, ws.home, "accuracy", model.name, "--dataset", dataset.name, "--json")
        measured = json.loads(out)
        code2, out2, _ = owb(capsys, ws.home, "report", model.name, "--dataset", dataset.name, "--kind", "accuracy",
                             "--json")
        doc = json.loads(out2)
        assert code == code2 == 0 and doc["kind"] == "accuracy"
        assert doc["summary"]["value"] == measured["value"] and measured["value"] > 0.9
        assert len(doc["rows"]) == dataset.images
        wrong = [r for r in doc["rows"] if r[1] != r[2]]
        assert len(wrong) == round((1 - measured["value"]) * dataset.images)
        assert all(r[3] == 0 for r in doc["rows"] if r[1] == r[2]) and all(r[3] == 1 for r in wrong)
        _, out3, _ = owb(capsys, ws.home, "report", model.name, "--dataset", dataset.name, "--kind", "accuracy",
                             "--only-erroneous", "--json")
        assert json.loads(out3)["rows"] == wrong and json.loads(out3)["id"] == doc["id"]  # stored, reused


def test_csv_export_round_trips_and_sort_and_bad_column(cls_pair, capsys, tmp_path):
    ws, parent, child, dataset = cls_pair
    target = tmp_path / "rows.csv"
    code, out, _ = owb(capsys, ws.home, "report", child.name, "--vs", parent.name, "--dataset", dataset.name,
                       "--kind", "predictions", "--sort", "optimized model confidence in class predicted by opt",
                       "--desc", "--csv", str(target), "--json")
    doc = json.loads(out)
    assert code == 0
    conf = [r[4] for r in doc["rows"]]
    assert conf == sorted(conf, reverse=True)
    with open(target, newline="", encoding="utf-8") as fh:
        header, *rows = list(csv.reader(fh))
    assert header == doc["columns"]
    parsed = [[r[0], r[1], r[2], int(r[3]), float(r[4]), float(r[5])] for r in rows]
    assert parsed == doc["rows"]  # floats are written with repr: exact
    code, out, err = owb(capsys, ws.home, "report", child.name, "--dataset", dataset.name, "--sort", "bogus")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("error: 'bogus' is not a column; columns: Image Name;")
    code, _, err = owb(capsys, ws.home, "report", child.name, "--dataset", dataset.name, "--only-erroneous")
    assert code == 2 and "--only-different" in err
    code, out, _ = owb(capsys, ws.home, "report", "list", child.name, "--json")
    assert code == 0 and {r["kind"] for r in json.loads(out)} >= {"predictions"}
    assert all(child.name in (r["model"], r["reference"]) for r in json.loads(out))


# ---------------------------------------------------------------- tensor distance: PP-OCRv5 rec, unannotated

@pytest.fixture(scope="module")
def rec_models(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("rec")
    ws = Workspace(tmp / "ws")
    config = {"task": "generic", "shape": [1, 3, 48, 320], "mean": [127.5] * 3, "scale": [127.5] * 3}
    rec = import_model(ws, ppocr_model("rec"), name="rec", **config)
    again = import_model(ws, ppocr_model("rec"), name="rec-again", **config)
    # The same network stored with FP16 weights: small, real differences.
    fp16 = tmp / "rec-fp16.xml"
    ov.save_model(ov.Core().read_model(str(ppocr_model("rec"))), str(fp16), compress_to_fp16=True)
    half = import_model(ws, fp16, name="rec-fp16", **config)
    dataset = import_dataset(ws, write_text_folder(tmp / "text", 5), name="text")
    return ws, rec, again, half, dataset


def test_tensor_distance_rows_are_images_times_outputs(rec_models, capsys):
    ws, rec, _, half, dataset = rec_models
    code, out, _ = owb(capsys, ws.home, "report", half.name, "--vs", rec.name, "--dataset", dataset.name,
                       "--kind", "tensor-distance", "--json")
    doc = json.loads(out)
    assert code == 0 and doc["columns"] == ["Image Name", "Output", "MSE", "Cosine Similarity", "Max Abs Diff",
                                            "SQNR (dB)"]
    outputs = [o["name"] for o in rec.outputs]
    assert len(doc["rows"]) == dataset.images * len(outputs)
    assert [r[1] for r in doc["rows"][: len(outputs)]] == outputs
    values = np.asarray([r[2:] for r in doc["rows"]], np.float64)
    assert np.isfinite(values).all()
    assert (values[:, 0] > 0).all() and (values[:, 1] > 0.99).all() and (values[:, 3] > 20).all()
    summary = doc["summary"]["outputs"][outputs[0]]
    assert summary["mse"]["worst"] == pytest.approx(values[:, 0].max())
    assert summary["cosine"]["worst"] == pytest.approx(values[:, 1].min())
    assert summary["sqnr_db"]["mean"] == pytest.approx(values[:, 3].mean())


def test_tensor_distance_of_identical_models_is_zero(rec_models):
    ws, rec, again, _, dataset = rec_models
    for reference in (rec, again):  # itself, and a re-import of the same file
        table = open_table(ws, create_report(ws, ReportSpec("tensor-distance", rec.name, dataset.name,
                                                            reference=reference.name)))
        assert len(table) == dataset.images * len(rec.outputs)
        assert (table.column("MSE") == 0).all() and (table.column("Max Abs Diff") == 0).all()
        assert np.allclose(table.column("Cosine Similarity"), 1.0)
        assert np.isinf(table.column("SQNR")).all()
        assert table.rows()[0][5] == "inf"  # JSON cannot hold infinity


def test_distance_measures_by_hand():
    from engine.reports.tensor_distance import distances

    ref = np.array([[3.0, 4.0], [1.0, 0.0], [0.0, 0.0]])
    out = np.array([[3.0, 5.0], [0.0, 1.0], [0.0, 0.0]])
    mse, cos, max_abs, sqnr = distances(out, ref)
    assert mse.tolist() == [0.5, 1.0, 0.0]
    assert cos[0] == pytest.approx(29 / (5 * math.sqrt(34))) and cos[1] == 0.0 and cos[2] == 1.0
    assert max_abs.tolist() == [1.0, 1.0, 0.0]
    assert sqnr[0] == pytest.approx(10 * math.log10(25)) and sqnr[1] == pytest.approx(10 * math.log10(0.5))
    assert sqnr[2] == np.inf


# ---------------------------------------------------------------- detection: known boxes

PARENT_BOXES = [[8, 8, 24, 24, 0.9, 0], [40, 40, 56, 56, 0.8, 1], [8, 40, 24, 56, 0.3, 0]]
CHILD_BOXES = [[9, 9, 25, 25, 0.9, 0], [44, 44, 60, 60, 0.8, 1], [8, 40, 24, 56, 0.3, 0]]
OBJECTS = [
    [("aeroplane", [8, 8, 24, 24]), ("bicycle", [40, 40, 56, 56])],  # both found
    [("aeroplane", [8, 8, 24, 24])],  # the bicycle detection is a false positive
    [("aeroplane", [30, 30, 46, 46]), ("aeroplane", [8, 40, 24, 56])],  # only the 0.3 box hits
]


@pytest.fixture(scope="module")
def detection(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("det")
    ws = Workspace(tmp / "ws")
    parent = import_box_model(ws, tmp, "boxes", PARENT_BOXES)
    child = import_box_model(ws, tmp, "boxes-moved", CHILD_BOXES)
    dataset = import_dataset(ws, write_voc(tmp / "voc", OBJECTS), name="voc", fmt="voc-detection")
    return ws, parent, child, dataset


def test_detection_accuracy_counts_matches_and_ap_by_hand(detection, capsys):
    from engine.adapters import Detections
    from engine.metrics import coco_map

    ws, parent, _, dataset = detection
    report = create_report(ws, ReportSpec("accuracy", parent.name, dataset.name, conf_threshold=0.5))
    basic = open_table(ws, report, "basic")
    assert basic.columns == ["Image Name", "A. Model Detections", "B. Objects in Dataset Annotations",
                             "Matches between A and B"]
    assert basic.rows() == [["img0.png", 2, 2, 2], ["img1.png", 2, 1, 1], ["img2.png", 2, 2, 0]]
    assert basic.flags["erroneous"].tolist() == [False, True, True]
    advanced = open_table(ws, report, "advanced")
    nan = None
    assert advanced.rows() == [
        ["img0.png", "aeroplane", 1, 1, 1, 1.0, 1.0], ["img0.png", "bicycle", 1, 1, 1, 1.0, 1.0],
        ["img1.png", "aeroplane", 1, 1, 1, 1.0, 1.0], ["img1.png", "bicycle", 1, 0, 0, 0.0, nan],
        # aeroplane in img2: 0.9 misses, 0.3 hits one of two objects: AP = 0.5 recall x 0.5 precision
        ["img2.png", "aeroplane", 1, 2, 0, 0.0, 0.25], ["img2.png", "bicycle", 1, 0, 0, 0.0, nan]]
    assert advanced.only("erroneous").rows() == advanced.rows()[3:]
    # Over the set, by score: aeroplane FP TP TP TP FP FP of 4 objects -> all-point AP 0.75 x 0.75;
    # bicycle FP FP TP of 1 object -> AP 1/3.
    assert report.summary["value"] == pytest.approx((0.5625 + 1 / 3) / 2)
    code, out, _ = owb(capsys, ws.home, "accuracy", parent.name, "--dataset", dataset.name, "--json")
    assert code == 0 and json.loads(out)["value"] == report.summary["value"]
    boxes = np.array([r[:4] for r in PARENT_BOXES], np.float32)
    labels = np.array([r[5] for r in PARENT_BOXES], np.int64)
    dets = [Detections(boxes, np.array([r[4] for r in PARENT_BOXES], np.float32) + 0.005 * i, labels) for i in range(3)]
    gts = [[b for _, b in objs] for objs in OBJECTS]
    classes = [[{"aeroplane": 0, "bicycle": 1}[n] for n, _ in objs] for objs in OBJECTS]
    expected = coco_map(dets, gts, classes)
    assert report.summary["coco"]["map50"] == pytest.approx(expected["map50"])
    assert expected["map50"] == pytest.approx((57 / 101 + 1 / 3) / 2)  # 101-point interpolation


def test_detection_predictions_take_the_parent_as_reference(detection):
    ws, parent, child, dataset = detection
    report = create_report(ws, ReportSpec("predictions", child.name, dataset.name, reference=parent.name,
                                          conf_threshold=0.5))
    basic = open_table(ws, report, "basic")
    assert basic.columns[1:3] == ["A. Optimized Model Detections", "B. Parent Model Detections"]
    # the aeroplane box moved by 1 px still matches (IoU 0.78); the bicycle moved by 4 px does not (0.39)
    assert basic.rows() == [[f"img{i}.png", 2, 2, 1] for i in range(3)]
    assert basic.flags["different"].all()
    advanced = open_table(ws, report, "advanced")
    assert advanced.rows()[:2] == [["img0.png", "aeroplane", 1, 1, 1, 1.0, 1.0],
                                   ["img0.png", "bicycle", 1, 1, 0, 0.0, 0.0]]


def test_reports_run_as_jobs_cancel_cleanly_and_follow_configuration_changes(detection, capsys):
    from engine.errors import Cancelled
    from engine.jobs import JobRunner
    from engine.models import configure
    from engine.records import Report
    from engine.reports import report_job

    ws, parent, child, dataset = detection
    spec = ReportSpec("predictions", child.name, dataset.name, reference=parent.name, conf_threshold=0.4)
    runner = JobRunner(ws)
    job = runner.wait(runner.submit("report", lambda ctx: report_job(ctx, spec)).id)
    assert job.state == "done" and job.result["kind"] == "predictions"
    first = ws.get(Report, job.result["report"])
    assert create_report(ws, spec).id == first.id  # stored: reused, not rebuilt
    cancel = __import__("threading").Event()
    cancel.set()
    before = len(ws.all(Report))
    with pytest.raises(Cancelled):
        create_report(ws, spec, reuse=False, cancel=cancel)
    assert len(ws.all(Report)) == before  # nothing half-stored
    # A new input configuration makes new outputs: every pixel +100 lifts each score by 0.01.
    configure(ws, child, mean=[-100.0] * 3)
    again = create_report(ws, spec)
    assert again.id != first.id and again.summary["fingerprints"] != first.summary["fingerprints"]
    from engine.reports.outputs import stored_outputs

    scores = stored_outputs(ws, ws.get(Model, child.id), dataset, 3)["boxes"][:, 0, 4]
    assert scores == pytest.approx([0.9 + 1e-4 * (g + 100) for g in (0, 50, 100)], abs=1e-5)  # recomputed
    assert open_table(ws, again, "basic").rows() == open_table(ws, first, "basic").rows()  # counts unchanged
    code, out, _ = owb(capsys, ws.home, "report", "show", again.id, "--mode", "advanced", "--only-different",
                       "--json")
    doc = json.loads(out)
    assert code == 0 and doc["id"] == again.id and doc["total_rows"] == 6 and len(doc["rows"]) == 3


# ---------------------------------------------------------------- segmentation: PP-OCRv5 det on rendered text

@pytest.fixture(scope="module")
def text_segmentation(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("seg")
    ws = Workspace(tmp / "ws")
    det = import_model(ws, ppocr_model("det"), name="det", **DET_CONFIG)
    dataset = import_dataset(ws, write_text_segmentation(tmp / "pages", 4), name="pages")
    return ws, det, dataset


def test_segmentation_report_rows_per_image_and_per_class(text_segmentation, capsys):
    ws, det, dataset = text_segmentation
    code, out, _ = owb(capsys, ws.home, "report", det.name, "--dataset", dataset.name, "--kind", "accuracy",
                       "--mode", "advanced", "--json")
    advanced = json.loads(out)
    assert code == 0 and advanced["columns"] == ["Image Name", "Class", "Result"]
    assert [r[:2] for r in advanced["rows"]] == [[f"page{i}.jpg", c] for i in range(4) for c in ("background", "text")]
    text = [r[2] for r in advanced["rows"] if r[1] == "text"]
    background = [r[2] for r in advanced["rows"] if r[1] == "background"]
    assert all(0.2 < v < 1 for v in text) and all(v > 0.75 for v in background)  # DBNet marks a shrunk core
    code, out, _ = owb(capsys, ws.home, "report", det.name, "--dataset", dataset.name, "--kind", "accuracy", "--json")
    basic = json.loads(out)
    assert basic["id"] == advanced["id"] and basic["columns"] == ["Image Name", "Average Result"]
    assert [r[1] for r in basic["rows"]] == pytest.approx([(b + t) / 2 for b, t in zip(background, text)])
    code, out, _ = owb(capsys, ws.home, "accuracy", det.name, "--dataset", dataset.name, "--json")
    assert basic["summary"]["value"] == json.loads(out)["value"]
    from engine.records import Report

    only = open_table(ws, ws.get(Report, basic["id"]), "advanced").only("erroneous")
    assert only.rows() == [r for r in advanced["rows"] if r[2] < 0.5]


# ---------------------------------------------------------------- the table itself, and scale

def synthetic(n: int, seed: int = 0) -> ReportTable:
    rng = np.random.default_rng(seed)
    names = np.char.add("image_", np.arange(n).astype(str)).astype(np.str_)
    classes = np.asarray(["cat", "dog", "bird", "aeroplane", "person"], np.str_)[rng.integers(0, 5, n)]
    conf = rng.random(n)
    conf[::97] = np.nan
    return ReportTable(["Image Name", "Predicted Class", "Class Defined in Dataset Annotations",
                        "Rank of Class Defined in Dataset Annotations in Model Predictions",
                        "Model Confidence in Predicted Class", "Model Confidence in Class Defined in Dataset Annotations"],
                       [names, classes, np.roll(classes, 1), rng.integers(-1, 5, n), conf, rng.random(n)],
                       np.arange(n), {"erroneous": classes != np.roll(classes, 1)})


def test_table_sorts_stably_with_missing_values_last_and_searches():
    t = ReportTable(["Name", "Score"], [np.asarray(["b", "a", "c", "a"]), np.asarray([2.0, np.nan, 1.0, 2.0])],
                    np.arange(4))
    assert t.order("score").tolist() == [2, 0, 3, 1]
    assert t.order("score", descending=True).tolist() == [0, 3, 2, 1]
    assert t.order("NAME", descending=True).tolist() == [2, 0, 1, 3]
    assert t.contains("A").tolist() == [False, True, False, True]
    assert t.compare("Score", ">=", 2).tolist() == [True, False, False, True]
    with pytest.raises(BadInput, match="columns: Name; Score"):
        t.column("x")


def test_fifty_thousand_rows_open_sort_and_filter_within_half_a_second(tmp_path):
    table = synthetic(50_000)
    save_table(tmp_path / "basic.npz", table)
    start = time.perf_counter()
    loaded = load_table(tmp_path / "basic.npz")
    assert time.perf_counter() - start < 0.5 and len(loaded) == 50_000
    for title in loaded.columns:
        start = time.perf_counter()
        view = loaded.sorted_by(title, descending=True)
        assert time.perf_counter() - start < 0.5, title
    start = time.perf_counter()
    wrong = loaded.only("erroneous").where(loaded.only("erroneous").contains("dog"))
    assert time.perf_counter() - start < 0.5
    pred, annotated = table.data[1], table.data[2]
    assert len(wrong) == int(((pred != annotated) & ((pred == "dog") | (annotated == "dog"))).sum()) > 0
    assert view.data[0].dtype.kind == "U"


def test_image_geometry_from_the_header_matches_the_preprocessor():
    from engine.preprocess import Preprocessor
    from engine.records import InputConfig
    from engine.reports.outputs import image_meta

    for resize in ("stretch", "keep-aspect-pad"):
        config = InputConfig(shape=[1, 3, 48, 320], resize=resize)
        pre = Preprocessor(config, [1, 3, 48, 320])
        for size in ((640, 480), (100, 20), (321, 47)):
            _, meta = pre.from_image(Image.new("RGB", size))
            assert image_meta(config, 320, 48, *size) == meta
