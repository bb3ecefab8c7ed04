"""Throughput and latency measured the way OpenVINO's benchmark_app does it.

The loop copies benchmark_app's "inference only" mode (openvino/tools/
benchmark/benchmark.py, 2026.4): compile with a performance hint, fill each
request's input tensors once, run one warm-up inference outside the timing,
then keep every request busy until time is up. Latency is each request's own
``latency`` (the plugin's start-to-end time), median/p90 use benchmark_app's
percentile definition, and FPS counts batches × batch size over the wall time
of the whole loop including the final ``wait_all()``. The latency hint runs
one synchronous request, as benchmark_app's ``-hint latency`` does.

Anything added to the loop body costs throughput on a small model (one
iteration of PP-OCR cls takes ~1.5 ms on 2 cores), so the loop does nothing
that benchmark_app does not do, apart from one flag check for cancel and a
float compare for progress."""

from __future__ import annotations

import math
import threading
import time
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Callable

from .. import limits
from ..choices import BENCHMARK_TIME_S, HINTS
from ..errors import BadInput, Cancelled
from ..precision import SPEED_DEFAULT
from ..precision import properties as precision_properties
from ..precision import validate as validate_precision
from ..progress import Progress
from ..records import Dataset, InferenceResult, Model

if TYPE_CHECKING:
    import numpy as np

    from ..workspace import Workspace

PROGRESS_EVERY_S = 0.5
STAGE = "benchmark (ms)"  # a timed loop reports milliseconds measured out of those planned


@dataclass
class BenchmarkSettings:
    time_s: float = BENCHMARK_TIME_S
    hint: str = "throughput"
    streams: int | None = None  # NUM_STREAMS; None lets the hint decide
    requests: int | None = None  # None: OPTIMAL_NUMBER_OF_INFER_REQUESTS
    batch: int | None = None  # None: the model's configured batch
    device: str = "CPU"
    infer_precision: str = SPEED_DEFAULT  # engine.precision: auto is what a deployment gets

    def validate(self) -> None:
        validate_precision(self.infer_precision)
        if self.hint not in HINTS:
            raise BadInput(f"unknown hint {self.hint!r}; use one of {', '.join(HINTS)}")
        limits.seconds(self.time_s, "--time")
        for flag, value, high in (("--streams", self.streams, limits.MAX_STREAMS),
                                  ("--requests", self.requests, limits.MAX_REQUESTS),
                                  ("--batch", self.batch, limits.MAX_BATCH)):
            limits.count(value, flag, high)
        if self.hint == "latency" and self.requests not in (None, 1):
            raise BadInput("--requests needs --hint throughput or none; the latency hint runs one "
                           "synchronous request, as benchmark_app does")

    @property
    def synchronous(self) -> bool:
        return self.hint == "latency"

    def compile_config(self) -> dict[str, Any]:
        """The properties benchmark_app would pass for the same flags."""
        config: dict[str, Any] = {}
        if self.hint != "none":
            config["PERFORMANCE_HINT"] = self.hint.upper()
        if self.requests is not None and not self.synchronous:
            config["PERFORMANCE_HINT_NUM_REQUESTS"] = self.requests
        if self.streams is not None:
            config["NUM_STREAMS"] = self.streams
        config.update(precision_properties(self.infer_precision))
        return config


@dataclass
class Timing:
    """What one timed loop saw: sorted per-request latencies and the wall time."""

    latencies_ms: list[float]
    elapsed_s: float
    iterations: int


def percentile(sorted_values: list[float], percent: float) -> float:
    """benchmark_app's percentile: the value at rank ceil(n·p/100), no interpolation."""
    return sorted_values[max(0, math.ceil(len(sorted_values) * percent / 100) - 1)]


DISTURBED_FACTOR = 10.0  # a max latency this many medians long means something else took the CPU


def latency_summary(sorted_ms: list[float]) -> dict[str, float]:
    return {
        "median": round(percentile(sorted_ms, 50), 4),
        "avg": round(sum(sorted_ms) / len(sorted_ms), 4),
        "min": round(sorted_ms[0], 4),
        "max": round(sorted_ms[-1], 4),
        "p90": round(percentile(sorted_ms, 90), 4),
        "p99": round(percentile(sorted_ms, 99), 4),
    }


def disturbed(latency: dict) -> bool:
    """A run whose slowest request took over 10× the median: the machine was
    busy with something else for a while, so the run's figures are suspect."""
    median, worst = latency.get("median"), latency.get("max")
    return bool(median and worst and worst > DISTURBED_FACTOR * median)


