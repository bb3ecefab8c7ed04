"""Model import: any format OpenVINO reads becomes one FP32 IR in the workspace,
with an input configuration that can be edited later without re-converting."""

from __future__ import annotations

import os
import shutil
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from . import limits
from .choices import COLORS, DECODERS, PAD_POSITIONS, RESIZE_MODES, TASKS, one_of
from .errors import BadInput
from .model_facts import model_facts
from .norm_presets import apply_norm
from .records import InputConfig, Model
from .workspace import Workspace

SUFFIX_FORMATS = {
    ".xml": "ir",
    ".onnx": "onnx",
    ".tflite": "tflite",
    ".pdmodel": "paddle",
    ".json": "paddle",  # PaddlePaddle 3 "PIR" programs
    ".pb": "tf",
}


def source_format(path: Path) -> str:
    if path.is_dir():
        if (path / "saved_model.pb").exists() or (path / "saved_model.pbtxt").exists():
            return "tf-savedmodel"
        raise BadInput(f"{path} is a folder but not a TF SavedModel (no saved_model.pb); pass the model file")
    fmt = SUFFIX_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise BadInput(
            f"unsupported model file {path.name!r}; owb reads OpenVINO IR (.xml + .bin), ONNX (.onnx), "
            "TFLite (.tflite), PaddlePaddle (.pdmodel), TensorFlow frozen graphs (.pb) and SavedModel folders"
        )
    return fmt


