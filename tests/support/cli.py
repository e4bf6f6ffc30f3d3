"""Running `otpfob` in tests: one home for what every CLI test module needs
(the one runner, `Transcript`, which keeps all it printed; the one-sentence
error check; the token's state before and after; a person at a terminal)."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time

from click.testing import CliRunner

from otpfob import cli, paths
from otpfob.errors import EXIT_OK
from otpfob.session import Session
from otpfob.transport import SerialTransport

REPO = paths.REPO


class Transcript:
    """Runs otpfob, in-process (click's runner) or as a real process, and
    keeps every byte it printed in `text` (for the secret scan).

    ``port``: put `--port PORT` first on every command line; ``port_first``
    False leaves the placement to the test (`p()` puts it after the command,
    where people type it)."""

    def __init__(self, port: str | None, *, port_first: bool = True) -> None:
        self.port = port
        self.port_first = port_first
        self.text = ""

    def _args(self, args: tuple[str, ...], port: str | None = None) -> list[str]:
        port = port or self.port
        return ["--port", port, *args] if port and self.port_first else list(args)

    def __call__(self, *args: str, input: str | None = None, code: int | None = EXIT_OK, env=None):
        """The result of `otpfob ARGS`; its exit code must be ``code`` (None: any)."""
        r = CliRunner().invoke(cli.main, self._args(args), input=input, env=env)
        self.text += r.stdout + r.stderr
        assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
        if code is not None:
            assert r.exit_code == code, (args, r.exit_code, r.stdout, r.stderr)
        return r

    def p(self, *args: str, input: str | None = None, code: int | None = EXIT_OK, env=None):
        """With --port after the command (the placement people type)."""
        assert self.port is not None
        return self(*args, "--port", self.port, input=input, code=code, env=env)

    def proc(
        self,
        *args: str,
        input: str | None = None,
        port: str | None = None,
        env=None,
        code: int | None = None,
        timeout: float = 60,
    ):
        """`python -m otpfob ARGS` as a real process; its exit code must be ``code`` (None: any)."""
        p = subprocess.run(
            [sys.executable, "-m", "otpfob", *self._args(args, port)],
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=REPO,
            env=env,
        )
        self.text += p.stdout + p.stderr
        if code is not None:
            assert p.returncode == code, (args, p.returncode, p.stdout, p.stderr)
        return p


def run_at(port: str, *args: str, input: str | None = None, env=None) -> tuple[int, str, str]:
    """`otpfob --port PORT ARGS` in-process, any exit code: (exit code, stdout, stderr)."""
    r = Transcript(port)(*args, input=input, env=env, code=None)
    return r.exit_code, r.stdout, r.stderr


def wipe_holding_the_button(token) -> tuple[int, str, str]:
    """`otpfob wipe --factory --yes` with the token's button held down, as a person does it."""
    token.button_down()
    try:
        return run_at(token.port, "wipe", "--factory", "--yes")
    finally:
        token.button_up()


def one_sentence(text: str) -> str:
    """``text`` stripped, after checking it is one sentence (a question too) and no traceback."""
    text = text.strip()
    assert text, "no message"
    assert "Traceback" not in text and "\n" not in text, text
    assert text.endswith((".", "?")), text
    return text


def state(tok) -> tuple:
    """What the token holds, as seen over serial and on its flash."""
    with Session(SerialTransport(tok.port)) as s:
        accounts = s.list_accounts()
    store = tok.flash / "accounts.dat"
    return accounts, store.read_bytes() if store.exists() else None


def _spawn(args: list[str], **how) -> subprocess.Popen:
    """`python -m otpfob ARGS` started from the checkout, its streams as ``how`` says."""
    return subprocess.Popen([sys.executable, "-m", "otpfob", *args], cwd=REPO, **how)


def typed_at_terminal(args: list[str], typed: bytes, timeout: float = 60) -> tuple[int, str, str]:
    """Run otpfob with a terminal on its stdin (so it asks its questions) and
    ``typed`` already waiting there; (exit code, stdout, stderr)."""
    master, slave = pty.openpty()
    p = _spawn(args, stdin=slave, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    os.close(slave)
    os.write(master, typed)
    out, err = p.communicate(timeout=timeout)
    os.close(master)
    return p.returncode, out, err


def in_pty(args: list[str], answers: list[tuple[str, str]], env=None, timeout: float = 60) -> tuple[int, str]:
    """Run otpfob on a pty (a person at a terminal), typing each answer when
    its prompt shows; (exit code, everything shown)."""
    master, slave = pty.openpty()
    proc = _spawn(args, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True)
    os.close(slave)
    seen = ""
    pending = list(answers)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if pending and pending[0][0] in seen:
                os.write(master, pending.pop(0)[1].encode())
            if select.select([master], [], [], 0.1)[0]:
                try:
                    chunk = os.read(master, 4096)
                except OSError:  # the other end closed: the process is done
                    break
                if not chunk:
                    break
                seen += chunk.decode(errors="replace")
            elif proc.poll() is not None:
                break
        return proc.wait(timeout=10), seen.replace("\r\n", "\n")
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)


def code_by_label(session: Session, label: str, *, touch: bool = False):
    """The code of the one account labelled ``label``, whatever its issuer
    (the token names an account by issuer and label: protocol 2)."""
    (acct,) = [a for a in session.list_accounts() if a.label == label]
    return session.code(acct.label, acct.issuer, touch=touch)
