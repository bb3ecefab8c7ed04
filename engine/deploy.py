"""The deployment package: one tar.gz that runs a workspace model anywhere
OpenVINO installs, with no owb.

It holds the IR as stored (never re-serialized), ``infer.py`` generated from
engine/assets/deploy_infer.py.tmpl with the model's input configuration and
output decoder frozen in as JSON (the template is a copy of engine.preprocess
and engine.adapters that a test keeps in step), ``benchmark.sh`` with the best
configuration owb measured, ``requirements.txt`` and a README that quotes only
figures found in the inference history."""

from __future__ import annotations

import io
import json
import os
import re
import tarfile
import time
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any, Iterator

from .precision import ACCURACY
from .errors import BadInput, NotFound
from .output import atomic_output, output_path
from .records import Dataset, InferenceResult, Model, Project
from .workspace import Workspace

TEMPLATE = "deploy_infer.py.tmpl"
PLACEHOLDER = "__OWB_CONFIG__"
PACKAGE_FORMAT = 1
NOT_MEASURED = "not measured"


# ---------------------------------------------------------------- safe output files

@contextmanager
def atomic_tar(out: Path) -> Iterator[tarfile.TarFile]:
    """A gzip tar written beside ``out`` and renamed over it only when complete."""
    with atomic_output(out) as tmp, open(tmp, "wb") as fh, tarfile.open(fileobj=fh, mode="w:gz") as tar:
        yield tar


def _member(name: str, size: int, mode: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = size, mode, int(time.time())
    return info


def add_bytes(tar: tarfile.TarFile, name: str, data: bytes, mode: int = 0o644) -> None:
    tar.addfile(_member(name, len(data), mode), io.BytesIO(data))


def add_file(tar: tarfile.TarFile, name: str, path: Path, mode: int = 0o644) -> None:
    with open(path, "rb") as fh:
        tar.addfile(_member(name, os.fstat(fh.fileno()).st_size, mode), fh)


def safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "model"


def when(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts))


# ---------------------------------------------------------------- what infer.py needs

def _decoder_kind(adapter: Any) -> str:
    from . import adapters as a

    kinds = {a.ClassificationAdapter: "classification", a.SsdAdapter: "ssd", a.BoxesAdapter: "boxes",
             a.YoloAdapter: "yolo", a.SegmentationAdapter: "segmentation", a.GenericAdapter: "generic"}
    return kinds[type(adapter)]


def _labels(ws: Workspace, model: Model, classes: int | None) -> tuple[list[str] | None, str]:
    """The model's own labels, else those of a dataset it was measured (or
    has a project) on with the same number of classes."""
    if model.config.labels:
        return list(model.config.labels), "model configuration"
    datasets = {d.id: d for d in ws.all(Dataset)}
    measured_on = [r.dataset for r in sorted(ws.find(InferenceResult, model=model.id, kind="accuracy"),
                                             key=lambda r: -r.created)]
    for key in measured_on + [p.dataset for p in ws.find(Project, model=model.id)]:
        d = datasets.get(key or "")
        if d is not None and d.labels and (classes is None or len(d.labels) == classes):
            return list(d.labels), f"dataset {d.name}"
    return None, "none (class indices are printed)"


def package_config(ws: Workspace, model: Model) -> dict:
    """The JSON frozen into infer.py: input configuration, IR input shape for
    one image, output names in port order, and the resolved output decoder."""
    import math

    from . import models
    from .adapters import model_adapter
    from .model_facts import tensor_infos
    from .preprocess import Preprocessor

    cfg = model.config
    ov_model = models.load(ws, model, 1 if "N" in cfg.layout else None)
    if len(ov_model.inputs) != 1:
        raise BadInput(f"model {model.name!r} has {len(ov_model.inputs)} inputs; the deployment package "
                       "feeds single-input image models")
    shape = [d.get_length() for d in ov_model.inputs[0].get_partial_shape()]
    Preprocessor(cfg, shape)  # BadInput when the input is not an image
    outputs = tensor_infos(ov_model.outputs)
    adapter = model_adapter(model, {o["name"]: o["shape"] for o in outputs})
    kind = _decoder_kind(adapter)
    classes = None
    if kind == "classification":
        out = next(o for o in outputs if o["name"] == adapter.opts["output"])
        classes = math.prod(out["shape"][1:])
    labels, labels_source = _labels(ws, model, classes)
    return {
        "format": PACKAGE_FORMAT,
        "model": model.name,
        "model_id": model.id,
        "precision": model.precision,
        "task": cfg.task,
        "ir": "model.xml",
        "input": {"shape": shape, "layout": cfg.layout, "color": cfg.color, "mean": list(cfg.mean),
                  "scale": list(cfg.scale), "resize": cfg.resize, "crop_fraction": cfg.crop_fraction,
                  "pad_position": cfg.pad_position, "pad_value": cfg.pad_value},
        "outputs": [o["name"] for o in outputs],
        "decoder": {"kind": kind, "form": adapter.form, "options": dict(adapter.opts)},
        "labels": labels,
        "labels_source": labels_source,
        "accuracy_precision": ACCURACY,
    }


