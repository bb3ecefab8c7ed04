"""`owb target add|list|show|check|trust|remove`, and running a command on a target."""

from __future__ import annotations

import argparse
import re
import sys
from typing import Any

from ..text import human_size
from .common import OwbArgumentParser, add_command, emit, styled, workspace

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def register(sub: Any) -> None:
    group = sub.add_parser("target", help="remote machines to benchmark, measure and calibrate on, over SSH")
    gsub = group.add_subparsers(dest="target_command", metavar="ACTION", required=True,
                                parser_class=OwbArgumentParser)
    p = add_command(gsub, "add", "add a target reached over SSH (nothing is stored but its name and address)",
                    cmd_add)
    p.add_argument("name", help="the target's name in owb")
    p.add_argument("dest", help="user@host[:port], or a Host alias of ~/.ssh/config")
    p.add_argument("--python", default="", metavar="PATH",
                   help="a Python ≥ 3.10 there that already has openvino (default: owb makes a venv there)")
    p.add_argument("--wheelhouse", default="", metavar="DIR",
                   help="local folder of wheels to install from when the target has no package index")
    p.add_argument("--root", default=".owb-target", metavar="DIR",
                   help="owb's folder on the target, relative to the remote home (default .owb-target)")
    add_command(gsub, "list", "list targets", cmd_list)
    for name, text, fn in (("show", "show a target's settings and CPU facts", cmd_show),
                           ("check", "connect, prepare Python/openvino/owb's code there, read its CPU facts",
                            cmd_check),
                           ("remove", "forget a target (nothing on the target is touched)", cmd_remove)):
        p = add_command(gsub, name, text, fn)
        p.add_argument("name", help="target name")
    p = add_command(gsub, "trust", "accept a target's host key, by the fingerprint owb showed", cmd_trust)
    p.add_argument("name", help="target name")
    p.add_argument("--fingerprint", required=True, metavar="SHA256:…", help="the fingerprint to accept")


def add_target_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--target", metavar="NAME", help="run on this remote target (see `owb target`)")


def target_param(args: argparse.Namespace) -> dict:
    """The job parameter naming the target, when --target was given."""
    return {"target": args.target} if getattr(args, "target", None) else {}


def cmd_add(args: argparse.Namespace) -> int:
    from pathlib import Path

    from engine.errors import BadInput
    from engine.records import Target
    from engine.targets.transport import parse_dest

    if not NAME_RE.match(args.name):
        raise BadInput(f"target name {args.name!r} must be letters, digits, '.', '_' or '-'")
    parse_dest(args.dest)
    wheelhouse = ""
    if args.wheelhouse:
        wh = Path(args.wheelhouse).expanduser()
        if not wh.is_dir():
            raise BadInput(f"--wheelhouse {args.wheelhouse} is not a folder")
        wheelhouse = str(wh.resolve())
    if not args.root.strip() or "\0" in args.root or ".." in Path(args.root).parts:
        raise BadInput(f"--root {args.root!r} must be a plain folder path")
    ws = workspace(args)
    if ws.maybe(Target, args.name):
        raise BadInput(f"a target named {args.name!r} exists already; `owb target remove {args.name}` first")
    t = ws.add(Target(name=args.name, dest=args.dest, python=args.python, wheelhouse=wheelhouse, root=args.root))
    return emit(args, t.to_dict(), lambda c: c.print(styled(
        "target ", (t.name, "bold"), f" → {t.dest}; `owb target check {t.name}` connects and prepares it")))


def cmd_list(args: argparse.Namespace) -> int:
    from rich.table import Table

    from engine.records import Target

    targets = sorted(workspace(args).all(Target), key=lambda t: t.created)

    def render(c: Any) -> None:
        t = Table("name", "destination", "python", "CPU", box=None)
        for x in targets:
            t.add_row(x.name, x.dest, x.prepared.get("python", x.python or "(owb venv)"),
                      x.facts.get("summary", "not checked yet"))
        c.print(t if targets else "no targets yet; `owb target add NAME user@host`")

    return emit(args, [x.to_dict() for x in targets], render)


def cmd_show(args: argparse.Namespace) -> int:
    from engine.records import Target

    t = workspace(args).get(Target, args.name)
    return emit(args, t.to_dict(), lambda c: render_target(c, t))


def render_target(c: Any, t: Any) -> None:
    c.print(styled((t.name, "bold"), f" → {t.dest}, owb's folder there: {t.root}"))
    p = t.prepared
    if p:
        pk = p.get("packages", {})
        c.print(f"python {p['python']} ({p['python_version']}), openvino {pk.get('openvino')}, "
                f"nncf {pk.get('nncf') or 'missing: no remote calibration'}; owb code {p['code'][:12]}")
        for w in p.get("warnings", []):
            c.print(styled(("version differs", "yellow"), f": {w}"))
    if t.facts:
        c.print(f"CPU: {t.facts['summary']}")
        c.print(f"INT8: {t.facts['int8_note']}")
    else:
        c.print(f"not checked yet; `owb target check {t.name}`")


def cmd_check(args: argparse.Namespace) -> int:
    from engine.records import Target
    from engine.targets.remote import check

    ws = workspace(args)
    t = ws.get(Target, args.name)
    say = (lambda s: None) if args.json else (lambda s: print(f"{t.name}: {s}…", file=sys.stderr, flush=True))
    t = check(ws, t, say)
    return emit(args, t.to_dict(), lambda c: render_target(c, t))


def cmd_trust(args: argparse.Namespace) -> int:
    from engine.records import Target
    from engine.targets.remote import connect

    ws = workspace(args)
    t = ws.get(Target, args.name)
    fp = connect(ws, t).trust(args.fingerprint)
    return emit(args, {"target": t.name, "accepted": fp},
                lambda c: c.print(f"accepted {fp} for {t.name} (in the workspace's targets/known_hosts)"))


def cmd_remove(args: argparse.Namespace) -> int:
    from engine.records import Target
    from engine.targets.remote import connect

    ws = workspace(args)
    t = ws.get(Target, args.name)
    connect(ws, t).close()
    ws.remove(t)
    return emit(args, {"removed": t.name}, lambda c: c.print(f"removed target {t.name}"))


def run_on_target(args: argparse.Namespace, ws: Any, params: dict, name: str) -> dict:
    """Run a remote job in the foreground (progress bar, Ctrl+C cancels); its
    result, or exit through the job's error."""
    from engine.errors import OwbError
    from engine.jobs import JobRunner
    from engine.records import Target
    from engine.targets.remote import remote_job

    from .calibrate import run_foreground

    target = ws.get(Target, args.target)
    params = {**params, "target": target.id}
    job = run_foreground(args, JobRunner(ws), params["kind"], lambda ctx: remote_job(ctx, params),
                         params=params, name=f"{name} on {target.name}")
    if job.state != "done":
        err = OwbError(f"{name} on {target.name} {job.state}: {job.error} (log: owb jobs log {job.id})")
        err.exit_code = job.exit_code or 1
        raise err
    upload_note(args, job.result)
    return {"job": job.id, **job.result}


def upload_note(args: argparse.Namespace, result: dict) -> None:
    """What a remote job sent, on stderr: a second run should send nothing."""
    sent = result.get("upload")
    if sent is not None and not args.json:
        print(f"uploaded {sent.get('sent_files', 0)} files, {human_size(sent.get('sent_bytes', 0))} "
              f"({sent.get('cached_files', 0)} already on {result.get('target')})", file=sys.stderr)
