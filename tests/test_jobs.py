"""The job runner: states, queueing, logs of failures, cancel, interrupted."""

from __future__ import annotations

import os
import threading
import time

from engine.errors import BadInput
from engine.jobs import JobRunner, mark_interrupted, read_log
from engine.records import Job


def test_heavy_jobs_run_one_at_a_time_and_queue(ws):
    runner = JobRunner(ws)
    active, peak = [0], [0]
    lock = threading.Lock()

    def work(ctx):
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        for i in range(5):
            ctx.progress("working", i + 1, 5)
            time.sleep(0.02)
        with lock:
            active[0] -= 1
        return {"n": 5}

    jobs = [runner.submit("test", work) for _ in range(3)]
    finals = [runner.wait(j.id, timeout=30) for j in jobs]
    assert [f.state for f in finals] == ["done"] * 3
    assert peak[0] == 1
    assert finals[0].result == {"n": 5} and finals[0].step == 5 and finals[0].total == 5


def test_events_carry_stage_step_total_and_eta(ws):
    runner = JobRunner(ws)
    events = []
    runner.subscribe(events.append)

    def work(ctx):
        for i in range(1, 4):
            time.sleep(0.1)
            ctx.progress("Statistics collection", i, 3)
        return {}

    runner.wait(runner.submit("test", work).id, timeout=30)
    stats = [e for e in events if e.stage == "Statistics collection" and e.state == "running"]
    assert [e.step for e in stats] == [1, 2, 3] and all(e.total == 3 for e in stats)
    assert stats[0].eta_s is None  # no rate is known from the first step of a stage
    assert stats[1].eta_s is not None and stats[1].eta_s > 0
    assert events[-1].state == "done"


def test_failure_keeps_the_whole_log(ws):
    runner = JobRunner(ws)

    def bug(ctx):
        ctx.log.info("about to divide")
        return {"x": 1 / 0}

    def bad(ctx):
        raise BadInput("the dataset has no images")

    failed = runner.wait(runner.submit("test", bug).id, timeout=30)
    assert failed.state == "failed" and "ZeroDivisionError" in failed.error and failed.exit_code == 1
    log = read_log(ws, failed)
    assert "about to divide" in log and "Traceback" in log and "1 / 0" in log
    refused = runner.wait(runner.submit("test", bad).id, timeout=30)
    assert refused.state == "failed" and refused.error == "the dataset has no images" and refused.exit_code == 2


def test_cancel_between_steps(ws):
    runner = JobRunner(ws)
    started = threading.Event()

    def long(ctx):
        for i in range(1000):
            started.set()
            ctx.progress("looping", i, 1000)
            time.sleep(0.01)
        return {}

    job = runner.submit("test", long)
    assert started.wait(10)
    assert runner.cancel(job.id)
    final = runner.wait(job.id, timeout=10)
    assert final.state == "cancelled" and final.step < 999


def test_jobs_of_a_dead_process_become_interrupted(ws):
    dead = ws.add(Job(name="calibrate x", kind="calibrate", state="running", pid=2 ** 22 + 12345))
    mine = ws.add(Job(name="calibrate y", kind="calibrate", state="running", pid=os.getpid()))
    marked = mark_interrupted(ws)
    assert [j.id for j in marked] == [dead.id]
    assert ws.get(Job, dead.id).state == "interrupted"
    assert ws.get(Job, mine.id).state == "running"


def test_a_planned_job_eta_covers_the_stages_still_to_come(ws, monkeypatch):
    """With a plan, the ETA is the whole job's: after the first of two
    stages planned 1 s and 3 s, three quarters remain. The clock is pinned,
    so nothing here depends on how fast the machine is."""
    import engine.jobs.executor as jobs

    runner = JobRunner(ws)
    events = []
    runner.subscribe(events.append)
    clock = [100.0]
    monkeypatch.setattr(jobs.time, "monotonic", lambda: clock[0])

    def work(ctx):
        ctx.plan([("first", 1.0), ("second", 3.0)])
        ctx.progress("first", 0, 2)
        clock[0] += 10.0  # the first stage took 10 s
        ctx.progress("first", 2, 2)
        ctx.progress("unplanned stage", 1, 4)
        return {}

    runner.wait(runner.submit("test", work).id, timeout=30)
    etas = {e.stage: e.eta_s for e in events if e.state == "running" and e.step}
    assert etas["first"] == 30.0  # 10 s for a quarter of the plan: 30 s to go
    assert etas["unplanned stage"] is None  # a stage outside the plan: no rate seen yet in it
