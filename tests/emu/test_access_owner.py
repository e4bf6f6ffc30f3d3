"""An unlock is bound to the program that made it (issue 22), on the
emulated token (the firmware under the Unix port, a real pty): a second
program on the same pty gets nothing while the owner's command waits, and a
killed owner (SIGTERM, SIGHUP, SIGINT) sends `lock` on its way out.

The second program writes its requests and the test reads the answers from
the token's own serial log (by id), since two readers share one pty."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import serial

from fob import proto
from otpfob import paths
from otpfob.emu.testing import ProtocolClient, random_secret
from otpfob.session import Session
from otpfob.transport import SerialTransport

PASSWORD = "correct horse battery staple"
TAG = proto.REPLY_TAG.encode()


@pytest.fixture
def tok(make_token):
    t = make_token(rtc_set=True)
    with Session(SerialTransport(t.port)) as s:
        s._call(proto.OP_ADD, {"label": "tapme", "secret": random_secret(), "touch": True})
        s.set_access(PASSWORD)
        s.lock()
    return t


def sent_replies(tok) -> list[dict]:
    """Every reply the token has sent, in order."""
    out = []
    for line in tok.serial_log.split(b"\n"):
        at = line.find(TAG)
        if at >= 0:
            try:
                out.append(json.loads(line[at + len(TAG) :]))
            except ValueError:
                continue
    return out


def replies(tok) -> dict[int, dict]:
    """Every reply the token has sent, by id."""
    return {r.get("id"): r for r in sent_replies(tok)}


def start_owner(tok, tmp_path) -> subprocess.Popen:
    """`otpfob code tapme` with the password: it unlocks, then waits for the
    touch account's press. Returns once the token asks for the press."""
    env = dict(os.environ, XDG_DATA_HOME=str(tmp_path / "data"), OTPFOB_PORT=tok.port)
    env.pop("OTPFOB_PASSWORD", None)
    owner = subprocess.Popen(
        [sys.executable, "-m", "otpfob", "code", "tapme", "--password-stdin"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=paths.REPO,
        env=env,
    )
    owner.stdin.write(PASSWORD + "\n")
    owner.stdin.close()
    owner.stdin = None  # communicate() must not flush it again
    deadline = time.monotonic() + 30
    while "Press" not in tok.screen_text():
        assert owner.poll() is None, owner.communicate()
        assert time.monotonic() < deadline, tok.screen_text()
        time.sleep(0.05)
    return owner


def lock_replies(tok) -> list[dict]:
    """Every answer to a `lock` the token has sent (ids repeat across programs)."""
    return [r for r in sent_replies(tok) if set(r) == {"v", "id", "ok", "unlocked"} and r["unlocked"] is False]


def test_a_second_program_on_the_port_gets_nothing(tok, tmp_path):
    owner = start_owner(tok, tmp_path)
    try:
        # pyserial's lock is advisory and TIOCEXCL does not bind root: the
        # second program opens the very same pty. Its requests carry no seal.
        other = serial.Serial(tok.port, 115200, timeout=0.2)
        attempts = {
            9001: {"op": "list"},
            9002: {"op": "code", "label": "tapme"},
            9003: {"op": "time_set", "time": 1_760_000_000},
            9004: {"op": "info"},
        }
        for rid, req in attempts.items():
            other.write(json.dumps({"v": proto.VERSION, "id": rid, **req}).encode() + b"\n")
        deadline = time.monotonic() + 10
        while not set(attempts) <= set(replies(tok)):
            assert time.monotonic() < deadline, replies(tok)
            time.sleep(0.05)
        got = replies(tok)
        for rid in (9001, 9002, 9003):
            assert got[rid]["err"] == proto.E_LOCKED, got[rid]
        assert got[9004]["unlocked"] is False
        other.close()
        # The owner's session ended too (someone else was on its port): its
        # waiting code is withheld at the press, and it says so.
        tok.press()
        out, err = owner.communicate(timeout=30)
        assert owner.returncode == 1, (out, err)
        assert out == ""
        assert err.strip().splitlines()[-1] == (
            "The token ended this command's unlocked session (60 s without a request, a request from another"
            " program on its port, or a restart); run the command again."
        )
    finally:
        if owner.poll() is None:
            owner.kill()
            owner.wait()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_a_killed_owner_locks_on_its_way_out(tok, tmp_path, signum):
    owner = start_owner(tok, tmp_path)
    locks = len(lock_replies(tok))
    owner.send_signal(signum)
    out, err = owner.communicate(timeout=30)
    assert owner.returncode != 0
    if signum != signal.SIGINT:
        assert owner.returncode == 128 + signum
    assert "Traceback" not in err
    assert len(lock_replies(tok)) > locks  # the handler's lock, answered
    with ProtocolClient(tok.port) as c:
        assert c.request("list")["err"] == proto.E_LOCKED
        assert c.request("code", label="tapme")["err"] == proto.E_LOCKED
        assert c.request("time_set", time=1_760_000_000)["err"] == proto.E_LOCKED
        assert c.call("info")["unlocked"] is False
