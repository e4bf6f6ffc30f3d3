"""`otpfob` with an access password, end to end on the emulated token.

Needs the CLI package wired to cli/access.py (main.add_command(access_group), the
--password option, unlock before gated commands, `wipe --factory`); until
the lead has done that, this module is skipped with that reason.
"""

from __future__ import annotations

import base64
import time

import pyotp
import pytest

from otpfob.session import Session
from otpfob.transport import SerialTransport
from support.cli import run_at, wipe_holding_the_button

pytestmark = [pytest.mark.emu, pytest.mark.xdist_group("access_e2e")]

PASSWORD = "open sesame, but longer"
SECRET = base64.b32encode(b"access-cli-test-key!").decode()


@pytest.fixture
def tok(make_token):
    t = make_token(rtc_set=True)
    with Session(SerialTransport(t.port, timeout=1)) as s:
        s.time_set(int(time.time()))
    return t


def run(tok, *args, input=None, env=None):
    return run_at(tok.port, *args, input=input, env=env)


def test_locked_commands_need_the_password(tok):
    code, out, err = run(tok, "provision", "--secret", SECRET, "--label", "a")
    assert code == 0, err
    code, out, err = run(tok, "access", "set", "--password-stdin", input=PASSWORD + "\n")
    assert code == 0, err
    # No password and no terminal to ask on: one sentence, exit 1.
    code, out, err = run(tok, "list")
    assert code == 1 and err.strip() == (
        "The token is locked; give its access password with --password, --password-stdin or OTPFOB_PASSWORD,"
        " or remember it with `otpfob access remember`."
    )
    code, out, err = run(tok, "--password", "wrong", "list")
    assert code == 1 and err.strip() == "The access password is wrong, or this is not the token it was set on."
    time.sleep(1.0)
    code, out, err = run(tok, "list", env={"OTPFOB_PASSWORD": PASSWORD})
    assert code == 0 and "a" in out, err
    code, out, err = run(tok, "code", "-s", "a", env={"OTPFOB_PASSWORD": PASSWORD})
    assert code == 0 and out.strip() in {pyotp.TOTP(SECRET).at(time.time() + d) for d in (-30, 0, 30)}
    # info needs no password, and the command before left the link locked.
    code, out, err = run(tok, "info")
    assert code == 0 and "password set (locked" in out, err
    assert PASSWORD not in out + err
    with Session(SerialTransport(tok.port)) as s:
        assert s.info().unlocked is False


def test_factory_wipe_with_the_button_held(tok):
    run(tok, "access", "set", "--password-stdin", input=PASSWORD + "\n")
    code, out, err = wipe_holding_the_button(tok)
    assert code == 0, err
    assert "Hold the token's button" in err
    code, out, err = run(tok, "list")
    assert code == 0, err  # no password any more
