"""Pieces shared by the forms: one-line labelled fields and value parsing
that turns a bad entry into BadInput naming the field."""

from __future__ import annotations

from typing import Any

from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import Label

from engine.errors import BadInput


def row(*pairs: tuple[str, Widget]) -> Horizontal:
    """One form line: ``label [field]  label [field]``."""
    children: list[Widget] = []
    for label, widget in pairs:
        children.append(Label(label, classes="field-label"))
        children.append(widget)
    return Horizontal(*children, classes="form-row")


def ints(text: str, field: str) -> list[int] | None:
    text = text.strip()
    if not text:
        return None
    try:
        return [int(v) for v in text.replace("x", ",").replace(" ", ",").split(",") if v]
    except ValueError:
        raise BadInput(f"{field} must be integers separated by commas, like 1,3,224,224; got {text!r}") from None


def floats(text: str, field: str) -> list[float] | None:
    text = text.strip()
    if not text:
        return None
    try:
        return [float(v) for v in text.replace(" ", ",").split(",") if v]
    except ValueError:
        raise BadInput(f"{field} must be numbers separated by commas, like 123.7,116.3,103.5; got {text!r}") from None


def number(text: str, field: str, default: float | None = None) -> float:
    text = text.strip()
    if not text and default is not None:
        return default
    try:
        return float(text)
    except ValueError:
        raise BadInput(f"{field} must be a number; got {text!r}") from None


def joined(values: list[Any] | None) -> str:
    if values is None:
        return ""
    return ",".join(f"{v:g}" if isinstance(v, float) else str(v) for v in values)
