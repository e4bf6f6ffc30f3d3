"""The CLI's failure contract: one sentence on stderr, exit 1, no traceback,
and nothing sent to the token when the input is bad.

Input errors are checked against a fake token on a pty (it records every
request) and through a real `otpfob` subprocess; the firmware-backed
end-to-end cases are in tests/emu/test_cli_e2e.py.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
import serial
from click.testing import CliRunner

from otpfob import cli, paths
from otpfob.errors import EXIT_NO_TOKEN
from otpfob.session import Session
from support.cli import one_sentence
from support.fake_token import FakeToken

OTPFOB = [sys.executable, "-m", "otpfob"]
SECRET = "JBSWY3DPEHPK3PXP"


def run(*args: str, port: str | None = None, stdin: str | None = None) -> subprocess.CompletedProcess:
    cmd = list(OTPFOB) + (["--port", port] if port else []) + list(args)
    return subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=30, cwd=paths.REPO)


BAD_INPUT = [
    (["provision", "--secret", "JBSWY3DPEHPK3PX1", "--label", "a"], "Base32"),
    (["provision", "--secret", "JBSW!3DPEHPK3PXP", "--label", "a"], "Base32"),
    (["provision", "--secret", "JBSWY3", "--label", "a"], "Base32"),
    (["provision", "--secret", "   ", "--label", "a"], "empty"),
    (["provision", "--secret", "", "--label", "a"], "empty"),
    (["provision", "--secret", SECRET], "label"),
    (["provision", "--secret", SECRET, "--label", "x" * 40], "label"),
    (["provision", "--secret", SECRET, "--label", "a", "--digits", "5"], "digits"),
    (["provision", "--secret", SECRET, "--label", "a", "--period", "0"], "period"),
    (["provision", "--secret", SECRET, "--label", "a", "--algorithm", "md5"], "algorithm"),
    (["provision", "--secret", SECRET, "--label", "a", "--counter", "3"], "hotp"),
    (["provision", "--secret", SECRET, "--uri", f"otpauth://totp/a?secret={SECRET}"], "not both"),
    (["provision", "--uri", f"https://totp/a?secret={SECRET}"], "otpauth"),
    (["provision", "--uri", "otpauth://totp/a?issuer=x"], "secret"),
    (["provision", "--uri", f"otpauth://hotp/a?secret={SECRET}"], "counter"),
    (["provision", "--uri", f"otpauth://totp/a?secret={SECRET}&digits=x"], "digits"),
    (["provision", "--uri", f"otpauth://totp/a?secret={SECRET}&algorithm=SHA3"], "algorithm"),
    (["rename", "a", "y" * 40], "label"),
]


@pytest.mark.parametrize("args, words", BAD_INPUT)
def test_bad_input_is_refused_before_the_token_sees_anything(args, words):
    with FakeToken() as fake:
        result = CliRunner().invoke(cli.main, ["--port", fake.port, *args])
        assert result.exit_code == 1
        msg = one_sentence(result.output)
        assert words in msg
        assert SECRET not in msg and "JBSWY3DPEHPK3PX1" not in msg
        assert fake.requests == []  # the port was never used


def test_bad_secret_through_a_real_process_has_no_traceback():
    with FakeToken() as fake:
        p = run("provision", "--secret", "-", "--label", "a", port=fake.port, stdin="JBSWY3DPEHPK3PX1\n")
        assert p.returncode == 1 and p.stdout == ""
        assert "Base32" in one_sentence(p.stderr)
        assert "JBSWY3DPEHPK3PX1" not in p.stderr
        assert fake.requests == []


def test_piped_secret_without_terminal_is_not_echoed():
    # No terminal: the piped line is read as the secret, with no prompt (and no getpass warning).
    long_secret = SECRET * 2
    with FakeToken() as fake:
        result = CliRunner().invoke(
            cli.main, ["--port", fake.port, "provision", "--label", "a"], input=long_secret + "\n"
        )
        assert result.exit_code == 0, result.output
        assert long_secret not in result.output and SECRET not in result.output
        assert "Warning" not in result.output


def test_missing_port_subprocess():
    p = run("list", port="/dev/otpfob-no-such-port")
    assert p.returncode == 1
    assert "/dev/otpfob-no-such-port" in one_sentence(p.stderr)


def test_busy_port_subprocess():
    with FakeToken() as fake:
        holder = serial.Serial(fake.port, exclusive=True)
        try:
            p = run("list", port=fake.port)
        finally:
            holder.close()
        assert p.returncode == 1
        msg = one_sentence(p.stderr)
        assert "busy" in msg and fake.port in msg
        assert fake.requests == []


@pytest.mark.parametrize("mode", ["garbage", "silent"])
def test_not_otpfob_subprocess(mode):
    with FakeToken(mode=mode) as fake:
        p = run("info", port=fake.port)
        assert p.returncode == 1
        msg = one_sentence(p.stderr)
        assert fake.port in msg and "otpfob deploy" in msg


@pytest.mark.parametrize(
    "args", [["info"], ["list"], ["code", "x"], ["provision", "--secret", SECRET * 2, "--label", "a"]]
)
def test_older_firmware_says_deploy(args):
    # A token still on protocol-1 firmware answers bad_version in its own v.
    with FakeToken(mode="v1") as fake:
        p = run(*args, port=fake.port)
        assert p.returncode == 1
        msg = one_sentence(p.stderr)
        assert "older otpfob firmware" in msg and "`otpfob deploy`" in msg and fake.port in msg
        assert all("key" not in r and "secret" not in r for r in fake.requests)  # no key went to it


def test_device_vanishing_subprocess():
    with FakeToken(mode="vanish") as fake:
        p = run("list", port=fake.port)
        assert p.returncode == 1
        assert "went away" in one_sentence(p.stderr)


def test_usage_errors_look_like_click():
    p = run("provision", "--no-such-option")
    assert p.returncode == 2
    assert "No such option" in p.stderr and "Traceback" not in p.stderr
    p = run("frobnicate")
    assert p.returncode == 2 and "No such command" in p.stderr


def test_keyboard_interrupt_and_bugs_are_one_line(monkeypatch):
    def interrupted(self):
        raise KeyboardInterrupt

    def buggy(self):
        raise RuntimeError(SECRET)  # a bug whose message happens to hold input

    with FakeToken() as fake:
        monkeypatch.setattr(Session, "list_accounts", interrupted)
        r = CliRunner().invoke(cli.main, ["--port", fake.port, "list"])
        assert r.exit_code == 1 and r.output.strip() == "Aborted."
        monkeypatch.setattr(Session, "list_accounts", buggy)
        r = CliRunner().invoke(cli.main, ["--port", fake.port, "list"])
        assert r.exit_code == 1
        assert SECRET not in one_sentence(r.output)


def test_help_has_examples_for_every_command():
    for name in cli.main.commands:
        if name == "sim":
            continue  # the emulator's command documents itself
        r = CliRunner().invoke(cli.main, [name, "--help"])
        assert r.exit_code == 0
        assert "Example" in r.output, name


def test_deploy_unknown_board_and_sim():
    r = CliRunner().invoke(cli.main, ["deploy", "--board", "arduino"])
    assert r.exit_code == 1 and "Unknown board" in one_sentence(r.output)
    r = CliRunner().invoke(cli.main, ["deploy", "--board", "sim"])
    assert r.exit_code == 1 and "otpfob sim" in one_sentence(r.output)


def test_port_from_environment_and_discovery(monkeypatch):
    from otpfob import discover

    with FakeToken() as fake:
        r = CliRunner().invoke(cli.main, ["info"], env={"OTPFOB_PORT": fake.port})
        assert r.exit_code == 0 and fake.port in r.output
    # With no token on USB (whatever this machine has plugged in), the
    # command asks for --port.
    monkeypatch.setattr(discover.list_ports, "comports", lambda: [])
    r = CliRunner().invoke(cli.main, ["list"], env={"OTPFOB_PORT": None})
    assert r.exit_code == EXIT_NO_TOKEN and "--port" in one_sentence(r.output)