def first_line(exc: BaseException) -> str:
    """The most telling line of an OpenVINO error: its last plain sentence,
    without the C++ source locations it is wrapped in."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    for line in reversed(lines):
        if not line.startswith(("Check ", "Exception from", "[ ", "FrontEnd API failed")) and ".cpp:" not in line:
            return line[:200]
    return type(exc).__name__


@contextmanager
def _quiet_native_stderr(enabled: bool) -> Iterator[None]:
    """Silence C++ logging (absl/protobuf in the TF frontend) written to fd 2,
    which would otherwise break the one-line error contract and the TUI."""
    if not enabled:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _frontend_read(path: Path, fmt: str) -> Any:
    # Naming the frontend stops OpenVINO from trying every other one on a bad
    # file, and the TensorFlow one logs protobuf errors straight to stderr.
    from openvino.frontend import FrontEndManager

    fe = FrontEndManager().load_by_framework({"tflite": "tflite", "paddle": "paddle", "tf": "tf"}.get(fmt, fmt))
    return fe.convert(fe.load(str(path)))


def read_source(path: Path) -> tuple[Any, str]:
    """Read the user's model with OpenVINO's frontends; BadInput on anything unreadable."""
    import openvino as ov

    path = Path(path)
    if not path.exists():
        raise BadInput(f"model {path} does not exist")
    fmt = source_format(path)
    if fmt != "tf-savedmodel":  # a FIFO would hang the read, /dev/zero behind a link never end it
        if limits.regular_file(path, "model file").st_size == 0:
            raise BadInput(f"model file {path} is empty")
    if fmt == "ir" and not path.with_suffix(".bin").exists():
        raise BadInput(f"IR {path.name} has no weights file {path.with_suffix('.bin').name} beside it")
    if fmt == "ir":
        limits.regular_file(path.with_suffix(".bin"), "weights file")
    try:
        # Core.read_model tries every frontend on a broken .xml, the TF one included.
        with _quiet_native_stderr(fmt.startswith("tf") or fmt == "ir"):
            if fmt == "tf-savedmodel":
                model = ov.convert_model(str(path))
            elif fmt == "ir":
                model = ov.Core().read_model(str(path))
            else:
                model = _frontend_read(path, fmt)
    except Exception as exc:  # OpenVINO raises bare RuntimeErrors for any parse failure
        raise BadInput(f"cannot read {path.name} as a model ({fmt}): {first_line(exc)}") from exc
    if not model.inputs or not model.outputs:
        raise BadInput(f"{path.name} has no inputs or no outputs")
    return model, fmt


def guess_layout(shape: list[int]) -> str:
    if len(shape) == 4 and shape[1] not in (1, 3) and shape[3] in (1, 3):
        return "NHWC"
    return {4: "NCHW", 3: "CHW", 2: "NC"}.get(len(shape), "NCHW")


def channels(config: InputConfig) -> int:
    if config.shape and "C" in config.layout and len(config.shape) == len(config.layout):
        return config.shape[config.layout.index("C")]
    return 1 if config.color == "GRAY" else 3


def validate_config(config: InputConfig, inputs: list[dict]) -> None:
    """Refuse a configuration that could never preprocess an image."""
    one_of(config.task, TASKS, "task")
    one_of(config.color, COLORS, "colour order")
    one_of(config.resize, RESIZE_MODES, "resize mode")
    if not (isinstance(config.crop_fraction, (int, float)) and 0 < config.crop_fraction <= 1):
        raise BadInput(f"--crop-fraction must be a number in (0, 1], like 0.875; got {config.crop_fraction!r}")
    one_of(config.pad_position, PAD_POSITIONS, "pad position")
    if not (isinstance(config.pad_value, int) and 0 <= config.pad_value <= 255):
        raise BadInput(f"--pad-value must be a whole number 0..255; got {config.pad_value!r}")
    layout = config.layout.upper()
    if sorted(set(layout)) != sorted(layout) or not set(layout) <= set("NCHWD?"):
        raise BadInput(f"layout {config.layout!r} is not a layout like NCHW or NHWC")
    config.layout = layout
    if config.shape is not None:
        limits.shape(config.shape)
        if len(inputs) == 1 and len(config.shape) != len(inputs[0]["shape"]):
            raise BadInput(
                f"shape {config.shape} has {len(config.shape)} dimensions but input "
                f"{inputs[0]['name']!r} has {len(inputs[0]['shape'])} ({inputs[0]['shape']})"
            )
        if len(config.shape) != len(layout):
            raise BadInput(f"shape {config.shape} does not match layout {layout}")
    n = channels(config)
    for key in ("mean", "scale"):
        values = getattr(config, key)
        for v in values:
            limits.finite(v, f"--{key}")
        if len(values) == 1:
            setattr(config, key, values * n)
        elif len(values) != n:
            raise BadInput(f"--{key} has {len(values)} values but the input has {n} channels")
    if any(s == 0 for s in config.scale):
        raise BadInput("--scale values must be non-zero (pixels are divided by them)")
    one_of(config.decoder, DECODERS, "detection decoder")
    if config.decoder != "auto" and config.task != "detection":
        raise BadInput(f"a decoder applies to detection models; this one's task is {config.task}")


def guess_task(outputs: list[dict]) -> str:
    """A first guess from output shapes; the user confirms or overrides it."""
    shapes = [o["shape"] for o in outputs]
    if len(shapes) == 1:
        s = shapes[0]
        if len(s) == 2 or (len(s) == 4 and s[2:] == [1, 1]):
            return "classification"
        if len(s) == 4 and s[:2] == [1, 1] and s[3] == 7:
            return "detection"
        if len(s) == 4:
            return "segmentation"
    if len(shapes) == 3 and any("box" in o["name"].lower() for o in outputs):
        return "detection"
    return "generic"


def default_config(inputs: list[dict], outputs: list[dict] | None = None, **given: Any) -> InputConfig:
    shape = inputs[0]["shape"] if inputs else []
    config = InputConfig(
        task=guess_task(outputs or []),
        shape=shape if shape and all(d > 0 for d in shape) else None,
        layout=guess_layout(shape),
    )
    for key, value in given.items():
        if value is not None:
            setattr(config, key, value)
    n = channels(config)  # defaults follow the input's channel count, e.g. 1 for GRAY
    if given.get("mean") is None:
        config.mean = [0.0] * n
    if given.get("scale") is None:
        config.scale = [1.0] * n
    apply_norm(config, n, mean_given=given.get("mean") is not None, scale_given=given.get("scale") is not None,
               color_given=given.get("color") is not None)
    return config


def read_labels(path: str | Path) -> list[str]:
    p = Path(path).expanduser()
    try:
        text = limits.read_text_file(p, "labels file").decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadInput(f"labels file {p} is not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    labels = [line.strip() for line in text.splitlines() if line.strip()]
    if not labels:
        raise BadInput(f"labels file {p} has no labels (one name per line)")
    if len(labels) > limits.MAX_CLASSES:
        raise BadInput(f"labels file {p} has {len(labels):,} lines, over owb's limit of {limits.MAX_CLASSES:,} classes")
    long = next((i for i, name in enumerate(labels, 1) if len(name) > limits.MAX_LINE_CHARS), None)
    if long is not None:
        raise BadInput(f"labels file {p}: label {long} is over {limits.MAX_LINE_CHARS} characters long")
    return labels


def import_model(
    ws: Workspace,
    path: str | Path,
    *,
    name: str | None = None,
    labels_file: str | Path | None = None,
    image_input: str | None = None,
    outputs: list[str] | None = None,
    **config: Any,
) -> Model:
    """Convert ``path`` once to an FP32 IR in the workspace and record it.

    ``outputs`` cuts the graph at those tensor names; ``image_input`` names
    the input owb feeds when the model has several. The IR is written into a
    scratch folder and renamed into place before the record is added, so a
    crash never leaves a listed half-written model."""
    from .graph_edit import decompress_fp16, select_graph

    if name and ws.maybe(Model, name) is not None:
        raise BadInput(f"a model named {name!r} already exists; choose another --name",
                       tui=f"a model named {name!r} already exists; choose another name")
    src = Path(path).expanduser()
    model, fmt = read_source(src)
    model = select_graph(model, image_input=image_input, outputs=outputs)
    decompress_fp16(model)
    record = Model(name=name or src.stem or "model", source=str(src), source_format=fmt)
    if labels_file:
        config["labels"] = read_labels(labels_file)
    facts = model_facts(model)
    cfg = default_config(facts["inputs"], facts["outputs"], **config)
    if config.get("shape") is not None:
        limits.shape(cfg.shape)  # before a reshape to 3e10 elements is even tried
    scratch = ws.tmp_dir("model-")
    final = ws.home / "models" / record.id
    try:
        save_ir(model, scratch / "model.xml")
        if config.get("shape") is not None:  # a model's own static shapes need no reshape (two inputs, too)
            reshape(model, cfg.shape)  # proves the shape fits before anything else is checked
        validate_config(cfg, facts["inputs"])
        facts = model_facts(model)
        scratch.rename(final)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    record.path = ws.rel(final / "model.xml")
    record.config = cfg
    if outputs or image_input:
        record.provenance = {"cut_at": list(outputs or []), "image_input": image_input}
    record.size_bytes = ir_size(final / "model.xml")
    for key, value in facts.items():
        setattr(record, key, value)
    try:
        return ws.add(record, unique=not name)  # a free name chosen under the lock, as the record is written
    except BaseException:
        shutil.rmtree(final, ignore_errors=True)
        raise


def save_ir(model: Any, xml: Path) -> None:
    """Write an FP32 IR into the workspace. OpenVINO says a full disk or a
    read-only folder as a bare RuntimeError; it becomes one BadInput line."""
    import openvino as ov

    try:
        ov.save_model(model, str(xml), compress_to_fp16=False)
    except OSError:
        raise
    except RuntimeError as exc:
        free = shutil.disk_usage(xml.parent).free
        raise BadInput(f"cannot write the IR into {xml.parent} ({free >> 20} MB free): {first_line(exc)}") from exc


def ir_size(xml: Path) -> int:
    return sum(p.stat().st_size for p in (xml, xml.with_suffix(".bin")) if p.exists())


def reshape(model: Any, shape: list[int]) -> None:
    if len(model.inputs) != 1:
        raise BadInput(f"--shape applies to single-input models; this one has {len(model.inputs)} inputs")
    try:
        model.reshape(list(shape))
    except Exception as exc:
        raise BadInput(f"the model cannot take input shape {list(shape)}: {first_line(exc)}") from exc


def load(ws: Workspace, record: Model, batch: int | None = None) -> Any:
    """The model as an ov.Model at its configured static shape (batch replaced)."""
    import openvino as ov

    model = ov.Core().read_model(str(ws.path(record.path)))
    shape = list(record.config.shape or record.inputs[0]["shape"])
    if batch is not None:
        n = record.config.layout.find("N")
        if n < 0:
            raise BadInput(f"layout {record.config.layout} has no batch dimension N")
        shape[n] = batch
    if any(d <= 0 for d in shape):
        raise BadInput(
            f"model {record.name!r} has a dynamic input shape {shape}; set one with "
            f"`owb model configure {record.name} --shape 1,3,H,W`"
        )
    limits.shape(shape, "input shape" + (" with --batch" if batch is not None else ""))
    current = [d.get_length() if d.is_static else -1 for d in model.inputs[0].get_partial_shape()]
    if shape != current:
        reshape(model, shape)
    return model


def configure(ws: Workspace, record: Model, labels_file: str | Path | None = None, **changes: Any) -> Model:
    """Edit a model's input configuration; the IR itself is untouched."""
    cfg = InputConfig.from_dict(record.config.to_dict())
    if labels_file:
        changes["labels"] = read_labels(labels_file)
    for key, value in changes.items():
        if value is not None:
            setattr(cfg, key, value)
    typed = changes.get("mean") is not None or changes.get("scale") is not None
    if changes.get("norm") is not None or (cfg.norm is not None and changes.get("color") is not None and not typed):
        # a new preset, or the preset's numbers in the new channel order
        apply_norm(cfg, channels(cfg), mean_given=changes.get("mean") is not None,
                   scale_given=changes.get("scale") is not None, color_given=changes.get("color") is not None)
    elif typed:
        cfg.norm = None  # numbers typed over a preset: it no longer describes them
    import openvino as ov

    model = ov.Core().read_model(str(ws.path(record.path)))
    original_inputs = model_facts(model)["inputs"]
    validate_config(cfg, original_inputs)
    if cfg.shape is not None and (len(model.inputs) == 1 or changes.get("shape") is not None):
        reshape(model, cfg.shape)
    facts = model_facts(model)
    return ws.update(record, config=cfg, inputs=facts["inputs"], outputs=facts["outputs"], gflops=facts["gflops"])
