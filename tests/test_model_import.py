"""Model import: IR, ONNX, TFLite and TF frozen graphs built in the tests,
input configuration and precision detection. PP-OCRv5 is in
test_model_import_ppocr.py, bad sources in test_model_import_bad.py."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import model_builders as mb
from engine import models
from engine.errors import BadInput
from engine.precision import compile_model as compile_f32  # accuracy runs in f32 (engine.precision)
from engine.records import Model
from engine.workspace import Workspace
from import_cli import CORE, cli_json, infer, run_cli

GFLOPS = round(mb.FLOPS / 1e9, 4)

# format -> (builder, source_format, input name, input shape, output names the frontend may give, layout)
FORMATS = {
    "ir": (mb.build_ir, "ir", "image", list(mb.NCHW), {"logits"}, "NCHW"),
    "onnx": (mb.build_onnx, "onnx", "image", list(mb.NCHW), {"logits"}, "NCHW"),
    "tflite": (mb.build_tflite, "tflite", "image", list(mb.NHWC), {"logits"}, "NHWC"),
    # The TF frontend drops the Identity, so its output carries both tensor names.
    "tf_pb": (mb.build_tf_pb, "tf", "image:0", list(mb.NHWC), {"logits:0", "dense_bias:0"}, "NHWC"),
}


def stored_constants(xml: Path) -> set[tuple[str, tuple]]:
    m = CORE.read_model(str(xml))
    return {
        (n.get_output_element_type(0).get_type_name(), tuple(n.get_output_shape(0)))
        for n in m.get_ordered_ops()
        if n.get_type_name() == "Constant"
    }


def weight_types(xml: Path) -> set[str]:
    """Element types of the stored non-scalar weight constants (not shape/axis constants)."""
    return {t for t, shape in stored_constants(xml) if np.prod(shape) > 1 and t not in ("i32", "i64")}


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("sources")
    return {fmt: spec[0](d) for fmt, spec in FORMATS.items()} | {"dynamic": mb.build_onnx(d, dynamic_batch=True)}


def check_facts(facts: dict, fmt: str) -> None:
    _, source_format, in_name, in_shape, out_names, layout = FORMATS[fmt]
    assert facts["inputs"] == [{"name": in_name, "shape": in_shape, "type": "f32"}]
    assert len(facts["outputs"]) == 1
    assert facts["outputs"][0]["name"] in out_names
    assert facts["outputs"][0]["shape"] == [1, mb.CLASSES] and facts["outputs"][0]["type"] == "f32"
    assert facts["params"] == mb.PARAMS
    assert facts["gflops"] == GFLOPS
    assert facts["precision"] == "FP32"
    assert facts["source_format"] == source_format
    assert facts["config"]["layout"] == layout
    assert facts["config"]["shape"] == in_shape
    assert facts["config"]["task"] == "classification"


# -- the four formats ------------------------------------------------------------

@pytest.mark.parametrize("fmt", list(FORMATS))
def test_import_records_facts_and_an_equivalent_fp32_ir(sources, tmp_path, fmt):
    ws = Workspace(tmp_path / "ws")
    src = sources[fmt]
    record = models.import_model(ws, src, name=f"tiny-{fmt}")
    facts = record.to_dict()
    check_facts(facts, fmt)

    xml = ws.path(record.path)
    assert xml.is_file() and xml.with_suffix(".bin").is_file()
    assert xml.resolve().is_relative_to(ws.home / "models")
    assert record.size_bytes == xml.stat().st_size + xml.with_suffix(".bin").stat().st_size > 0
    # FP32 storage: every weight element takes four bytes in the .bin.
    assert xml.with_suffix(".bin").stat().st_size >= 4 * mb.PARAMS
    assert weight_types(xml) == {"f32"}

    nhwc = FORMATS[fmt][5] == "NHWC"
    x = mb.random_image(seed=7, nhwc=nhwc)
    stored, original = infer(xml, x), infer(src, x)
    assert np.allclose(stored, original, rtol=1e-5, atol=1e-6)
    assert np.allclose(stored, mb.reference(x.transpose(0, 3, 1, 2) if nhwc else x), rtol=1e-4, atol=1e-5)
    assert ws.get(Model, f"tiny-{fmt}").id == record.id


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_cli_import_list_show(sources, tmp_path, capsys, fmt):
    home = str(tmp_path / "ws")
    src = sources[fmt]
    imported = cli_json(capsys, "--home", home, "model", "import", str(src))
    check_facts(imported, fmt)
    assert imported["name"] == src.stem and imported["size_bytes"] > 0
    assert Path(imported["path"]).is_file() and Path(imported["path"]).resolve().is_relative_to(Path(home).resolve())
    listed = cli_json(capsys, "--home", home, "model", "list")
    assert [m["id"] for m in listed] == [imported["id"]]
    assert cli_json(capsys, "model", "show", src.stem, "--home", home) == imported

    capsys.readouterr()
    assert run_cli("--home", home, "model", "show", src.stem) == 0
    text = capsys.readouterr().out
    assert f"{mb.PARAMS:,} params" in text and "FP32" in text and f"{GFLOPS} GFLOPs" in text


def test_tflite_matches_numpy_reference_exactly(sources):
    """The hand-written flatbuffer means what it says: OpenVINO's TFLite
    frontend computes the same numbers as numpy on several random inputs."""
    model = CORE.read_model(str(sources["tflite"]))
    compiled = compile_f32(model)
    for seed in range(3):
        x = mb.random_image(seed=seed, nhwc=True)
        assert np.allclose(compiled(x)[0], mb.reference(x.transpose(0, 3, 1, 2)), rtol=1e-4, atol=1e-5)


# -- input configuration ---------------------------------------------------------

def test_shape_on_dynamic_batch_then_configure(sources, tmp_path, capsys):
    home = str(tmp_path / "ws")
    labels = tmp_path / "labels.txt"
    labels.write_text("cat\ndog\n\nbird\nfish\n")
    src = str(sources["dynamic"])

    loose = cli_json(capsys, "--home", home, "model", "import", src, "--name", "loose")
    assert loose["inputs"][0]["shape"] == [-1, 3, 32, 32] and loose["gflops"] is None
    ws = Workspace(home)
    with pytest.raises(BadInput, match="configure"):
        models.load(ws, ws.get(Model, "loose"))

    m = cli_json(capsys, "--home", home, "model", "import", src, "--name", "dyn", "--shape", "2,3,32,32",
                 "--labels", str(labels), "--mean", "127.5", "--scale", "58,57,56", "--color", "BGR")
    assert m["inputs"][0]["shape"] == [2, 3, 32, 32] and m["outputs"][0]["shape"] == [2, mb.CLASSES]
    assert m["config"]["shape"] == [2, 3, 32, 32]
    assert m["gflops"] == round(2 * mb.FLOPS / 1e9, 4)
    assert m["config"]["labels"] == ["cat", "dog", "bird", "fish"]
    assert m["config"]["mean"] == [127.5] * 3 and m["config"]["scale"] == [58.0, 57.0, 56.0]
    assert m["config"]["color"] == "BGR"
    # The stored IR keeps the dynamic batch; the shape lives in the configuration.
    assert CORE.read_model(m["path"]).inputs[0].get_partial_shape().is_dynamic

    new_labels = tmp_path / "labels2.txt"
    new_labels.write_text("a\nb\nc\nd\n")
    cli_json(capsys, "--home", home, "model", "configure", "dyn", "--shape", "4,3,32,32", "--labels", str(new_labels))
    shown = cli_json(capsys, "--home", home, "model", "show", "dyn")
    assert shown["inputs"][0]["shape"] == [4, 3, 32, 32] and shown["outputs"][0]["shape"] == [4, mb.CLASSES]
    assert shown["config"]["shape"] == [4, 3, 32, 32]
    assert shown["gflops"] == round(4 * mb.FLOPS / 1e9, 4)
    assert shown["config"]["labels"] == ["a", "b", "c", "d"]
    assert shown["config"]["color"] == "BGR"  # untouched by the second configure

    ws = Workspace(home)
    model = models.load(ws, ws.get(Model, "dyn"))
    x = mb.random_image(seed=5, batch=4)
    assert np.allclose(infer(model, x), mb.reference(x), rtol=1e-4, atol=1e-5)


# -- graph cuts and inputs -----------------------------------------------------------

def test_output_cuts_a_tf_graph_at_a_named_tensor(sources, tmp_path):
    ws = Workspace(tmp_path / "ws")
    record = models.import_model(ws, sources["tf_pb"], outputs=["pool:0"], task="generic")
    assert [o["name"] for o in record.outputs] == ["pool:0"] and record.outputs[0]["shape"] == [1, mb.CHANNELS]
    assert record.provenance["cut_at"] == ["pool:0"]
    x = mb.random_image(seed=3, nhwc=True)
    out = infer(ws.path(record.path), x)
    feats = np.maximum(0, _conv_nchw(x.transpose(0, 3, 1, 2), mb.weights())).mean(axis=(2, 3))  # relu(conv), pooled
    assert np.allclose(out, feats, rtol=1e-4, atol=1e-5)
    with pytest.raises(BadInput, match=r"no tensor named 'pool' .*did you mean pool:0"):
        models.import_model(ws, sources["tf_pb"], outputs=["pool"])


def _conv_nchw(x: np.ndarray, w) -> np.ndarray:
    """3x3 convolution, stride 1, pad 1, plus bias: the tiny model's first layer."""
    n, c, h, wd = x.shape
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    out = np.zeros((n, w.conv_w.shape[0], h, wd), np.float32)
    for i in range(3):
        for j in range(3):
            out += np.einsum("nchw,oc->nohw", padded[:, :, i:i + h, j:j + wd], w.conv_w[:, :, i, j])
    return out + w.conv_b.reshape(1, -1, 1, 1)