def async_loop(queue: Any, time_s: float, cancel: threading.Event | None = None,
               progress: Progress | None = None) -> Timing:
    """benchmark_app's ``async_inference_only``: start whichever request is
    idle until time is up and every request has run equally often, then wait."""
    nireq = len(queue)
    times: list[float] = []
    in_fly: set[int] = set()
    iteration = 0
    exec_time = 0.0
    next_report = PROGRESS_EVERY_S
    timer = time.perf_counter
    start = timer()
    while exec_time < time_s or iteration % nireq:
        idle = queue.get_idle_request_id()
        if idle in in_fly:
            times.append(queue[idle].latency)
        else:
            in_fly.add(idle)
        queue.start_async()
        iteration += 1
        exec_time = timer() - start
        if exec_time >= next_report:
            next_report += PROGRESS_EVERY_S
            if cancel is not None and cancel.is_set():
                queue.wait_all()
                raise Cancelled("benchmark cancelled")
            if progress is not None:
                progress(STAGE, int(min(exec_time, time_s) * 1000), int(time_s * 1000))
    queue.wait_all()
    elapsed = max(timer() - start, time.get_clock_info("perf_counter").resolution)
    for idle in in_fly:
        times.append(queue[idle].latency)
    return Timing(sorted(times), elapsed, iteration)


def sync_loop(request: Any, time_s: float, cancel: threading.Event | None = None,
              progress: Progress | None = None) -> Timing:
    """benchmark_app's ``sync_inference``: one request, ``infer()`` back to back."""
    times: list[float] = []
    iteration = 0
    exec_time = 0.0
    next_report = PROGRESS_EVERY_S
    timer = time.perf_counter
    start = timer()
    while exec_time < time_s:
        request.infer()
        times.append(request.latency)
        iteration += 1
        exec_time = timer() - start
        if exec_time >= next_report:
            next_report += PROGRESS_EVERY_S
            if cancel is not None and cancel.is_set():
                raise Cancelled("benchmark cancelled")
            if progress is not None:
                progress(STAGE, int(min(exec_time, time_s) * 1000), int(time_s * 1000))
    elapsed = max(timer() - start, time.get_clock_info("perf_counter").resolution)
    return Timing(sorted(times), elapsed, iteration)


def random_inputs(compiled: Any) -> dict[int, np.ndarray]:
    """benchmark_app's random fill: uniform 0..255 from a seed-0 MT19937 per input."""
    import numpy as np

    out = {}
    for i, port in enumerate(compiled.inputs):
        et = port.get_element_type()
        dtype = np.float32 if et.get_type_name() == "bf16" else et.to_dtype()
        hi = 255 + (1 if np.dtype(dtype).kind in "iub" else 0)
        rs = np.random.RandomState(np.random.MT19937(np.random.SeedSequence(0)))
        shape = [d.get_length() for d in port.get_partial_shape()]
        out[i] = rs.uniform(0, hi, shape).astype(dtype)
    return out


def dataset_inputs(ws: Workspace, model: Model, dataset: Dataset, compiled: Any, count: int) -> list[dict[int, np.ndarray]]:
    """``count`` distinct batches of the dataset's images, one per request, as
    benchmark_app fills requests from ``-i`` files (cycling when there are few)."""
    import numpy as np

    from ..dataset_store import load_index
    from ..preprocess import Preprocessor

    if len(compiled.inputs) != 1:
        raise BadInput(f"model {model.name!r} has {len(compiled.inputs)} inputs; --dataset feeds "
                       "single-input image models only (omit --dataset to use random data)")
    index = load_index(ws, dataset)
    if not index.items:
        raise BadInput(f"dataset {dataset.name!r} has no images")
    port = compiled.inputs[0]
    shape = [d.get_length() for d in port.get_partial_shape()]
    n_axis = model.config.layout.find("N")
    batch = shape[n_axis] if n_axis >= 0 else 1
    single = list(shape)
    if n_axis >= 0:
        single[n_axis] = 1
    dtype = "u8" if port.get_element_type().get_type_name() == "u8" else "f32"
    pre = Preprocessor(model.config, single, dtype)
    batches = []
    k = 0
    for _ in range(count):
        arrays = []
        for _ in range(batch):
            arr, _meta = pre.load(index.root / index.items[k % len(index.items)].file)
            arrays.append(arr)
            k += 1
        data = np.concatenate(arrays, axis=n_axis) if n_axis >= 0 else arrays[0]
        batches.append({0: data})
    return batches


InputSource = Callable[[Any, int], list]  # (compiled, n) -> n dicts of input index -> array


def _fill(request: Any, data: dict[int, np.ndarray]) -> None:
    # Copy into the plugin-allocated tensors, as benchmark_app does, instead of
    # wrapping numpy memory: the plugin's own buffers are the ones it expects.
    for i, array in data.items():
        request.get_input_tensor(i).data[:] = array


def batch_of(compiled: Any, layout: str) -> int:
    n = layout.find("N")
    if n < 0:
        return 1
    return compiled.inputs[0].get_partial_shape()[n].get_length()


