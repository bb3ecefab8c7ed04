"""The Optimize INT8 form (a project page tab). Calibrate submits a
calibrate job (engine.jobs.kinds, as `owb calibrate` does), then goes back to
Projects, where the parent's row shows the job and the child appears when it
ends."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Checkbox, Collapsible, Input, Select, Static

from engine.choices import (BUDGETED_METHODS, CALIBRATION_METHODS, DROP_TYPES, MAX_DROP, PAIR_TIME_S, PRESETS,
                            SEARCH_TIME_S, SUBSET_PCT)
from engine.errors import BadInput
from engine.records import Dataset, Model

from ..text import error_text, reports_errors
from ..widgets.tables import literal
from .forms import chosen_precision, chosen_target, number, precision_select, row, target_picker

METHOD_NOTES = {
    "default": "Default: NNCF post-training quantization; seconds to minutes, works without annotations.",
    "accuracy-aware": "AccuracyAware: reverts layers to FP32 until the accuracy drop fits. Slow: it ranks "
                      "layers over the validation set (minutes). Without annotations the drop is in agreement "
                      "with the parent's outputs.",
    "speed-aware": "SpeedAware: keeps in floating point the quantizer groups INT8 makes slower on this CPU "
                   "(per-layer times propose, interleaved benchmarks confirm), within the drop; minutes, up to "
                   "the search time. If no INT8 configuration beats the parent, it says to keep the parent.",
}
METHOD_LABELS = {"default": "Default", "accuracy-aware": "AccuracyAware", "speed-aware": "SpeedAware"}
DROP_TYPE_LABELS = {"absolute": "absolute pt", "relative": "relative %"}
PRESET_LABELS = {"performance": "Performance (symmetric)", "mixed": "Mixed (asym. activations)"}
AGREEMENT_NOTE = " {name} has no annotations: the drop is in agreement with the parent (100% for the parent)."


class OptimizeForm(VerticalScroll):
    def __init__(self, model: Model) -> None:
        super().__init__(id="optimize-form")
        self.model = model

    def compose(self) -> ComposeResult:
        if self.model.precision == "INT8":
            parent = self.app.ws.maybe(Model, self.model.parent or "")
            yield Static(f"{self.model.name} is INT8 already; optimize its FP32 parent "
                         f"{parent.name if parent else ''} instead.", classes="hint", markup=False)
            return
        from engine.dataset_choice import ordered

        datasets, first = ordered(self.app.ws, self.model)
        if not datasets:
            yield Static("No dataset yet: import one with d on the Projects screen (esc), then come back.",
                         classes="hint", markup=False)
            return
        choices = [(literal(f"{d.name} ({d.images} img{'' if d.annotated else ', unannotated'})"), d.id)
                   for d in datasets]
        yield row(("dataset", Select(choices, value=first, allow_blank=False, id="opt-dataset", compact=True)))
        yield row(("calib. on", Select([("the same dataset", ""), *choices], value="", allow_blank=False,
                                       id="opt-calibration", compact=True)))
        yield row(("subset %", Input(f"{SUBSET_PCT:g}", id="opt-subset", type="number", compact=True)),
                  ("method", Select([(METHOD_LABELS[m], m) for m in CALIBRATION_METHODS],
                                    value=CALIBRATION_METHODS[0], allow_blank=False, id="opt-method", compact=True)))
        yield row(("max drop", Input(f"{MAX_DROP:g}", id="opt-max-drop", type="number", compact=True, disabled=True)),
                  ("drop type", Select([(DROP_TYPE_LABELS[d], d) for d in DROP_TYPES],
                                       value=DROP_TYPES[0], allow_blank=False, id="opt-drop-type", compact=True,
                                       disabled=True)))
        yield Static(METHOD_NOTES[CALIBRATION_METHODS[0]], id="opt-note", classes="hint", markup=False)
        with Collapsible(title="advanced", collapsed=True, id="opt-advanced"):
            yield row(("preset", Select([(PRESET_LABELS[p], p) for p in PRESETS],
                                        value=PRESETS[0], allow_blank=False, id="opt-preset", compact=True)))
            yield row(("bench s", Input(f"{PAIR_TIME_S:g}", id="opt-bench", type="number", compact=True)),
                      ("ranking", Input(placeholder="images (AA)", id="opt-ranking", type="integer",
                                        compact=True)))
            yield row(("float in", precision_select("opt-infer")))
            yield row(("search s", Input(f"{SEARCH_TIME_S:g}", id="opt-search-time", type="number", compact=True,
                                         tooltip="SpeedAware: seconds the search may take")))
            yield row(("keep FP32", Input(placeholder="op types, e.g. GroupConvolution", id="opt-ignore-types",
                                          compact=True)))
            yield row(("name", Input(placeholder=f"default: {self.model.name}-int8", id="opt-name",
                                     compact=True)))
            yield Checkbox("fast bias correction", value=True, id="opt-fast-bias", compact=True)
        yield from target_picker(self.app.ws, "opt-target")
        with Horizontal(classes="buttons"):
            yield Button("Calibrate", id="calibrate", variant="primary")

    def on_mount(self) -> None:
        if self.query("#opt-method"):
            self._update_enabled()

    @on(Select.Changed, "#opt-method")
    @on(Select.Changed, "#opt-dataset")
    @reports_errors
    def _update_enabled(self) -> None:
        method = self.query_one("#opt-method", Select).value
        dataset = self.app.ws.maybe(Dataset, str(self.query_one("#opt-dataset", Select).value))
        aware = method in BUDGETED_METHODS
        self.query_one("#opt-max-drop", Input).disabled = not aware
        self.query_one("#opt-drop-type", Select).disabled = not aware
        self.query_one("#opt-search-time", Input).disabled = method != "speed-aware"
        note = METHOD_NOTES[str(method)]
        if aware and dataset is not None and not dataset.annotated:
            note += AGREEMENT_NOTE.format(name=dataset.name)
        self.query_one("#opt-note", Static).update(literal(note))

    def spec(self) -> tuple[Any, float]:
        from engine.quantize.spec import CalibrationSpec

        value = lambda i: self.query_one(i, Input).value.strip()  # noqa: E731
        ranking = value("#opt-ranking")
        if ranking and not ranking.isdigit():
            raise BadInput(f"ranking subset must be a whole number of images; got {ranking!r}")
        types = [t.strip() for t in value("#opt-ignore-types").split(",") if t.strip()]
        spec = CalibrationSpec(
            model=self.model.id,
            dataset=str(self.query_one("#opt-dataset", Select).value),
            calibration_dataset=str(self.query_one("#opt-calibration", Select).value) or None,
            method=str(self.query_one("#opt-method", Select).value),
            preset=str(self.query_one("#opt-preset", Select).value),
            subset_pct=number(value("#opt-subset"), "subset %"),
            max_drop=number(value("#opt-max-drop"), "max accuracy drop", MAX_DROP),
            drop_type=str(self.query_one("#opt-drop-type", Select).value),
            ranking_subset=int(ranking) if ranking else None,
            fast_bias_correction=self.query_one("#opt-fast-bias", Checkbox).value,
            ignore_types=types,
            name=value("#opt-name") or None,
            search_time=number(value("#opt-search-time"), "search seconds", SEARCH_TIME_S),
        )
        return spec, number(value("#opt-bench"), "benchmark seconds", PAIR_TIME_S)

    @on(Button.Pressed, "#calibrate")
    @on(Input.Submitted)
    @reports_errors
    def calibrate(self) -> None:
        try:
            spec, bench_time = self.spec()
        except BadInput as exc:
            self.app.notify(error_text(exc), severity="error")
            return
        job = self.app.start_job("calibrate", {**asdict(spec), "bench_time": bench_time,
                                               "infer_precision": chosen_precision(self, "opt-infer"),
                                               "target": chosen_target(self, "opt-target")})
        if job is not None:
            self.app.notify(f"{job.name} started; its progress shows on Projects and in Jobs (j)")
            self.app.go_home()

