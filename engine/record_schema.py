"""What a stored record's fields must hold, field by field and nested.

A project archive's manifest is user input: ``inputs: [5]``, ``shape: ["a"]``
or ``"throughput_fps": "fast"`` would import, then make `model list`,
`accuracy` and `compare` fail with a TypeError for ever. Each field owb reads
is checked here against the shape owb itself writes; ``problem`` names the
first field that differs, or returns None."""

from __future__ import annotations

import math
from typing import Any, Callable

from . import limits
from .choices import COLORS, RESIZE_MODES, TASKS
from .records import Dataset, InferenceResult, InputConfig, Model, Project, Record, Report

Check = Callable[[Any], bool]


def number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def integer(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def text(v: Any) -> bool:
    return isinstance(v, str)


def maybe(check: Check) -> Check:
    return lambda v: v is None or check(v)


def list_of(check: Check, limit: int = limits.MAX_CLASSES) -> Check:
    return lambda v: isinstance(v, list) and len(v) <= limit and all(check(x) for x in v)


def dict_of(check: Check) -> Check:
    return lambda v: isinstance(v, dict) and all(isinstance(k, str) and check(x) for k, x in v.items())


def one_of(choices: tuple[str, ...]) -> Check:
    return lambda v: v in choices


def nonneg_int(v: Any) -> bool:
    return integer(v) and v >= 0


def dims(v: Any) -> bool:  # -1 marks a dynamic dimension
    return list_of(lambda d: integer(d) and d >= -1, 16)(v)


def static_shape(v: Any) -> bool:
    if not list_of(lambda d: integer(d) and d > 0, 16)(v):
        return False
    return math.prod(v) <= limits.MAX_INPUT_ELEMENTS


def port(v: Any) -> bool:
    return isinstance(v, dict) and text(v.get("name")) and dims(v.get("shape")) and text(v.get("type"))


def numbers_or_none(v: Any) -> bool:
    return dict_of(lambda x: x is None or number(x))(v)


CONFIG: dict[str, Check] = {
    "task": one_of(TASKS), "shape": maybe(static_shape), "layout": text, "color": one_of(COLORS),
    "mean": list_of(number, 16), "scale": list_of(lambda x: number(x) and x != 0, 16),
    "resize": one_of(RESIZE_MODES), "labels": maybe(list_of(text)),
}
FIELDS: dict[type[Record], dict[str, Check]] = {
    Model: {"name": text, "id": text, "path": text, "source": text, "source_format": text, "precision": text,
            "inputs": list_of(port, 64), "outputs": list_of(port, 256), "params": nonneg_int,
            "gflops": maybe(number), "size_bytes": nonneg_int, "parent": maybe(text),
            "provenance": dict_of(lambda x: True), "created": number},
    Dataset: {"name": text, "id": text, "format": text, "path": text, "index": text, "images": nonneg_int,
              "classes": nonneg_int, "labels": list_of(text), "annotated": lambda v: isinstance(v, bool),
              "summary": dict_of(lambda x: True), "source": text, "created": number},
    Project: {"name": text, "id": text, "model": text, "dataset": text, "device": text, "parent": maybe(text),
              "created": number},
    InferenceResult: {"name": text, "id": text, "kind": text, "project": text, "model": text,
                      "dataset": maybe(text), "result": dict_of(lambda x: True), "created": number},
    Report: {"name": text, "id": text, "kind": text, "project": text, "model": text, "reference": maybe(text),
             "dataset": text, "path": text, "summary": dict_of(lambda x: True), "created": number},
}
# Inside results and report summaries: the keys that owb's lists, Compare and
# accuracy format as numbers or read as tables.
RESULT_KEYS: dict[str, Check] = {
    "throughput_fps": maybe(number), "value": maybe(number), "images": maybe(nonneg_int),
    "images_per_s": maybe(number), "seconds": maybe(number), "iterations": maybe(nonneg_int),
    "elapsed_s": maybe(number), "compile_ms": maybe(number), "first_inference_ms": maybe(number),
    "batch": maybe(nonneg_int), "streams": maybe(nonneg_int), "requests": maybe(nonneg_int),
    "threads": maybe(nonneg_int), "latency_ms": maybe(numbers_or_none), "per_class": maybe(numbers_or_none),
    "metric": maybe(text), "inference_precision": maybe(text), "model_precision": maybe(text),
    "hint": maybe(text), "cpu": maybe(text), "device": maybe(text), "model": maybe(text),
    "latency_limit_ms": maybe(number), "details": maybe(dict_of(lambda x: True)),
    "tables": maybe(dict_of(nonneg_int)), "cells": maybe(list_of(lambda c: isinstance(c, dict), 10_000)),
}


def problem(record: Record) -> str | None:
    """The first field of ``record`` that is not what owb writes, said as 'field: why'."""
    for name, check in FIELDS.get(type(record), {}).items():
        if not check(getattr(record, name)):
            return f"{name} is not what owb writes ({_short(getattr(record, name))})"
    if isinstance(record, Model):
        cfg = record.config
        if not isinstance(cfg, InputConfig):
            return "config is not an input configuration"
        for name, check in CONFIG.items():
            if not check(getattr(cfg, name)):
                return f"config.{name} is not what owb writes ({_short(getattr(cfg, name))})"
        if not record.inputs:
            return "inputs is empty"
    inner = record.result if isinstance(record, InferenceResult) else record.summary if isinstance(record, Report) else None
    if inner is not None:
        for key, check in RESULT_KEYS.items():
            if key in inner and not check(inner[key]):
                return f"{key} is not what owb writes ({_short(inner[key])})"
    return None


def _short(v: Any) -> str:
    s = repr(v)
    return s if len(s) <= 40 else s[:39] + "…"
