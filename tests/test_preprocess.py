"""Preprocessing folded into the model (OpenVINO's PrePostProcessor) equals
the Python path it replaced, on real images, for every resize mode; the
decode cache gives back exactly what decoding gives; NNCF still sees the
stored model's f32 inputs; accuracy figures do not move."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from conftest import CLS_CONFIG
from ocr_fixtures import ppocr_model, text_line, write_orientation_set
from engine import synth
from engine.feed import DecodeCache, ImageFeed
from engine.preprocess import PLACEMENTS, Preprocessor
from engine.choices import RESIZE_MODES
from engine.records import InputConfig

TOL = 1e-5  # relative to the input's range: f32 division against multiplication by the reciprocal
LEGACY_MODES = ("stretch", "keep-aspect-pad")  # the modes legacy_preprocess knows; later ones have no "before"


def legacy_preprocess(img: Image.Image, config: InputConfig, shape: list[int], raw_u8: bool = False) -> np.ndarray:
    """owb's Python path before the fold (engine/preprocess.py at f0e0b53), written out."""
    from engine.preprocess import to_mode

    layout = config.layout
    h, w = shape[layout.index("H")], shape[layout.index("W")]
    c = shape[layout.index("C")] if "C" in layout else 1
    img = to_mode(img, config.color == "GRAY" or c == 1)
    ow, oh = img.size
    if config.resize == "keep-aspect-pad":
        s = min(w / ow, h / oh)
        nw, nh = max(1, round(ow * s)), max(1, round(oh * s))
        canvas = Image.new(img.mode, (w, h))
        canvas.paste(img.resize((nw, nh), Image.BILINEAR), ((w - nw) // 2, (h - nh) // 2))
        img = canvas
    elif (ow, oh) != (w, h):
        img = img.resize((w, h), Image.BILINEAR)
    arr = np.asarray(img)
    arr = arr[:, :, None] if arr.ndim == 2 else arr
    if config.color == "BGR":
        arr = arr[:, :, ::-1]
    if not raw_u8:
        mean = np.asarray((config.mean * c)[:c], np.float32)
        arr = (arr.astype(np.float32) - mean) * (1 / np.asarray((config.scale * c)[:c], np.float32))
    if "C" not in layout:
        arr = arr[:, :, 0]
    elif layout.index("C") < layout.index("H"):
        arr = arr.transpose(2, 0, 1)
    return arr[None] if "N" in layout else arr


def real_images() -> list[Image.Image]:
    """Rendered text lines and demo shapes, plus the image modes Pillow decodes
    files into (palette, grey, 16-bit, CMYK, alpha), at sizes that need resizing."""
    rng = np.random.default_rng(7)
    lines = [text_line(rng) for _ in range(3)]
    shapes = [synth.render(i, 99)[0] for i in range(2)]
    photo = Image.new("RGB", (131, 77), (30, 60, 90))
    draw = ImageDraw.Draw(photo)
    for k in range(12):
        draw.ellipse([k * 9, k * 4, k * 9 + 40, k * 4 + 30], fill=(20 * k, 255 - 15 * k, 90 + 10 * k))
    return [*lines, lines[0].rotate(180), *shapes, photo, photo.convert("P"), photo.convert("L"),
            photo.convert("CMYK"), photo.convert("RGBA"), Image.fromarray((np.asarray(photo.convert("L"),
                                                                                     np.uint16) << 8)),
            photo.resize((7, 90))]


def folded_identity(pre: Preprocessor, element: str = "f32"):
    """A model whose output is its input, with pre's tensor half folded in:
    its output is the tensor the folded model's first layer sees."""
    import openvino as ov
    import openvino.opset13 as ops

    from engine.precision import compile_model

    param = ops.parameter(pre.shape, ov.Type.f32 if element == "f32" else ov.Type.u8)
    model = ov.Model([ops.result(param)], [param])
    assert pre.fold(model)
    assert model.inputs[0].get_element_type().get_type_name() == "u8"
    return compile_model(model, "CPU", "f32")


CASES = [  # layout, shape, colour, mean, scale, raw u8 model input
    ("NCHW", [1, 3, 48, 192], "BGR", [127.5] * 3, [127.5] * 3, False),
    ("NCHW", [1, 3, 96, 96], "RGB", [123.675, 116.28, 103.53], [58.395, 57.12, 57.375], False),
    ("NHWC", [1, 40, 56, 3], "RGB", [10.0, 20.0, 30.0], [2.0, 3.0, 4.0], False),
    ("NHWC", [1, 40, 56, 3], "BGR", [0.0] * 3, [1.0] * 3, True),
    ("CHW", [3, 33, 47], "BGR", [0.0] * 3, [255.0] * 3, False),
    ("NCHW", [1, 1, 32, 64], "GRAY", [127.0], [64.0], False),
    ("NHWC", [1, 30, 40, 1], "GRAY", [0.5], [1.0], False),
]


def test_every_resize_mode_has_a_placement():
    assert set(PLACEMENTS) == set(RESIZE_MODES)


@pytest.mark.parametrize("resize", list(PLACEMENTS))
@pytest.mark.parametrize("layout, shape, color, mean, scale, u8", CASES)
def test_folded_tensor_equals_the_python_path(resize, layout, shape, color, mean, scale, u8):
    config = InputConfig(layout=layout, shape=shape, color=color, mean=mean, scale=scale, resize=resize)
    pre = Preprocessor(config, shape, "u8" if u8 else "f32")
    compiled = folded_identity(pre, "u8" if u8 else "f32")
    request = compiled.create_infer_request()
    span = max(255 / min(scale), 1.0)
    for img in real_images():
        ours, meta = pre.from_image(img)
        if resize in LEGACY_MODES:
            today = legacy_preprocess(img, config, shape, u8)
            assert ours.dtype == today.dtype and np.array_equal(ours, today), img.mode  # numpy path: unchanged
        pixels, meta2 = pre.host(img)
        assert meta2 == meta and pixels.dtype == np.uint8
        folded = request.infer({0: pre.folded_input(pixels[None])})[0]
        assert folded.shape == ours.shape
        assert np.abs(folded.astype(np.float64) - ours).max() <= TOL * span, (img.mode, img.size)


def test_a_model_the_fold_cannot_take_is_left_alone():
    import openvino as ov
    import openvino.opset13 as ops

    config = InputConfig(layout="NCHW", shape=[1, 3, 8, 8], color="GRAY", mean=[0.0] * 3, scale=[1.0] * 3)
    param = ops.parameter([1, 3, 8, 8], ov.Type.f32)
    model = ov.Model([ops.result(param)], [param])
    assert not Preprocessor(config, [1, 3, 8, 8]).fold(model)  # GRAY into 3 channels: numpy path, as before
    assert model.inputs[0].get_element_type().get_type_name() == "f32"


def _outputs(compiled, inputs) -> np.ndarray:
    request = compiled.create_infer_request()
    return np.concatenate([request.infer({0: x})[0].copy() for x in inputs])


@pytest.mark.parametrize("which", ["demo", "cls"])
def test_folded_model_gives_the_f32_python_paths_outputs(which, tmp_path):
    import openvino as ov

    from engine.precision import compile_model

    if which == "demo":
        from importlib import resources

        cfg = json.loads(resources.files("engine").joinpath("assets/demo_cnn.json").read_text())
        config = InputConfig.from_dict(cfg)
        model_file = str(resources.files("engine").joinpath("assets/demo_cnn.onnx"))
        images = [synth.render(i, 5)[0] for i in range(24)]
    else:
        config = InputConfig(**CLS_CONFIG)
        model_file = str(ppocr_model("cls"))
        rng = np.random.default_rng(4)
        images = [text_line(rng).rotate(180 * (i % 2)) for i in range(24)]
    shape = config.shape
    for resize in PLACEMENTS:
        config.resize = resize
        pre = Preprocessor(config, shape)
        plain = ov.Core().read_model(model_file)
        plain.reshape(shape)
        folded = plain.clone()
        assert pre.fold(folded)
        ref = _outputs(compile_model(plain, "CPU", "f32"), [pre.from_image(im)[0] for im in images])
        got = _outputs(compile_model(folded, "CPU", "f32"), [pre.folded_input(pre.host(im)[0][None]) for im in images])
        assert np.abs(got - ref).max() <= 1e-4 * max(1.0, float(np.abs(ref).max())), resize
        assert np.array_equal(got.argmax(1), ref.argmax(1))
        # the clone was folded, the model NNCF would quantize was not
        assert plain.inputs[0].get_element_type().get_type_name() == "f32"


# ---------------------------------------------------------------- the decode cache

@pytest.fixture
def orient(tmp_path, ws):
    from engine.dataset_store import import_dataset

    src = write_orientation_set(tmp_path / "lines", 24, seed=5)
    return import_dataset(ws, src, name="lines")


def _feed_pass(ws, dataset, pre, cache, keys=None):
    from engine.dataset_store import load_index

    index = load_index(ws, dataset)
    keys = list(range(len(index.items))) if keys is None else keys
    paths = [index.root / index.items[i].file for i in keys]
    feed = ImageFeed(pre, pre.to_tensor, workers=2, cache=cache)
    out = {}
    for chunk, arr, metas in feed.chunks(paths, keys=keys, batch=3, window=4):
        for j, pos in enumerate(chunk):
            out[keys[pos]] = (arr[j], metas[j])
    return index, out


def test_cache_gives_back_what_decoding_gives(ws, orient):
    from engine.dataset_store import load_index

    for resize in PLACEMENTS:
        config = InputConfig(**{**CLS_CONFIG, "resize": resize})
        pre = Preprocessor(config, config.shape)
        index = load_index(ws, orient)
        cache = DecodeCache.open(ws, orient, index, pre)
        assert cache is not None
        _, first = _feed_pass(ws, orient, pre, cache, keys=list(range(0, 24, 2)))  # a subset fills its rows
        assert cache.hits == 0 and cache.misses == 12
        again = DecodeCache.open(ws, orient, index, pre)
        _, second = _feed_pass(ws, orient, pre, again)
        assert again.hits == 12 and again.misses == 12
        for i, item in enumerate(index.items):
            want, meta = pre.load(index.root / item.file)
            got, got_meta = second[i]
            assert np.array_equal(got, want[0]) and got_meta == meta
            if i in first:
                assert np.array_equal(first[i][0], want[0])


def test_cache_notices_a_changed_image_and_a_changed_configuration(ws, orient):
    from engine.dataset_store import load_index

    index = load_index(ws, orient)
    config = InputConfig(**CLS_CONFIG)
    pre = Preprocessor(config, config.shape)
    _feed_pass(ws, orient, pre, DecodeCache.open(ws, orient, index, pre))
    target = index.root / index.items[3].file
    Image.new("RGB", (50, 20), (9, 99, 199)).save(target)
    os.utime(target, ns=(1, 1))
    cache = DecodeCache.open(ws, orient, index, pre)
    _, out = _feed_pass(ws, orient, pre, cache)
    assert cache.misses == 1 and np.array_equal(out[3][0], pre.load(target)[0][0])
    # another resize mode is another entry; a new mean or colour order reuses the pixels
    other = Preprocessor(InputConfig(**{**CLS_CONFIG, "resize": "keep-aspect-pad"}), config.shape)
    assert DecodeCache.open(ws, orient, index, other).folder != cache.folder
    same = Preprocessor(InputConfig(**{**CLS_CONFIG, "mean": [0.0] * 3, "color": "RGB"}), config.shape)
    assert DecodeCache.open(ws, orient, index, same).folder == cache.folder


def test_cache_stays_inside_its_budget(ws, orient, monkeypatch):
    from engine.dataset_store import load_index
    from engine.feed import cache as cache_mod

    index = load_index(ws, orient)
    config = InputConfig(**CLS_CONFIG)
    one = 24 * 48 * 192 * 3
    monkeypatch.setenv(cache_mod.ENV, "0")
    assert DecodeCache.open(ws, orient, index, Preprocessor(config, config.shape)) is None
    monkeypatch.setenv(cache_mod.ENV, str(one / 2 / 2**20))  # the entry alone would not fit
    assert DecodeCache.open(ws, orient, index, Preprocessor(config, config.shape)) is None
    monkeypatch.setenv(cache_mod.ENV, str(1.5 * one / 2**20))  # room for one entry: the older one goes
    first = DecodeCache.open(ws, orient, index, Preprocessor(config, config.shape))
    os.utime(first.folder, (1, 1))
    pad = InputConfig(**{**CLS_CONFIG, "resize": "keep-aspect-pad"})
    second = DecodeCache.open(ws, orient, index, Preprocessor(pad, pad.shape))
    assert second is not None and second.folder.is_dir() and not first.folder.exists()
    assert [p.name for p in (ws.home / cache_mod.FOLDER).iterdir()] == [second.folder.name]


def test_cache_failure_never_fails_the_pass(ws, orient):
    import shutil

    from engine.dataset_store import load_index

    index = load_index(ws, orient)
    config = InputConfig(**CLS_CONFIG)
    pre = Preprocessor(config, config.shape)
    cache = DecodeCache.open(ws, orient, index, pre)
    shutil.rmtree(cache.folder)  # evicted by another process mid-pass
    _, out = _feed_pass(ws, orient, pre, cache)
    assert len(out) == 24 and not cache.enabled


# ---------------------------------------------------------------- what NNCF and accuracy see

def test_nncf_sees_the_stored_models_inputs(ws, orient):
    """The calibration data source gives Preprocessor.load's f32 arrays, cold
    and from the cache, in subset order."""
    from engine.calibration import CalibrationImages
    from engine.dataset_store import load_index

    index = load_index(ws, orient)
    config = InputConfig(**CLS_CONFIG)
    pre = Preprocessor(config, config.shape)
    keys = [0, 5, 9, 17, 23]
    paths = [index.root / index.items[i].file for i in keys]
    want = [pre.load(p)[0] for p in paths]
    for _ in range(2):  # cold, then cached
        images = CalibrationImages(pre, paths, keys, DecodeCache.open(ws, orient, index, pre))
        got = list(images)
        assert len(images) == 5 and len(got) == 5
        assert all(g.dtype == np.float32 and np.array_equal(g, w) for g, w in zip(got, want))


def test_accuracy_is_unchanged_by_the_fold_and_the_cache(ws, monkeypatch, tmp_path):
    """The demo set, and PP-OCRv5 cls on generated text lines under every
    resize mode: folded and cached (cold, then warm) against the numpy path
    without a cache, to 0.1 pt."""
    from engine import evaluate, models
    from engine.dataset_store import import_dataset
    from engine import demo as demo_mod
    from engine.inference import DatasetRunner

    cfg = demo_mod.demo_config()
    demo_model = models.import_model(ws, demo_mod.asset("demo_cnn.onnx"), name="demo-cnn", **cfg)
    # the demo set's first 200 images (image i is a pure function of i and the seed)
    shapes = import_dataset(ws, synth.write_imagenet(tmp_path / "shapes", 200, demo_mod.VALIDATION_SEED),
                            name="demo-shapes")
    cls = models.import_model(ws, ppocr_model("cls"), name="cls", **CLS_CONFIG)
    lines = import_dataset(ws, write_orientation_set(tmp_path / "lines100", 100, seed=8), name="lines100")
    # The demo's images are its input size, so every resize mode is the same there: its own mode is enough.
    for model, dataset, modes in ((demo_model, shapes, ["stretch"]),
                                  (cls, lines, list(PLACEMENTS))):
        for resize in modes:
            model = models.configure(ws, model, resize=resize)
            assert DatasetRunner(ws, model).folded
            folded = [evaluate.evaluate(ws, model, dataset, record=False)["value"] for _ in range(2)]  # cold, warm
            with monkeypatch.context() as m:
                m.setattr(Preprocessor, "fold", lambda self, ov_model: False)
                m.setenv("OWB_DECODE_CACHE_MB", "0")
                python_path = evaluate.evaluate(ws, model, dataset, record=False)["value"]
            assert abs(folded[0] - python_path) <= 0.001 and folded[0] == folded[1], (model.name, resize)
            # a batch of 4 u8 NHWC images through the folded model: the same figure
            assert evaluate.evaluate(ws, model, dataset, batch=4, record=False)["value"] == folded[0]


def test_decode_pool_takes_the_cores_the_model_leaves(monkeypatch):
    from engine.feed import stream

    class Compiled:
        def __init__(self, threads: int) -> None:
            self.threads = threads

        def get_property(self, name: str) -> int:
            assert name == "INFERENCE_NUM_THREADS"
            return self.threads

    monkeypatch.delenv(stream.WORKERS_ENV, raising=False)
    monkeypatch.setattr(stream, "usable_cores", lambda: 2)
    assert stream.decode_workers(Compiled(2)) == 1 and stream.decode_workers(Compiled(1)) == 1
    monkeypatch.setattr(stream, "usable_cores", lambda: 16)
    assert stream.decode_workers(Compiled(16)) == 4 and stream.decode_workers(Compiled(10)) == 6
    assert stream.decode_workers(Compiled(0)) == stream.MAX_WORKERS
    monkeypatch.setenv(stream.WORKERS_ENV, "3")
    assert stream.decode_workers(Compiled(16)) == 3


def test_any_pass_over_a_stored_datasets_files_uses_its_cache(ws, orient, tmp_path):
    """runner.run over a stored dataset's files finds the decode cache itself
    (the speed-aware search and Compare's fidelity pass only give paths)."""
    from engine import models
    from engine.dataset_store import load_index, remove_dataset
    from engine.feed import cache as cache_mod
    from engine.inference import DatasetRunner

    model = models.import_model(ws, ppocr_model("cls"), name="cls", **CLS_CONFIG)
    runner = DatasetRunner(ws, model)
    index = load_index(ws, orient)
    paths = [index.root / item.file for item in index.items][5:17]

    def outputs() -> dict[int, np.ndarray]:
        name = runner.output_names[0]
        return {pos: b.outputs[name][j] for b in runner.run(paths) for j, pos in enumerate(b.indices)}

    cold = outputs()
    cache, keys = DecodeCache.for_paths(ws, paths, runner.pre)
    assert keys == list(range(5, 17)) and np.flatnonzero(cache.rows[:, 2]).tolist() == keys
    warm = outputs()
    assert sorted(warm) == list(range(12)) and all(np.array_equal(warm[i], cold[i]) for i in warm)
    outside = tmp_path / "elsewhere.png"
    Image.new("RGB", (60, 20)).save(outside)
    assert DecodeCache.for_paths(ws, [outside], runner.pre) is None
    remove_dataset(ws, orient)  # its entries go with it
    assert not list((ws.home / cache_mod.FOLDER).glob(f"{orient.id}-*"))
