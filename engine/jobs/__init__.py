"""Jobs: every long command is a job kind (kinds), run by one detached runner
process per workspace (runner), which the CLI and the TUI submit to and
follow through the workspace (client). The executor runs job bodies in
threads with progress, cancel and a log; liveness tells whether the process
that owns a job is still the one that started it."""

from .executor import (ACTIVE, FINAL, JobContext, JobEvent, JobRunner, job_result, mark_interrupted, read_log,
                       read_progress)
from ..workspace import pid_alive

__all__ = ["ACTIVE", "FINAL", "JobContext", "JobEvent", "JobRunner", "job_result", "mark_interrupted", "pid_alive",
           "read_log", "read_progress"]