def render_infer(config: dict) -> str:
    template = (resources.files("engine") / "assets" / TEMPLATE).read_text(encoding="utf-8")
    assert template.count(PLACEHOLDER) == 1, "the infer.py template must hold one config placeholder"
    # A readable multi-line literal: JSON (ASCII-only) with its backslashes and
    # quotes escaped once more for the Python string around it.
    text = json.dumps(config, indent=1, sort_keys=True).replace("\\", "\\\\").replace("'", "\\'")
    return template.replace(PLACEHOLDER, f"'''{text}'''")


# ---------------------------------------------------------------- benchmark.sh

def benchmark_plan(ws: Workspace, model: Model, one_image_shape: list[int]) -> dict:
    """benchmark_app flags for the best configuration owb measured: the latest
    explore sweet spot, else benchmark_app's throughput hint."""
    from .benchmark import history
    from .choices import BENCHMARK_TIME_S

    n_axis = model.config.layout.find("N")
    plan: dict[str, Any] = {"hint": "throughput", "streams": None, "batch": 1, "time_s": BENCHMARK_TIME_S,
                            "source": "no explore sweep in the history: benchmark_app's throughput hint"}
    for r in reversed(history(ws, model, "explore")):
        best = r.result.get("sweet_spot")
        if best:
            plan.update(hint="none", streams=int(best["streams"]), batch=int(best["batch"]), explore_id=r.id,
                        source=f"explore sweet spot of {when(r.created)}: {r.result.get('sweet_spot_note', '')}")
            break
    shape = list(one_image_shape)
    if n_axis >= 0:
        shape[n_axis] = plan["batch"]
    plan["shape"] = shape
    return plan


def render_benchmark_sh(model: Model, plan: dict, ir_shape: list[int]) -> str:
    flags = ["-m model.xml", "-d CPU", f"-hint {plan['hint']}"]
    if plan["streams"] is not None:
        flags.append(f"-nstreams {plan['streams']}")
    if plan["shape"] != ir_shape:  # the IR is stored as imported; owb applies the configured shape
        flags.append(f"-shape \"[{','.join(map(str, plan['shape']))}]\"")
    flags.append(f"-t {plan['time_s']:g}")

    def comment(text: str) -> str:
        return "# " + " ".join(text.split())  # a name with a newline must not become a command

    return "\n".join([
        "#!/bin/sh",
        comment(f"benchmark_app on {model.name} ({model.precision}) with owb's best measured configuration:"),
        comment(plan["source"]),
        "# Flags given to this script come last and win, e.g.: ./benchmark.sh -t 60 -d GPU",
        "set -e",
        'cd "$(dirname "$0")"',
        f'exec benchmark_app {" ".join(flags)} "$@"',
        "",
    ])


def requirements() -> str:
    import openvino as ov

    major, minor = ov.__version__.split(".")[:2]
    return f"openvino=={major}.{minor}.*\nnumpy>=1.24\npillow>=10.1\n"


# ---------------------------------------------------------------- measured figures

def measured(ws: Workspace, model: Model) -> dict:
    """The latest figures of each kind from the inference history; None where
    never measured. Speed figures come from engine.measure.protocol: the
    throughput-hint and latency-hint figures are separate, never stand-ins."""
    from .measure.benchmark import history
    from .measure.protocol import latest_figure

    rows = history(ws, model)
    explore = [r for r in rows if r.kind == "explore" and r.result.get("sweet_spot")]
    accuracy: dict[str, InferenceResult] = {}
    for r in rows:
        if r.kind == "accuracy":
            accuracy[r.dataset or ""] = r
    datasets = {d.id: d.name for d in ws.all(Dataset)}

    def pick(r: InferenceResult | None) -> dict | None:
        return None if r is None else {"id": r.id, "when": when(r.created), **r.result}

    return {
        "throughput": _with_when(latest_figure(ws, model, "throughput"), model),
        "latency": _with_when(latest_figure(ws, model, "latency"), model),
        "explore": pick(explore[-1] if explore else None),
        "accuracy": [{**pick(r), "dataset": datasets.get(k, f"{k} (no longer in the workspace)")}
                     for k, r in accuracy.items()],
    }


