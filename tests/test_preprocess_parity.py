"""Reference parity for every resize mode: owb's accuracy of the real
PP-OCRv5 text-direction classifier equals that of an independent reference
pipeline written here with PIL, numpy and openvino, within 0.5 pt, and each
image's probabilities agree, so a mode that silently fell back to another
could not pass."""

from __future__ import annotations

import numpy as np
import openvino as ov
import pytest
from PIL import Image

from conftest import CLS_CONFIG
from engine.dataset_store import import_dataset, load_index
from engine.evaluate import evaluate, predictions
from engine.models import import_model
from engine.precision import compile_model
from engine.workspace import Workspace
from ocr_fixtures import ppocr_model, write_orientation_set

W, H = 192, 48
IMAGES = 60

MODES = {
    "stretch": dict(resize="stretch"),
    "keep-aspect-pad": dict(resize="keep-aspect-pad"),
    "keep-aspect-pad-top-left-114": dict(resize="keep-aspect-pad", pad_position="top-left", pad_value=114),
    "center-crop": dict(resize="center-crop", crop_fraction=0.875),
}


def reference_pixels(img: Image.Image, mode: str) -> np.ndarray:
    """H×W×3 RGB u8, the way the model's authors would prepare it."""
    ow, oh = img.size
    if mode == "stretch":
        return np.asarray(img.resize((W, H), Image.BILINEAR))
    if mode.startswith("keep-aspect-pad"):
        top_left = mode.endswith("114")
        s = min(W / ow, H / oh)
        nw, nh = max(1, round(ow * s)), max(1, round(oh * s))
        canvas = np.full((H, W, 3), 114 if top_left else 0, np.uint8)
        x, y = (0, 0) if top_left else ((W - nw) // 2, (H - nh) // 2)
        canvas[y:y + nh, x:x + nw] = np.asarray(img.resize((nw, nh), Image.BILINEAR))
        return canvas
    # torchvision's Resize(short side = size / 0.875) then CenterCrop, here over both sides:
    # the image is scaled to cover (W, H) / 0.875, keeping its aspect
    if W / ow >= H / oh:
        nw = int(W / 0.875)
        nh = int(nw * oh / ow)
    else:
        nh = int(H / 0.875)
        nw = int(nh * ow / oh)
    nw, nh = max(nw, W), max(nh, H)
    big = np.asarray(img.resize((nw, nh), Image.BILINEAR))
    top, left = int(round((nh - H) / 2.0)), int(round((nw - W) / 2.0))
    return big[top:top + H, left:left + W]


def reference_probs(compiled, path, mode: str) -> np.ndarray:
    with Image.open(path) as img:
        pixels = reference_pixels(img.convert("RGB"), mode)
    x = (pixels[:, :, ::-1].astype(np.float32) - 127.5) / 127.5  # BGR, [-1, 1]: PaddleOCR's cls
    return compiled(x.transpose(2, 0, 1)[None])[0][0]


@pytest.fixture(scope="module")
def parity_ws(tmp_path_factory):
    base = tmp_path_factory.mktemp("parity")
    ws = Workspace(base / "home")
    return ws, import_dataset(ws, write_orientation_set(base / "lines", IMAGES, seed=21), name="lines")


@pytest.mark.parametrize("mode", list(MODES))
def test_accuracy_equals_the_reference_for_each_resize_mode(parity_ws, mode):
    ws, dataset = parity_ws
    config = {**CLS_CONFIG, "labels": ["0", "180"], **MODES[mode]}
    model = import_model(ws, ppocr_model("cls"), name=f"cls-{mode}", **config)
    ov_model = ov.Core().read_model(str(ws.path(model.path)))
    ov_model.reshape([1, 3, H, W])
    compiled = compile_model(ov_model)
    index = load_index(ws, dataset)
    ref = np.stack([reference_probs(compiled, index.root / it.file, mode) for it in index.items])
    labels = np.array([it.label for it in index.items])
    ref_top1 = float((ref.argmax(1) == labels).mean())

    owb_top1 = evaluate(ws, model, dataset, record=False)["value"]
    assert abs(owb_top1 - ref_top1) <= 0.005, (owb_top1, ref_top1)
    ours = np.zeros_like(ref)
    for i, pred in predictions(ws, model, dataset):
        ours[i] = pred.probs
    # every image's probabilities, not only the count of right answers
    np.testing.assert_allclose(ours, ref, atol=2e-3)
