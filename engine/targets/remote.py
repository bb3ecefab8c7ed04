"""The host side of a job on a target: prepare assets, upload, start the job
there detached, follow its progress, and bring its results home.

`remote_job(ctx, params)` is a plain job body of (context, parameters), so
the same function runs under engine.jobs' JobRunner today and under a
detached per-workspace runner later. Results come back tagged with the
target (``result["target"]``, projects on device "<target>:CPU"); a
calibrated child's IR is downloaded, verified against the hashes the target
computed, and listed only once it is whole."""

from __future__ import annotations

import json
import shutil
import threading
import time
from pathlib import Path
from typing import Any

from ..errors import BadInput, Cancelled, OwbError
from ..progress import Progress
from ..records import Dataset, InferenceResult, Model, Target
from ..workspace import Workspace
from .prepare import ensure_prepared, prepare, worker_argv
from .transport import RemoteFailed, Ssh, TargetUnreachable, in_root
from .upload import HashCache, download, upload

KINDS = ("benchmark", "accuracy", "calibrate", "explore", "layers", "pair")
RECONNECTS = 3  # follow re-attaches this many times before the job is called lost


def device_of(target: str | None) -> str:
    """The Project.device of results measured on ``target`` (None: this machine)."""
    return f"{target}:CPU" if target else "CPU"


def connect(ws: Workspace, target: Target) -> Ssh:
    return Ssh(ws.home, target.name, target.dest)


def check(ws: Workspace, target: Target, say: Any = lambda s: None) -> Target:
    """`owb target check`: connect (host key checked), prepare, read CPU facts."""
    ssh = connect(ws, target)
    say("connect")
    ssh.run("true", timeout=60)
    return prepare(ws, ssh, target, say)


def model_files(ws: Workspace, model: Model) -> list[Path]:
    xml = ws.path(model.path)
    return [xml, xml.with_suffix(".bin")]


def dataset_files(ws: Workspace, dataset: Dataset) -> list[Path]:
    folder = ws.path(dataset.index).parent
    return sorted(p for p in folder.rglob("*") if p.is_file())


def assets(ws: Workspace, models: list[Model], datasets: list[Dataset], ctx: Any) -> dict[str, tuple[Path, str]]:
    """Every file the job reads, by workspace-relative path, with its sha256."""
    paths = [p for m in models for p in model_files(ws, m)] + [p for d in datasets for p in dataset_files(ws, d)]
    cache = HashCache(ws.home)
    out = {}
    for i, p in enumerate(paths):
        out[p.relative_to(ws.home).as_posix()] = (p, cache.sha(p))
        if i % 20 == 0:
            ctx.progress("prepare assets", i, len(paths))
    cache.save()
    ctx.progress("prepare assets", len(paths), len(paths))
    return out


def job_inputs(ws: Workspace, params: dict) -> tuple[list[Model], list[Dataset]]:
    models = [ws.get(Model, params[k]) for k in ("model", "model_b") if params.get(k)]
    names = [params.get("dataset"), (params.get("calibration") or {}).get("calibration_dataset")]
    datasets: list[Dataset] = []
    for n in names:
        if n and all(d.id != n and d.name != n for d in datasets):
            datasets.append(ws.get(Dataset, n))
    return models, datasets


class Call:
    """What a remote run needs of its caller: the workspace, a job id to name
    the run on the target, progress (stage, step, total; may raise Cancelled),
    a cancel flag and a log. A JobContext is one; `call_for` makes one."""

    def __init__(self, ws: Workspace, job_id: str, progress: Any, cancel: Any, log: Any) -> None:
        self.ws, self.job_id, self.progress, self.cancel, self.log = ws, job_id, progress, cancel, log


def remote_job(ctx: Any, params: dict) -> dict:
    """Job body: run ``params["kind"]`` on ``params["target"]``; the local command's JSON document."""
    return run_remote(Call(ctx.ws, ctx.job.id, ctx.progress, ctx.cancel, ctx.log), params)


def call_for(ws: Workspace, progress: Progress | None = None, cancel: Any = None) -> Call:
    """A Call for engine code that is not a job itself (compare's measuring part)."""
    import logging

    from ..records import new_id

    def report(stage: str, step: int = 0, total: int | None = None) -> None:
        if progress:
            progress(stage, step, total or 0)
        if call.cancel.is_set():
            raise Cancelled("cancelled by the user")

    call = Call(ws, f"c{new_id()}", report, cancel or threading.Event(), logging.getLogger("owb.targets"))
    return call


def run_remote(ctx: Call, params: dict) -> dict:
    ws = ctx.ws
    kind = params["kind"]
    if kind not in KINDS:
        raise BadInput(f"{kind} does not run on targets (these do: {', '.join(KINDS)})")
    target = ws.get(Target, params["target"])
    ssh = connect(ws, target)
    ctx.progress("prepare target")
    target = ensure_prepared(ws, ssh, target, say=lambda s: ctx.progress(f"prepare target: {s}"))
    models, datasets = job_inputs(ws, params)
    model = models[0]
    files = assets(ws, models, datasets, ctx)
    ctx.progress("upload", 0, 1)
    sent = upload(ssh, target.root, target.prepared["python"], files, progress=ctx.progress)
    ctx.log.info("upload to %s: %s", target.name, sent)
    spec = {**{k: v for k, v in params.items() if k not in ("target", "model", "dataset")},
            "files": {rel: sha for rel, (_, sha) in files.items()},
            "models": [m.to_dict() for m in models], "datasets": [d.to_dict() for d in datasets],
            "model": model.id, "dataset": datasets[0].id if datasets and params.get("dataset") else None}
    if kind == "calibrate":
        spec["calibration"] = {**params["calibration"], "model": model.id}
    job_id = ctx.job_id
    payload = json.dumps(spec).encode()
    try:
        ssh.run(in_root(target.root, worker_argv(target.prepared, "start", job_id)), input=payload)
    except RemoteFailed:  # owb's folder there was cleaned or damaged since the last check: prepare again
        target = prepare(ws, ssh, target, say=lambda s: ctx.progress(f"prepare target: {s}"))
        upload(ssh, target.root, target.prepared["python"], files)
        ssh.run(in_root(target.root, worker_argv(target.prepared, "start", job_id)), input=payload)
    final = follow(ctx, ssh, target, job_id)
    if final["state"] == "cancelled":
        raise Cancelled("cancelled by the user")
    if final["state"] != "done":
        err = OwbError(f"on target {target.name!r}: {final.get('error', 'failed')}")
        err.exit_code = final.get("exit_code", 1)
        raise err
    out = bring_home(ws, ssh, target, job_id, kind, final["result"], sent)
    try:  # everything is home; a failed job's folder stays there with its logs
        ssh.run(in_root(target.root, ["rm", "-rf", "--", f"jobs/{job_id}"]))
    except OwbError as exc:
        ctx.log.warning("could not clean jobs/%s on %s: %s", job_id, target.name, exc)
    return out


