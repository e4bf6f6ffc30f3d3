"""The unlocked session is bound to its owner (CPython, the real fob.server):
after unlock every request is sealed with a MAC under the session key and
a rising counter; another program's request, a wrong MAC, a replay, a
garbage line and 60 s without a sealed request all leave nothing usable.

The host's side (fw_support.RequestSeal) is written with hashlib/hmac,
independently of the firmware and of otpfob.access.
"""

import hashlib
import hmac
import json
import os
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import SEED
from fob import proto
from support.fw import RequestSeal, ServerRig

# Random bytes from the run's seed, so OTPFOB_SEED replays them.
_RNG = random.Random(f"{SEED}:{__name__}")

PASSWORD_KEY = hashlib.pbkdf2_hmac("sha256", b"pw", b"salt-of-this-token", proto.MIN_ITERATIONS, 32)
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


class Tok(ServerRig):
    def __init__(self):
        super().__init__(ms=0, own_ticks=True, button=True)

    def open_session(self, key=PASSWORD_KEY):
        hc = _RNG.randbytes(16)
        ch = self.ok("unlock", host_challenge=hc.hex())
        challenge = bytes.fromhex(ch["challenge"])
        self.ok("unlock", response=hmac.new(key, challenge, hashlib.sha256).hexdigest())
        assert self.seal is not None  # the rig seals from here on
        return RequestSeal(key, challenge, hc)

    def other(self, op, **args):
        """A request from another program on the same port: no seal."""
        req = {"v": proto.VERSION, "id": 9999, "op": op}
        req.update(args)
        return self.raw(json.dumps(req).encode())


