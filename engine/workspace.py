"""The workspace: one home folder holding the metadata DB and the bulk files.

TinyDB rewrites its whole JSON file on every write, so it holds metadata only
(hundreds of records); IR files, dataset copies, raw outputs and report rows
live in folders beside it. Every DB write is atomic (temp file + rename) and
guarded by a process-wide file lock plus an in-process lock, so two owb
processes, or two job threads, can never interleave a read-modify-write."""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, TypeVar

from tinydb import Query, TinyDB
from tinydb.storages import Storage
from tinydb.table import Table

from .errors import BadInput, NotFound, WorkspaceError
from .records import Record

SCHEMA_VERSION = 1
DB_NAME = "owb.json"
R = TypeVar("R", bound=Record)
# The command that lists each table, for "not found" hints: only commands that exist.
LIST_COMMANDS = {"models": "owb model list", "datasets": "owb dataset list", "projects": "owb project list",
                 "jobs": "owb jobs", "reports": "owb report list"}
# A scratch folder is named '<kind>-<pid>-<random>' so that a later owb can
# tell that its writer died (SIGKILL, power loss) and remove it. The age
# guard covers a workspace shared with another host, where pids mean nothing.
STALE_SCRATCH_S = 30 * 60
_SCRATCH_OWNER = re.compile(r"^[a-z]+-(\d+)-")


def default_home() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("owb", appauthor=False))


def resolve_home(home: str | os.PathLike | None = None) -> Path:
    """``--home`` wins, then ``OWB_HOME``, then the platform's user data dir."""
    if home is not None:
        if not os.fspath(home).strip():  # `--home "$UNSET_VAR"` must not fall back to the default home
            raise BadInput("--home is empty; give the workspace folder, or leave --home out for the default")
        return Path(home).expanduser().resolve()
    if os.environ.get("OWB_HOME"):
        return Path(os.environ["OWB_HOME"]).expanduser().resolve()
    return default_home()


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``path`` so that readers see the old or the new file, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, file_mode(path))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def file_mode(path: Path) -> int:
    """The mode a rewrite keeps: the file's own (a workspace shared with a
    group stays readable by it), else what open() would give a new file."""
    from .output import umask

    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return 0o666 & ~umask()


class AtomicJSONStorage(Storage):
    """TinyDB storage that never leaves a half-written DB behind.

    A DB that does not parse is never reset: owb refuses to open it and keeps a
    copy, because silently starting empty would lose the user's projects."""

    def __init__(self, path: str) -> None:
        self.path = Path(path)

    def read(self) -> dict | None:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return None
        except IsADirectoryError:
            raise WorkspaceError(f"workspace database {self.path} is a folder, not owb's file; move it away") from None
        except OSError as exc:
            raise WorkspaceError(f"cannot read workspace database {self.path}: {exc.strerror or exc}") from None
        try:
            if not raw.strip():  # owb writes atomically, so an empty DB is damage, not a new workspace
                raise ValueError("the file is empty")
            data = json.loads(raw)
            _check_tables(data)
        except ValueError as exc:
            backup = self.path.with_name(self.path.name + ".corrupt")
            if not backup.exists():
                shutil.copy2(self.path, backup)
            raise WorkspaceError(
                f"workspace database {self.path} is corrupt ({exc}); a copy is kept at "
                f"{backup}; restore it from a backup or move it away to start afresh"
            ) from None
        return data

    def write(self, data: dict) -> None:
        atomic_write_bytes(self.path, json.dumps(data, separators=(",", ":")).encode())

    def close(self) -> None:
        pass


def _check_tables(data: Any) -> None:
    """TinyDB's shape, {table: {"<int>": {record}}}; anything else would
    surface later as an internal error, or be rewritten with the damage kept."""
    if not isinstance(data, dict):
        raise ValueError("top level is not an object")
    for name, table in data.items():
        if not isinstance(table, dict) or not all(k.isdigit() and isinstance(v, dict) for k, v in table.items()):
            raise ValueError(f"table {name!r} is not a set of numbered records")


def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale_scratch(tmp: Path, min_age_s: float = STALE_SCRATCH_S) -> list[str]:
    """Remove scratch folders whose owb process is gone and that are older
    than ``min_age_s``; returns their names. A live writer's folder stays."""
    removed: list[str] = []
    try:
        entries = list(os.scandir(tmp))
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        owner = _SCRATCH_OWNER.match(entry.name)
        try:
            age = now - entry.stat(follow_symlinks=False).st_mtime
        except OSError:  # removed meanwhile by another owb
            continue
        if age < min_age_s or (owner is not None and pid_alive(int(owner.group(1)))):
            continue
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path, ignore_errors=True)
        else:
            Path(entry.path).unlink(missing_ok=True)
        removed.append(entry.name)
    return removed


