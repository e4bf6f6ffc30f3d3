"""End to end: a full store of 100 of the largest accounts fits in a
microcontroller-sized heap, survives a restart, and list, code, info and
delete all work on it.

The emulated token's default heap is a third more than the real rp2 port's
whole GC heap (240 KB), since the Unix port's objects are in 64-bit words and
it compiles the app from source (otpfob.emu.token.DEFAULT_HEAP).  The tight
case runs the firmware as .mpy files, as `otpfob deploy` puts it on a board,
in the Pico's own 240 KB, 64-bit words and all: no reply needs one large
block (a `list` of 100 such accounts is about 18 KB of JSON, written one
account at a time: see fob.server.Server.send), and the store's offsets are
kept in lists taken once (fob.storage).  The Pico's own figure is
tests/rp2/test_rp2_capacity.py's."""

import json

import pytest  # noqa: E402

from fob import proto
from otpfob.emu.testing import ProtocolClient
from otpfob.emu.token import DEFAULT_HEAP
from support.reference import expected_totp

pytestmark = pytest.mark.emu

T0 = 1_795_000_000
# 32 UTF-8 bytes each, two bytes a character: the largest label and issuer.
ISSUER = "é" * (proto.MAX_ISSUER // 2)


def _label(i: int) -> str:
    label = "é" * 14 + "%04d" % i
    assert len(label.encode()) == proto.MAX_LABEL
    return label


def _add(client: ProtocolClient, **args) -> dict:
    # As the host sends it (otpfob.transport): compact, raw UTF-8, so the
    # largest account fits the token's 512-byte line.
    line = json.dumps({"v": proto.VERSION, "op": "add", **args}, separators=(",", ":"), ensure_ascii=False).encode()
    return client.raw(line + b"\n")


@pytest.mark.parametrize("heap, deployed", [(DEFAULT_HEAP, "source"), ("240K", "mpy")])
def test_100_largest_accounts_fit_in_a_pico_sized_heap(make_token, heap, deployed, rng, request):
    assert DEFAULT_HEAP == "384K"
    fw = request.getfixturevalue("firmware_mpy") if deployed == "mpy" else None
    tok = make_token(heap=heap, rtc_set=True, freeze=T0, firmware_dir=fw)
    keys = {}
    with ProtocolClient(tok.port) as client:
        for i in range(proto.MAX_ACCOUNTS):
            keys[i] = rng.randbytes(proto.MAX_KEY)
            r = _add(
                client, label=_label(i), issuer=ISSUER, key=keys[i].hex(), algorithm="sha512", digits=10, period=30
            )
            assert r["ok"] and r["accounts"] == i + 1, r
        full = _add(client, label="one-too-many", key=rng.randbytes(20).hex())
        assert full["err"] == proto.E_FULL

        tok.power_cut()
        tok.restart()
        client.wait_ready()
        info = client.call("info")
        assert info["accounts"] == proto.MAX_ACCOUNTS and info["store"] == proto.STORE_OK

        # The whole store in one reply (streamed), and in the host's pages.
        whole = client.call("list")
        assert whole["total"] == proto.MAX_ACCOUNTS
        assert [a["label"] for a in whole["accounts"]] == [_label(i) for i in range(proto.MAX_ACCOUNTS)]
        assert all(
            a["issuer"] == ISSUER and a["algorithm"] == "sha512" and a["digits"] == 10 for a in whole["accounts"]
        )
        for start in range(0, proto.MAX_ACCOUNTS, 25):
            page = client.call("list", start=start, limit=25)
            assert page["accounts"] == whole["accounts"][start : start + 25]

        # The last account's code, at the token's time, against the reference.
        last = proto.MAX_ACCOUNTS - 1
        got = client.call("code", label=_label(last), issuer=ISSUER)["code"]
        assert got == expected_totp(keys[last], T0, 10, 30, "sha512")[0]

        # Delete from a full store, then the list and a code still agree.
        assert client.call("delete", label=_label(0), issuer=ISSUER)["accounts"] == proto.MAX_ACCOUNTS - 1
        rest = client.call("list")
        assert rest["total"] == proto.MAX_ACCOUNTS - 1
        assert rest["accounts"] == whole["accounts"][1:]
        got = client.call("code", label=_label(1), issuer=ISSUER)["code"]
        assert got == expected_totp(keys[1], T0, 10, 30, "sha512")[0]
        info = client.call("info")
        assert info["accounts"] == proto.MAX_ACCOUNTS - 1
        assert isinstance(info["free"], int) and info["free"] > 0