def test_input_picks_the_image_input_and_ambiguity_is_refused(tmp_path, capsys):
    src = mb.build_two_input_ir(tmp_path)
    ws = Workspace(tmp_path / "ws")
    with pytest.raises(BadInput, match=r"2 inputs \(image \[1,3,8,8\], aux \[1,3,8,8\]\); name the image input"):
        models.import_model(ws, src)
    # aux_out reads aux: owb feeds one image, so it says so
    with pytest.raises(BadInput, match="read input.*aux.*besides the image input"):
        models.import_model(ws, src, image_input="image")
    with pytest.raises(BadInput, match="no model input named 'img'; its inputs are image"):
        models.import_model(ws, src, image_input="img")
    record = models.import_model(ws, src, image_input="image", outputs=["logits"], task="generic")
    assert [i["name"] for i in record.inputs] == ["image"] and [o["name"] for o in record.outputs] == ["logits"]
    x = np.random.default_rng(0).normal(size=(1, 3, 8, 8)).astype(np.float32)
    assert np.allclose(infer(ws.path(record.path), x), np.maximum(x, 0).mean(axis=(2, 3)), atol=1e-6)
    # the CLI: two names, and one error line listing the inputs when ambiguous
    assert run_cli("--home", str(tmp_path / "ws2"), "model", "import", str(src)) == 2
    assert "name the image input with --input NAME" in capsys.readouterr().err
    out = cli_json(capsys, "--home", str(tmp_path / "ws2"), "model", "import", str(src), "--input", "aux",
                   "--output", "aux_out", "--task", "generic")
    assert [i["name"] for i in out["inputs"]] == ["aux"] and [o["name"] for o in out["outputs"]] == ["aux_out"]


