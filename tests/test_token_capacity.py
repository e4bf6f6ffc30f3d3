"""End to end: a full store of 100 of the largest accounts fits in a
microcontroller-sized heap, survives a restart, and shows correct codes.

The Unix port's objects are about twice the size of a 32-bit board's, so a
192 KB heap here is a harder test than a Pico's roughly 190 KB free."""

import os


from fob import proto
from otpfob.emu.testing import ProtocolClient
from reference import expected_totp

import pytest  # noqa: E402
pytestmark = pytest.mark.emu

T0 = 1_795_000_000


def _label(i: int) -> str:
    return ("account-%03d@" % i + "x" * 32)[: proto.MAX_LABEL]


def test_100_largest_accounts_fit_in_a_pico_sized_heap(make_token):
    tok = make_token(heap="192K", rtc_set=True, freeze=T0)
    keys = {}
    with ProtocolClient(tok.port) as client:
        for i in range(proto.MAX_ACCOUNTS):
            keys[i] = os.urandom(proto.MAX_KEY)
            client.call("add", label=_label(i), issuer="I" * proto.MAX_ISSUER,
                        key=keys[i].hex(), algorithm="sha512", digits=10, period=30)
        full = client.request("add", label="one-too-many", key=os.urandom(20).hex())
        assert full["err"] == proto.E_FULL

        tok.power_cut()
        tok.restart()
        client.wait_ready()
        info = client.call("info")
        assert info["accounts"] == proto.MAX_ACCOUNTS and info["store"] == proto.STORE_OK

        # The last account's code, at the token's time, against the reference.
        last = proto.MAX_ACCOUNTS - 1
        got = client.call("code", label=_label(last))["code"]
        assert got == expected_totp(keys[last], T0, 10, 30, "sha512")[0]
