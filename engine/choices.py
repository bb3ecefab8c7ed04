"""What a user picks from, and what each pick starts at, said once for the
CLI's flags, the TUI's forms and the engine's own checks.

It imports nothing but engine.precision (itself light), so argparse and a
screen's compose read it without loading numpy, OpenVINO or NNCF; a default
changed here changes in every front end at once. The first of each tuple
of choices is its default."""

from __future__ import annotations

from .precision import CHOICES as INFER_PRECISIONS  # noqa: F401  (engine.precision checks them; the front ends read them here)

# -- models and datasets ---------------------------------------------------
TASKS = ("classification", "detection", "segmentation", "generic")
COLORS = ("RGB", "BGR", "GRAY")
RESIZE_MODES = ("stretch", "keep-aspect-pad", "center-crop")
PAD_POSITIONS = ("center", "top-left")
DECODERS = ("auto", "ssd", "boxes", "yolov5", "yolov8", "yolox")  # auto: picked from the output shapes
DATASET_FORMATS = ("imagenet", "imagefolder", "voc-detection", "voc-segmentation", "coco", "unannotated")

# -- calibration (engine.calibration.CalibrationSpec) ------------------------
CALIBRATION_METHODS = ("default", "accuracy-aware", "speed-aware")
BUDGETED_METHODS = ("accuracy-aware", "speed-aware")  # the methods an accuracy drop budget applies to
PRESETS = ("performance", "mixed")
DROP_TYPES = ("absolute", "relative")
SUBSET_PCT = 100.0  # percent of the calibration images NNCF sees
MAX_DROP = 0.5  # percentage points (absolute) or percent (relative)
SEARCH_TIME_S = 600.0  # speed-aware: seconds the search may take
SEARCH_RUN_TIME_S = 1.0  # speed-aware: seconds of each interleaved benchmark run

# -- speed -----------------------------------------------------------------
HINTS = ("throughput", "latency", "none")
BENCHMARK_TIME_S = 20.0  # one model's benchmark: DL Workbench's default duration
PAIR_TIME_S = 10.0  # compare, and the benchmark after calibration: seconds per model, interleaved
ROUNDS = 3  # runs a benchmark's time is split into; the figure is their median with its spread
LAYER_RUNS = 30  # inferences `owb layers` profiles at least (a small model gets a second of them)
COMPARE_LAYER_RUNS = 20  # the same inside compare, where both models are profiled after the benchmark
EXPLORE_BATCHES = (1, 2, 4, 8)
EXPLORE_STREAMS = (1, 2, 4)
EXPLORE_CELL_TIME_S = 5.0

# -- detection -------------------------------------------------------------
CONF_THRESHOLD = 0.25  # a detection counts, in reports and pictures, from this score up
DETECTION_FLOOR = 0.01  # what accuracy (mAP) keeps: the whole precision-recall curve, not only confident boxes

# -- reports ---------------------------------------------------------------
REPORT_KINDS = ("accuracy", "predictions", "tensor-distance")
REPORT_MODES = ("basic", "advanced")


def one_of(value: object, choices: tuple, what: str) -> None:
    """Refuse a pick that is not among ``choices``, naming them."""
    if value not in choices:
        from .errors import BadInput

        raise BadInput(f"unknown {what} {value!r}; use one of {', '.join(map(str, choices))}")