# -- preprocessing configuration --------------------------------------------------

def test_norm_presets_explicit_numbers_win_and_follow_the_channel_order(sources, tmp_path):
    ws = Workspace(tmp_path / "ws")
    m = models.import_model(ws, sources["onnx"], name="a", norm="imagenet")
    assert (m.config.mean, m.config.scale, m.config.norm) == ([123.675, 116.28, 103.53], [58.395, 57.12, 57.375],
                                                              "imagenet")
    m = models.import_model(ws, sources["onnx"], name="b", norm="imagenet", color="BGR", scale=[1.0])
    assert m.config.mean == [103.53, 116.28, 123.675] and m.config.scale == [1.0, 1.0, 1.0]  # --scale wins
    m = models.import_model(ws, sources["onnx"], name="c", norm="caffe")
    assert m.config.color == "BGR" and m.config.mean == [103.939, 116.779, 123.68]
    m = models.configure(ws, m, norm="tf")
    assert (m.config.mean, m.config.scale, m.config.color) == ([127.5] * 3, [127.5] * 3, "BGR")
    m = models.configure(ws, ws.get(Model, "a"), color="BGR")  # the preset's numbers follow the new order
    assert m.config.mean == [103.53, 116.28, 123.675]
    m = models.configure(ws, m, mean=[1.0, 2.0, 3.0])
    assert m.config.norm is None and m.config.mean == [1.0, 2.0, 3.0]


