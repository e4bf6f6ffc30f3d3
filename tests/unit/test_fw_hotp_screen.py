"""HOTP codes on the screen with an access password set (issue 22): a long
press shows a code only for an account added with touch (its owner said a
press on the token is enough); any other HOTP account's codes come over USB
only, after an unlock, so a finder cannot read codes or use up counters.
Without a password the screen works as before (tests/unit/test_fw_display.py)."""

import base64
import hashlib
import random

import pyotp
import pytest

from otpfob.emu.testing import grouped
from support.fw import AppRig, install_framebuf

install_framebuf()

from conftest import SEED  # noqa: E402
from fob import screen as fw_screen  # noqa: E402
from fob import storage  # noqa: E402

# Random bytes from the run's seed, so OTPFOB_SEED replays them.
_RNG = random.Random(f"{SEED}:{__name__}")

SECRET = base64.b32encode(b"0123456789abcdefghij").decode()


@pytest.fixture
def rig(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = AppRig(height=64, BLANK_MS=600_000, HOTP_SHOW_MS=4000)
    r.run(0.1)
    return r


def counter(label):
    s = storage.Store()
    return s.params(s.find(label, "")).counter


def set_password(rig):
    salt = _RNG.randbytes(16)
    key = hashlib.pbkdf2_hmac("sha256", b"pw", salt, 1000, 32)
    assert rig.call(op="access_set", key=key.hex(), salt=salt.hex(), iterations=1000)["ok"]
    rig.run(0.1)


def test_with_a_password_only_a_touch_account_shows_hotp_codes(rig):
    rig.call(op="add", label="vpn", secret=SECRET, type="hotp", counter=5)
    rig.call(op="add", label="door", secret=SECRET, type="hotp", counter=9, touch=True)
    rig.run(0.1)
    set_password(rig)
    assert rig.text()[0].startswith("vpn")
    assert [t.strip() for t in rig.text()[3:5]] == list(fw_screen.MSG_HOTP_USB)
    for _ in range(3):  # a finder's long presses
        rig.press(400)
        rig.press()  # (a long press moves back here; come back to vpn)
        assert rig.code() == ""
    assert counter("vpn") == 5  # no counter used up
    while not rig.text()[0].startswith("door"):
        rig.press()
    rig.press(400)
    assert rig.code() == grouped(pyotp.HOTP(SECRET).at(9)) and counter("door") == 10


def test_without_a_password_every_hotp_account_shows_codes(rig):
    rig.call(op="add", label="vpn", secret=SECRET, type="hotp", counter=5)
    rig.run(0.1)
    rig.press(400)
    assert rig.code() == grouped(pyotp.HOTP(SECRET).at(5)) and counter("vpn") == 6
