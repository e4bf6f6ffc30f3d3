"""Bit flips in the stored files, with the token off.

accounts.dat: 1 to 3 random bits flipped per power-on.  The token must say
so on its screen ("Store damaged", no code), over serial (info store =
damaged; list and code answer store_damaged) and never give a code; the
button does not bring one up either.  `wipe` is the way back.
accounts.new (a damaged leftover of a cut write): dropped, the old store
used, nothing reported damaged.  access.dat: fails closed (the link stays
locked, unlock answers store_damaged).  clock.dat (a remembered clock
jump): any content means "jumped", so no code until the clock is set.
Every flipped bit is counted ("bit-flips").
"""

from __future__ import annotations

import random

import pyotp
import pytest

from conftest import SEED, record_cases
from fob import proto
from otpfob.emu import EmulatedToken
from otpfob.emu.testing import ProtocolClient, grouped, random_secret, screen_code

pytestmark = pytest.mark.emu

T0 = 1_800_000_000
STORE_CASES = 20
OTHER_CASES = 4


@pytest.fixture
def token(make_token):
    tok = make_token(rtc_set=True, freeze=T0)
    client = ProtocolClient(tok.port)
    client.call("time_set", time=T0)
    yield tok, client
    client.close()


def flip(data: bytes, rnd: random.Random, bits: int) -> bytes:
    b = bytearray(data)
    for pos in rnd.sample(range(len(b) * 8), bits):
        b[pos // 8] ^= 1 << (pos % 8)
    return bytes(b)


def reboot_with(tok: EmulatedToken, client: ProtocolClient, files: dict[str, bytes]) -> None:
    tok.power_cut()
    for name, data in files.items():
        (tok.flash / name).write_bytes(data)
    tok.restart()
    client.ser.reset_input_buffer()
    client.wait_ready()


def test_flipped_store_is_reported_on_screen_and_serial_and_gives_no_code(token):
    tok, client = token
    rnd = random.Random(f"{SEED}-flips")
    secrets = {}
    for label, kw in (("alpha", {}), ("beta", {"digits": 8}), ("gamma", {"type": "hotp", "counter": 3})):
        secrets[label] = random_secret()
        client.call("add", label=label, issuer="Flip", secret=secrets[label], **kw)
    good = (tok.flash / "accounts.dat").read_bytes()
    flipped_bits = 0
    for i in range(STORE_CASES):
        bits = rnd.randint(1, 3)
        bad = flip(good, rnd, bits)
        reboot_with(tok, client, {"accounts.dat": bad})
        flipped_bits += bits
        info = client.call("info")
        assert info["store"] == proto.STORE_DAMAGED and info["accounts"] == 0, info
        for op, args in (
            ("list", {}),
            ("code", {"label": "alpha"}),
            ("code", {"label": "gamma"}),
            ("add", {"label": "x", "secret": random_secret()}),
            ("delete", {"label": "beta"}),
        ):
            r = client.request(op, **args)
            assert r["ok"] is False and r["err"] == proto.E_STORE, (op, r)
        text = tok.wait_for_screen(lambda t: "Store damaged" in t)
        assert "otpfob wipe" in text.replace("\n", " ") and screen_code(text) is None
        if i % 5 == 0:
            tok.press()
            assert screen_code(tok.screen_text()) is None
        assert (tok.flash / "accounts.dat").read_bytes() == bad  # nothing rewritten behind the user's back
    # The way back: wipe, then the token works again.
    client.call("wipe")
    assert client.call("info")["store"] == proto.STORE_OK
    client.call("add", label="again", secret=secrets["alpha"])
    text = tok.wait_for_screen(lambda t: screen_code(t) is not None)
    assert screen_code(text) == grouped(pyotp.TOTP(secrets["alpha"]).at(T0))
    record_cases("bit-flips", flipped_bits)
    print(f"\nbit flips in accounts.dat: {flipped_bits} bits over {STORE_CASES} power-ons, all detected")


def test_flips_in_the_other_files(token):
    tok, client = token
    rnd = random.Random(f"{SEED}-other")
    secret = random_secret()
    client.call("add", label="alpha", secret=secret)
    old = (tok.flash / "accounts.dat").read_bytes()
    client.call("add", label="beta", secret=random_secret())
    new = (tok.flash / "accounts.dat").read_bytes()
    want_old = [a["label"] for a in client.call("list")["accounts"]][:1]
    flipped = 0

    # A damaged accounts.new beside a good accounts.dat: a cut write; the old store stands.
    for _ in range(OTHER_CASES):
        bits = rnd.randint(1, 3)
        reboot_with(tok, client, {"accounts.dat": old, "accounts.new": flip(new, rnd, bits)})
        flipped += bits
        info = client.call("info")
        assert info["store"] == proto.STORE_OK and info["accounts"] == 1
        assert [a["label"] for a in client.call("list")["accounts"]] == want_old
        assert not (tok.flash / "accounts.new").exists()
        assert client.call("code", label="alpha")["code"] == pyotp.TOTP(secret).at(T0)

    # clock.dat, the remembered jump: any content means untrusted.
    tok.clock.set(T0 + 7200)
    tok.wait_for_screen(lambda t: "Clock jumped" in t)
    assert client.call("info")["clock"] == proto.CLOCK_JUMPED
    jump = (tok.flash / "clock.dat").read_bytes()
    for _ in range(OTHER_CASES):
        bits = rnd.randint(1, 3)
        reboot_with(tok, client, {"clock.dat": flip(jump, rnd, bits)})
        flipped += bits
        assert client.call("info")["clock"] == proto.CLOCK_JUMPED
        assert client.request("code", label="alpha")["err"] == proto.E_CLOCK
        text = tok.wait_for_screen(lambda t: "Clock jumped" in t)
        assert screen_code(text) is None and "otpfob time" in text
    client.call("time_set", time=T0)
    assert not (tok.flash / "clock.dat").exists()

    # access.dat: the token fails closed (locked; unlock says the record is
    # damaged; the screen says so and shows no code).
    client.call("access_set", key="42" * 32, salt="17" * 16, iterations=1000)
    rec = (tok.flash / "access.dat").read_bytes()
    for _ in range(OTHER_CASES):
        bits = rnd.randint(1, 3)
        reboot_with(tok, client, {"access.dat": flip(rec, rnd, bits)})
        flipped += bits
        info = client.call("info")
        assert info["access"] is True and info["unlocked"] is False, info
        assert client.request("unlock")["err"] == proto.E_STORE
        for op, args in (("list", {}), ("code", {"label": "alpha"}), ("access_clear", {})):
            assert client.request(op, **args)["err"] == proto.E_LOCKED
        text = tok.wait_for_screen(lambda t: "Access damaged" in t)
        assert screen_code(text) is None and "--factory" in text
    record_cases("bit-flips", flipped)
    print(f"\nbit flips in accounts.new, clock.dat, access.dat: {flipped} bits, all handled")
