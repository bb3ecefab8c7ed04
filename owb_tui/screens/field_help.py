"""What every form field means, for the help screen (`?` or F1): one entry
per field id, in words a newcomer can act on. The help screen lists the
fields the screen underneath shows, in their order on it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

FIELDS: dict[str, tuple[str, str]] = {
    # Import model / Import dataset
    "path": ("path", "the model file (.xml, .onnx, .tflite, .pdmodel, .pb or a SavedModel folder) or the "
                     "dataset folder or archive (.zip, .tar, .tar.gz); down lists completions"),
    "name": ("name", "what owb and its commands call it; empty: the file or folder name"),
    "task": ("task", "what the outputs mean: classification, detection, segmentation or generic "
                     "(tensor distance only); auto guesses from the outputs"),
    "shape": ("shape", "input shape like 1,3,224,224; filled in from the model, needed when it is dynamic"),
    "layout": ("layout", "input layout, NCHW or NHWC; auto reads it from the shape"),
    "color": ("colour", "the channel order the model was trained with: RGB, BGR or GRAY"),
    "resize": ("resize", "how an image reaches the input size: stretch, or keep-aspect-pad (letterbox)"),
    "mean": ("mean", "per-channel value subtracted from each pixel (0-255 scale), e.g. 123.675,116.28,103.53"),
    "scale": ("scale", "per-channel divisor applied after the mean, e.g. 58.395,57.12,57.375"),
    "labels": ("labels", "optional text file of class names, one per line, in the model's output order"),
    "format": ("format", "the annotation format; auto-detect reads the folder, a choice settles a folder "
                         "that fits two"),
    # Benchmark / Accuracy dialogs
    "dataset": ("dataset", "the images fed: for a benchmark random data (benchmark_app's default) or a "
                           "dataset; for accuracy an annotated dataset"),
    "time": ("seconds", "how long the benchmark measures; longer runs swing less on a busy machine"),
    "hint": ("hint", "OpenVINO performance hint: throughput (all streams busy), latency (one request at a "
                     "time) or none"),
    # Optimize INT8
    "opt-dataset": ("dataset", "the project's dataset: calibration statistics come from it, and accuracy "
                               "is measured on it (AccuracyAware validates on it)"),
    "opt-calibration": ("calib. on", "a separate dataset for the statistics only (unannotated images do); "
                                     "default: the same dataset"),
    "opt-subset": ("subset %", "share of the calibration images NNCF collects statistics over; 100 = all"),
    "opt-method": ("method", "Default: NNCF post-training quantization, fast, needs no annotations. "
                             "AccuracyAware: reverts layers to FP32 until the drop fits; slow"),
    "opt-max-drop": ("max drop", "AccuracyAware: the largest accuracy drop allowed (points, or percent "
                                 "when relative)"),
    "opt-drop-type": ("drop type", "absolute: percentage points; relative: percent of the parent's accuracy"),
    "opt-preset": ("preset", "Performance: symmetric weights and activations. Mixed: asymmetric "
                             "activations, which can keep accuracy where activations are skewed"),
    "opt-bench": ("bench s", "seconds of benchmarking after calibration, shared by parent and child and "
                             "interleaved (P, C, P, C) so a busy machine hits both alike; 0 skips it"),
    "opt-ranking": ("ranking images (AA)", "AccuracyAware ranks layers by their effect on accuracy over "
                                           "this many validation images: fewer is faster but coarser; "
                                           "empty: NNCF's 300"),
    "opt-ignore-types": ("keep FP32 op types", "operation types NNCF leaves unquantized, comma-separated, "
                                               "e.g. GroupConvolution; the Layers tab (l) shows a model's "
                                               "types"),
    "opt-name": ("name", "the INT8 child's name; empty: the parent's name + -int8"),
    "opt-fast-bias": ("fast bias correction", "NNCF's quick bias correction (on); off runs the slower, "
                                              "sometimes more accurate, full bias correction"),
    # Explore
    "ex-batches": ("batches", "batch sizes to try, comma-separated"),
    "ex-streams": ("streams", "NUM_STREAMS values to try; more than the CPU runs are measured as its maximum"),
    "ex-time": ("s / cell", "seconds each batch x streams cell is benchmarked"),
    "ex-limit": ("max ms", "latency limit: the sweet spot is the best throughput whose median latency "
                           "stays under it; empty: no limit"),
    # Reports
    "rep-kind": ("kind", "accuracy: each image against its annotation; predictions: the optimized model "
                         "against its parent, image by image; tensor distance: raw outputs against the parent"),
    "rep-dataset": ("dataset", "the images the report runs on"),
    "rep-mode": ("table", "the table the report opens on: basic, a row per image; advanced, a row per "
                          "image and class (t switches in the report)"),
    # Compare
    "cmp-a": ("A", "the model compared against, usually the parent"),
    "cmp-b": ("B", "the model measured against A; starts as the family's fastest measured model"),
    # Export
    "export-path": ("package", "the .tar.gz to write: IR, infer.py, benchmark.sh, requirements.txt and a "
                               "README with the measured figures"),
    "export-force": ("overwrite", "replace a package file that already exists"),
}


def shown(widget: Any, screen: Any) -> bool:
    """On the screen now, or inside a collapsed section the user can open."""
    from textual.widgets import Collapsible

    node = widget
    while node is not None and node is not screen:
        if not node.display and not isinstance(node, Collapsible.Contents):
            return False
        node = node.parent
    return node is screen


def fields_of(screen: Any) -> Iterator[tuple[str, str]]:
    """(label, meaning) of each field the screen shows, in its order."""
    seen = set()
    for widget in screen.query("Input, Select, Checkbox"):
        entry = FIELDS.get(widget.id or "")
        if entry is not None and widget.id not in seen and shown(widget, screen):
            seen.add(widget.id)
            yield entry
