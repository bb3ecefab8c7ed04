"""CLI command groups; each module has ``register(subparsers)``."""

from . import accuracy, calibrate, datasets, demo, export, models, perf, projects, reports

COMMAND_MODULES = [demo, models, datasets, projects, accuracy, calibrate, perf, reports, export]