class Workspace:
    """Opens (creating if needed) an owb home and gives typed access to records."""

    LOCK_TIMEOUT_S = 60.0

    def __init__(self, home: str | os.PathLike | None = None) -> None:
        self.home = resolve_home(home)
        try:
            self.home.mkdir(parents=True, exist_ok=True)
            for sub in ("models", "datasets", "outputs", "reports", "jobs", "tmp"):
                (self.home / sub).mkdir(exist_ok=True)
        except OSError as exc:
            raise WorkspaceError(f"cannot create workspace at {self.home}: {exc.strerror}") from None
        self._thread_lock = threading.RLock()
        self._file_lock: Any = None  # made on the first write: filelock's import is a tenth of the TUI's start
        self.db = TinyDB(self.home / DB_NAME, storage=AtomicJSONStorage)
        self._check_schema()
        clean_stale_scratch(self.home / "tmp")

    # -- locking -------------------------------------------------------------
    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold both locks for a read-modify-write of the DB; keep it short."""
        from filelock import FileLock, Timeout

        with self._thread_lock:
            if self._file_lock is None:
                self._file_lock = FileLock(str(self.home / ".owb.lock"), thread_local=False)
            try:
                self._file_lock.acquire(timeout=self.LOCK_TIMEOUT_S)
            except Timeout:
                raise WorkspaceError(
                    f"workspace {self.home} is locked by another owb process for over "
                    f"{self.LOCK_TIMEOUT_S:.0f} s; wait for it or remove {self.home / '.owb.lock'}"
                ) from None
            except IsADirectoryError:
                raise WorkspaceError(f"the workspace's lock file {self.home / '.owb.lock'} is a folder; "
                                     "remove it (owb makes the file)") from None
            except OSError as exc:
                raise WorkspaceError(f"cannot lock workspace {self.home}: {exc.strerror or exc} "
                                     f"({self.home / '.owb.lock'})") from None
            try:
                yield
            finally:
                self._file_lock.release()

    def _check_schema(self) -> None:
        row = self._table("meta").get(doc_id=1)  # reads need no lock: writes are atomic renames
        if row is None:
            with self.locked():
                meta = self._table("meta")
                row = meta.get(doc_id=1)
                if row is None:
                    meta.insert({"schema": SCHEMA_VERSION})
                    row = {"schema": SCHEMA_VERSION}
        if row.get("schema", 0) > SCHEMA_VERSION:
            raise WorkspaceError(
                f"workspace {self.home} has schema {row['schema']}, newer than this owb "
                f"understands ({SCHEMA_VERSION}); upgrade owb"
            )

    def _table(self, name: str) -> Table:
        # A fresh, uncached Table per call: TinyDB caches the next doc id and
        # query results per Table object, which goes stale as soon as another
        # owb process writes the same file.
        return Table(self.db.storage, name, cache_size=0)

    # -- paths ---------------------------------------------------------------
    def path(self, rel: str) -> Path:
        return self.home / rel

    def rel(self, path: Path) -> str:
        return Path(path).resolve().relative_to(self.home).as_posix()

    def tmp_dir(self, prefix: str) -> Path:
        """A scratch folder inside the workspace, so a later rename is atomic."""
        return Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-", dir=self.home / "tmp"))

    # -- records -------------------------------------------------------------
    def add(self, record: R, *, unique: bool = False) -> R:
        """Write ``record``. Its name is checked under the lock, in the same
        step as the write: taken, it is refused, or with ``unique`` (a name
        owb chose, not the user) the next free ``name-N`` is taken instead."""
        with self.locked():
            table = self._table(record.table)
            if record.name:
                taken = {d.get("name") for d in table.all()}
                if record.name in taken:
                    if not unique:
                        raise WorkspaceError(f"a {record.table[:-1]} named {record.name!r} already exists")
                    record.name = _free_name(record.name, taken)
            table.insert(record.to_dict())
        return record

    def update(self, record: R, **fields: Any) -> R:
        with self.locked():
            for k, v in fields.items():
                setattr(record, k, v)
            self._table(record.table).update(record.to_dict(), Query().id == record.id)
        return record

    def remove(self, record: Record) -> None:
        with self.locked():
            self._table(record.table).remove(Query().id == record.id)

    def all(self, cls: type[R]) -> list[R]:
        with self._thread_lock:
            return [cls.from_dict(d) for d in self._table(cls.table).all()]

    def find(self, cls: type[R], **match: Any) -> list[R]:
        return [r for r in self.all(cls) if all(getattr(r, k) == v for k, v in match.items())]

    def get(self, cls: type[R], key: str) -> R:
        """A record by id or by name, ids first; NotFound lists what exists."""
        records = self.all(cls)
        for r in records:
            if r.id == key:
                return r
        for r in records:
            if r.name == key:
                return r
        kind = cls.table[:-1]
        names = ", ".join(sorted(r.name for r in records)[:10]) or "none yet"
        listing = LIST_COMMANDS.get(cls.table)
        raise NotFound(f"no {kind} named or with id {key!r} (known: {names})" + (f"; see `{listing}`" if listing else ""))

    def maybe(self, cls: type[R], key: str) -> R | None:
        try:
            return self.get(cls, key)
        except NotFound:
            return None

    def unique_name(self, cls: type[Record], wanted: str) -> str:
        """A free name now (a suggestion: only ``add(unique=True)`` holds it)."""
        return _free_name(wanted, {r.name for r in self.all(cls)})


def _free_name(wanted: str, taken: set) -> str:
    if wanted not in taken:
        return wanted
    n = 2
    while f"{wanted}-{n}" in taken:
        n += 1
    return f"{wanted}-{n}"
