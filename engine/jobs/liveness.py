"""Is the process that owns a job still the one that started it?

A pid alone lies twice: pids are reused, and in a PID namespace (a container)
the recorded pid is often 1, which always exists outside it. A job therefore
records a process token, "boot id/pid/start time": the kernel's boot id, the
pid, and the process's start time in clock ticks since boot (field 22 of
/proc/PID/stat). The token is alive only while the same boot runs a process
with that pid and that start time that is not a zombie."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from ..workspace import pid_alive


@lru_cache(maxsize=1)
def boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (which may hold
    spaces and parentheses, so the split starts at the last ')')."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rfind(")") + 2:].split()


def start_time(pid: int) -> str:
    fields = _stat(pid)
    return fields[19] if fields and len(fields) > 19 else ""  # field 22 overall; 20th after the name


def process_token(pid: int | None = None) -> str:
    pid = os.getpid() if pid is None else pid
    return f"{boot_id()}/{pid}/{start_time(pid)}"


def token_alive(token: str) -> bool:
    try:
        boot, pid_text, started = token.split("/")
        pid = int(pid_text)
    except ValueError:
        return False
    if boot and boot_id() and boot != boot_id():
        return False  # the machine rebooted since
    if not started or not Path("/proc/self/stat").exists():
        return pid_alive(pid)  # no /proc here (or none then): the pid is all there is
    fields = _stat(pid)
    if fields is None:
        return False
    return fields[19] == started and fields[0] not in ("Z", "X")
