"""Issue 26's settings on the real rp2 MicroPython in an emulated RP2040:
the screen turned 180 degrees (read the other way up, pyotp's code) and a
5 s timeout, measured in emulated time from the press to the display-off
command.  In lane A: lane B holds most of the screen tests."""

from __future__ import annotations

import time

import pyotp
import pytest

from conftest import RP2_LANE_A
from otpfob.emu.testing import ProtocolClient, grouped, random_secret, screen_code
from support.pico import see_clock_notice

pytestmark = [pytest.mark.rp2, RP2_LANE_A]

T0 = 1_790_000_000


def _turned(pixels):
    return [row[::-1] for row in pixels[::-1]]


def test_settings_turn_the_screen_and_set_its_timeout(make_pico):
    """Issue 26 on the real port: the screen turned 180 degrees (read the
    other way up, pyotp's code) and blanked by a 5 s timeout, measured in
    emulated time from the press to the display-off command."""
    from otpfob.emu import screen

    pico = make_pico()
    secret = random_secret()
    with ProtocolClient(pico.port) as c:
        set_back = c.call("time_set", time=T0)
        c.call("add", label="turn", secret=secret)
        see_clock_notice(pico, set_back)  # upright: read as it is
        got = c.call("config_set", timeout=5, flip=True)["settings"]
        assert got["timeout"] == 5 and got["flip"] is True
    totp = pyotp.TOTP(secret)
    wall_end = time.monotonic() + 120
    while True:  # the picture, read the other way up
        text = screen.decode(_turned(pico.screen_pixels()), pico.firmware_dir)
        code = screen_code(text)
        if code is not None and "turn" in text:
            break
        assert time.monotonic() < wall_end, pico.screen_text()
        time.sleep(0.2)
    assert code in {grouped(totp.at(T0 + s)) for s in range(0, 600, 30)}
    # The blank: every OLED write is recorded with its emulated instant.
    offs = []
    pico.on_i2c_write = lambda addr, ns: offs.append(ns) if addr == 0x3C and not pico.oled.lit() else None
    before = pico.emulated_ns()
    pico.press()  # the blank timer starts again at the press
    pico.advance(7)
    pico.on_i2c_write = None
    assert offs, "the screen never blanked"
    blank_s = (offs[0] - before) / 1e9
    assert 5.0 <= blank_s <= 5.4, blank_s
