"""INT8 calibration with NNCF: the Default method (nncf.quantize) and the
AccuracyAware method (nncf.quantize_with_accuracy_control).

The parent is never touched: the quantized model is written into a scratch
folder and renamed into place, then recorded as a child model and project.
Progress comes from NNCF's own loops (statistics, bias correction, ranking)
through engine.nncf_progress; the transform function, which NNCF calls once
per calibration sample, is where a cancel takes effect within one step."""

from __future__ import annotations

import logging
import math
import shutil
import time
from dataclasses import asdict
from typing import Any

import numpy as np

from .errors import BadInput
from .quantize.spec import CalibrationSpec
from .records import Dataset, Model
from .workspace import Workspace


def subset_indices(count: int, pct: float) -> list[int]:
    """ceil(count × pct / 100) items spread evenly over the dataset, because
    folder-per-class datasets are sorted by class and a prefix would see one."""
    n = max(1, math.ceil(count * pct / 100 - 1e-9))
    return sorted({int(i) for i in np.linspace(0, count - 1, n).round()}) if n < count else list(range(count))


def fp32_operations(model: Any) -> list[str]:
    """Compute ops left in floating point: their activation input does not come
    from a FakeQuantize (directly or through a Convert), so they run as f32."""
    heavy = ("Convolution", "GroupConvolution", "MatMul", "ConvolutionBackpropData")
    # Ops that move or select values without changing them keep the int8
    # precision of a FakeQuantize above them (OpenVINO's LPT treats them so).
    passthrough = ("Convert", "Reshape", "Transpose", "MaxPool", "Squeeze", "Unsqueeze", "Split",
                   "VariadicSplit", "StridedSlice", "Pad", "DepthToSpace", "SpaceToDepth", "ShuffleChannels",
                   "Concat", "Gather", "Slice")
    out = []
    for node in model.get_ordered_ops():
        if node.get_type_name() not in heavy:
            continue
        src = node.input_value(0).get_node()
        while src.get_type_name() in passthrough:
            src = src.input_value(0).get_node()
        if src.get_type_name() != "FakeQuantize":
            out.append(node.get_friendly_name())
    return out


def refused(exc: Exception) -> BadInput:
    """NNCF's ValidationError as one line the user can act on."""
    reason = next((line.strip() for line in str(exc).splitlines() if line.strip()), "")
    return BadInput(f"NNCF refused the settings: {reason or type(exc).__name__ + ' without a reason'}; "
                    "check --ignore-names/--ignore-types/--ignore-patterns against `owb layers`")


