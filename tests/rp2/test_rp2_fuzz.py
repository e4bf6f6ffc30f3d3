"""Fuzz over the real USB CDC: the emulated Pico's TinyUSB serial, the rp2
port's stdin, the app's line reader and the strict frame check.

Streams from tests/support/frames.py (garbage, valid frames, refused frames,
partial lines, floods) are mixed with Ctrl-A/B/D/E bytes (and Ctrl-C when
an access password is set: then it must be an ordinary byte) and sent in
bursts.  Every line must get exactly one reply, and the same verdict as the
CPython model (tests/rel/test_rel_fuzz.py's Rig, the same firmware logic under
CPython, over the same accounts); nothing may reach a REPL; refused requests
change nothing: the whole 2 MB flash image is the same byte for byte.

Normal run: 120 frames or more with a password set (without one: `make
test-slow`); `make fuzz` (OTPFOB_FUZZ=full): 2 x 10,000.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import given, seed
from hypothesis import strategies as st
from test_rel_fuzz import BASES, KEY2, PER_EXAMPLE, SECRET_B32, Rig, _read_replies, _settings

from conftest import RP2_LANE_B, SEED, record_cases
from fob import proto
from otpfob.emu.testing import ProtocolClient
from otpfob.session import Session
from otpfob.transport import SerialTransport
from support import frames as rf

pytestmark = [pytest.mark.rp2, pytest.mark.fuzz, RP2_LANE_B]

N = 10_000 if os.environ.get("OTPFOB_FUZZ") == "full" else 120
PASSWORD = "fuzzing the real usb stack"
REPL_SIGNS = (b">>>", b"raw REPL", b"MicroPython v", b"Traceback", b"KeyboardInterrupt")


@st.composite
def with_controls(draw, chunks: list[bytes], locked: bool) -> list[bytes]:
    """Ctrl-A/B/D/E (the raw REPL's keys) dropped into the stream; Ctrl-C too
    when a password has turned it into an ordinary byte."""
    keys = b"\x01\x02\x04\x05" + (b"\x03" if locked else b"")
    out = []
    for chunk in chunks:
        if not locked:
            # Without a password Ctrl-C breaks into the REPL by design (it is
            # how `otpfob deploy` gets in): the byte mutations may not send it.
            chunk = chunk.replace(b"\x03", b"\x13")
        if chunk and draw(st.integers(0, 3)) == 0:
            at = draw(st.integers(0, len(chunk)))
            k = keys[draw(st.integers(0, len(keys) - 1))]
            chunk = chunk[:at] + bytes([k]) * draw(st.integers(1, 3)) + chunk[at:]
        out.append(chunk)
    return out


@pytest.mark.parametrize(
    "locked", [pytest.param(False, id="no-password", marks=pytest.mark.slow), pytest.param(True, id="password")]
)
def test_fuzz_the_real_usb_cdc(make_pico, tmp_path, locked):
    pico = make_pico()
    with ProtocolClient(pico.port) as c:
        c.call("time_set", time=rf.T0)
        c.call("add", label="alpha", issuer="Issuer", secret=SECRET_B32)
        c.call("add", label="beta", key=KEY2.hex(), type="hotp", counter=7)
        c.call("add", label="gamma", issuer="G", key=KEY2.hex(), algorithm="sha512", digits=8, period=60)
    bases = BASES
    if locked:
        with Session(SerialTransport(pico.port), min_iterations=1000) as s:
            s.set_access(PASSWORD, iterations=1000)
        # Unlock answers would move the token's failure counter (by design):
        # they are fuzzed in CPython, where the model keeps the same counter.
        bases = [b for b in BASES if b["op"] != proto.OP_UNLOCK]
    pico.restart()  # locked from power-on, and Ctrl-C off since boot
    pico.wait_ready()
    with ProtocolClient(pico.port) as c:
        listed = None if locked else c.call("list")["accounts"]
    before = pico.save_flash()
    oracle = Rig(tmp_path / "oracle", accounts=True, password=locked)
    log_start = len(pico.serial_log)
    stats = {"frames": 0, "lines": 0, "errors": 0, "controls": 0}
    client = ProtocolClient(pico.port, timeout=30)
    try:

        @_settings(int(N * 1.5) + PER_EXAMPLE)
        @given(st.data())
        def run(data):
            chunks = data.draw(rf.stream(bases, PER_EXAMPLE, flood=2_000))
            chunks = data.draw(with_controls(chunks, locked))
            raw = b"".join(chunks) + b"\n"
            keep, want, theirs, _ = rf.against_oracle(raw.split(b"\n")[:-1], oracle)
            stats["controls"] += sum(p.count(b) for p in keep for b in (b"\x01", b"\x02", b"\x03", b"\x04", b"\x05"))
            payload = b"".join(p + b"\n" for p in keep)
            client.ser.write(payload)
            got = _read_replies(client, len(want), 60 + len(payload) / 2_000)
            frames, errors = rf.check_replies(keep, want, got, theirs, strict=False)
            stats["errors"] += errors
            stats["frames"] += frames
            stats["lines"] += len(want)
            assert pico.running

        # Hypothesis may end a run early (draws too large for its buffer are
        # dropped), and the oracle holds back requests that would change the
        # token: further rounds, each from its own seed, until N frames went.
        for round_no in range(6):
            if stats["frames"] >= N:
                break
            seed(SEED + locked + 2 * round_no)(run)()
        info = client.call("info")
        assert info["store"] == proto.STORE_OK and info["access"] is locked
        if not locked:
            assert client.call("list")["accounts"] == listed
    finally:
        client.close()
    out = pico.serial_log[log_start:]
    for sign in REPL_SIGNS:
        assert sign not in out, sign  # nothing reached a REPL
    assert pico.save_flash() == before  # refused requests changed nothing, byte for byte
    assert stats["frames"] >= N
    record_cases("rp2-fuzz-cdc-frames", stats["frames"])
    record_cases("rp2-fuzz-cdc-control-bytes", stats["controls"])
