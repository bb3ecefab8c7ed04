"""CLI command groups; each module has ``register(subparsers)``.

The modules are imported only when the full parser is built (``command_modules``):
the TUI imports ``commands.common`` for a helper or two and should not pay for
every command's argparse set-up before its first paint."""

from __future__ import annotations

from types import ModuleType


def command_modules() -> list[ModuleType]:
    from . import (
        accuracy,
        calibrate,
        datasets,
        demo,
        export,
        jobs,
        models,
        perf,
        projects,
        reports,
        targets,
    )

    return [demo, models, datasets, projects, accuracy, calibrate, jobs, perf, reports, export, targets]