class RevertedOps(logging.Handler):
    """Collects the operations NNCF's accuracy control reverted to floating
    point; NNCF returns only the model and says which ones only in its log."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.names: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        lines = record.getMessage().splitlines()
        if lines and "reverted" in lines[0].lower() and "floating-point" in lines[0]:
            # NNCF repeats the final list after its search; keep each op once
            self.names.extend(n for n in (ln.strip() for ln in lines[1:]) if n and n not in self.names)


class CalibrationImages:
    """The calibration subset as the stored model's f32 inputs, exactly as
    Preprocessor.load makes them (NNCF quantizes the model as stored, so
    nothing is folded into it), streamed through the decode pool and cache.
    NNCF iterates it once per pass it needs; no __getitem__, so NNCF walks it
    in order even when it picks indices."""

    def __init__(self, pre: Any, paths: list, keys: list[int], cache: Any) -> None:
        from .feed import ImageFeed, decode_workers, stream

        # NNCF's synchronous inference takes every core; one decoder keeps ahead of it.
        workers = decode_workers(threads_used=stream.usable_cores())
        self.feed = ImageFeed(pre, pre.to_tensor, workers=workers, cache=cache)
        self.paths, self.keys = paths, keys

    def __len__(self) -> int:
        return len(self.paths)

    def __iter__(self) -> Any:
        for _, arr, _ in self.feed.chunks(self.paths, keys=self.keys, batch=1, window=8):
            yield arr


class Calibration:
    """One calibration run; ``run`` returns the child model record."""

    def __init__(self, ws: Workspace, spec: CalibrationSpec, ctx: Any) -> None:
        spec.validate()
        self.ws, self.spec, self.ctx = ws, spec, ctx
        self.marks: dict[str, Any] = {}  # set by the job: its id and the stages still to run on the child
        self.parent = ws.get(Model, spec.model)
        self.dataset = ws.get(Dataset, spec.dataset)
        self.cal_dataset = ws.get(Dataset, spec.calibration_dataset) if spec.calibration_dataset else self.dataset
        if spec.name and ws.maybe(Model, spec.name) is not None:  # before the work, not after it
            raise BadInput(f"a model named {spec.name!r} already exists; choose another --name")
        if self.parent.precision == "INT8":
            raise BadInput(f"model {self.parent.name!r} is already INT8; calibrate its FP32 parent instead")
        if spec.uses_budget() and not self.agreement:
            from .evaluate import check_compatible

            check_compatible(self.parent, self.dataset)

    @property
    def agreement(self) -> bool:
        """Whether the accuracy budget is agreement with the parent (no labels
        to score against, or no task metric) rather than the task metric."""
        return not self.dataset.annotated or self.parent.config.task == "generic"

    def budget_metric(self) -> str:
        from .quantize.agreement import metric_name

        if self.agreement:
            return metric_name(self.parent.config.task)
        return {"classification": "top1", "detection": "mAP@0.5", "segmentation": "mean_iou"}[self.parent.config.task]

    def _ignored_scope(self) -> Any:
        import nncf

        s = self.spec
        if not (s.ignore_types or s.ignore_names or s.ignore_patterns):
            return None
        return nncf.IgnoredScope(names=s.ignore_names, patterns=s.ignore_patterns, types=s.ignore_types)

    def _calibration_dataset(self, pre: Any) -> tuple[Any, int]:
        import nncf

        from .dataset_store import load_index
        from .feed import DecodeCache

        index = load_index(self.ws, self.cal_dataset)
        chosen = subset_indices(len(index.items), self.spec.subset_pct)
        paths = [index.root / index.items[i].file for i in chosen]
        images = CalibrationImages(pre, paths, chosen, DecodeCache.open(self.ws, self.cal_dataset, index, pre))

        def transform(arr: np.ndarray) -> np.ndarray:
            # NNCF calls this once per sample, so a cancel lands within one step.
            self.ctx.check_cancel()
            return arr

        return nncf.Dataset(images, transform), len(paths)

    def prepare(self) -> tuple[Any, Any, int, dict]:
        """The parent as an ov.Model, the calibration dataset, its size, and
        the nncf.quantize arguments the spec asks for."""
        import nncf

        from . import models
        from .preprocess import Preprocessor

        ctx, spec = self.ctx, self.spec
        ctx.progress("preparing")
        ov_model = models.load(self.ws, self.parent, batch=1)
        shape = [d.get_length() for d in ov_model.inputs[0].get_partial_shape()]
        pre = Preprocessor(self.parent.config, shape)
        cal, n = self._calibration_dataset(pre)
        ctx.log.info("calibrating %s on %d images of %s (%g%%), method %s, preset %s",
                     self.parent.name, n, self.cal_dataset.name, spec.subset_pct, spec.method, spec.preset)
        preset = {"performance": nncf.QuantizationPreset.PERFORMANCE, "mixed": nncf.QuantizationPreset.MIXED}[spec.preset]
        common = dict(preset=preset, subset_size=n, fast_bias_correction=spec.fast_bias_correction,
                      ignored_scope=self._ignored_scope())
        return ov_model, cal, n, common

    def quantize(self, ov_model: Any, cal: Any, common: dict, fp_names: frozenset[str] = frozenset()) -> Any:
        """nncf.quantize with the spec's ignored scope plus ``fp_names``, with
        NNCF's progress on the job and its refusals as BadInput."""
        import nncf

        from .nncf_progress import nncf_reporting

        scope = common["ignored_scope"]
        if fp_names:
            scope = nncf.IgnoredScope(names=sorted(set(self.spec.ignore_names) | set(fp_names)),
                                      patterns=self.spec.ignore_patterns, types=self.spec.ignore_types)
        try:
            with nncf_reporting(self.ctx.progress, self.ctx.log_handler):
                return nncf.quantize(ov_model, cal, **{**common, "ignored_scope": scope})
        except nncf.ValidationError as exc:
            raise refused(exc) from None

    def run(self) -> Model:
        import nncf

        from .inference import DatasetRunner
        from .nncf_progress import nncf_reporting

        ctx, spec = self.ctx, self.spec
        ov_model, cal, n, common = self.prepare()
        start = time.perf_counter()
        reverted = RevertedOps()
        if spec.method == "default":
            quantized = self.quantize(ov_model, cal, common)
        else:
            try:
                with nncf_reporting(ctx.progress, ctx.log_handler, reverted):
                    quantized = self._accuracy_aware(ov_model, cal, common, DatasetRunner)
            except nncf.ValidationError as exc:
                raise refused(exc) from None
        seconds = time.perf_counter() - start
        ctx.check_cancel()
        fp32_ops = fp32_operations(quantized)
        ctx.log.info("quantized in %.1f s; %d compute ops left in FP32; NNCF reverted %d", seconds,
                     len(fp32_ops), len(reverted.names))
        return self.save(quantized, n, seconds, fp32_ops, reverted.names)

    def _accuracy_aware(self, ov_model: Any, cal: Any, common: dict, runner_cls: Any) -> Any:
        import nncf
        from nncf.quantization.advanced_parameters import AdvancedAccuracyRestorerParameters

        from .accuracy_control import make_validation
        from .dataset_store import load_index

        spec = self.spec
        index = load_index(self.ws, self.dataset)
        if self.agreement:
            from .quantize.agreement import ParentReference, make_agreement_validation

            reference = ParentReference(self.ws, self.parent, index, runner_cls, self.ctx)
            validation_fn = make_agreement_validation(reference, self.ws, self.parent, runner_cls, self.ctx)
        else:
            validation_fn = make_validation(self.ws, self.parent, self.dataset, index, runner_cls, self.ctx)
        val = nncf.Dataset(list(range(len(index.items))))
        restorer = AdvancedAccuracyRestorerParameters()
        if spec.ranking_subset is not None:
            restorer.ranking_subset_size = spec.ranking_subset
        drop_type = nncf.DropType.ABSOLUTE if spec.drop_type == "absolute" else nncf.DropType.RELATIVE
        return nncf.quantize_with_accuracy_control(
            ov_model, cal, val, validation_fn, max_drop=spec.max_drop / 100, drop_type=drop_type,
            advanced_accuracy_restorer_parameters=restorer, **common)

    def save(self, quantized: Any, n: int, seconds: float, fp32_ops: list[str], reverted: list[str],
             extra: dict | None = None) -> Model:
        """Write the child IR and record it; ``extra`` joins its provenance."""
        import nncf
        import openvino as ov

        from .model_facts import model_facts
        from .models import ir_size, save_ir
        from .projects import ensure_project

        ws, spec, parent = self.ws, self.spec, self.parent
        # Without --name the free name is chosen when the record is added,
        # under the lock: a parallel calibration cannot take it in between.
        child = Model(name=spec.name or f"{parent.name}-int8", source=f"calibrated from {parent.name}", source_format="ir", parent=parent.id)
        scratch = ws.tmp_dir("calib-")
        final = ws.home / "models" / child.id
        try:
            save_ir(quantized, scratch / "model.xml")
            scratch.rename(final)
        except BaseException:
            shutil.rmtree(scratch, ignore_errors=True)
            raise
        facts = model_facts(quantized)
        child.path = ws.rel(final / "model.xml")
        child.config = type(parent.config).from_dict(parent.config.to_dict())
        child.size_bytes = ir_size(final / "model.xml")
        for key, value in facts.items():
            setattr(child, key, value)
        child.provenance = {
            "parent": parent.id,
            "parent_name": parent.name,
            **{k: v for k, v in asdict(spec).items() if k not in ("model", "name")},
            "dataset_name": self.dataset.name,
            "calibration_dataset_name": self.cal_dataset.name,
            "subset_images": n,
            "seconds": round(seconds, 2),
            "fp32_ops": fp32_ops,
            "reverted_ops": reverted,
            "nncf": nncf.__version__,
            "openvino": ov.get_version(),
            **(extra or {}),
            **self.marks,  # in the same write as the record: a kill right after finds them
        }
        try:
            ws.add(child, unique=not spec.name)
        except BaseException:
            shutil.rmtree(final, ignore_errors=True)
            raise
        ensure_project(ws, parent, self.dataset)
        ensure_project(ws, child, self.dataset)
        return child
