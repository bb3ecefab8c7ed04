"""The SSH transport: the system OpenSSH client, driven non-interactively.

Why OpenSSH and not a Python SSH library: it already honours the user's
~/.ssh/config (aliases, ProxyJump, IdentityFile), the agent and hardware
keys, and its ControlMaster keeps one authenticated connection that every
later command of the same target reuses. owb never sees a password or key.

Every remote command is an argv list joined with shlex, so names and paths
reach the remote shell as single literal words ("$(rm -rf ~)" stays a name).
Host keys are checked strictly against known_hosts; an unknown host is
refused with its fingerprint and the one command that accepts it."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import subprocess
import tempfile
from pathlib import Path
from typing import IO, Any, Sequence

from ..errors import BadInput, OwbError

# user@host[:port], a bare host, or an ssh_config alias; never an option ("-oProxyCommand=…").
DEST_RE = re.compile(r"^(?:(?P<user>[A-Za-z0-9._-]+)@)?(?P<host>[A-Za-z0-9][A-Za-z0-9._-]*|\[[0-9A-Fa-f:.]+\])"
                     r"(?::(?P<port>[0-9]{1,5}))?$")
CONNECT_TIMEOUT_S = 10
SOCKET_PATH_MAX = 100  # sun_path is 108 bytes on Linux, 104 on macOS


class TargetUnreachable(OwbError):
    """The SSH connection failed or dropped; a retry may work."""

    exit_code = 1


class RemoteFailed(OwbError):
    """A command on the target ran and failed."""

    exit_code = 1


def parse_dest(dest: str) -> tuple[str, int | None]:
    """(ssh destination, port or None); BadInput for anything else."""
    m = DEST_RE.match(dest or "")
    if not m:
        raise BadInput(f"target destination {dest!r} is not user@host[:port] or a Host alias of ~/.ssh/config")
    port = int(m["port"]) if m["port"] else None
    if port is not None and not 0 < port < 65536:
        raise BadInput(f"port {port} in {dest!r} is not between 1 and 65535")
    host = m["host"]
    return (f"{m['user']}@{host}" if m["user"] else host), port


def owb_known_hosts(home: Path) -> Path:
    """Host keys the user accepted through `owb target trust`, kept in the workspace."""
    return home / "targets" / "known_hosts"


def user_known_hosts() -> str:
    # OWB_SSH_KNOWN_HOSTS lets tests (and users with unusual layouts) keep ~/.ssh untouched.
    return os.environ.get("OWB_SSH_KNOWN_HOSTS", "~/.ssh/known_hosts")


def control_dir(home: Path) -> Path:
    """A folder for ControlMaster sockets inside the workspace; when the
    workspace path is too long for a unix socket, a short symlink to it."""
    real = home / "targets" / "ssh"
    real.mkdir(parents=True, exist_ok=True, mode=0o700)
    if len(str(real)) + 18 <= SOCKET_PATH_MAX:
        return real
    tag = hashlib.sha256(str(real).encode()).hexdigest()[:10]
    link = Path(tempfile.gettempdir()) / f"owb-{os.getuid()}-{tag}"
    try:
        if not link.is_symlink():
            link.symlink_to(real)
        elif os.readlink(link) != str(real):
            raise OwbError(f"{link} points elsewhere; remove it so owb can keep its SSH sockets there")
    except FileExistsError:
        pass
    return link


class Ssh:
    """One target's SSH connection settings; every call reuses the master."""

    def __init__(self, home: Path, name: str, dest: str) -> None:
        self.name = name
        self.dest, self.port = parse_dest(dest)
        self.home = home
        known = owb_known_hosts(home)
        known.parent.mkdir(parents=True, exist_ok=True)
        known.touch(exist_ok=True)
        control = control_dir(home) / hashlib.sha256(f"{dest}".encode()).hexdigest()[:12]
        self.options = [
            "-o", "BatchMode=yes",                # never prompt: no passwords, no yes/no
            "-o", "StrictHostKeyChecking=yes",    # an unknown or changed host key is refused
            "-o", "UpdateHostKeys=no",
            "-o", f'UserKnownHostsFile="{known}" "{user_known_hosts()}"',
            "-o", "ControlMaster=auto",
            "-o", f"ControlPath={control}",
            "-o", "ControlPersist=60",
            "-o", f"ConnectTimeout={CONNECT_TIMEOUT_S}",
            "-o", "ServerAliveInterval=5",
            "-o", "ServerAliveCountMax=3",
        ]
        config = os.environ.get("OWB_SSH_CONFIG")
        if config:
            self.options = ["-F", config, *self.options]
        if self.port:
            self.options += ["-p", str(self.port)]

    def argv(self, command: str) -> list[str]:
        return ["ssh", *self.options, "--", self.dest, command]

    def run(self, command: str, *, input: bytes | None = None, stdin: IO | None = None,
            stdout: IO | None = None, timeout: float | None = 600) -> bytes:
        """Run one remote shell command; its stdout (unless sent to ``stdout``).
        Connection failures raise TargetUnreachable or, for host keys, BadInput."""
        try:
            proc = subprocess.run(self.argv(command), input=input, stdin=stdin if input is None else None,
                                  stdout=stdout or subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise TargetUnreachable(f"target {self.name!r} did not answer within {timeout:g} s") from None
        except FileNotFoundError:
            raise BadInput("the OpenSSH client `ssh` is not installed; owb reaches targets through it") from None
        if proc.returncode != 0:
            self.fail(proc.returncode, proc.stderr.decode(errors="replace"), command)
        return proc.stdout if stdout is None else b""

    def popen(self, command: str) -> subprocess.Popen:
        return subprocess.Popen(self.argv(command), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)

    def fail(self, code: int, stderr: str, command: str = "") -> None:
        """Raise the error that says what went wrong, in owb's words."""
        lines = [ln for ln in stderr.strip().splitlines() if ln.strip()]
        last = lines[-1] if lines else f"exit code {code}"
        if "REMOTE HOST IDENTIFICATION HAS CHANGED" in stderr:
            raise BadInput(f"target {self.name!r}: the host key of {self.dest} CHANGED since it was accepted; "
                           "owb refuses to connect (it may be an attack, or the machine was reinstalled); "
                           "check with the machine's owner, then remove the old key with ssh-keygen -R")
        if "Host key verification failed" in stderr or "host key is known" in stderr:
            raise BadInput(self.unknown_host_message())
        if code == 255:
            raise TargetUnreachable(f"cannot reach target {self.name!r} ({self.dest}): {last}")
        raise RemoteFailed(f"on target {self.name!r}: {last}")

    def resolved(self) -> tuple[str, int]:
        """(hostname, port) after ~/.ssh/config, as `ssh -G` resolves them."""
        out = subprocess.run(["ssh", *self.options, "-G", "--", self.dest], capture_output=True, text=True,
                             timeout=30).stdout
        conf = dict(line.split(" ", 1) for line in out.splitlines() if " " in line)
        return conf.get("hostname", self.dest.split("@")[-1]), int(conf.get("port", "22"))

    def scan(self) -> list[tuple[str, str]]:
        """(fingerprint, known_hosts line) for each key the host offers now."""
        host, port = self.resolved()
        try:
            keys = subprocess.run(["ssh-keyscan", "-T", "5", "-p", str(port), "--", host],
                                  capture_output=True, text=True, timeout=30).stdout
        except (FileNotFoundError, subprocess.TimeoutExpired):
            return []
        out = []
        for line in keys.splitlines():
            if not line.strip() or line.startswith("#"):
                continue
            fp = subprocess.run(["ssh-keygen", "-lf", "-"], input=line + "\n", capture_output=True, text=True,
                                timeout=30).stdout.split()
            if len(fp) >= 2:
                out.append((f"{fp[-1].strip('()')} {fp[1]}", line))
        return out

    def unknown_host_message(self) -> str:
        host, port = self.resolved()
        found = self.scan()
        if not found:
            return (f"target {self.name!r}: the host key of {host} port {port} is not known and the host "
                    "did not offer one to ssh-keyscan; add its key to ~/.ssh/known_hosts yourself")
        fps = ", ".join(fp for fp, _ in found)
        first = found[0][0].split()[1]
        return (f"target {self.name!r}: host {host} port {port} is not in known_hosts, so owb refuses to "
                f"connect. It offers: {fps}. Compare with the server's own (`ssh-keygen -lf "
                f"/etc/ssh/ssh_host_*_key.pub` there), then accept it with: "
                f"owb target trust {shlex.quote(self.name)} --fingerprint {first}")

    def trust(self, fingerprint: str) -> str:
        """Add the host key with this fingerprint to owb's known_hosts."""
        for fp, line in self.scan():
            if fp.split()[1] == fingerprint:
                path = owb_known_hosts(self.home)
                with open(path, "a", encoding="utf-8") as f:
                    f.write(line.rstrip("\n") + "\n")
                return fp
        raise BadInput(f"target {self.name!r} offers no host key with fingerprint {fingerprint}; "
                       "owb accepts only the exact fingerprint it showed")

    def close(self) -> None:
        """Stop the ControlMaster, if one runs."""
        subprocess.run(["ssh", *self.options, "-O", "exit", "--", self.dest], capture_output=True, timeout=30)


def join(*commands: Sequence[str]) -> str:
    """Remote shell text running each argv in turn while they succeed."""
    return " && ".join(shlex.join(list(c)) for c in commands)


def in_root(root: str, *commands: Sequence[str]) -> str:
    """Commands run inside owb's folder on the target, created private on first use."""
    return "umask 077 && " + join(["mkdir", "-p", "--", root], ["cd", "--", root], *commands)


def answer(out: bytes) -> str:
    """A one-line answer of a remote command: its last line. The target user's
    shell start-up files run before owb's command and may print first."""
    lines = out.decode(errors="replace").strip().splitlines()
    return lines[-1].strip() if lines else ""


def answer_json(out: bytes) -> Any:
    try:
        return json.loads(answer(out))
    except ValueError:
        raise RemoteFailed(f"the target answered {answer(out)[:200]!r} where owb expected JSON") from None
