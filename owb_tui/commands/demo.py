"""`owb demo`: make the embedded demo model and datasets, then run the
tutorial headless — baseline, Default INT8, Compare and the first rows of the
predictions-vs-parent report — through the engine calls the other commands
make. `--no-run` only makes the demo and lists the commands to type."""

from __future__ import annotations

import argparse
import time
from typing import Any

from .common import add_command, console, emit, progress_bar, styled, workspace

# Short enough for the whole run to stay well under a minute on 2 cores; the
# figures are real measurements all the same, only over fewer seconds/images.
BENCH_S = 2.0  # the baseline benchmark
CALIBRATION_PCT = 60.0  # of the 500 annotated images: 300, NNCF's default subset size
PAIR_BENCH_S = 2.0  # seconds per model and precision, interleaved with its pair after calibration
REPORT_ROWS = 5


def register(sub: Any) -> None:
    p = add_command(sub, "demo", "create the demo model and datasets, then run the tutorial: baseline, "
                    "Default INT8, compare, a predictions report (under a minute)", cmd_demo)
    p.add_argument("--no-run", action="store_true", help="only create the demo (idempotent) and list the next commands")


def cmd_demo(args: argparse.Namespace) -> int:
    from engine.demo import ANNOTATED_NAME, UNANNOTATED_NAME, run_demo

    ws = workspace(args)
    out = run_demo(ws)
    m = out["model"]
    home = f" --home {ws.home}" if args.home else ""
    data: dict[str, Any] = {
        "home": str(ws.home),
        "model": m.name,
        "datasets": {k: {"name": d.name, "images": d.images, "annotated": d.annotated} for k, d in out["datasets"].items()},
        "created": out["created"],
    }

    def made(c: Any) -> None:
        created = ", ".join(out["created"]) or "nothing new (already there)"
        c.print(styled(("owb demo", "bold"), f" in {ws.home}: created {created}"))
        ds = out["datasets"]
        c.print(f"model {m.name}: {m.precision}, input {m.inputs[0]['shape']}, {len(m.config.labels or [])} classes")
        c.print(f"datasets: {ANNOTATED_NAME} ({ds[ANNOTATED_NAME].images} annotated images), "
                f"{UNANNOTATED_NAME} ({ds[UNANNOTATED_NAME].images} unannotated)")

    if args.no_run:
        steps = [
            (f"owb{home} benchmark {m.name}", "baseline speed"),
            (f"owb{home} accuracy {m.name} --dataset {ANNOTATED_NAME}", "baseline accuracy"),
            (f"owb{home} calibrate {m.name} --dataset {ANNOTATED_NAME}", "INT8 child, measured against its parent"),
            (f"owb{home} compare {m.name}-int8", "speed, size, layers, verdict"),
            (f"owb{home}", "the terminal UI"),
        ]
        data["next"] = [cmd for cmd, _ in steps]

        def render(c: Any) -> None:
            made(c)
            c.print("next:")
            for cmd, why in steps:
                c.print(styled(("  # " + why, "dim")), soft_wrap=True)
                c.print(styled(("  " + cmd, "bold")), soft_wrap=True)

        return emit(args, data, render)

    out_console = None if args.json else console()
    if out_console is not None:
        made(out_console)
    started = time.monotonic()
    tour = Tour(args, ws, out_console)
    data.update(tour.run(m, out["datasets"][ANNOTATED_NAME]))
    data["seconds"] = round(time.monotonic() - started, 1)
    data["tui"] = f"owb{home}"
    if args.json:
        return emit(args, data, lambda c: None)
    out_console.print()
    out_console.print(styled(("done", "bold"), f" in {data['seconds']:.0f} s. Open the terminal UI with ",
                             (f"owb{home}", "bold"), f": the {m.name} project holds all of this; ? shows the keys."))
    return 0


