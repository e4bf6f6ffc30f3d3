"""The display's second pass on the real rp2 MicroPython in an emulated
RP2040: an HOTP code on a long press (pyotp's, at the stored counter, and
never again after a power cut), and a long Latin-1 name scrolled in full
beside the code.  The screen is read from the SSD1306
model's RAM."""

from __future__ import annotations

import random
import time

import pyotp
import pytest

from conftest import RP2_LANE_B, SEED
from otpfob.emu.testing import ProtocolClient, grouped, random_secret, screen_code
from support.pico import see_clock_notice

pytestmark = [pytest.mark.rp2, RP2_LANE_B]

T0 = 1_790_000_000
LABEL = "ölaf.långnäm@example-corp.com"  # 32 UTF-8 bytes: the longest label
ISSUER = "Bänk"


def counter_of(pico, label):
    with ProtocolClient(pico.port) as c:
        (acct,) = [a for a in c.call("list")["accounts"] if a["label"] == label]
        return acct["counter"]


def test_hotp_on_the_button_and_a_long_name_scrolled(make_pico):
    rnd = random.Random(SEED)
    pico = make_pico()
    secret = random_secret()
    start = rnd.randrange(0, 10_000)
    with ProtocolClient(pico.port) as c:
        set_back = c.call("time_set", time=T0)
        c.call("add", label="door", secret=secret, type="hotp", counter=start, digits=8)
        c.call("add", label=LABEL, issuer=ISSUER, secret=random_secret())
    hotp = pyotp.HOTP(secret, digits=8)
    see_clock_notice(pico, set_back)
    pico.wait_for_screen(lambda t: "Hold the button" in t and "door" in t, 20)
    shown = []
    for k in range(2):
        pico.hold()
        text = pico.wait_for_screen(lambda t: screen_code(t) is not None, 20)
        shown.append(screen_code(text))
        assert shown[-1] == grouped(hotp.at(start + k))
        assert counter_of(pico, "door") == start + k + 1
        pico.power_cut()
        pico.restart()
        pico.wait_ready()
        pico.wait_for_screen(lambda t: "Hold the button" in t, 20)  # not the code again
    assert len(set(shown)) == len(shown)
    # The next account: a name longer than its line.  Its issuer fits.
    pico.press()
    text = pico.wait_for_screen(lambda t: t.startswith(ISSUER) and screen_code(t) is not None, 20)
    assert screen_code(text) is not None
    seen = set()
    # Two whole cycles (19 steps of 450 ms) of emulated time, however slowly
    # the emulator runs on a loaded host; the wall clock only bounds a hang.
    end_ns = pico.emulated_ns() + 2 * 19 * 450_000_000
    wall_end = time.monotonic() + 600
    while pico.emulated_ns() < end_ns and time.monotonic() < wall_end and len(seen) < len(LABEL):
        time.sleep(0.1)
        lines = pico.screen_text().splitlines()
        if len(lines) < 3 or screen_code("\n".join(lines)) is None:
            continue  # read between two transfers of a redraw
        assert lines[0].startswith(ISSUER)
        at = LABEL.find(lines[1])
        assert at >= 0 and len(lines[1]) == 16, lines  # a whole window of the name
        seen.update(range(at, at + 16))
    assert seen == set(range(len(LABEL)))  # every character (a cycle is 19 steps of 450 ms)
