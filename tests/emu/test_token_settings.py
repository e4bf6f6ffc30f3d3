"""End to end on the Unix-port token: the settings as a person sees them on
the panel (the SSD1306 model's pixels, after its remaps), the account order
on screen, and settings and order across a power cut."""

import pyotp
import pytest

from otpfob.emu import screen
from otpfob.emu.testing import ProtocolClient, grouped, random_secret, screen_code

pytestmark = pytest.mark.emu

T0 = 1_795_000_000


def _turned(pixels):
    return [row[::-1] for row in pixels[::-1]]


def test_flip_turns_the_picture_and_contrast_dims_it(make_token):
    tok = make_token(rtc_set=True, freeze=T0)  # a still clock: a still picture
    secret = random_secret()
    with ProtocolClient(tok.port) as c:
        c.call("add", label="turn", issuer="Me", secret=secret)
        text = tok.wait_for_screen(lambda t: screen_code(t) is not None)
        assert screen_code(text) == grouped(pyotp.TOTP(secret).at(T0))
        upright = tok.screen_pixels()
        bright = tok.screen_image().getextrema()[0][1]

        r = c.call("config_set", flip=True, contrast=16)
        assert r["settings"]["flip"] is True and r["settings"]["contrast"] == 16
        turned = tok.wait_for_pixels(lambda px: px == _turned(upright))
        # Read as a person holding it the other way up: the same code.
        assert screen_code(screen.decode(_turned(turned), tok.firmware_dir)) == grouped(pyotp.TOTP(secret).at(T0))
        assert tok.oled.contrast == 16 and tok.screen_image().getextrema()[0][1] < bright

        # Across a power cut: still turned (the setting is on flash).
        tok.power_cut()
        tok.restart()
        c.wait_ready()
        tok.press()
        tok.wait_for_pixels(lambda px: px == _turned(upright))
        assert tok.oled.contrast == 16
        c.call("config_set", flip=False)
        tok.wait_for_pixels(lambda px: px == upright)


def test_the_screen_follows_the_order_and_a_pin(make_token):
    tok = make_token(rtc_set=True, freeze=T0)
    labels = ["alpha", "bravo", "charlie"]
    with ProtocolClient(tok.port) as c:
        for label in labels:
            c.call("add", label=label, secret=random_secret())
        c.call("move", label="charlie", issuer="", to=0)  # pinned
        c.call("move", label="alpha", issuer="", to=2)
        want = ["charlie", "bravo", "alpha"]
        assert [a["label"] for a in c.call("list")["accounts"]] == want
        tok.power_cut()
        tok.restart()
        c.wait_ready()  # awake at power-on, on the first account
        seen = []
        for _ in range(3):
            text = tok.wait_for_screen(lambda t: screen_code(t) is not None and not any(s in t for s in seen))
            first = text.splitlines()[0]
            seen.append([label for label in labels if label in first][0])
            assert "%d/3" % len(seen) in first
            tok.press()
        assert seen == want
