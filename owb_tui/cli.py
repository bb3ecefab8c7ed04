"""The `owb` entry point.

No subcommand opens the TUI; subcommands call the engine and print either
rich text or one JSON document (``--json``). Importing this module stays
cheap: openvino, nncf and textual are imported only by the command that
needs them, so ``owb --help`` answers at once."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Sequence

from .commands import COMMAND_MODULES
from .commands.common import OwbArgumentParser, common_options


def build_parser() -> argparse.ArgumentParser:
    parser = OwbArgumentParser(
        prog="owb",
        description="owb: INT8 post-training quantization workbench for OpenVINO models. "
        "Run with no command to open the terminal UI.",
        parents=[common_options(top_level=True)],
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OwbArgumentParser)
    for module in COMMAND_MODULES:
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        from .terminal_probe import ask

        ask()  # the terminal answers while Textual is imported; run_tui reads the answers
        from .app import run_tui

        return run_tui(args.home)
    return run_command(args)


def run_command(args: argparse.Namespace) -> int:
    from engine.errors import OwbError

    debug = bool(os.environ.get("OWB_DEBUG"))
    try:
        return int(args.func(args) or 0)
    except OwbError as exc:
        if debug:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug in owb, not bad input: still one line
        if debug:
            raise
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
        print(f"error: internal error {type(exc).__name__}: {first} (rerun with OWB_DEBUG=1 for a traceback)", file=sys.stderr)
        return 1


def entry() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry()
