"""`owb accuracy` on the real PP-OCRv5 models: the cls acceptance (≥ 95% top-1
on generated text lines), det as segmentation with a mean IoU, and refusals."""

from __future__ import annotations

import json

import pytest

from conftest import run_owb
from ocr_fixtures import ppocr_model, write_text_folder, write_text_segmentation_set
from engine.records import InferenceResult, Project


def test_ppocr_cls_reaches_95_percent(cls_workspace):
    ws = cls_workspace
    proc = run_owb("accuracy", "cls", "--dataset", "orient", "--json", home=ws.home)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["metric"] == "top1" and out["images"] == 200
    assert out["value"] >= 0.95
    assert set(out["per_class"]) == {"0", "180"}
    stored = [r for r in ws.all(InferenceResult) if r.kind == "accuracy" and r.result["value"] == out["value"]]
    assert stored and any(p.id == stored[-1].project for p in ws.all(Project))


def test_ppocr_det_as_segmentation_gives_mean_iou(tmp_path):
    home = tmp_path / "home"
    pages = write_text_segmentation_set(tmp_path / "pages", 4, size=640)
    assert run_owb("dataset", "import", str(pages), "--name", "pages", home=home).returncode == 0
    imp = run_owb("model", "import", str(ppocr_model("det")), "--name", "det", "--task", "segmentation",
                  "--shape", "1,3,640,640", "--mean", "123.675,116.28,103.53", "--scale", "58.395,57.12,57.375",
                  home=home)
    assert imp.returncode == 0, imp.stderr
    proc = run_owb("accuracy", "det", "--dataset", "pages", "--json", home=home)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["metric"] == "mean_iou" and out["images"] == 4
    # DBNet marks shrunk text kernels, so IoU against whole line boxes is well below 1, yet far above chance
    assert 0.5 < out["value"] < 1
    assert out["per_class"]["text"] > 0.3 and out["per_class"]["background"] > 0.8
    assert 0.8 < out["details"]["pixel_accuracy"] <= 1


@pytest.mark.parametrize("case", ["unannotated", "generic", "wrong-format"])
def test_accuracy_refusals(cls_workspace, tmp_path, case):
    ws = cls_workspace
    if case == "unannotated":
        run_owb("dataset", "import", str(write_text_folder(tmp_path / "t", 5)), "--name", "plain", home=ws.home)
        args, words = ["accuracy", "cls", "--dataset", "plain"], "no annotations"
    elif case == "generic":
        run_owb("model", "import", str(ppocr_model("cls")), "--name", "cls-generic", "--task", "generic",
                "--shape", "1,3,48,192", home=ws.home)
        args, words = ["accuracy", "cls-generic", "--dataset", "orient"], "generic"
    else:
        pages = write_text_segmentation_set(tmp_path / "p", 2, size=96)
        run_owb("dataset", "import", str(pages), "--name", f"pages-{case}", home=ws.home)
        args, words = ["accuracy", "cls", "--dataset", f"pages-{case}"], "imagenet or imagefolder"
    proc = run_owb(*args, home=ws.home)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and words in lines[0]


def test_one_channel_logit_map_is_scored_as_its_sigmoid(tmp_path):
    """A salient-object style N×1×H×W output, once as logits and once as
    probabilities: the same binary masks, so the same mean IoU, in `owb
    accuracy` and in the accuracy report. Thresholding the logits themselves at
    0.5 would have lost the pixels whose logit lies in (0, 0.5)."""
    import numpy as np
    import openvino as ov
    import openvino.opset13 as ops
    from PIL import Image

    from engine.dataset_store import import_dataset
    from engine.evaluate import evaluate
    from engine.models import import_model
    from engine.reports import ReportSpec, create_report
    from engine.workspace import Workspace

    root = tmp_path / "ramps"
    for sub in ("JPEGImages", "SegmentationClass", "ImageSets/Segmentation"):
        (root / sub).mkdir(parents=True)
    names = []
    for i in range(3):
        ramp = np.tile(np.linspace(100, 160, 32).astype(np.uint8), (32, 1))  # grey 100 .. 160, left to right
        Image.fromarray(np.stack([ramp] * 3, -1)).save(root / "JPEGImages" / f"r{i}.png")
        mask = Image.fromarray((ramp > 128).astype(np.uint8), "P")
        mask.putpalette([0, 0, 0, 255, 255, 255] + [0, 0, 0] * 254)
        mask.save(root / "SegmentationClass" / f"r{i}.png")
        names.append(f"r{i}")
    (root / "ImageSets" / "Segmentation" / "val.txt").write_text("\n".join(names) + "\n")
    (root / "labels.txt").write_text("background\nobject\n")
    ws = Workspace(tmp_path / "home")
    dataset = import_dataset(ws, root, name="ramps")

    results = {}
    for kind in ("logits", "probabilities"):
        x = ops.parameter([1, 3, 32, 32], ov.Type.f32, name="image")
        logits = ops.reduce_mean(x, np.array([1], np.int64), keep_dims=True)  # (grey - 128) / 4 after the scale
        out = logits if kind == "logits" else ops.sigmoid(logits)
        out.output(0).get_tensor().set_names({"map"})
        path = tmp_path / f"{kind}.xml"
        ov.save_model(ov.Model([ops.result(out)], [x]), str(path), compress_to_fp16=False)
        model = import_model(ws, path, name=kind, task="segmentation", mean=[128.0], scale=[4.0])
        report = create_report(ws, ReportSpec(kind="accuracy", model=model.id, dataset=dataset.id))
        results[kind] = (evaluate(ws, model, dataset)["value"], report.summary["value"])
    assert results["logits"] == results["probabilities"]
    assert results["logits"][0] == results["logits"][1] == pytest.approx(1.0)  # every pixel right
