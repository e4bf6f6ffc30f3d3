"""Running `otpfob` in tests: one home for what every CLI test module needs
(a transcript of all it printed, the one-sentence error check, and the
token's state before and after)."""

from __future__ import annotations

import os
import pty
import subprocess
import sys

from click.testing import CliRunner

from otpfob import cli, paths
from otpfob.session import Session
from otpfob.transport import SerialTransport

REPO = paths.REPO


class Transcript:
    """Runs otpfob and keeps every byte it printed (for the secret scan)."""

    def __init__(self, port: str) -> None:
        self.port = port
        self.text = ""

    def __call__(self, *args: str, input: str | None = None, ok: bool = True):
        r = CliRunner().invoke(cli.main, ["--port", self.port, *args], input=input)
        self.text += r.stdout + r.stderr
        if ok:
            assert r.exit_code == 0, (args, r.stdout, r.stderr)
        return r

    def proc(self, *args: str, input: str | None = None, port: str | None = None):
        p = subprocess.run(
            [sys.executable, "-m", "otpfob.cli", "--port", port or self.port, *args],
            input=input,
            capture_output=True,
            text=True,
            timeout=60,
            cwd=REPO,
        )
        self.text += p.stdout + p.stderr
        return p


def one_sentence(text: str) -> str:
    text = text.strip()
    assert text and "Traceback" not in text and "\n" not in text, text
    assert text.endswith("."), text
    return text


def state(tok) -> tuple:
    """What the token holds, as seen over serial and on its flash."""
    with Session(SerialTransport(tok.port)) as s:
        accounts = s.list_accounts()
    store = tok.flash / "accounts.dat"
    return accounts, store.read_bytes() if store.exists() else None


def typed_at_terminal(args: list[str], typed: bytes, timeout: float = 60) -> tuple[int, str, str]:
    """Run otpfob with a terminal on its stdin (so it asks its questions) and
    ``typed`` already waiting there; (exit code, stdout, stderr)."""
    master, slave = pty.openpty()
    p = subprocess.Popen(
        [sys.executable, "-m", "otpfob.cli", *args],
        stdin=slave,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPO,
        text=True,
    )
    os.close(slave)
    os.write(master, typed)
    out, err = p.communicate(timeout=timeout)
    os.close(master)
    return p.returncode, out, err
