"""What a calibration is asked for: the model and dataset, the method with
its budget, and the ops kept in floating point. Light (no numpy, no NNCF),
so a form or a flag parser builds and checks one before anything heavy loads;
engine.calibration runs it."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from ..choices import (one_of, BUDGETED_METHODS, CALIBRATION_METHODS, DROP_TYPES, MAX_DROP, PRESETS, SEARCH_RUN_TIME_S,
                       SEARCH_TIME_S, SUBSET_PCT)
from ..errors import BadInput


@dataclass
class CalibrationSpec:
    model: str
    dataset: str
    calibration_dataset: str | None = None
    method: str = CALIBRATION_METHODS[0]
    preset: str = PRESETS[0]
    subset_pct: float = SUBSET_PCT
    max_drop: float = MAX_DROP
    drop_type: str = DROP_TYPES[0]
    ranking_subset: int | None = None
    fast_bias_correction: bool = True
    ignore_types: list[str] = field(default_factory=list)
    ignore_names: list[str] = field(default_factory=list)
    ignore_patterns: list[str] = field(default_factory=list)
    name: str | None = None
    search_time: float = SEARCH_TIME_S
    search_run_time: float = SEARCH_RUN_TIME_S

    def uses_budget(self) -> bool:
        return self.method in BUDGETED_METHODS

    def validate(self) -> None:
        one_of(self.method, CALIBRATION_METHODS, "method")
        one_of(self.preset, PRESETS, "preset")
        one_of(self.drop_type, DROP_TYPES, "drop type")
        if not (0 < self.subset_pct <= 100):
            raise BadInput(f"--subset must be a percentage in (0, 100], not {self.subset_pct:g}")
        if not (self.max_drop >= 0 and math.isfinite(self.max_drop)):
            raise BadInput(f"--max-drop must be 0 or more percentage points, not {self.max_drop:g}")
        if not (self.search_time > 0 and math.isfinite(self.search_time)):
            raise BadInput(f"--search-time must be a positive number of seconds, not {self.search_time:g}")
        if not (self.search_run_time >= 0.2 and math.isfinite(self.search_run_time)):
            raise BadInput(f"--search-run-time must be 0.2 seconds or more, not {self.search_run_time:g}")
        if self.ranking_subset is not None and self.ranking_subset < 1:
            raise BadInput(f"--ranking-subset must be 1 or more, not {self.ranking_subset}")
        for pattern in self.ignore_patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise BadInput(f"--ignore-patterns {pattern!r} is not a regular expression: {exc}") from None
