"""Shared CLI plumbing: one-line argument errors, common flags, output."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any, Callable, NoReturn

from ..text import fit_widths

if TYPE_CHECKING:
    from engine.progress import Progress


class OwbArgumentParser(argparse.ArgumentParser):
    """argparse, but a wrong flag gives one ``error:`` line and exit 2."""

    def error(self, message: str) -> NoReturn:
        from engine.terminal_text import printable

        sys.stderr.write(f"error: {printable(message)} (see `{self.prog} --help`)\n")
        raise SystemExit(2)


def common_options(top_level: bool = False) -> argparse.ArgumentParser:
    # Subcommands use SUPPRESS so that `owb --home W model list` keeps the
    # top-level value instead of argparse resetting it to the default.
    p = argparse.ArgumentParser(add_help=False)
    default = None if top_level else argparse.SUPPRESS
    p.add_argument("--home", metavar="DIR", default=default, help="workspace folder (default: $OWB_HOME, else the user data dir)")
    p.add_argument("--json", action="store_true", default=False if top_level else argparse.SUPPRESS, help="print one JSON document")
    return p


def add_command(sub: Any, name: str, help: str, func: Callable, **kw: Any) -> argparse.ArgumentParser:
    p = sub.add_parser(name, help=help, description=help, parents=[common_options()], **kw)
    p.set_defaults(func=func)
    return p


def add_infer_precision(p: argparse.ArgumentParser, default: str | None = None, what: str = "speed") -> None:
    from engine.choices import INFER_PRECISIONS
    from engine.precision import SPEED_DEFAULT

    default = default or SPEED_DEFAULT
    note = ("default auto: the plugin's choice, bf16 on CPUs with BF16" if default == "auto"
            else f"default {default}: the model's own numbers")
    p.add_argument("--infer-precision", choices=INFER_PRECISIONS, default=default,
                   help=f"floating-point precision the {what} runs in ({note})")


def workspace(args: argparse.Namespace):
    from engine.workspace import Workspace

    return Workspace(args.home)


def emit(args: argparse.Namespace, data: Any, render: Callable[[Any], None]) -> int:
    """Print ``data`` as JSON with --json, else let ``render`` draw it with rich."""
    if args.json:
        sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
        return 0
    render(console())
    return 0


def say(args: argparse.Namespace, text: str) -> None:
    """One progress line on stderr before a long step (none with --json).
    Not a spinner: a refreshing display would steal CPU from a timed run."""
    if not args.json:
        from engine.terminal_text import printable

        print(printable(text), file=sys.stderr, flush=True)


def console(stderr: bool = False) -> Any:
    """A rich Console that prints every string literally: no markup, no
    :emoji: codes, control characters made visible (engine.terminal_text).
    Names are user text; owb's own styling goes through ``styled``."""
    from rich.console import Console

    from engine.terminal_text import printable

    class LiteralConsole(Console):
        def render_str(self, text: str, **kw: Any) -> Any:  # every str printed, table cells and titles too
            return super().render_str(printable(text), **kw)

    return LiteralConsole(stderr=stderr, markup=False, emoji=False, highlight=False)


def styled(*parts: str | tuple[str, str]) -> Any:
    """Text from plain parts and (text, style) parts, none of it read as markup."""
    from rich.text import Text

    from engine.terminal_text import printable

    return Text.assemble(*((printable(p[0]), p[1]) if isinstance(p, tuple) else printable(p) for p in parts))


def parse_ints(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.replace("x", ",").split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of integers") from None
    if not values:
        raise argparse.ArgumentTypeError("expected at least one integer")
    return values


def number(text: str) -> float:
    """A finite float: nan would make every comparison false (a CI gate that
    never fires), inf a run that never ends."""
    import math

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def parse_floats(text: str) -> list[float]:
    try:
        values = [number(v) for v in text.split(",") if v.strip()]
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of finite numbers") from None
    if not values:
        raise argparse.ArgumentTypeError("expected at least one number")
    return values


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{value} must be a positive integer")
    return value


class progress_bar:
    """A rich progress bar on stderr for a long step; silent with --json so
    stdout carries exactly one JSON document. Yields an engine.progress
    callback; the bar says the engine's stage with ``stages``, else ``title``."""

    def __init__(self, args: argparse.Namespace, title: str, *, stages: bool = False) -> None:
        self.args, self.title, self.stages, self.bar, self.task = args, title, stages, None, None

    def __enter__(self) -> Progress | None:
        if self.args.json or not sys.stderr.isatty():
            return None
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        # Two refreshes a second: a busier display would steal CPU from the
        # measurement it shows.
        self.bar = Progress(TextColumn("{task.description}", markup=False), BarColumn(), MofNCompleteColumn(),
                            TimeRemainingColumn(), console=console(stderr=True), transient=True,
                            refresh_per_second=2)
        self.bar.start()
        self.task = self.bar.add_task(self.title, total=None)
        return self.update

    def update(self, stage: str, done: int, total: int | None) -> None:
        self.bar.update(self.task, completed=done, total=total, description=stage if self.stages else self.title)

    def __exit__(self, *exc: Any) -> None:
        if self.bar is not None:
            self.bar.stop()


KEY_WIDTH = 20  # a name column keeps this much room before other columns give way
FLOOR = 8  # no column is cut narrower than this: an 8-character id stays whole


def cli_table(*headers: str, key: int | None = 0, title: str | None = None) -> Any:
    """A borderless rich table for an 80-column terminal: no cell wraps or
    folds mid-word; a cell too long for its share ends in … (--json keeps the
    whole value). The ``key`` column (the name a row is about) keeps room for
    its longest value, up to KEY_WIDTH cells, before the others are cut."""
    from rich.table import Table

    class CliTable(Table):
        def __rich_console__(self, console: Any, options: Any) -> Any:
            natural = [max([len(str(col.header))] + [len(str(c)) for c in col.cells]) for col in self.columns]
            floors = [min(n, KEY_WIDTH if k == key else FLOOR) for k, n in enumerate(natural)]
            widths = fit_widths(natural, floors, options.max_width - 2 * len(self.columns) + 2)
            for col, width in zip(self.columns, widths):
                col.width = max(width, 1)
            yield from super().__rich_console__(console, options)

    t = CliTable(box=None, title=title, pad_edge=False)
    for h in headers:
        t.add_column(h, no_wrap=True, overflow="ellipsis")
    return t
