"""A full store on the real rp2 port: 100 of the largest accounts on the
emulated Pico, then `list`, `code`, `info`, `delete` and the screen.

The largest account: a 32-byte multi-byte UTF-8 label and issuer, a
128-byte key, SHA-512 and 10 digits.  The accounts are added the way the
host tool sends them (compact UTF-8 JSON).  The free heap on a full store is
recorded with the tier counts.
"""

from __future__ import annotations

import json

import pytest

from conftest import RP2_LANE_A, record_cases
from fob import proto
from otpfob.emu.testing import ProtocolClient, screen_code
from support.reference import expected_totp

pytestmark = [pytest.mark.rp2, RP2_LANE_A]

T0 = 1_790_000_000
N = 100


def label(k: int) -> str:
    return "é" * 14 + "%04d" % k  # 32 bytes of UTF-8


def send_compact(client: ProtocolClient, rid: int, **req) -> dict:
    line = json.dumps({"v": proto.VERSION, "id": rid, **req}, ensure_ascii=False, separators=(",", ":")).encode()
    assert len(line) < proto.MAX_LINE
    reply = client.raw(line + b"\n")
    assert reply.get("ok"), reply
    return reply


def test_a_full_store_of_the_largest_accounts(make_pico, rng):
    pico = make_pico(frozen=True, wire_time=False)
    keys = {}
    with ProtocolClient(pico.port, timeout=30) as c:
        c.call("time_set", time=T0)
        free_empty = c.call("info")["free"]
        for k in range(N):
            key = rng.randbytes(proto.MAX_KEY)
            keys[label(k)] = key
            send_compact(
                c,
                1000 + k,
                op="add",
                label=label(k),
                issuer="Ω" * 16,
                key=key.hex(),
                algorithm="sha512",
                digits=10,
                period=30,
            )
        info = c.call("info")
        assert info["accounts"] == N and info["store"] == proto.STORE_OK
        # Every account comes back, in pages or whole.
        got = c.call("list")["accounts"]
        assert sorted(a["label"] for a in got) == sorted(keys)
        for k in (0, N // 2, N - 1):
            r = c.call("code", label=label(k), issuer="Ω" * 16)
            assert r["code"] == expected_totp(keys[label(k)], r["time"], 10, 30, "sha512")[0]
        c.call("delete", label=label(N // 2), issuer="Ω" * 16)
        assert c.call("info")["accounts"] == N - 1
    # The screen shows a 10-digit code on the full store.  A press first, as
    # its owner would: on a loaded host the adds may take longer than the
    # 30 s after which the screen blanks (emulated time runs while the
    # host is slow to send); awake, it moves to the next account, also 10 digits.
    pico.press()
    text = pico.wait_for_screen(lambda t: screen_code(t) is not None, 60)
    assert len(screen_code(text).replace(" ", "")) == 10
    # And after a power cut the store is still whole.
    pico.restart()
    pico.wait_ready(120)  # the first screen, then one info: no queue of requests during boot
    with ProtocolClient(pico.port, timeout=30) as c:
        info = c.call("info")
    assert info["accounts"] == N - 1 and info["store"] == proto.STORE_OK
    record_cases("rp2-full-store-accounts", N)
    print("\nrp2 free heap: %d bytes with no accounts, %d with %d of the largest" % (free_empty, info["free"], N - 1))
    assert info["free"] > 60_000  # room to spare on the frozen image