def follow(ctx: Any, ssh: Ssh, target: Target, job_id: str) -> dict:
    """Progress of the job on the target until it ends; the final record.
    A dropped connection is re-attached from the last offset a few times."""
    ended = threading.Event()
    threading.Thread(target=pass_cancel, args=(ctx, ssh, target, job_id, ended), daemon=True).start()
    try:
        return follow_events(ctx, ssh, target, job_id)
    finally:
        ended.set()


def pass_cancel(ctx: Any, ssh: Ssh, target: Target, job_id: str, ended: threading.Event) -> None:
    """Send a cancel to the target as soon as it is asked for, not at the job's
    next progress event: a long benchmark run may send none for minutes."""
    while not ended.is_set():
        if ctx.cancel.wait(0.5):
            try:
                ssh.run(in_root(target.root, worker_argv(target.prepared, "cancel", job_id)), timeout=60)
            except OwbError as exc:  # follow still ends with the target's own final record
                ctx.log.warning("could not pass the cancel to %s: %s", target.name, exc)
            return


def follow_events(ctx: Any, ssh: Ssh, target: Target, job_id: str) -> dict:
    offset, failures, stage = 0, 0, "starting"
    while True:
        proc = ssh.popen(in_root(target.root, worker_argv(target.prepared, "follow", job_id, str(offset))))
        assert proc.stdout is not None and proc.stderr is not None
        for line in proc.stdout:
            if not line.startswith(b"{"):  # what the user's shell start-up files print
                continue
            event = json.loads(line)
            if "final" in event:
                proc.wait()
                return event["final"]
            offset += len(line)
            failures = 0
            stage = event["stage"]
            if ctx.cancel.is_set():  # pass_cancel sent it; the target's final record ends this
                continue
            try:
                ctx.progress(stage, event["step"], event["total"] or None)
            except Cancelled:
                pass  # sent to the target on the next event; its final record says when it stopped
        code = proc.wait()
        why = (proc.stderr.read().decode(errors="replace").strip().splitlines() or [f"exit code {code}"])[-1]
        failures += 1
        ctx.log.warning("lost the connection to %s (%s), attempt %d", target.name, why, failures)
        if failures > RECONNECTS:
            raise TargetUnreachable(
                f"lost the connection to target {target.name!r} during the job (at stage {stage!r}): {why}. "
                "Nothing from this run was kept; run the command again to retry")
        time.sleep(1.5 * failures)


def bring_home(ws: Workspace, ssh: Ssh, target: Target, job_id: str, kind: str, result: dict, sent: dict) -> dict:
    from ..projects import ensure_project

    ws.update(target, facts=result["facts"])
    out = dict(result["output"])
    if kind == "calibrate":
        child = bring_child(ws, ssh, target, job_id, out)
        out["model"], out["id"] = child.name, child.id
    projects: dict[str, str] = {}
    for raw in result["records"]:
        rec = InferenceResult.from_dict(raw)
        rec.result = {**rec.result, "target": target.name}
        remote_project = rec.project
        if rec.dataset:
            model, dataset = ws.get(Model, rec.model), ws.get(Dataset, rec.dataset)
            rec.project = ensure_project(ws, model, dataset, device_of(target.name)).id
        projects[remote_project] = rec.project
        if ws.maybe(InferenceResult, rec.id) is None:
            ws.add(rec)
    if kind in ("benchmark", "explore") and out.get("project"):
        out["project"] = projects.get(out["project"], out["project"])
    for run in out.get("run_results", []):
        run.update(target=target.name, project=projects.get(run.get("project") or "", run.get("project")))
    out["target"] = target.name
    out["upload"] = sent
    return out


def bring_child(ws: Workspace, ssh: Ssh, target: Target, job_id: str, out: dict) -> Model:
    """Download the calibrated child's IR into the workspace and list it."""
    child = Model.from_dict(out["child"])
    if ws.maybe(Model, child.id) is not None:  # brought home already by an earlier attempt
        return ws.get(Model, child.id)
    scratch = ws.tmp_dir("remote-child-")
    try:
        folder = Path(child.path).parent
        for rel, sha in out["child_files"].items():
            download(ssh, target.root, f"jobs/{job_id}/ws/{rel}", sha, scratch / Path(rel).relative_to(folder))
        final = ws.path(folder.as_posix())
        if final.exists():
            raise OwbError(f"{final} exists already; owb will not overwrite it")
        scratch.rename(final)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    child.name = ws.unique_name(Model, child.name)
    child.provenance = {**child.provenance, "target": target.name}
    return ws.add(child)
