"""Draws the emulated screen to a PNG and checks that the PNG shows what the
token's screen shows.  `make screenshots` runs it with OTPFOB_SCREENSHOT set
to write the README's picture (docs/img/emulated-screen.png); a plain test
run writes only into its temporary folder."""

import base64
import os
from pathlib import Path

import pyotp
from PIL import Image

from otpfob.emu import screen
from otpfob.emu.testing import ProtocolClient, grouped, screen_code
from otpfob import paths

import pytest  # noqa: E402
pytestmark = pytest.mark.emu

REPO = paths.REPO
RFC_KEY = base64.b32encode(b"12345678901234567890").decode()
T = 1_798_761_600 + 12  # 2027-01-01 00:00:12 UTC: 18 s left of the period


def test_readme_screenshot(tmp_path, make_token):
    out = os.environ.get("OTPFOB_SCREENSHOT")
    png = Path(out).resolve() if out else tmp_path / "emulated-screen.png"
    tok = make_token(freeze=T)
    with ProtocolClient(tok.port) as client:
        client.call("time_set", time=T)
        # The RFC 6238 test key: a published secret, so the picture is the
        # same on every run and the repository's copy stays unchanged.
        secret = RFC_KEY
        client.call("add", label="alice@example", issuer="GitHub", secret=secret)
        client.call("add", label="root", issuer="AWS", secret=RFC_KEY + RFC_KEY)
        want = grouped(pyotp.TOTP(secret).at(T))
        text = tok.wait_for_screen(lambda t: screen_code(t) == want and "1/2" in t)
    png.parent.mkdir(parents=True, exist_ok=True)
    tok.screen_png(png, scale=4)
    assert "GitHub" in text and "1/2" in text and "alice@example" in text
    # The PNG shows the same pixels: read it back and decode it.
    img = Image.open(png).convert("L")
    assert img.size == (128 * 4, 64 * 4)
    pixels = [[1 if img.getpixel((x * 4 + 1, y * 4 + 1)) > 64 else 0 for x in range(128)]
              for y in range(64)]
    assert screen.decode(pixels, REPO / "firmware") == text
