"""The target side of owb: `python -m engine.targets.worker COMMAND`, run
inside owb's folder on the target with the pushed code first on sys.path.

A job is started detached (its own session, no terminal, output to a log), so
it outlives the SSH connection that started it; the host follows its
progress through `follow`, which it can re-run from any offset after a
dropped connection. The job's workspace is a fresh owb workspace whose IR
and dataset files are symlinks into the verified asset cache, and the job
body is the same engine function a local run calls.

Files of a job folder: spec.json (what to do), pid, worker.log, events.jsonl
(progress, one JSON object a line), cancel (asked for), result.json (written
last and atomically: a job without it has not finished)."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path

JOBS = Path("jobs")
CAS = Path("cas")


def job_dir(job_id: str) -> Path:
    if not job_id or not job_id.replace("-", "").isalnum():
        raise SystemExit(f"bad job id {job_id!r}")
    return JOBS / job_id


def write_atomic(path: Path, data: dict) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, default=str)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def start(job_id: str) -> None:
    """Store the spec read from stdin and start `run` detached."""
    d = job_dir(job_id)
    if (d / "result.json").exists():
        print("finished")
        return
    d.mkdir(parents=True, exist_ok=True)
    write_atomic(d / "spec.json", json.load(sys.stdin))
    with open(d / "worker.log", "ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", "engine.targets.worker", "run", job_id],
                                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True, close_fds=True)
    (d / "pid").write_text(str(proc.pid))
    print(proc.pid)


def alive(pid: int) -> bool:
    from ..workspace import pid_alive

    if not pid_alive(pid):
        return False
    try:  # a zombie (where no init reaps orphans) is gone for our purposes
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def follow(job_id: str, offset: int) -> None:
    """Print progress lines from ``offset`` until the job ends; the last line is
    {"final": ...}. Safe to re-run after a dropped connection."""
    d = job_dir(job_id)
    events = d / "events.jsonl"
    quiet_since = time.monotonic()
    while True:
        if events.exists():
            with open(events, "rb") as f:
                f.seek(offset)
                chunk = f.read()
            whole = chunk[: chunk.rfind(b"\n") + 1]
            if whole:
                sys.stdout.buffer.write(whole)
                sys.stdout.flush()
                offset += len(whole)
        result = d / "result.json"
        if result.exists():
            print(json.dumps({"final": json.loads(result.read_text())}), flush=True)
            return
        try:
            pid = int((d / "pid").read_text())
        except (OSError, ValueError):
            pid = 0
        if (pid and not alive(pid)) or (not pid and time.monotonic() - quiet_since > 30):
            time.sleep(0.5)
            if result.exists():
                continue
            tail = (d / "worker.log").read_text(errors="replace").strip().splitlines()[-1:] \
                if (d / "worker.log").exists() else []
            print(json.dumps({"final": {"state": "failed", "exit_code": 1, "error":
                                        "the job's process on the target ended without a result"
                                        + (f" ({tail[0][:200]})" if tail else "")}}), flush=True)
            return
        time.sleep(0.2)


class RemoteContext:
    """What engine job bodies expect of a job context (engine.jobs.JobContext),
    with progress going to events.jsonl and cancel coming from a file."""

    def __init__(self, d: Path, ws) -> None:
        self.dir, self.ws = d, ws
        self.cancel = threading.Event()
        self.stage = ""
        self._last = 0.0
        self._events = open(d / "events.jsonl", "a", encoding="utf-8")
        self.log_handler = logging.FileHandler(d / "job.log", encoding="utf-8")
        self.log_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        self.log = logging.getLogger("owb.remote")
        self.log.setLevel(logging.INFO)
        self.log.addHandler(self.log_handler)
        threading.Thread(target=self._watch_cancel, daemon=True).start()

    def _watch_cancel(self) -> None:
        # The one reader of the cancel file: engine loops look at the flag
        # between inferences, and progress() may not be called for minutes.
        while not self.cancel.is_set():
            if (self.dir / "cancel").exists():
                self.cancel.set()
            time.sleep(0.3)

    def plan(self, phases: list) -> None:
        """The host estimates the whole job's time; nothing to do here."""

    def check_cancel(self) -> None:
        from ..errors import Cancelled

        if self.cancel.is_set():
            raise Cancelled("cancelled by the user")

    def progress(self, stage: str, step: int = 0, total: int | None = None) -> None:
        t = time.monotonic()
        if stage != self.stage or t - self._last > 0.25 or (total and step >= total):
            self.stage, self._last = stage, t
            self._events.write(json.dumps({"stage": stage, "step": int(step), "total": int(total or 0)}) + "\n")
            self._events.flush()
        self.check_cancel()