def test_resize_options_are_stored_and_checked(sources, tmp_path, capsys):
    home = str(tmp_path / "ws")
    out = cli_json(capsys, "--home", home, "model", "import", str(sources["onnx"]), "--resize", "center-crop",
                   "--crop-fraction", "0.9", "--norm", "tf")
    assert out["config"]["resize"] == "center-crop" and out["config"]["crop_fraction"] == 0.9
    assert out["config"]["mean"] == [127.5] * 3 and out["config"]["norm"] == "tf"
    out = cli_json(capsys, "--home", home, "model", "configure", out["name"], "--resize", "keep-aspect-pad",
                   "--pad-position", "top-left", "--pad-value", "114")
    assert (out["config"]["pad_position"], out["config"]["pad_value"]) == ("top-left", 114)
    for flags, message in ((["--crop-fraction", "0"], "--crop-fraction must be a number in (0, 1]"),
                           (["--pad-value", "300"], "--pad-value must be a whole number 0..255")):
        assert run_cli("--home", home, "model", "configure", out["name"], *flags) == 2
        assert message in capsys.readouterr().err


# -- precision -------------------------------------------------------------------

def test_int8_weights_ir_is_recorded_int8(tmp_path):
    ws = Workspace(tmp_path / "ws")
    record = models.import_model(ws, mb.build_int8_ir(tmp_path))
    assert record.precision == "INT8"
    assert ("i8", (mb.CHANNELS, 3, 3, 3)) in stored_constants(ws.path(record.path))
    x = mb.random_image(seed=2)
    assert np.allclose(infer(ws.path(record.path), x), mb.reference(x, mb.int8_weights()), rtol=1e-4, atol=1e-5)


def test_int8_weights_ir_params_equal_fp32(tmp_path):
    ws = Workspace(tmp_path / "ws")
    assert models.import_model(ws, mb.build_int8_ir(tmp_path)).params == mb.PARAMS


def test_fake_quantize_ir_is_recorded_int8(tmp_path):
    ws = Workspace(tmp_path / "ws")
    record = models.import_model(ws, mb.build_fake_quantize_ir(tmp_path))
    assert record.precision == "INT8"
    assert record.params == mb.PARAMS  # FakeQuantize ranges are not weights
    assert record.gflops == GFLOPS


def test_fp16_ir_is_decompressed_to_an_fp32_parent(tmp_path):
    """An FP16-compressed IR keeps its f16 weights through a plain re-save
    (compress_to_fp16=False does not decompress them); import converts them,
    so the parent owb calibrates and compares against really is FP32."""
    ws = Workspace(tmp_path / "ws")
    source = mb.build_ir(tmp_path, compress_to_fp16=True, filename="half.xml")
    assert weight_types(source) == {"f16"}
    record = models.import_model(ws, source)
    assert record.precision == "FP32"
    assert record.params == mb.PARAMS
    xml = ws.path(record.path)
    assert weight_types(xml) == {"f32"}
    assert xml.with_suffix(".bin").stat().st_size >= 4 * mb.PARAMS
    assert not [n for n in CORE.read_model(str(xml)).get_ordered_ops() if n.get_type_name() == "Convert"]
    x = mb.random_image(seed=4)
    # the f16-rounded weights, now held in f32: the same outputs as the FP16 source
    assert np.allclose(infer(xml, x), infer(source, x), rtol=1e-5, atol=1e-6)
    assert np.allclose(infer(xml, x), mb.reference(x), rtol=1e-2, atol=1e-2)