class Tour:
    """The tutorial's steps, each one engine call printed as it ends."""

    def __init__(self, args: argparse.Namespace, ws: Any, console: Any) -> None:
        self.args, self.ws, self.c = args, ws, console

    def step(self, n: int, text: str) -> None:
        if self.c is not None:
            self.c.print()
            self.c.print(styled((f"{n}/4", "bold cyan"), " ", (text, "bold")))

    def say(self, *parts: str | tuple[str, str]) -> None:
        if self.c is not None:
            self.c.print(styled(*parts))

    def run(self, model: Any, dataset: Any) -> dict:
        baseline = self.baseline(model, dataset)
        child, calibration = self.optimize(model, dataset)
        comparison = self.compare(model, child, dataset)
        report = self.report(child, model, dataset)
        return {"baseline": baseline, "calibration": calibration, "compare": comparison, "report": report}

    def baseline(self, model: Any, dataset: Any) -> dict:
        from engine.benchmark import BenchmarkSettings, run_benchmark
        from engine.device import float_precision_note
        from engine.evaluate import evaluate

        self.step(1, f"baseline: benchmark and accuracy of {model.name}")
        with progress_bar(self.args, f"benchmark {model.name} for {BENCH_S:g} s") as progress:
            _, bench = run_benchmark(self.ws, model, BenchmarkSettings(time_s=BENCH_S), dataset=dataset,
                                     progress=progress)
        note = float_precision_note(bench["model_precision"], bench["inference_precision"])
        self.say("throughput ", (f"{bench['throughput_fps']:.1f} FPS", "bold green"), ", median latency "
                 f"{bench['latency_ms']['median']:.2f} ms ({bench['model_precision']} IR, {note})")
        with progress_bar(self.args, f"accuracy of {model.name}") as progress:
            acc = evaluate(self.ws, model, dataset, progress=progress)
        self.say(f"{acc['metric']} ", (f"{acc['value'] * 100:.2f}%", "bold"), f" over {acc['images']} images of "
                 f"{dataset.name}")
        return {"benchmark": bench, "accuracy": acc}

    def optimize(self, model: Any, dataset: Any) -> tuple[Any, dict]:
        from engine.quantize.spec import CalibrationSpec
        from engine.jobs import JobRunner
        from engine.optimize import run_optimize
        from engine.records import Model

        from .calibrate import render_result, run_foreground

        name = f"{model.name}-int8"
        self.step(2, "Default INT8: calibrate with NNCF, then measure the child against its parent")
        existing = self.ws.maybe(Model, name)
        if existing is not None and existing.parent == model.id:
            # A second `owb demo` keeps the child it made; its figures are the ones measured then.
            post = existing.provenance.get("post", {})
            self.say(f"{name} is already there (made by an earlier `owb demo`); its figures from then:")
            result = {"model": existing.name, "id": existing.id, "parent": model.name, "reused": True, **post}
            self._figures(result)
            return existing, result
        spec = CalibrationSpec(model=model.id, dataset=dataset.id, subset_pct=CALIBRATION_PCT, name=name)
        job = run_foreground(self.args, JobRunner(self.ws), "calibrate",
                             lambda ctx: run_optimize(ctx, spec, bench_time=PAIR_BENCH_S),
                             params={**spec.__dict__, "bench_time": PAIR_BENCH_S}, name=f"calibrate {model.name}")
        if job.state != "done":
            from engine.errors import OwbError

            failed = OwbError(f"the demo's calibration {job.state}: {job.error} (log: owb jobs log {job.id})")
            failed.exit_code = job.exit_code or 1
            raise failed
        result = {"job": job.id, **job.result}
        if self.c is not None:
            render_result(self.c, result)
        return self.ws.get(Model, result["id"]), result

    def _figures(self, r: dict) -> None:
        from engine.metrics import accuracy_change

        acc, fps = r.get("accuracy"), r.get("throughput_fps")
        if acc:
            self.say(f"accuracy: parent {acc['parent'] * 100:.2f}%, child {acc['child'] * 100:.2f}% "
                     f"({accuracy_change(acc['drop'])})")
        if fps and fps.get("ratio"):
            self.say(f"throughput: parent {fps['parent']:.1f} FPS, child {fps['child']:.1f} FPS → {fps['ratio']:.2f}×")

    def compare(self, parent: Any, child: Any, dataset: Any) -> dict:
        from engine.compare import compare

        self.step(3, f"compare {parent.name} (A) with {child.name} (B)")
        from engine.errors import BadInput

        with progress_bar(self.args, "compare", stages=True) as progress:
            try:  # calibration just measured both, interleaved: Compare reads those runs
                r = compare(self.ws, parent, child, dataset=dataset, from_history=True, progress=progress)
            except BadInput:  # no such pair stored (an older child): measure both now
                r = compare(self.ws, parent, child, dataset=dataset, bench_time=PAIR_BENCH_S, progress=progress)
        a, b = r["a"], r["b"]
        self.say(f"throughput {a['throughput_fps']:.1f} → {b['throughput_fps']:.1f} FPS, size "
                 f"{a['size_bytes'] / 1e6:.2f} → {b['size_bytes'] / 1e6:.2f} MB")
        self.say(("verdict", "bold"), f": {r['verdict']}")
        return {k: r[k] for k in ("a", "b", "throughput_ratio", "latency_ratio", "size_ratio", "accuracy_drop",
                                  "verdict", "cpu")}

    def report(self, child: Any, parent: Any, dataset: Any) -> dict:
        from engine.reports import ReportSpec, create_report, open_table, report_json

        from .reports import print_rows

        self.step(4, f"predictions report: {child.name} against {parent.name}, image by image")
        spec = ReportSpec(kind="predictions", model=child.id, dataset=dataset.id)
        with progress_bar(self.args, "predictions report", stages=True) as progress:
            report = create_report(self.ws, spec, progress=progress)
        table = open_table(self.ws, report, "basic")
        data = report_json(self.ws, report, table, "basic")
        s = report.summary
        different = (s.get("flagged") or {}).get("basic")
        if self.c is not None:
            self.c.print(f"{s['metric']} {s['value'] * 100:.2f}% over {s.get('images')} images"
                         + (f"; {different} differ" if different is not None else "")
                         + f"; first {min(REPORT_ROWS, len(table))} of {len(table)} rows (report {report.id}):")
            print_rows(self.c, data, table, REPORT_ROWS)
            self.say((f"all rows: owb report show {report.id} (--only-different, --csv FILE)", "dim"))
        return {"id": report.id, "summary": s, "columns": data["columns"], "rows": data["rows"][:REPORT_ROWS],
                "total_rows": len(table)}
