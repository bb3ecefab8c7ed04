"""A throwaway OpenSSH server on 127.0.0.1 for the remote-target tests.

Its host key, authorized_keys, the client's key, ssh_config and known_hosts
all live in a temporary folder, and owb is pointed at them through
OWB_SSH_CONFIG / OWB_SSH_KNOWN_HOSTS: the real ~/.ssh is never read or written."""

from __future__ import annotations

import getpass
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

SSHD = shutil.which("sshd") or "/usr/sbin/sshd"


def available() -> bool:
    return Path(SSHD).exists() and shutil.which("ssh") is not None and shutil.which("ssh-keygen") is not None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def children(pid: int) -> list[int]:
    """Every descendant of ``pid``, from /proc."""
    parent: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
                parent[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                pass
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        kids = [c for c, pp in parent.items() if pp == p]
        out += kids
        todo += kids
    return out


class SshServer:
    def __init__(self, tmp: Path, alias: str = "edge-alias") -> None:
        self.dir = tmp
        self.alias = alias
        self.user = getpass.getuser()
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        tmp.mkdir(parents=True, exist_ok=True)
        os.chmod(tmp, 0o700)
        for name in ("host_ed25519", "id_ed25519"):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp / name)], check=True)
        shutil.copy(tmp / "id_ed25519.pub", tmp / "authorized_keys")
        (tmp / "sshd_config").write_text(
            f"Port {self.port}\nListenAddress 127.0.0.1\nHostKey {tmp / 'host_ed25519'}\n"
            f"AuthorizedKeysFile {tmp / 'authorized_keys'}\nPidFile {tmp / 'sshd.pid'}\n"
            "PasswordAuthentication no\nKbdInteractiveAuthentication no\nPubkeyAuthentication yes\n"
            f"PermitRootLogin prohibit-password\nUsePAM no\nStrictModes no\nAllowUsers {self.user}\n"
            "MaxSessions 50\nMaxStartups 50\nLogLevel ERROR\n")
        self.config = tmp / "ssh_config"
        self.config.write_text(
            f"Host {alias}\n  HostName 127.0.0.1\n  Port {self.port}\n"
            f"Host *\n  User {self.user}\n  IdentityFile {tmp / 'id_ed25519'}\n  IdentitiesOnly yes\n"
            "  IdentityAgent none\n")
        self.known_hosts = tmp / "known_hosts"
        self.known_hosts.touch()
        self.env = {"OWB_SSH_CONFIG": str(self.config), "OWB_SSH_KNOWN_HOSTS": str(self.known_hosts)}
        Path("/run/sshd").mkdir(exist_ok=True)  # sshd's privilege-separation dir

    def start(self) -> None:
        self.proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(self.dir / "sshd_config")],
                                     stdout=subprocess.DEVNULL, stderr=open(self.dir / "sshd.log", "ab"))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError((self.dir / "sshd.log").read_text())
                time.sleep(0.1)
        raise RuntimeError("sshd did not start")

    def kill(self) -> None:
        """The server and every session it serves die at once, as on a crash."""
        if self.proc is None:
            return
        for pid in [*children(self.proc.pid), self.proc.pid]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait()
        self.proc = None
