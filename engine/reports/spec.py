"""What a report is asked for: its kind, the models and dataset, and the few
thresholds that change its rows."""

from __future__ import annotations

import math
from dataclasses import dataclass

from engine.choices import CONF_THRESHOLD
from engine.choices import REPORT_KINDS as KINDS
from engine.choices import REPORT_MODES as MODES
from engine.errors import BadInput

FLAGS = {"accuracy": "erroneous", "predictions": "different"}
DEFAULT_SEG_THRESHOLD = {"accuracy": 0.5, "predictions": 0.9}


@dataclass
class ReportSpec:
    kind: str
    model: str  # name or id
    dataset: str  # name or id
    reference: str | None = None  # parent name or id; default: the model's parent
    conf_threshold: float = CONF_THRESHOLD  # detection: a detection counts (column A) from this score up
    seg_threshold: float | None = None  # segmentation: a result (IoU) below this is flagged
    mode: str = MODES[0]  # the table a viewer opens first (detection/segmentation also have "advanced")

    def validate(self) -> None:
        if self.kind not in KINDS:
            raise BadInput(f"unknown report kind {self.kind!r}; use one of {', '.join(KINDS)}")
        for name, value in (("--conf-threshold", self.conf_threshold), ("--iou-threshold", self.seg_threshold)):
            if value is not None and not (isinstance(value, (int, float)) and math.isfinite(value) and 0 <= value <= 1):
                raise BadInput(f"{name} must be a number between 0 and 1, not {value!r}")
        if self.mode not in MODES:
            raise BadInput(f"unknown table {self.mode!r}; use one of {', '.join(MODES)}")
        if self.kind == "accuracy" and self.reference is not None:
            raise BadInput("an accuracy report judges one model against the annotations; drop --vs "
                           "(or use --kind predictions to compare with the parent)")

    @property
    def needs_reference(self) -> bool:
        return self.kind != "accuracy"

    def threshold(self) -> float:
        return self.seg_threshold if self.seg_threshold is not None else DEFAULT_SEG_THRESHOLD.get(self.kind, 0.5)

    def options(self) -> dict:
        """The settings that shape the rows: a stored report is reused only when they match."""
        return {"conf_threshold": float(self.conf_threshold), "seg_threshold": float(self.threshold())}
