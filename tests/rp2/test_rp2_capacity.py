"""A full store on the real rp2 port: 100 of the largest accounts on the
emulated Pico, then `list`, `code`, `info`, `delete` and the screen.

The largest account: a 32-byte multi-byte UTF-8 label and issuer, a
128-byte key, SHA-512 and 10 digits.  The first 97 are written by the
firmware's own `fob.storage` (run in CPython) into `accounts.dat`, copied to
the Pico's littlefs with mpremote: the board boots and loads that store.
The last 3 are added over USB the way the host tool sends them (compact
UTF-8 JSON), the last one filling the store, and a 101st is refused.  (All
100 over USB took 6-7 minutes of CI's budget; each add over USB is proven
elsewhere, the store at capacity here.)  The free heap on a full store is
recorded with the tier counts.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import RP2_LANE_A, record_cases
from fob import proto, storage
from otpfob.emu import leakscan
from otpfob.emu.rp2.image import put_file
from otpfob.emu.testing import ProtocolClient, screen_code
from support.reference import expected_totp

pytestmark = [pytest.mark.rp2, RP2_LANE_A]

T0 = 1_790_000_000
N = 100
SEEDED = N - 3  # written into the flash; the rest added over USB
ISSUER = "Ω" * 16  # 32 bytes of UTF-8


def label(k: int) -> str:
    return "é" * 14 + "%04d" % k  # 32 bytes of UTF-8


def send_compact(client: ProtocolClient, rid: int, **req) -> dict:
    line = json.dumps({"v": proto.VERSION, "id": rid, **req}, ensure_ascii=False, separators=(",", ":")).encode()
    assert len(line) < proto.MAX_LINE
    return client.raw(line + b"\n")


def seeded_store(folder: Path, keys: dict[str, bytes]) -> Path:
    """The store file of these accounts, written by the firmware's own code."""
    store = storage.Store(str(folder) + "/")
    for name, key in keys.items():
        store.add(name, ISSUER, key, algorithm="sha512", digits=10, period=30)
    return folder / storage.FILE


def add_request(k: int, key: bytes) -> dict:
    return dict(op="add", label=label(k), issuer=ISSUER, key=key.hex(), algorithm="sha512", digits=10, period=30)


def test_a_full_store_of_the_largest_accounts(make_pico, rng, tmp_path):
    keys = {label(k): rng.randbytes(proto.MAX_KEY) for k in range(N)}
    for key in keys.values():
        leakscan.add_secret(key)  # the seeded ones never cross the protocol
    (tmp_path / "flash").mkdir()
    seeded = seeded_store(tmp_path / "flash", {name: keys[name] for name in list(keys)[:SEEDED]})
    pico = make_pico(frozen=True, wire_time=False)
    with ProtocolClient(pico.port, timeout=30) as c:
        c.call("time_set", time=T0)
        free_empty = c.call("info")["free"]
    put_file(pico.port, seeded, storage.FILE)
    assert pico.wait_ready(120)["accounts"] == SEEDED
    with ProtocolClient(pico.port, timeout=30) as c:
        assert c.call("info")["store"] == proto.STORE_OK
        for k in range(SEEDED, N):
            added = send_compact(c, 1000 + k, **add_request(k, keys[label(k)]))
            assert added.get("ok"), added
        info = c.call("info")
        assert info["accounts"] == N and info["store"] == proto.STORE_OK
        full = send_compact(c, 1000 + N, **add_request(N, rng.randbytes(proto.MAX_KEY)))
        assert full.get("ok") is False and full.get("err") == proto.E_FULL, full
        # Every account comes back, in pages or whole.
        got = c.call("list")["accounts"]
        assert sorted(a["label"] for a in got) == sorted(keys)
        for k in (0, SEEDED - 1, N - 1):  # one from the file, one added over USB
            r = c.call("code", label=label(k), issuer=ISSUER)
            assert r["code"] == expected_totp(keys[label(k)], r["time"], 10, 30, "sha512")[0]
        c.call("delete", label=label(N // 2), issuer=ISSUER)
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
