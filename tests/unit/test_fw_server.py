"""The protocol handler: every op, every error code, and no secret in any reply."""

import base64
import hashlib
import hmac
import json
import os

import pyotp
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fob import proto, storage
from support.fw import ServerRig

T0 = 1_750_000_000
TAG = proto.REPLY_TAG.encode()


Token = ServerRig


@pytest.fixture
def rig(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return Token()


SECRET = base64.b32encode(bytes(range(1, 21))).decode()  # 20 bytes


def test_info(rig):
    r = rig.ok("info")
    assert r["version"] and r["proto"] == proto.VERSION and r["board"] == "test"
    assert r["time"] == T0 and r["clock"] == proto.CLOCK_OK
    assert r["accounts"] == 0 and r["capacity"] == proto.MAX_ACCOUNTS == 100
    assert r["store"] == proto.STORE_OK
    assert "free" in r
    assert "exposure" in r  # null here (no board file); tests/emu/test_cli_names.py checks a token's


def test_add_list_code_totp_matches_pyotp(rig):
    for digits, alg, period in ((6, "sha1", 30), (8, "sha256", 60), (10, "sha512", 30), (7, "sha1", 1)):
        label = "acct-%d-%s" % (digits, alg)
        rig.ok("add", label=label, issuer="Example", secret=SECRET.lower(), algorithm=alg, digits=digits, period=period)
        for dt in (0, 1, 29, 30, 31, 59, 60, 3600):
            rig.rtc.t = T0 + dt
            rig.ms = dt * 1000
            r = rig.ok("code", label=label, issuer="Example")
            want = pyotp.TOTP(SECRET, digits=digits, digest=alg, interval=period).at(T0 + dt)
            assert (r["code"], r["time"], r["period"]) == (want, T0 + dt, period)
    accts = rig.ok("list")["accounts"]
    assert [a["digits"] for a in accts] == [6, 8, 10, 7]
    assert accts[1] == {
        "label": "acct-8-sha256",
        "issuer": "Example",
        "type": "totp",
        "algorithm": "sha256",
        "digits": 8,
        "period": 60,
        "touch": False,
    }


def test_key_as_hex(rig, rng):
    key = rng.randbytes(40)  # an AWS-sized secret
    rig.ok("add", label="aws", key=key.hex())
    want = pyotp.TOTP(base64.b32encode(key).decode()).at(T0)
    assert rig.ok("code", label="aws")["code"] == want


def test_hotp_counts_and_persists(rig):
    rig.ok("add", label="h", secret=SECRET, type="hotp", counter=5, digits=8)
    hotp = pyotp.HOTP(SECRET, digits=8)
    for c in (5, 6, 7):
        r = rig.ok("code", label="h")
        assert (r["code"], r["counter"]) == (hotp.at(c), c)
    assert storage.Store().params(0).counter == 8  # the next counter is on flash
    assert rig.ok("list")["accounts"][0]["counter"] == 8
    rig.rtc.lost = True  # HOTP needs no clock
    assert rig.ok("code", label="h")["code"] == hotp.at(8)


def test_list_paging(rig):
    for i in range(5):
        rig.ok("add", label="a%d" % i, secret=SECRET)
    r = rig.ok("list", start=2, limit=2)
    assert r["total"] == 5 and [a["label"] for a in r["accounts"]] == ["a2", "a3"]


def test_delete_rename_wipe(rig):
    rig.ok("add", label="a", secret=SECRET)
    rig.ok("add", label="b", secret=SECRET, issuer="B")
    rig.err("rename", proto.E_EXISTS, label="a", new="b", new_issuer="B")
    rig.err("rename", proto.E_NOT_FOUND, label="b", new="c")  # b's issuer is B
    r = rig.ok("rename", label="b", issuer="B", new="c", new_issuer="C")
    assert (r["label"], r["issuer"]) == ("c", "C")
    assert rig.ok("delete", label="a")["accounts"] == 1
    rig.err("delete", proto.E_NOT_FOUND, label="a")
    assert [a["label"] for a in rig.ok("list")["accounts"]] == ["c"]
    rig.ok("wipe")
    assert rig.ok("info")["accounts"] == 0


def test_issuer_and_label_name_an_account(rig):
    # Protocol 2: add, code, rename and delete name an account by both.
    other = base64.b32encode(b"another key 20 bytes").decode()
    rig.ok("add", label="alice@example.com", issuer="GitHub", secret=SECRET)
    rig.ok("add", label="alice@example.com", issuer="GitLab", secret=other)
    rig.err("add", proto.E_EXISTS, label="alice@example.com", issuer="GitLab", secret=SECRET)
    assert rig.ok("code", label="alice@example.com", issuer="GitHub")["code"] == pyotp.TOTP(SECRET).at(T0)
    assert rig.ok("code", label="alice@example.com", issuer="GitLab")["code"] == pyotp.TOTP(other).at(T0)
    rig.err("code", proto.E_NOT_FOUND, label="alice@example.com")  # no issuer: the account without one
    rig.err(
        "rename",
        proto.E_EXISTS,
        label="alice@example.com",
        issuer="GitHub",
        new="alice@example.com",
        new_issuer="GitLab",
    )
    r = rig.ok("rename", label="alice@example.com", issuer="GitHub", new="alice")
    assert (r["label"], r["issuer"]) == ("alice", "GitHub")
    assert rig.ok("delete", label="alice@example.com", issuer="GitLab")["accounts"] == 1
    assert [(a["issuer"], a["label"]) for a in rig.ok("list")["accounts"]] == [("GitHub", "alice")]


def test_info_has_a_stable_token_id(rig):
    import re

    first = rig.ok("info")["token_id"]
    assert re.fullmatch("[0-9a-f]{8}", first) and rig.ok("info")["token_id"] == first


def test_check_compares_an_hotp_code_without_using_the_counter(rig):
    other = base64.b32encode(b"another key 20 bytes").decode()
    rig.ok("add", label="door", issuer="Lab", secret=SECRET, type="hotp", counter=40, digits=8)
    hotp = pyotp.HOTP(SECRET, digits=8)
    before = rig.flash()
    for guess, match in ((hotp.at(40), True), (hotp.at(41), False), (pyotp.HOTP(other, digits=8).at(40), False)):
        r = rig.ok("check", label="door", issuer="Lab", code=guess)
        assert (r["match"], r["counter"]) == (match, 40) and "code" not in r
    assert rig.flash() == before  # nothing written: the counter stays
    assert rig.ok("code", label="door", issuer="Lab")["code"] == hotp.at(40)
    rig.ok("add", label="t", secret=SECRET)
    rig.ok("add", label="tap", secret=SECRET, type="hotp", touch=True)
    for args in (
        {"label": "t"},  # TOTP
        {"label": "tap"},  # touch: no oracle without a press
        {"label": "door", "issuer": "Lab", "code": "12345"},
        {"label": "door", "issuer": "Lab", "code": "12345x"},
        {"label": "door", "issuer": "Lab", "code": 123456},
    ):
        assert rig.call("check", **dict({"code": "123456"}, **args))["err"] == proto.E_ARG, args
    assert rig.call("check", label="door", code="123456")["err"] == proto.E_NOT_FOUND  # its issuer is Lab


def test_time_get_and_set(rig):
    r = rig.ok("time_get")
    assert (r["time"], r["clock"]) == (T0, proto.CLOCK_OK)
    rig.rtc.lost = True
    r = rig.ok("time_get")
    assert r["clock"] == proto.CLOCK_UNSET and r["time"] == T0
    r = rig.ok("time_set", time=T0 + 100)
    assert (r["time"], r["clock"], r["previous"]) == (T0 + 100, proto.CLOCK_OK, T0)
    assert rig.rtc.t == T0 + 100 and rig.rtc.lost is False


def test_jump_reported_and_cleared_by_time_set(rig):
    rig.ok("add", label="a", secret=SECRET)
    rig.ok("code", label="a")
    rig.rtc.t += 3 * 3600
    rig.err("code", proto.E_CLOCK, label="a")
    r = rig.ok("info")
    assert r["clock"] == proto.CLOCK_JUMPED and r["clock_jump"] == 3 * 3600
    rig.ok("time_set", time=T0)
    assert rig.ok("code", label="a")["time"] == T0


# ---- every error code --------------------------------------------------------


def test_frame_errors(rig):
    before = rig.flash()
    for line in (
        b"",
        b"hello",
        b"\xff\xfe{}",
        b"[1,2]",
        b'"str"',
        b"{",
        b'{"v":2,"op":"info"} x',
        b"\x00" * 10,
        b'{"v":2,"id":"7","op":"info"}',
        b'{"v":2,"id":-1,"op":"info"}',
    ):
        r = rig.raw(line)
        assert r["ok"] is False and r["err"] == proto.E_FRAME, (line, r)
        assert r["id"] is None
    assert rig.flash() == before


def test_too_long(rig):
    line = json.dumps({"v": proto.VERSION, "id": 1, "op": "info", "pad": "x" * proto.MAX_LINE}).encode()
    r = rig.raw(line)
    assert r["err"] == proto.E_TOO_LONG
    assert rig.server.too_long().startswith(TAG)


def test_version(rig):
    for v in (None, 0, 1, 3, "2", True, 2.0):
        req = {"id": 3, "op": "info"}
        if v is not None:
            req["v"] = v
        r = rig.raw(json.dumps(req).encode())
        assert r["err"] == proto.E_VERSION and r["id"] == 3


def test_unknown_op(rig):
    for op in ("nope", "", None, 5, "INFO", "Unlock"):
        rig.err(op, proto.E_OP)


@pytest.mark.parametrize(
    "args",
    [
        {},  # no label, no secret
        {"label": "a"},
        {"label": "a", "secret": SECRET, "key": "00"},
        {"label": "", "secret": SECRET},
        {"label": "x" * (proto.MAX_LABEL + 1), "secret": SECRET},
        {"label": "é" * 17, "secret": SECRET},  # 34 bytes of UTF-8
        {"label": "a\nb", "secret": SECRET},
        {"label": " ", "secret": SECRET},  # blank: the host refuses it too (fob.proto.blank)
        {"label": "a\u202eb", "secret": SECRET},  # bidi override
        {"label": "a", "issuer": "x\x9b2J", "secret": SECRET},  # C1 CSI
        {"label": "a", "issuer": "\u3000", "secret": SECRET},  # an issuer may be empty, not blank
        {"label": 5, "secret": SECRET},
        {"label": "a", "issuer": "i" * 33, "secret": SECRET},
        {"label": "a", "secret": "not base32!"},
        {"label": "a", "secret": "A"},
        {"label": "a", "secret": 123},
        {"label": "a", "key": "abc"},
        {"label": "a", "key": "zz"},
        {"label": "a", "key": "00" * (proto.MAX_KEY + 1)},
        {"label": "a", "secret": SECRET, "algorithm": "md5"},
        {"label": "a", "secret": SECRET, "algorithm": "SHA1"},
        {"label": "a", "secret": SECRET, "digits": 5},
        {"label": "a", "secret": SECRET, "digits": 11},
        {"label": "a", "secret": SECRET, "digits": "6"},
        {"label": "a", "secret": SECRET, "digits": True},
        {"label": "a", "secret": SECRET, "period": 0},
        {"label": "a", "secret": SECRET, "period": 3601},
        {"label": "a", "secret": SECRET, "period": 30.5},
        {"label": "a", "secret": SECRET, "type": "motp"},
        {"label": "a", "secret": SECRET, "counter": -1},
        {"label": "a", "secret": SECRET, "counter": 2**64},
        {"label": "a", "secret": SECRET, "counter": proto.MAX_COUNTER + 1},  # 2**63: the host's limit too
        {"label": "a", "secret": SECRET, "touch": 1},
        {"label": "a", "secret": SECRET, "digit": 8},  # misspelt: refused, not ignored
    ],
)
def test_add_bad_args(rig, args):
    rig.err("add", proto.E_ARG, **args)
    assert rig.ok("info")["accounts"] == 0


def test_other_bad_args(rig):
    rig.ok("add", label="a", secret=SECRET)
    rig.err("code", proto.E_ARG)
    rig.err("code", proto.E_ARG, label=["a"])
    rig.err("rename", proto.E_ARG, label="a")
    rig.err("rename", proto.E_ARG, label="a", new="")
    rig.err("time_set", proto.E_ARG)
    rig.err("time_set", proto.E_ARG, time="1750000000")
    rig.err("time_set", proto.E_ARG, time=0)
    rig.err("time_set", proto.E_ARG, time=4102444800)
    rig.err("list", proto.E_ARG, limit=0)
    rig.err("info", proto.E_ARG, extra=1)
    assert rig.rtc.t == T0


def test_exists_and_full(rig):
    rig.ok("add", label="a", secret=SECRET)
    rig.err("add", proto.E_EXISTS, label="a", secret=SECRET)
    for i in range(1, proto.MAX_ACCOUNTS):
        rig.ok("add", label="n%d" % i, secret=SECRET)
    rig.err("add", proto.E_FULL, label="last", secret=SECRET)


def test_clock_untrusted(rig):
    rig.ok("add", label="a", secret=SECRET)
    rig.rtc.lost = True
    rig.err("code", proto.E_CLOCK, label="a")
    rig.rtc.lost = False
    rig.rtc.t = 946684800  # 2000-01-01: never set
    rig.err("code", proto.E_CLOCK, label="a")


def test_store_damaged(rig, tmp_path):
    rig.ok("add", label="a", secret=SECRET)
    raw = bytearray((tmp_path / storage.FILE).read_bytes())
    raw[-1] ^= 1
    (tmp_path / storage.FILE).write_bytes(raw)
    t = Token()
    assert t.ok("info")["store"] == proto.STORE_DAMAGED
    for op, args in (
        ("code", {"label": "a"}),
        ("list", {}),
        ("delete", {"label": "a"}),
        ("rename", {"label": "a", "new": "b"}),
        ("add", {"label": "b", "secret": SECRET}),
    ):
        t.err(op, proto.E_STORE, **args)
    t.ok("wipe")
    assert t.ok("info")["store"] == proto.STORE_OK


def test_touch(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    presses = []
    t = Token(touch=lambda label: presses.append(label) or len(presses) > 1)
    t.ok("add", label="t", secret=SECRET, touch=True)
    t.err("code", proto.E_TOUCH, label="t")  # no press came
    assert t.ok("code", label="t")["code"] == pyotp.TOTP(SECRET).at(T0)
    assert presses == ["t", "t"]
    t2 = Token(touch=None)  # a board without a button can't release it
    t2.err("code", proto.E_TOUCH, label="t")


def test_hardware_error(rig):
    rig.rtc.dead = True
    rig.err("time_set", proto.E_HW, time=T0)
    assert rig.ok("info")["clock"] == proto.CLOCK_MISSING


def test_internal_error_is_contained(rig, monkeypatch):
    def boom(*a):
        raise RuntimeError("secret-ish detail " + SECRET)

    monkeypatch.setattr(rig.store, "count", boom)
    r = rig.call("info")
    assert r["err"] == proto.E_INTERNAL
    assert SECRET.encode() not in rig.sent[-1]


def test_locked_reply_and_new_session(rig):
    # The real gate (no stand-in): a password set, the link locked.
    rig.server.access.set(b"\x01" * proto.ACCESS_KEY_LEN, b"saltsalt", proto.MIN_ITERATIONS)
    rig.server.lock()
    rig.err("list", proto.E_LOCKED)
    ch = bytes.fromhex(rig.ok("unlock")["challenge"])
    rig.ok("unlock", response=hmac.new(b"\x01" * proto.ACCESS_KEY_LEN, ch, hashlib.sha256).hexdigest())
    rig.ok("list")  # sealed by the rig, as a host seals the session's requests
    rig.server.reset_session()  # a new connection starts locked
    rig.err("list", proto.E_LOCKED)
    rig.seal = None
    rig.err("list", proto.E_LOCKED)


# ---- secrets never leave ----------------------------------------------------


def secret_forms(key: bytes):
    b32 = base64.b32encode(key).decode()
    return [
        key,
        key.hex().encode(),
        key.hex().upper().encode(),
        b32.encode(),
        b32.rstrip("=").encode(),
        b32.lower().encode(),
        json.dumps(b32)[1:-1].encode(),
    ]


def test_no_secret_in_any_reply(rig, rng):
    keys = [rng.randbytes(n) for n in (10, 20, 32, 40, 64, 128)]
    for i, k in enumerate(keys):
        b32 = base64.b32encode(k).decode()
        if i % 2:
            rig.ok("add", label="k%d" % i, issuer="I", key=k.hex(), type="hotp" if i == 3 else "totp")
        else:
            rig.ok("add", label="k%d" % i, secret=b32.rstrip("="))
        # The same secret again: refused, and the refusal must not echo it.
        rig.call("add", label="k%d" % i, secret=b32)
        rig.call("add", label="bad%d" % i, secret=b32 + "1")  # invalid char after the secret
        rig.call("add", label="bad%d" % i, secret=b32, digits=99)
    for op in ("info", "list", "time_get"):
        rig.call(op)
    for i in range(len(keys)):
        rig.call("code", label="k%d" % i)
        rig.call("rename", label="k%d" % i, new="r%d" % i)
    rig.call("wipe")
    blob = b"".join(rig.sent)
    for k in keys:
        for form in secret_forms(k):
            assert form not in blob


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=600))
def test_random_bytes_always_get_one_reply(data):
    import tempfile

    cwd = os.getcwd()
    with tempfile.TemporaryDirectory() as d:
        os.chdir(d)
        try:
            t = Token()
            out = t.server.handle_line(data)
            assert out.startswith(TAG) and out.endswith(b"\n")
            r = json.loads(out[len(TAG) :])
            assert "ok" in r
            assert t.flash() is None  # nothing was written
        finally:
            os.chdir(cwd)
