"""Draws the emulated screen to PNGs and checks that each PNG shows what the
token's screen shows.  `make screenshots` runs it with OTPFOB_SCREENSHOT set
to write the README's pictures (docs/img/emulated-screen.png, and beside it
emulated-scroll.png: a long label part-way through its scroll); a plain test
run writes only into its temporary folder."""

import base64
import os
import time
from pathlib import Path

import pyotp
import pytest  # noqa: E402
from PIL import Image

from otpfob import paths
from otpfob.emu import screen
from otpfob.emu.testing import ProtocolClient, grouped, screen_code

pytestmark = pytest.mark.emu

REPO = paths.REPO
RFC_KEY = base64.b32encode(b"12345678901234567890").decode()
T = 1_798_761_600 + 12  # 2027-01-01 00:00:12 UTC: 18 s left of the period


LONG_ISSUER = "Amazon AWS"
LONG_LABEL = "alice.admin@example-corp.com"  # 28 characters on a 16-character line
STEP = 6  # the label's scroll position in the picture: the same on every run


def png_text(png):
    """What the PNG shows: read it back and decode it."""
    img = Image.open(png).convert("L")
    assert img.size == (128 * 4, 64 * 4)
    pixels = [[1 if img.getpixel((x * 4 + 1, y * 4 + 1)) > 64 else 0 for x in range(128)] for y in range(64)]
    return screen.decode(pixels, REPO / "firmware")


def part_way(text):
    """The long label STEP characters into its scroll, the issuer whole."""
    lines = text.splitlines()
    return len(lines) > 2 and lines[0].startswith(LONG_ISSUER) and lines[1] == LONG_LABEL[STEP : STEP + 16]


def test_readme_screenshot(tmp_path, make_token):
    out = os.environ.get("OTPFOB_SCREENSHOT")
    png = Path(out).resolve() if out else tmp_path / "emulated-screen.png"
    scroll_png = png.with_name("emulated-scroll.png")
    tok = make_token(freeze=T)
    with ProtocolClient(tok.port) as client:
        client.call("time_set", time=T)
        # The RFC 6238 test key: a published secret, so the picture is the
        # same on every run and the repository's copy stays unchanged.
        secret = RFC_KEY
        client.call("add", label="alice@example", issuer="GitHub", secret=secret)
        client.call("add", label=LONG_LABEL, issuer=LONG_ISSUER, secret=RFC_KEY + RFC_KEY)
        want = grouped(pyotp.TOTP(secret).at(T))
        text = tok.wait_for_screen(lambda t: screen_code(t) == want and "1/2" in t)
    png.parent.mkdir(parents=True, exist_ok=True)
    tok.screen_png(png, scale=4)
    assert "GitHub" in text and "1/2" in text and "alice@example" in text
    assert text.splitlines()[-1] == str(30 - T % 30)  # the seconds left, beside the bar
    assert png_text(png) == text
    # The long name, caught part-way through its scroll.
    tok.press()
    want = grouped(pyotp.TOTP(RFC_KEY + RFC_KEY).at(T))
    # The label rests at STEP for one scroll step (450 ms) a cycle (8 s):
    # picture the first frame that shows it, and check the picture.
    deadline = time.monotonic() + 25
    while True:
        text = tok.screen_text()
        if screen_code(text) == want and "2/2" in text and part_way(text):
            tok.screen_png(scroll_png, scale=4)
            if png_text(scroll_png) == text:
                break
        assert time.monotonic() < deadline, "the label never showed its scroll step %d:\n%s" % (STEP, text)
        time.sleep(0.02)
