"""CLI command groups; each module has ``register(subparsers)``."""

from . import datasets, demo, models, projects

COMMAND_MODULES = [demo, models, datasets, projects]
