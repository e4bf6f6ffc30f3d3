"""The stricter protocol (docs/protocol.md): repeated member names, the name
rule for labels and issuers, the HOTP counter's limit and real hex digits.

Every case from tests/support/frames.py's strict_cases() (each repeated name
in each spelling, each refused character in each name argument, blank
names, counters past the limit) is sent three ways, and each must be
refused with its error code and leave the stored accounts byte for byte:
  - into fob.server.Server under CPython;
  - into the same Server under the MicroPython Unix port;
  - over the emulated token's pty, to the whole firmware.
"""

from __future__ import annotations

import json
import time

import pyotp
import pytest

from fob import frame, proto, storage
from support import frames as rf
from support.fw import ServerRig, flash_files, run_micropython

CASES = rf.strict_cases()
HEX = b"0123456789abcdefABCDEF"


def _swept_escapes() -> list[tuple[bytes, bool]]:
    """'"\\u00e9"' with each of its four digits set to every byte value, and
    whether the result is a JSON string (only a real hex digit makes one)."""
    out = []
    for at in range(4):
        for byte in range(256):
            line = bytearray(b'"\\u00e9"')
            line[3 + at] = byte
            out.append((bytes(line), byte in HEX))
    return out


def test_the_cases_break_one_rule_each():
    """A repeated-name case is JSON that CPython reads (keeping the last
    value) but the rule refuses; a name case is a strict frame whose only
    fault is its name or counter (or, with a raw C0 byte, not JSON at all)."""
    for line in rf.repeated_name_frames():
        json.loads(line)
        assert not rf.strict_ok(line), line
    for line, err in rf.refused_name_frames():
        if err == proto.E_FRAME:
            assert not rf.strict_ok(line), line
        else:
            assert rf.must_refuse(rf.strict_json(line)), line


def test_frame_check_takes_only_real_hex_digits():
    for line, ok in _swept_escapes():
        assert frame.valid(line) is ok, line
        assert rf.strict_ok(line) is ok, line


def test_cpython_server_refuses_every_case(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    tok = ServerRig()
    for req in rf.SETUP:
        tok.ok(req["op"], **{k: v for k, v in req.items() if k != "op"})
    before = flash_files()
    for line, err in CASES:
        r = tok.raw(line)
        assert (r["ok"], r.get("err")) == (False, err), (line, r)
        if err == proto.E_FRAME:
            assert r["id"] is None
    assert flash_files() == before


def test_names_the_rule_allows_are_stored(tmp_path, monkeypatch):
    """The rule refuses only what it says: unassigned code points, the
    Arabic number signs (format characters that are drawn), Latin-1 letters
    and an empty issuer pass."""
    monkeypatch.chdir(tmp_path)
    tok = ServerRig()
    for i, (label, issuer) in enumerate((("Bänk", ""), ("a\u0600b", "SIGN"), ("x\u0378", "\u00c5"), ("  x ", " y"))):
        tok.ok("add", label=label, issuer=issuer, key="00" * 10)
        assert tok.ok("list")["accounts"][i]["label"] == label


def test_counter_limit_is_pyotps_and_then_exhausted(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    tok = ServerRig()
    secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    tok.ok("add", label="h", secret=secret, type="hotp", counter=proto.MAX_COUNTER - 1)
    r = tok.ok("code", label="h")
    assert (r["code"], r["counter"]) == (pyotp.HOTP(secret).at(proto.MAX_COUNTER - 1), proto.MAX_COUNTER - 1)
    assert storage.Store().params(0).counter == proto.MAX_COUNTER
    tok.err("code", proto.E_ARG, label="h")  # exhausted: no code for the last counter, none twice
    tok.ok("add", label="m", secret=secret, type="hotp", counter=proto.MAX_COUNTER)
    tok.err("add", proto.E_ARG, label="n", secret=secret, type="hotp", counter=proto.MAX_COUNTER + 1)


# -- the same under the MicroPython Unix port ------------------------------------------

UPY_SCRIPT = r"""
import json
from fob import frame, storage
from fob.clock import Clock
from fob.server import Server

class RTC:
    def read(self):
        return 1750000000, False

srv = Server(storage.Store(), Clock(RTC(), ticks=lambda: 0), board="mp")
with open("setup.json") as f:
    for req in json.load(f):
        assert b'"ok": true' in srv.handle_line(req.encode())
with open("accounts.dat", "rb") as f:
    before = f.read()
with open("cases.json") as f:
    cases = json.load(f)
for i in range(len(cases)):
    out = srv.handle_line(bytes.fromhex(cases[i]))
    r = json.loads(out[8:])
    print(json.dumps({"i": i, "ok": r["ok"], "err": r.get("err"), "id": r.get("id")}))
with open("sweep.json") as f:
    sweep = json.load(f)
print(json.dumps({"sweep": [frame.valid(bytes.fromhex(s)) for s in sweep]}))
with open("accounts.dat", "rb") as f:
    print(json.dumps({"same": f.read() == before}))
"""


@pytest.mark.upy
def test_micropython_server_refuses_every_case(tmp_path):
    (tmp_path / "setup.json").write_text(json.dumps([json.dumps({"v": proto.VERSION, **r}) for r in rf.SETUP]))
    (tmp_path / "cases.json").write_text(json.dumps([line.hex() for line, _ in CASES]))
    sweep = _swept_escapes()
    (tmp_path / "sweep.json").write_text(json.dumps([line.hex() for line, _ in sweep]))
    rows = run_micropython(UPY_SCRIPT, tmp_path, timeout=120)
    replies = [r for r in rows if "i" in r]
    assert len(replies) == len(CASES)
    for r, (line, err) in zip(replies, CASES, strict=True):
        assert (r["ok"], r["err"]) == (False, err), (line, r)
    tail = {k: v for r in rows for k, v in r.items() if k in ("sweep", "same")}
    assert tail["sweep"] == [ok for _, ok in sweep]
    assert tail["same"] is True


# -- over the emulated token's pty ---------------------------------------------------


@pytest.mark.emu
def test_emulated_token_refuses_every_case_over_its_pty(make_token):
    from otpfob.emu.testing import ProtocolClient

    tok = make_token(rtc_set=True)
    with ProtocolClient(tok.port) as client:
        for req in rf.SETUP:
            client.call(req["op"], **{k: v for k, v in req.items() if k != "op"})
        listed = client.call("list")["accounts"]
        before = {p.name: p.read_bytes() for p in tok.flash.iterdir()}
        for start in range(0, len(CASES), 50):  # in bursts, as a host could send them
            batch = CASES[start : start + 50]
            client.ser.write(b"".join(line + b"\n" for line, _ in batch))
            got = _replies(client, len(batch))
            for r, (line, err) in zip(got, batch, strict=True):
                assert (r["ok"], r.get("err")) == (False, err), (line, r)
        assert {p.name: p.read_bytes() for p in tok.flash.iterdir()} == before
        assert client.call("list")["accounts"] == listed
    assert tok.running


def _replies(client, n: int) -> list[dict]:
    tag = proto.REPLY_TAG.encode()
    out: list[dict] = []
    buf = b""
    deadline = time.monotonic() + 30
    while len(out) < n:
        assert time.monotonic() < deadline, f"the token answered {len(out)} of {n} lines"
        buf += client.ser.read(client.ser.in_waiting or 1)
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            assert line.startswith(tag), line[:200]
            out.append(rf.parse_reply(line + b"\n"))
    return out
