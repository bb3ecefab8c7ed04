"""What owb reads back from a target survives the target user's shell
start-up files printing first (a banner, `conda activate` chatter), and a
cancel is passed on while the job on the target sends no progress.

sshd runs every command through the user's login shell, which may print
before owb's command runs; the real-sshd tests are in test_targets.py."""

from __future__ import annotations

import io
import json
import logging
import threading

import pytest

from engine.errors import Cancelled
from engine.targets.remote import follow
from engine.targets.transport import RemoteFailed, answer, answer_json

BANNER = b"Welcome to edge-01!\n\n  conda: base activated\n"


def test_one_line_answers_are_read_after_what_start_up_files_print():
    assert answer(BANNER + b"present\n") == "present"
    assert answer_json(BANNER + b'{"version": "3.11.7", "ok": true}\n') == {"version": "3.11.7", "ok": True}
    assert answer(b"") == ""
    with pytest.raises(RemoteFailed, match="expected JSON"):
        answer_json(BANNER)


class FollowProcess:
    """What `ssh … worker follow` prints: start-up noise, then JSON lines."""

    def __init__(self, lines: list[bytes], hold: threading.Event | None = None) -> None:
        self.hold = hold
        self.stdout = self._lines(lines)
        self.stderr = io.BytesIO()

    def _lines(self, lines: list[bytes]):
        for line in lines:
            if line is HOLD:
                self.hold.wait(10)  # a long benchmark run: no event until the target hears the cancel
                continue
            yield line

    def wait(self) -> int:
        return 0


HOLD = b"<hold>"


class FakeTarget:
    name, root, prepared = "edge", "/srv/owb", {"python": "/usr/bin/python3", "code": "0" * 64}


class Ctx:
    def __init__(self) -> None:
        self.cancel = threading.Event()
        self.log = logging.getLogger("test")
        self.stages: list[tuple[str, int, int | None]] = []

    def progress(self, stage: str, step: int = 0, total: int | None = None) -> None:
        self.stages.append((stage, step, total))
        if self.cancel.is_set():
            raise Cancelled("cancelled by the user")


class FakeSsh:
    """Records the commands sent; `cancel` releases the held follow stream."""

    def __init__(self, lines: list[bytes]) -> None:
        self.sent: list[str] = []
        self.released = threading.Event()
        self.lines = lines

    def popen(self, command: str) -> FollowProcess:
        return FollowProcess(self.lines, self.released)

    def run(self, command: str, **kw) -> bytes:
        self.sent.append(command)
        if " cancel " in f" {command} ":
            self.released.set()
        return b""


def event(stage: str, step: int, total: int) -> bytes:
    return json.dumps({"stage": stage, "step": step, "total": total}).encode() + b"\n"


def test_follow_skips_start_up_noise_and_returns_the_final_record():
    final = {"state": "done", "result": {"output": {}}}
    ssh = FakeSsh([BANNER, event("benchmark (ms)", 1, 3), event("benchmark (ms)", 3, 3),
                   json.dumps({"final": final}).encode() + b"\n"])
    ctx = Ctx()
    assert follow(ctx, ssh, FakeTarget(), "j1") == final
    assert ctx.stages == [("benchmark (ms)", 1, 3), ("benchmark (ms)", 3, 3)]
    assert ssh.sent == []


def test_a_cancel_reaches_the_target_while_it_sends_no_progress():
    final = {"state": "cancelled", "error": "cancelled by the user"}
    ssh = FakeSsh([event("benchmark (ms)", 1, 100), HOLD, json.dumps({"final": final}).encode() + b"\n"])
    ctx = Ctx()
    threading.Timer(0.3, ctx.cancel.set).start()
    assert follow(ctx, ssh, FakeTarget(), "j2") == final
    assert ssh.released.is_set(), "the stream was held until the target heard the cancel"
    assert len(ssh.sent) == 1 and "cancel" in ssh.sent[0] and "j2" in ssh.sent[0]