def measure(ov_model: Any, settings: BenchmarkSettings, layout: str, inputs: InputSource | None = None, *,
            cancel: threading.Event | None = None, progress: Progress | None = None) -> dict:
    """Compile ``ov_model`` with ``settings``, then run the timed loop.

    Returns plain data with the issue's keys; ``inputs(compiled, n)`` gives n
    input sets (default: benchmark_app's random data)."""
    import openvino as ov

    from ..device import cpu_facts, precision_name

    settings.validate()
    core = ov.Core()
    t0 = time.perf_counter()
    try:
        compiled = core.compile_model(ov_model, settings.device, settings.compile_config())
    except RuntimeError as exc:
        from ..models import first_line

        raise BadInput(f"cannot compile the model for {settings.device} with {settings.compile_config()}: "
                       f"{first_line(exc)}") from exc
    compile_ms = (time.perf_counter() - t0) * 1000
    batch = batch_of(compiled, layout)
    if settings.synchronous:
        pool: Any = [compiled.create_infer_request()]
    else:
        pool = ov.AsyncInferQueue(compiled, settings.requests or 0)
    nireq = len(pool)
    data = (inputs or (lambda c, n: [random_inputs(c)] * n))(compiled, nireq)
    for i in range(nireq):
        _fill(pool[i], data[i])

    if settings.synchronous:
        pool[0].infer()
        first_ms = pool[0].latency
        timing = sync_loop(pool[0], settings.time_s, cancel, progress)
    else:
        idle = pool.get_idle_request_id()
        pool.start_async()
        pool.wait_all()
        first_ms = pool[idle].latency
        timing = async_loop(pool, settings.time_s, cancel, progress)

    cpu = cpu_facts(settings.device)
    hint = compiled.get_property("PERFORMANCE_HINT")
    return {
        "throughput_fps": round(batch * timing.iterations / timing.elapsed_s, 3),
        "latency_ms": (latency := latency_summary(timing.latencies_ms)),
        "disturbed": disturbed(latency),
        "streams": int(compiled.get_property("NUM_STREAMS")),
        "requests": nireq,
        "batch": batch,
        "inference_precision": precision_name(compiled.get_property("INFERENCE_PRECISION_HINT")),
        "device": settings.device,
        "execution_devices": [str(d) for d in compiled.get_property("EXECUTION_DEVICES")],
        "compile_ms": round(compile_ms, 2),
        "first_inference_ms": round(first_ms, 3),
        "threads": int(compiled.get_property("INFERENCE_NUM_THREADS")),
        "hint": settings.hint,
        "requested_precision": settings.infer_precision,
        "compiled_hint": str(hint),
        "api": "sync" if settings.synchronous else "async",
        "requested_streams": settings.streams,
        "time_s": settings.time_s,
        "elapsed_s": round(timing.elapsed_s, 4),
        "iterations": timing.iterations,
        "input_shapes": [[d.get_length() for d in p.get_partial_shape()] for p in compiled.inputs],
        "cpu": cpu["summary"],
        "cpu_isa": cpu["isa"],
    }


def run_benchmark(ws: Workspace, model: Model, settings: BenchmarkSettings | None = None, *,
                  dataset: Dataset | None = None, cancel: threading.Event | None = None,
                  progress: Progress | None = None, series: dict | None = None) -> tuple[InferenceResult, dict]:
    """Benchmark a workspace model once and store the run in the inference history.

    With a dataset the result belongs to the (model, dataset) project; without
    one it is stored with no project, as a model-level measurement. ``series``
    ({"id", "index", "runs"}) ties the run to the others of one figure
    (engine.measure.protocol)."""
    from .. import models
    from ..projects import ensure_project

    settings = settings or BenchmarkSettings()
    settings.validate()
    ov_model = models.load(ws, model, settings.batch)
    source = None
    if dataset is not None:
        source = lambda compiled, n: dataset_inputs(ws, model, dataset, compiled, n)  # noqa: E731
    result = measure(ov_model, settings, model.config.layout, source, cancel=cancel, progress=progress)
    result.update({
        "model": model.name,
        "model_id": model.id,
        "model_precision": model.precision,
        "inputs": f"dataset {dataset.name}" if dataset is not None else "random",
        "dataset": dataset.name if dataset is not None else None,
        "settings": asdict(settings),
        "series": series,
    })
    project = ensure_project(ws, model, dataset, settings.device).id if dataset is not None else ""
    record = ws.add(InferenceResult(kind="benchmark", project=project, model=model.id,
                                    dataset=dataset.id if dataset is not None else None, result=result))
    result["id"] = record.id
    result["project"] = project or None
    return record, result


def history(ws: Workspace, model: Model | None = None, kind: str | None = None) -> list[InferenceResult]:
    """Stored speed measurements, oldest first."""
    rows = ws.all(InferenceResult)
    if model is not None:
        rows = [r for r in rows if r.model == model.id]
    if kind is not None:
        rows = [r for r in rows if r.kind == kind]
    return sorted(rows, key=lambda r: r.created)
