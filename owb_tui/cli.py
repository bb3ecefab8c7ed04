"""The `owb` entry point.

No subcommand opens the TUI; subcommands call the engine and print either
rich text or one JSON document (``--json``). Importing this module stays
cheap: openvino, nncf and textual are imported only by the command that
needs them, so ``owb --help`` answers at once."""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from typing import Sequence

from .commands import command_modules
from .commands.common import OwbArgumentParser, common_options


def build_parser() -> argparse.ArgumentParser:
    parser = OwbArgumentParser(
        prog="owb",
        description="owb: INT8 post-training quantization workbench for OpenVINO models. "
        "Run with no command to open the terminal UI.",
        parents=[common_options(top_level=True)],
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OwbArgumentParser)
    for module in command_modules():
        module.register(sub)
    return parser


def tui_options(argv: Sequence[str] | None) -> argparse.Namespace | None:
    """The options when ``argv`` names no command (the TUI), read without
    building every command's parser; None for anything else, --help included."""
    quick = argparse.ArgumentParser(add_help=False, parents=[common_options(top_level=True)], exit_on_error=False)
    try:
        args, rest = quick.parse_known_args(argv)
    except argparse.ArgumentError:  # the full parser says what is wrong, in owb's words
        return None
    return None if rest else args


def main(argv: Sequence[str] | None = None) -> int:
    args = tui_options(argv)
    if args is None:
        args = build_parser().parse_args(argv)
    if getattr(args, "command", None) is None:
        from .terminal_probe import ask

        ask()  # the terminal answers while Textual is imported; run_tui reads the answers
        from .app import run_tui

        return run_tui(args.home)
    return run_command(args)


def run_command(args: argparse.Namespace) -> int:
    from engine.errors import OwbError, environment_error
    from engine.terminal_text import printable

    debug = bool(os.environ.get("OWB_DEBUG"))
    if not debug:
        # numpy's floating-point RuntimeWarnings (overflow, nan, mean of an
        # empty slice) come from model outputs owb already reports as n/a or
        # inf; on stderr they would break the one-line contract.
        warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"numpy(\.|$)")
        warnings.filterwarnings("ignore", category=RuntimeWarning, message=r".*(encountered in|empty slice|degrees of freedom)")
    try:
        return int(args.func(args) or 0)
    except OwbError as exc:
        if debug:
            raise
        print(f"error: {printable(exc)}", file=sys.stderr)  # names in it are user text: one literal line
        return exc.exit_code
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except (OSError, RecursionError) as exc:
        if debug:
            raise
        known = environment_error(exc)
        if known is None:
            return _internal(exc)
        print(f"error: {printable(known)}", file=sys.stderr)
        return known.exit_code
    except Exception as exc:  # a bug in owb, not bad input: still one line
        if debug:
            raise
        return _internal(exc)


def _internal(exc: BaseException) -> int:
    from engine.terminal_text import printable

    first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
    print(f"error: internal error {type(exc).__name__}: {printable(first)} (rerun with OWB_DEBUG=1 for a traceback)",
          file=sys.stderr)
    return 1


def entry() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry()