def _with_when(fig: dict | None, model: Model) -> dict | None:
    return None if fig is None else {**fig, "when": when(fig["last"]), "model_precision": model.precision}


def _bench_line(f: dict) -> str:
    from .device import float_precision_note
    from .measure.protocol import spread_text

    lat, s = f["latency_ms"], f["settings"]
    return (f"{f['throughput_fps']:.1f} FPS ({spread_text(f['throughput_spread'])}), latency median "
            f"{lat['median']:.2f} ms / p90 {lat['p90']:.2f} ms / p99 {(lat.get('p99') or lat['p90']):.2f} ms; "
            f"{f['hint']} hint, {f.get('streams')} streams, {f.get('requests')} requests, batch "
            f"{s['batch'] or 'as configured'}, {float_precision_note(f.get('model_precision'), f['inference_precision'])}, "
            f"{s['inputs']} inputs, {f['runs']} run(s) of {s['seconds_per_run']} s, the last on {f['when']}; "
            f"CPU: {s.get('cpu') or 'unknown'}")


def _provenance(ws: Workspace, model: Model) -> list[str]:
    prov = model.provenance
    if not model.parent:
        children = [m.name for m in ws.find(Model, parent=model.id)]
        return [f"Imported by owb from {Path(model.source).name or '?'} ({model.source_format or '?'}).",
                f"INT8 children in the workspace: {', '.join(children) or 'none'}."]
    parent = ws.maybe(Model, model.parent)
    name = parent.name if parent else prov.get("parent_name", model.parent)
    lines = [
        f"INT8 model calibrated from **{name}** with NNCF {prov.get('nncf', '?')} (OpenVINO {prov.get('openvino', '?')}):",
        f"method {prov.get('method', '?')}, preset {prov.get('preset', '?')}, {prov.get('subset_images', '?')} "
        f"images of {prov.get('calibration_dataset_name', '?')} ({prov.get('subset_pct', '?')}%), "
        f"{prov.get('seconds', '?')} s; {len(prov.get('fp32_ops', []))} compute ops left in FP32, "
        f"{len(prov.get('reverted_ops', []))} reverted by accuracy control.",
    ]
    from .metrics import accuracy_change

    post = prov.get("post", {})
    if "accuracy" in post:
        a = post["accuracy"]
        lines.append(f"Accuracy measured right after calibration: parent {a['parent'] * 100:.2f}%, this model "
                     f"{a['child'] * 100:.2f}% ({accuracy_change(a['drop'])}).")
    if "throughput_fps" in post:
        t = post["throughput_fps"]
        for precision, f in t.get("by_precision", {t.get("inference_precision", {}).get("parent", "?"): t}).items():
            spread = f.get("ratio_spread")
            within = f", {spread['low']:.2f}–{spread['high']:.2f} over {spread['runs']} paired runs" if spread else ""
            lines.append(f"Throughput measured right after calibration in {precision} (medians of interleaved "
                         f"runs): parent {f['parent']:.1f} FPS, this model {f['child']:.1f} FPS (ratio "
                         f"{f['ratio']}{within}); CPU: {t.get('cpu', '?')}.")
    if parent is not None:
        pm = measured(ws, parent)
        lines.append("Parent's latest throughput: " + (_bench_line(pm["throughput"]) if pm["throughput"] else NOT_MEASURED) + ".")
    return lines


