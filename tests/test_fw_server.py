"""The protocol handler: every op, every error code, and no secret in any reply."""

import base64
import json
import os

import pyotp
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fob import proto, storage
from fw_support import ServerRig

T0 = 1_750_000_000
TAG = proto.REPLY_TAG.encode()


Token = ServerRig


@pytest.fixture
def tok(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return Token()


SECRET = base64.b32encode(bytes(range(1, 21))).decode()  # 20 bytes


def test_info(tok):
    r = tok.ok("info")
    assert r["version"] and r["proto"] == proto.VERSION and r["board"] == "test"
    assert r["time"] == T0 and r["clock"] == proto.CLOCK_OK
    assert r["accounts"] == 0 and r["capacity"] == proto.MAX_ACCOUNTS == 100
    assert r["store"] == proto.STORE_OK
    assert "free" in r
    assert "exposure" in r  # null here (no board file); tests/test_cli_names.py checks a token's


def test_add_list_code_totp_matches_pyotp(tok):
    for digits, alg, period in ((6, "sha1", 30), (8, "sha256", 60), (10, "sha512", 30), (7, "sha1", 1)):
        label = "acct-%d-%s" % (digits, alg)
        tok.ok("add", label=label, issuer="Example", secret=SECRET.lower(), algorithm=alg, digits=digits, period=period)
        for dt in (0, 1, 29, 30, 31, 59, 60, 3600):
            tok.rtc.t = T0 + dt
            tok.ms = dt * 1000
            r = tok.ok("code", label=label)
            want = pyotp.TOTP(SECRET, digits=digits, digest=alg, interval=period).at(T0 + dt)
            assert (r["code"], r["time"], r["period"]) == (want, T0 + dt, period)
    accts = tok.ok("list")["accounts"]
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


def test_key_as_hex(tok):
    key = os.urandom(40)  # an AWS-sized secret
    tok.ok("add", label="aws", key=key.hex())
    want = pyotp.TOTP(base64.b32encode(key).decode()).at(T0)
    assert tok.ok("code", label="aws")["code"] == want


def test_hotp_counts_and_persists(tok):
    tok.ok("add", label="h", secret=SECRET, type="hotp", counter=5, digits=8)
    hotp = pyotp.HOTP(SECRET, digits=8)
    for c in (5, 6, 7):
        r = tok.ok("code", label="h")
        assert (r["code"], r["counter"]) == (hotp.at(c), c)
    assert storage.Store().params(0).counter == 8  # the next counter is on flash
    assert tok.ok("list")["accounts"][0]["counter"] == 8
    tok.rtc.lost = True  # HOTP needs no clock
    assert tok.ok("code", label="h")["code"] == hotp.at(8)


def test_list_paging(tok):
    for i in range(5):
        tok.ok("add", label="a%d" % i, secret=SECRET)
    r = tok.ok("list", start=2, limit=2)
    assert r["total"] == 5 and [a["label"] for a in r["accounts"]] == ["a2", "a3"]


def test_delete_rename_wipe(tok):
    tok.ok("add", label="a", secret=SECRET)
    tok.ok("add", label="b", secret=SECRET, issuer="B")
    tok.err("rename", proto.E_EXISTS, label="a", new="b")
    r = tok.ok("rename", label="b", new="c", issuer="C")
    assert (r["label"], r["issuer"]) == ("c", "C")
    assert tok.ok("delete", label="a")["accounts"] == 1
    tok.err("delete", proto.E_NOT_FOUND, label="a")
    assert [a["label"] for a in tok.ok("list")["accounts"]] == ["c"]
    tok.ok("wipe")
    assert tok.ok("info")["accounts"] == 0


def test_time_get_and_set(tok):
    r = tok.ok("time_get")
    assert (r["time"], r["clock"]) == (T0, proto.CLOCK_OK)
    tok.rtc.lost = True
    r = tok.ok("time_get")
    assert r["clock"] == proto.CLOCK_UNSET and r["time"] == T0
    r = tok.ok("time_set", time=T0 + 100)
    assert (r["time"], r["clock"], r["previous"]) == (T0 + 100, proto.CLOCK_OK, T0)
    assert tok.rtc.t == T0 + 100 and tok.rtc.lost is False


def test_jump_reported_and_cleared_by_time_set(tok):
    tok.ok("add", label="a", secret=SECRET)
    tok.ok("code", label="a")
    tok.rtc.t += 3 * 3600
    tok.err("code", proto.E_CLOCK, label="a")
    r = tok.ok("info")
    assert r["clock"] == proto.CLOCK_JUMPED and r["clock_jump"] == 3 * 3600
    tok.ok("time_set", time=T0)
    assert tok.ok("code", label="a")["time"] == T0


# ---- every error code --------------------------------------------------------


def test_frame_errors(tok):
    before = tok.flash()
    for line in (
        b"",
        b"hello",
        b"\xff\xfe{}",
        b"[1,2]",
        b'"str"',
        b"{",
        b'{"v":1,"op":"info"} x',
        b"\x00" * 10,
        b'{"v":1,"id":"7","op":"info"}',
        b'{"v":1,"id":-1,"op":"info"}',
    ):
        r = tok.raw(line)
        assert r["ok"] is False and r["err"] == proto.E_FRAME, (line, r)
        assert r["id"] is None
    assert tok.flash() == before


def test_too_long(tok):
    line = json.dumps({"v": 1, "id": 1, "op": "info", "pad": "x" * proto.MAX_LINE}).encode()
    r = tok.raw(line)
    assert r["err"] == proto.E_TOO_LONG
    assert tok.server.too_long().startswith(TAG)


def test_version(tok):
    for v in (None, 0, 2, "1", True, 1.0):
        req = {"id": 3, "op": "info"}
        if v is not None:
            req["v"] = v
        r = tok.raw(json.dumps(req).encode())
        assert r["err"] == proto.E_VERSION and r["id"] == 3


def test_unknown_op(tok):
    for op in ("nope", "", None, 5, "INFO", "Unlock"):
        tok.err(op, proto.E_OP)


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
def test_add_bad_args(tok, args):
    tok.err("add", proto.E_ARG, **args)
    assert tok.ok("info")["accounts"] == 0


def test_other_bad_args(tok):
    tok.ok("add", label="a", secret=SECRET)
    tok.err("code", proto.E_ARG)
    tok.err("code", proto.E_ARG, label=["a"])
    tok.err("rename", proto.E_ARG, label="a")
    tok.err("rename", proto.E_ARG, label="a", new="")
    tok.err("time_set", proto.E_ARG)
    tok.err("time_set", proto.E_ARG, time="1750000000")
    tok.err("time_set", proto.E_ARG, time=0)
    tok.err("time_set", proto.E_ARG, time=4102444800)
    tok.err("list", proto.E_ARG, limit=0)
    tok.err("info", proto.E_ARG, extra=1)
    assert tok.rtc.t == T0


def test_exists_and_full(tok):
    tok.ok("add", label="a", secret=SECRET)
    tok.err("add", proto.E_EXISTS, label="a", secret=SECRET)
    for i in range(1, proto.MAX_ACCOUNTS):
        tok.ok("add", label="n%d" % i, secret=SECRET)
    tok.err("add", proto.E_FULL, label="last", secret=SECRET)


def test_clock_untrusted(tok):
    tok.ok("add", label="a", secret=SECRET)
    tok.rtc.lost = True
    tok.err("code", proto.E_CLOCK, label="a")
    tok.rtc.lost = False
    tok.rtc.t = 946684800  # 2000-01-01: never set
    tok.err("code", proto.E_CLOCK, label="a")


def test_store_damaged(tok, tmp_path):
    tok.ok("add", label="a", secret=SECRET)
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


def test_hardware_error(tok):
    tok.rtc.dead = True
    tok.err("time_set", proto.E_HW, time=T0)
    assert tok.ok("info")["clock"] == proto.CLOCK_MISSING


def test_internal_error_is_contained(tok, monkeypatch):
    def boom(*a):
        raise RuntimeError("secret-ish detail " + SECRET)

    monkeypatch.setattr(tok.store, "count", boom)
    r = tok.call("info")
    assert r["err"] == proto.E_INTERNAL
    assert SECRET.encode() not in tok.sent[-1]


def test_locked_reply_and_new_session(tok):
    # The real gate (no stand-in): a password set, the link locked.
    tok.server.access.set(b"\x01" * proto.ACCESS_KEY_LEN, b"saltsalt", proto.MIN_ITERATIONS)
    tok.server.lock()
    tok.err("list", proto.E_LOCKED)
    tok.server.unlocked = True  # what a right unlock answer does (test_access_fw.py)
    tok.ok("list")
    tok.server.reset_session()  # a new connection starts locked
    tok.err("list", proto.E_LOCKED)


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


def test_no_secret_in_any_reply(tok):
    keys = [os.urandom(n) for n in (10, 20, 32, 40, 64, 128)]
    for i, k in enumerate(keys):
        b32 = base64.b32encode(k).decode()
        if i % 2:
            tok.ok("add", label="k%d" % i, issuer="I", key=k.hex(), type="hotp" if i == 3 else "totp")
        else:
            tok.ok("add", label="k%d" % i, secret=b32.rstrip("="))
        # The same secret again: refused, and the refusal must not echo it.
        tok.call("add", label="k%d" % i, secret=b32)
        tok.call("add", label="bad%d" % i, secret=b32 + "1")  # invalid char after the secret
        tok.call("add", label="bad%d" % i, secret=b32, digits=99)
    for op in ("info", "list", "time_get"):
        tok.call(op)
    for i in range(len(keys)):
        tok.call("code", label="k%d" % i)
        tok.call("rename", label="k%d" % i, new="r%d" % i)
    tok.call("wipe")
    blob = b"".join(tok.sent)
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
