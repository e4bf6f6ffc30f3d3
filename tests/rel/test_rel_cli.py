"""Every `otpfob` command against a token that answers garbage, answers
slowly, stays silent, or goes away (before or in the middle of a command):
one sentence on stderr, exit 1, no traceback, no secret printed.

(tests/unit/test_cli_errors.py covers `info` against garbage/silence and `list`
against a vanishing device as real processes; this file runs the whole
command set, with failures after 0, 1 and 2 good replies, in-process with a
short reply timeout so the matrix stays fast, plus real processes for a
slow token and for the emulated token losing its power mid-command.)
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest
from click.testing import CliRunner

from conftest import record_cases
from otpfob import cli, paths, session
from otpfob.cli import context as cli_context
from otpfob.emu.testing import ProtocolClient, random_secret
from otpfob.transport import SerialTransport
from support.cli import one_sentence
from support.fake_token import FakeToken

pytestmark = pytest.mark.emu

REPO = paths.REPO
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
TIMEOUT = 0.15  # the in-process reply timeout (the CLI's own is 3 s)

COMMANDS = [
    ["info"],
    ["list"],
    ["code", "a"],
    ["delete", "a", "--yes"],
    ["rename", "a", "b"],
    ["time"],
    ["time", "--set", "--force"],
    ["wipe", "--yes"],
    ["provision", "--secret", SECRET, "--label", "a"],
    ["verify", "--label", "a", "--secret", SECRET],
    ["access", "clear"],
    ["access", "set", "--password-stdin"],
]


class Flaky(FakeToken):
    """Answers `good` requests properly, then switches to `mode`."""

    def __init__(self, mode: str, good: int = 0, delay: float = 0.0) -> None:
        super().__init__(mode="ok")
        self.after = mode
        self.good = good
        self.slow = delay
        self.seen = 0
        self.store.add("a", "", bytes(20))

    def _handle(self, line: bytes) -> None:
        self.seen += 1
        if self.seen > self.good:
            self.mode = self.after
            self.delay = self.slow
        super()._handle(line)


@pytest.fixture
def quick(monkeypatch):
    monkeypatch.setattr(cli_context, "SerialTransport", lambda port: SerialTransport(port, timeout=TIMEOUT))
    monkeypatch.setattr(session, "CODE_TIMEOUT", TIMEOUT)


@pytest.mark.parametrize("mode", ["garbage", "silent", "slow", "vanish"])
def test_every_command_fails_in_one_sentence(quick, mode):
    runs = 0
    # Failing after 0 good replies must fail; after 1 or 2 the command may
    # have finished (a short one), or must fail in one sentence.
    for good in (0, 1, 2) if mode == "vanish" else (0, 1):
        for args in COMMANDS:
            if mode == "slow":
                fake = Flaky("ok", good, delay=TIMEOUT * 2)
            else:
                fake = Flaky(mode, good)
            with fake:
                r = CliRunner().invoke(cli.main, ["--port", fake.port, *args], input="pw-1234-abcd\n")
            runs += 1
            assert r.exception is None or isinstance(r.exception, SystemExit), (args, repr(r.exception))
            assert SECRET not in r.stdout + r.stderr
            if good == 0:
                assert r.exit_code == 1, (args, r.stdout, r.stderr)
            if r.exit_code != 0:
                assert r.exit_code == 1, (args, r.exit_code)
                msg = one_sentence(r.stderr)
                if good == 0:
                    assert fake.port in msg, (args, msg)  # names the port it gave up on
    record_cases("cli-faults", runs)


def _proc(*args: str, port: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "otpfob", "--port", port, *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )


def test_slow_token_real_process():
    """Slower than the CLI waits (3 s): one sentence; slow but in time: works."""
    with Flaky("ok", 0, delay=3.2) as fake:
        p = _proc("list", port=fake.port)
        assert p.returncode == 1 and "otpfob deploy" in one_sentence(p.stderr)
    with Flaky("ok", 0, delay=0.3) as fake:
        p = _proc("list", port=fake.port)
        assert p.returncode == 0 and p.stdout.splitlines()[1].split()[0] == "a", p.stderr


def test_device_vanishing_mid_provision_real_process():
    with Flaky("vanish", 2) as fake:  # info and add answered, gone before the check
        p = _proc("provision", "--secret", SECRET, "--label", "n", port=fake.port)
    assert p.returncode == 1, p.stdout
    assert "went away" in one_sentence(p.stderr) and SECRET not in p.stdout + p.stderr


@pytest.mark.parametrize("args", [["provision", "--secret", "-", "--label", "cut"], ["list"]])
def test_emulated_token_losing_power_mid_command(make_token, args):
    tok = make_token(rtc_set=True, board_overrides={"SIM_FLASH_WRITE_MS": 5})
    with ProtocolClient(tok.port) as c:
        for i in range(3):
            c.call("add", label=f"x{i}", secret=random_secret())
    secret = random_secret()
    # Pull the power once the command has sent its first request.
    mark = len(tok.serial_log)

    def cut():
        deadline = time.monotonic() + 10
        while len(tok.serial_log) == mark and time.monotonic() < deadline:
            time.sleep(0.002)
        tok.power_cut()

    t = threading.Thread(target=cut)
    t.start()
    p = _proc(*args, port=tok.port, stdin=secret + "\n")
    t.join()
    assert p.returncode == 1, p.stdout
    assert tok.port in one_sentence(p.stderr)
    assert secret not in p.stdout + p.stderr
