"""owb's error hierarchy. Every error a user can cause is an OwbError whose
message is one line that says what went wrong and how to fix it; the CLI prints
it as ``error: <message>`` and exits 2, the TUI shows it as a notification."""


class OwbError(Exception):
    """A failure the user can act on; ``str(err)`` is the one-line message.

    ``tui`` is the same message for the terminal UI where the CLI's names a
    flag: a form has fields, not flags."""

    exit_code = 2

    def __init__(self, message: str = "", *, tui: str | None = None) -> None:
        super().__init__(message)
        self.tui = tui

    def __reduce__(self):  # errors cross process boundaries (jobs) with their attributes
        return _rebuild, (type(self), str(self), self.__dict__)


def _rebuild(cls: type, message: str, state: dict) -> "OwbError":
    err = Exception.__new__(cls)
    Exception.__init__(err, message)
    err.__dict__.update(state)
    return err


class BadInput(OwbError):
    """A model, dataset, archive, image or flag that owb cannot use."""


class AmbiguousFormat(BadInput):
    """A dataset folder that fits several formats; ``candidates`` lists them
    so a form can offer exactly those."""

    def __init__(self, message: str, candidates: list[str], *, tui: str | None = None) -> None:
        super().__init__(message, tui=tui)
        self.candidates = candidates


class NotFound(OwbError):
    """A name or id that matches nothing in the workspace."""


class WorkspaceError(OwbError):
    """The workspace itself is unusable (corrupt DB, newer schema, locked)."""


class Cancelled(OwbError):
    """A job was cancelled by the user."""

    exit_code = 130


# The machine, not owb: a full disk, a read-only or unwritable folder, a file
# where a folder belongs. Said in one line with the path, exit 2.
_ENVIRONMENT_ERRNOS = ("ENOSPC", "EDQUOT", "EFBIG", "EROFS", "EACCES", "EPERM", "EISDIR", "ENOTDIR",
                       "ENAMETOOLONG", "ELOOP", "EMFILE", "ENFILE", "EEXIST", "ENOTEMPTY", "EXDEV")


def environment_error(exc: BaseException) -> OwbError | None:
    """An OwbError for an OSError the user's machine caused, or None (a bug)."""
    import errno
    import os

    if isinstance(exc, RecursionError):
        return BadInput("a folder is nested too deeply to read (over Python's recursion limit); flatten it")
    if not isinstance(exc, OSError) or exc.errno is None:
        return None
    name = errno.errorcode.get(exc.errno, "")
    if name not in _ENVIRONMENT_ERRNOS:
        return None
    where = f" ({exc.filename})" if exc.filename else ""
    hint = {"ENOSPC": "; free some space and run it again", "EDQUOT": "; free some space and run it again",
            "EFBIG": "; free some space or raise the file size limit", "EROFS": "; use a writable workspace (--home)",
            "EACCES": "; check the folder's permissions", "EPERM": "; check the folder's permissions"}.get(name, "")
    return WorkspaceError(f"{exc.strerror or os.strerror(exc.errno)}{where}{hint}")
