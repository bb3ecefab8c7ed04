"""Files written where the user says: `report --csv`, `visualize --out`,
`export --out`, `project export --out`, and their TUI twins.

One guard for all of them, because each is a way to lose data: a path inside
the workspace (``--csv W/owb.json`` would replace the DB), an existing file
(replaced only with ``--force``), or a half-written file after a crash. So the
path is checked before any work, and the file is always written to a temp
file beside it and renamed over it. A temp file's name carries the writer's
pid, so one left by a killed owb (kill -9, power loss) is recognised and
removed by the next write to the same folder."""

from __future__ import annotations

import os
import re
import stat
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from .errors import BadInput

_TEMP = re.compile(r"^\..+\.owb-(\d+)-[A-Za-z0-9_]+\.tmp$")


def output_path(out: str | os.PathLike, force: bool = False, *, home: Path | None = None,
                flag: str = "--out", example: str = "model.tar.gz") -> Path:
    """Where a user-named file may be written, or one BadInput line saying why not.

    ``home`` is the workspace: nothing owb does not own may be written inside
    it. The returned path has its folder resolved (symlinks followed), so the
    check and the later rename talk about the same place."""
    text = os.fspath(out)
    if not text.strip():
        raise BadInput(f"{flag} needs a file name, like {example}")
    path = Path(text).expanduser()
    if path.is_dir():
        raise BadInput(f"{path} is a folder; give a file name inside it, like {path / example}")
    parent = path.parent.resolve()
    target = parent / path.name
    if home is not None and _inside(target, Path(home)):
        raise BadInput(f"{flag} {path} is inside the workspace {home}, whose files owb manages; "
                       "write it somewhere else")
    if os.path.lexists(target):
        if not force:
            raise BadInput(f"{path} already exists; overwrite it with --force or choose another {flag}")
        try:
            st = os.stat(target)
        except OSError:
            st = None  # a dangling link: the rename replaces the link itself
        if st is not None and not stat.S_ISREG(st.st_mode):
            raise BadInput(f"{path} is not a regular file; owb only replaces files it could have written")
    if not parent.is_dir():
        raise BadInput(f"folder {parent} does not exist; create it first or choose another {flag}")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise BadInput(f"cannot write into {parent} (permission denied); choose another {flag}")
    return target


def _inside(target: Path, home: Path) -> bool:
    try:
        real_home = home.resolve()
        real = target.resolve()  # a symlink pointing into the workspace counts as inside it
    except OSError:
        return False
    return real == real_home or real_home in real.parents or real_home in target.parents


def free_path(path: Path) -> Path:
    """``path``, or ``name-2.ext``, ``name-3.ext`` … when it exists: for the
    TUI's one-key saves, which have no --force to ask with."""
    n, candidate = 2, path
    while os.path.lexists(candidate):
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
        n += 1
    return candidate


def clean_stale_temps(folder: Path) -> list[str]:
    """Remove temp files of this module whose writer process is gone."""
    from .workspace import pid_alive

    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        match = _TEMP.match(entry.name)
        if match and not pid_alive(int(match.group(1))) and entry.is_file(follow_symlinks=False):
            try:
                os.unlink(entry.path)
                removed.append(entry.name)
            except OSError:
                pass
    return removed


@contextmanager
def atomic_output(target: Path, mode: int = 0o644) -> Iterator[Path]:
    """Yield a temp path beside ``target``; on a clean exit it replaces
    ``target`` in one rename, on any failure it is removed. OSErrors become
    one BadInput line (a full disk, a read-only folder)."""
    clean_stale_temps(target.parent)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.owb-{os.getpid()}-", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise BadInput(f"cannot write {target}: {exc.strerror or exc}") from None
    os.close(fd)
    try:
        yield Path(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, mode & ~umask())  # mkstemp's 0600 would hide the file from the user's group
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise BadInput(f"cannot write {target}: {exc.strerror or exc}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def umask() -> int:
    try:  # read, not set: os.umask() would change it for every thread for a moment
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return 0o022