@pytest.fixture
def tok(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    t = Tok()
    t.ok("add", label="a", secret=SECRET)
    t.ok("access_set", key=PASSWORD_KEY.hex(), salt=_RNG.randbytes(16).hex(), iterations=proto.MIN_ITERATIONS)
    assert t.ok("info")["unlocked"] is False  # setting a password leaves the link locked
    return t


def session_open(tok):
    return tok.server.unlocked


def test_sealed_requests_work_and_another_programs_do_not(tok):
    tok.open_session()
    assert tok.ok("list")["total"] == 1
    assert tok.ok("info")["unlocked"] is True
    # Another program on the port: ungated ops answer as for a locked link
    # and leave the owner's session alone ...
    info = tok.other("info")
    assert (info["access"], info["unlocked"]) == (True, False)
    tok.other("time_get")
    assert session_open(tok)
    assert tok.ok("list")["total"] == 1
    # ... a gated op is refused, and ends the session (someone else is there).
    for op, args in (("list", {}), ("code", {"label": "a"}), ("time_set", {"time": 1_750_000_100})):
        r = tok.other(op, **args)
        assert r["err"] == proto.E_LOCKED, r
        assert not session_open(tok)
        tok.seal = None
        tok.open_session()


def test_a_wrong_mac_or_counter_ends_the_session(tok):
    seal = tok.open_session()
    tok.seal = None  # this test seals by hand
    req = {"v": proto.VERSION, "id": 1, "op": "list"}
    assert tok.raw(seal.line(req, n=1))["ok"]
    assert tok.raw(seal.line(req, n=5))["ok"]  # counters may skip, never go back
    for bad in (
        seal.line(req, n=5),  # replayed
        seal.line(req, n=4),  # older
        seal.line(req, n=6, key=b"\x00" * 32),  # another key
        seal.line(req, n=6).replace(b'"list"', b'"wipe"'),  # the body changed
        seal.line(req, n=6)[:-3] + b'0"}',  # the MAC changed
        seal.line(req, n=proto.MAX_SEQ + 1),  # past the counter's range
        json.dumps(dict(req, n=6)).encode(),  # no MAC at all
    ):
        r = tok.raw(bad)
        assert r["ok"] is False and r["err"] in (proto.E_LOCKED, proto.E_FRAME), (bad, r)
        assert not session_open(tok), bad
        # The good next one no longer works either: the session has ended.
        assert tok.raw(seal.line(req, n=1000))["err"] == proto.E_LOCKED
        seal = tok.open_session()
        tok.seal = None
    assert tok.ok("info")["accounts"] == 1  # nothing was wiped


def test_a_sealed_request_without_a_session_is_refused(tok):
    seal = tok.open_session()
    tok.ok("lock")
    line = seal.line({"v": proto.VERSION, "id": 1, "op": "list"}, n=99)
    assert tok.raw(line)["err"] == proto.E_LOCKED
    assert tok.raw(seal.line({"v": proto.VERSION, "id": 2, "op": "info"}, n=100))["err"] == proto.E_LOCKED


def test_the_session_ends_after_60_s_without_a_sealed_request(tok):
    tok.open_session()
    tok.ms += proto.IDLE_LOCK_MS - 1000
    assert tok.ok("list")  # sealed: counts as activity
    for _ in range(3):  # garbage, unsealed and refused lines every 50 s do not
        tok.ms += 50_000
        tok.raw(b"garbage that is not json")
        tok.raw(b'{"v":2,"op":"nonsense"}')
        tok.other("info")
    assert not session_open(tok)
    assert tok.call("list")["err"] == proto.E_LOCKED


def test_sealed_activity_keeps_the_session(tok):
    tok.open_session()
    for _ in range(5):
        tok.ms += proto.IDLE_LOCK_MS - 1
        tok.ok("time_get")
    assert tok.ok("list")["total"] == 1


def test_a_new_unlock_replaces_the_session_and_the_old_seal_dies(tok):
    old = tok.open_session()
    tok.seal = None
    new = tok.open_session()
    tok.seal = None
    assert tok.raw(old.line({"v": proto.VERSION, "id": 1, "op": "list"}, n=50))["err"] == proto.E_LOCKED
    assert not session_open(tok)
    del new


def test_another_programs_unlock_step_does_not_touch_the_session(tok):
    tok.open_session()
    tok.other("unlock", host_challenge=_RNG.randbytes(16).hex())
    assert tok.ok("list")["total"] == 1


def test_the_setter_of_a_password_must_unlock(tok):
    tok.open_session()
    new_key = _RNG.randbytes(32)
    tok.ok("access_set", key=new_key.hex(), salt=_RNG.randbytes(16).hex(), iterations=proto.MIN_ITERATIONS)
    assert not session_open(tok)
    tok.open_session(new_key)
    tok.ok("access_clear")
    assert tok.call("list")["ok"]  # no password: nothing sealed, nothing gated


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_no_changed_byte_of_a_sealed_line_is_accepted(tok, data):
    if not session_open(tok):
        tok.seal = None
        tok.open_session()
    seal = tok.seal
    tok.seal = None
    seal.n += 1
    line = seal.line({"v": proto.VERSION, "id": 7, "op": "code", "label": "a"}, n=seal.n)
    i = data.draw(st.integers(0, 10_000)) % len(line)
    b = line[i] ^ data.draw(st.integers(1, 255))
    bad = line[:i] + bytes([b]) + line[i + 1 :]
    r = tok.raw(bad)
    tok.seal = seal
    assert "code" not in r, (bad, r)
    if r["ok"] is False and r["err"] not in (proto.E_FRAME, proto.E_VERSION, proto.E_OP):
        assert not session_open(tok), (bad, r)


def test_random_lines_never_extend_the_session(tok):
    rng = random.Random(os.environ.get("OTPFOB_SEED"))
    tok.open_session()
    tok.ms += proto.IDLE_LOCK_MS // 2
    for _ in range(200):
        line = bytes(rng.randrange(32, 127) for _ in range(rng.randrange(1, 80)))
        tok.raw(line)
    tok.ms += proto.IDLE_LOCK_MS // 2
    tok.server.tick()
    assert not session_open(tok)