def materialize(ws, files: dict[str, str]) -> None:
    """The job workspace's files as symlinks into the cache, never copies."""
    for rel, sha in files.items():
        home = Path(os.path.abspath(ws.home))
        path = Path(os.path.abspath(home / rel))
        if home not in path.parents:
            raise SystemExit(f"refusing a path outside the job workspace: {rel!r}")
        source = (CAS / sha).resolve()
        if not source.is_file():
            raise SystemExit(f"asset {sha[:12]}… is not in the cache")
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.is_symlink():
            path.symlink_to(source)


def execute(ctx: RemoteContext, spec: dict) -> dict:
    from ..device import cpu_facts
    from ..evaluate import evaluate
    from ..measure.benchmark import BenchmarkSettings
    from ..measure.explore import run_explore
    from ..measure.layers import layers_for_model
    from ..measure.protocol import figure_document, measure_figure, measure_pair
    from ..optimize import run_optimize
    from ..progress import named
    from ..quantize.spec import CalibrationSpec
    from ..records import Dataset, InferenceResult, Model
    from .upload import sha256_file

    ws = ctx.ws
    materialize(ws, spec["files"])
    for m in spec["models"]:
        ws.add(Model.from_dict(m))
    for ds in spec["datasets"]:
        ws.add(Dataset.from_dict(ds))
    model = ws.get(Model, spec["model"])
    dataset = ws.get(Dataset, spec["dataset"]) if spec.get("dataset") else None
    kind, out = spec["kind"], {}
    if kind == "benchmark":
        settings = BenchmarkSettings(**spec["settings"])
        fig = measure_figure(ws, model, settings, runs=spec.get("runs", 1), total_time_s=settings.time_s,
                             dataset=dataset, cancel=ctx.cancel, progress=ctx.progress)
        out = figure_document(ws, fig)
    elif kind == "pair":
        out = measure_pair(ws, model, ws.get(Model, spec["model_b"]), BenchmarkSettings(**spec["settings"]),
                           rounds=spec["rounds"], total_time_s=spec["bench_time"], cancel=ctx.cancel,
                           progress=ctx.progress)
    elif kind == "accuracy":
        out = evaluate(ws, model, dataset, batch=spec.get("batch", 1), cancel=ctx.cancel,
                       progress=named(ctx.progress, "accuracy"),
                       **({"precision": spec["precision"]} if spec.get("precision") else {}))
    elif kind == "explore":
        e = spec["explore"]
        _, out = run_explore(ws, model, e["batches"], e["streams"], time_s=e["time_s"], runs=e.get("runs", 1),
                             latency_limit_ms=e.get("latency_limit_ms"), dataset=dataset,
                             infer_precision=e["infer_precision"], cancel=ctx.cancel,
                             progress=named(ctx.progress, "explore"))
    elif kind == "layers":
        ctx.progress("layers")
        out = layers_for_model(ws, model, runs=spec["layers"]["runs"],
                               settings=BenchmarkSettings(**spec["layers"]["settings"]))
    elif kind == "calibrate":
        out = run_optimize(ctx, CalibrationSpec(**spec["calibration"]), bench_time=spec["bench_time"],
                           **{k: spec[k] for k in ("infer_precision", "rounds") if k in spec})
        child = ws.get(Model, out["id"])
        folder = ws.path(child.path).parent
        out["child"] = child.to_dict()
        out["child_files"] = {ws.rel(p): sha256_file(p) for p in sorted(folder.iterdir()) if p.is_file()}
    else:
        raise SystemExit(f"unknown job kind {kind!r}")
    return {"output": out, "records": [r.to_dict() for r in ws.all(InferenceResult)], "facts": cpu_facts()}


def run(job_id: str) -> None:
    from ..errors import Cancelled, OwbError
    from ..workspace import Workspace

    d = job_dir(job_id)
    spec = json.loads((d / "spec.json").read_text())
    ctx = RemoteContext(d, Workspace(d / "ws"))
    try:
        final = {"state": "done", "result": execute(ctx, spec)}
    except Cancelled:
        final = {"state": "cancelled", "error": "cancelled by the user", "exit_code": 130}
    except OwbError as exc:
        final = {"state": "failed", "error": str(exc), "exit_code": exc.exit_code}
    except BaseException as exc:  # the whole story stays in the target's log
        ctx.log.error("failed:\n%s", traceback.format_exc())
        first = (str(exc).strip().splitlines() or [""])[0][:200]
        final = {"state": "failed", "error": f"{type(exc).__name__} on the target: {first}", "exit_code": 1}
    write_atomic(d / "result.json", final)


def main(argv: list[str]) -> int:
    cmd, args = argv[0], argv[1:]
    if cmd == "facts":
        from ..device import cpu_facts

        print(json.dumps(cpu_facts()))
    elif cmd == "start":
        start(args[0])
    elif cmd == "run":
        run(args[0])
    elif cmd == "follow":
        follow(args[0], int(args[1]))
    elif cmd == "cancel":
        (job_dir(args[0]) / "cancel").touch()
    else:
        print(f"unknown command {cmd!r}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
