"""The metadata records owb keeps in its workspace DB.

Only metadata lives here; bulk data (IR files, dataset files, raw outputs,
report rows) sits in folders beside the DB and records point at it by path
relative to the workspace home, so a workspace can be moved as a whole."""

from __future__ import annotations

import dataclasses
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, TypeVar

# The dataset formats whose annotations a task's metric reads.
TASK_FORMATS = {
    "classification": ("imagenet", "imagefolder"),
    "detection": ("voc-detection", "coco"),
    "segmentation": ("voc-segmentation",),
}

R = TypeVar("R", bound="Record")


def new_id() -> str:
    return uuid.uuid4().hex[:8]


def now() -> float:
    return round(time.time(), 3)


@dataclass
class Record:
    """Base of every stored record: plain fields that round-trip through JSON."""

    table = ""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls: type[R], data: dict[str, Any]) -> R:
        names = {f.name for f in dataclasses.fields(cls)}
        known = {k: v for k, v in data.items() if k in names}
        obj = cls(**known)
        for f in dataclasses.fields(cls):
            sub = _nested.get((cls.__name__, f.name))
            if sub is not None and isinstance(getattr(obj, f.name), dict):
                setattr(obj, f.name, sub.from_dict(getattr(obj, f.name)))
        return obj


@dataclass
class InputConfig(Record):
    """How images become the model's input, and what its outputs mean.

    Stored with the model and editable after import, so one converted IR
    serves every configuration."""

    task: str = "classification"
    shape: list[int] | None = None  # static input shape applied at compile time
    layout: str = "NCHW"
    color: str = "RGB"
    mean: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])
    scale: list[float] = field(default_factory=lambda: [1.0, 1.0, 1.0])
    resize: str = "stretch"
    crop_fraction: float = 0.875  # center-crop: the short side goes to size / crop_fraction, then the centre
    pad_position: str = "center"  # keep-aspect-pad: where the image sits (YOLOX letterboxes top-left)
    pad_value: int = 0  # keep-aspect-pad: the padding's grey level, 0..255 (YOLO pads with 114)
    norm: str | None = None  # the mean/scale preset mean and scale came from (None: given as numbers)
    labels: list[str] | None = None
    decoder: str = "auto"  # detection output decoder; auto picks it from the output shapes


@dataclass
class Model(Record):
    table = "models"

    name: str = ""
    id: str = field(default_factory=new_id)
    path: str = ""  # IR .xml, relative to the workspace home
    source: str = ""  # what the user imported, for provenance only
    source_format: str = ""
    precision: str = "FP32"
    config: InputConfig = field(default_factory=InputConfig)
    inputs: list[dict] = field(default_factory=list)
    outputs: list[dict] = field(default_factory=list)
    params: int = 0
    gflops: float | None = None
    size_bytes: int = 0
    parent: str | None = None  # id of the FP32 model this was optimized from
    provenance: dict = field(default_factory=dict)
    created: float = field(default_factory=now)


@dataclass
class Dataset(Record):
    table = "datasets"

    name: str = ""
    id: str = field(default_factory=new_id)
    format: str = ""
    path: str = ""  # dataset root, relative to the workspace home
    index: str = ""  # normalized index JSON, relative to the workspace home
    images: int = 0
    classes: int = 0
    labels: list[str] = field(default_factory=list)
    annotated: bool = False
    summary: dict = field(default_factory=dict)
    source: str = ""
    created: float = field(default_factory=now)


@dataclass
class Project(Record):
    """A model evaluated on a dataset on a device: DL Workbench's unit of work."""

    table = "projects"

    name: str = ""
    id: str = field(default_factory=new_id)
    model: str = ""  # model id
    dataset: str = ""  # dataset id
    device: str = "CPU"
    parent: str | None = None  # parent project id, for optimized models
    created: float = field(default_factory=now)


@dataclass
class Job(Record):
    table = "jobs"

    name: str = ""
    id: str = field(default_factory=new_id)
    kind: str = ""  # calibrate | benchmark | accuracy | report | ...
    state: str = "queued"  # queued | running | done | failed | cancelled | interrupted
    params: dict = field(default_factory=dict)
    project: str | None = None
    stage: str = ""
    step: int = 0
    total: int = 0
    error: str = ""
    exit_code: int = 0  # what the CLI exits with: 2 for bad input, 1 for a bug
    result: dict = field(default_factory=dict)
    log: str = ""  # log file, relative to the workspace home
    pid: int = 0  # the process running it, for people; liveness goes by ``owner``
    owner: str = ""  # process token (engine.jobs.liveness) of its runner; "" while queued for the runner
    retry_of: str | None = None  # the job this one retries
    created: float = field(default_factory=now)
    started: float | None = None
    finished: float | None = None


@dataclass
class InferenceResult(Record):
    """One measured run: a benchmark, an accuracy evaluation or a sweep."""

    table = "inferences"

    name: str = ""
    id: str = field(default_factory=new_id)
    kind: str = ""  # benchmark | accuracy | explore
    project: str = ""
    model: str = ""
    dataset: str | None = None
    result: dict = field(default_factory=dict)
    created: float = field(default_factory=now)


@dataclass
class Report(Record):
    table = "reports"

    name: str = ""
    id: str = field(default_factory=new_id)
    kind: str = ""  # accuracy | predictions | tensor-distance
    project: str = ""
    model: str = ""
    reference: str | None = None  # parent model id for comparisons
    dataset: str = ""
    path: str = ""  # columnar rows, relative to the workspace home
    summary: dict = field(default_factory=dict)
    created: float = field(default_factory=now)


@dataclass
class Target(Record):
    """A remote machine owb measures on, reached over SSH (engine.targets)."""

    table = "targets"

    name: str = ""
    id: str = field(default_factory=new_id)
    dest: str = ""  # user@host[:port] or a Host alias of ~/.ssh/config
    python: str = ""  # an interpreter there that already has openvino; "" = owb's own venv
    wheelhouse: str = ""  # a local folder of wheels pushed when the target is offline
    root: str = ".owb-target"  # owb's only folder there, relative to the remote home
    facts: dict = field(default_factory=dict)  # CPU facts measured there
    prepared: dict = field(default_factory=dict)  # python, versions, code hash of the last check
    created: float = field(default_factory=now)


_nested: dict[tuple[str, str], type[Record]] = {("Model", "config"): InputConfig}