def render_readme(ws: Workspace, model: Model, config: dict, plan: dict, figures: dict,
                  speed: dict | None = None) -> str:
    from .child_speed import sentence
    from .device import cpu_summary
    from .preprocess import describe_resize

    cfg = config["input"]
    acc = [f"- {a['metric']} **{a['value'] * 100:.2f}%** on dataset {a['dataset']} ({a['images']} images), "
           f"{a['when']}" for a in figures["accuracy"]] or [f"- {NOT_MEASURED}"]
    ex = figures["explore"]
    best = ex["sweet_spot"] if ex else None
    return "\n".join([
        f"# {model.name}: deployment package",
        "",
        f"{model.precision} {config['task']} model exported by owb on {when(time.time())} (workspace id {model.id}).",
        "",
        *([f"**{sentence(model, speed)}**" if speed["slower"] else sentence(model, speed), ""] if speed else []),
        "## Run it",
        "",
        "```sh",
        "python -m venv .venv && . .venv/bin/activate && pip install -r requirements.txt",
        "python infer.py IMAGE [IMAGE ...] [--json]" + ("  [--out-dir DIR]" if config["task"] == "segmentation" else ""),
        "./benchmark.sh",
        "```",
        "",
        "- `model.xml`, `model.bin`: the OpenVINO IR as owb stored it.",
        f"- `infer.py`: owb's preprocessing (folded into the model as owb does) and {config['decoder']['kind']} "
        f"decoding ({config['decoder']['form']}); needs only openvino, numpy and pillow. It runs in the plugin's "
        "default precision; `--infer-precision f32` gives the f32 outputs owb measured accuracy with.",
        f"- `benchmark.sh`: benchmark_app with {plan['source']}.",
        "",
        "## Input",
        "",
        f"Shape {cfg['shape']} ({cfg['layout']}), colour {cfg['color']}, mean {cfg['mean']}, scale {cfg['scale']}, "
        f"resize {describe_resize(cfg)} (bilinear). Labels: {config['labels_source']}.",
        "",
        "## Measured by owb",
        "",
        "Figures come from owb's inference history for this model; nothing here is estimated.",
        "",
        "- Throughput: " + (_bench_line(figures["throughput"]) if figures["throughput"] else NOT_MEASURED),
        "- Latency (latency hint): " + (_bench_line(figures["latency"]) if figures["latency"] else NOT_MEASURED),
        "- Best batch x streams: " + (f"batch {best['batch']}, {best['streams']} streams, {best['throughput_fps']:.1f} FPS "
                                      f"at {best['latency_ms']['median']:.2f} ms median ({ex['when']}; CPU: {ex.get('cpu', '?')})"
                                      if best else NOT_MEASURED),
        "- Accuracy:",
        *["  " + line for line in acc],
        "",
        f"Exported on: {cpu_summary()}.",
        "",
        "## Provenance",
        "",
        *_provenance(ws, model),
        "",
    ])


# ---------------------------------------------------------------- the package

def export_package(ws: Workspace, model: Model, out: str | os.PathLike, *, force: bool = False) -> dict:
    """Write the deployment package of ``model`` to ``out`` (a .tar.gz)."""
    import openvino as ov

    from .child_speed import against_parent

    target = output_path(out, force, home=ws.home)
    xml = ws.path(model.path)
    weights = xml.with_suffix(".bin")
    if not xml.is_file() or not weights.is_file():
        raise NotFound(f"the IR files of model {model.name!r} are missing from the workspace ({xml.parent})")
    config = package_config(ws, model)
    ir_input = ov.Core().read_model(str(xml)).inputs[0].get_partial_shape()
    ir_shape = [d.get_length() if d.is_static else -1 for d in ir_input]
    plan = benchmark_plan(ws, model, config["input"]["shape"])
    figures = measured(ws, model)
    speed = against_parent(ws, model)
    root = safe_name(model.name)
    texts = {
        "infer.py": (render_infer(config), 0o755),
        "benchmark.sh": (render_benchmark_sh(model, plan, ir_shape), 0o755),
        "requirements.txt": (requirements(), 0o644),
        "README.md": (render_readme(ws, model, config, plan, figures, speed), 0o644),
    }
    with atomic_tar(target) as tar:
        add_file(tar, f"{root}/model.xml", xml)
        add_file(tar, f"{root}/model.bin", weights)
        for name, (text, mode) in texts.items():
            add_bytes(tar, f"{root}/{name}", text.encode(), mode)
    return {
        "package": str(target),
        "bytes": target.stat().st_size,
        "model": model.name,
        "model_id": model.id,
        "folder": root,
        "files": ["model.xml", "model.bin", *texts],
        "decoder": config["decoder"]["kind"],
        "benchmark": plan,
        "measured": {k: (v is not None and v != []) for k, v in figures.items()},
        "speed_vs_parent": speed,
    }
