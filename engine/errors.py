"""owb's error hierarchy. Every error a user can cause is an OwbError whose
message is one line that says what went wrong and how to fix it; the CLI prints
it as ``error: <message>`` and exits 2, the TUI shows it as a notification."""


class OwbError(Exception):
    """A failure the user can act on; ``str(err)`` is the one-line message."""

    exit_code = 2


class BadInput(OwbError):
    """A model, dataset, archive, image or flag that owb cannot use."""


class NotFound(OwbError):
    """A name or id that matches nothing in the workspace."""


class WorkspaceError(OwbError):
    """The workspace itself is unusable (corrupt DB, newer schema, locked)."""


class Cancelled(OwbError):
    """A job was cancelled by the user."""

    exit_code = 130
