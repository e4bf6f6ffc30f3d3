"""Access control in the app loop (CPython): touch accounts are deferred
replies while the loop keeps serving and drawing, the factory wipe reads the
real button, and Ctrl-C is turned off while a password is set.

The screen is read back from the SSD1306 RAM with the firmware font's
decoders, as in test_fw_app.py.
"""

import hashlib
import os
import sys
import types

import pyotp
import pytest

from support.fw import AppRig, install_framebuf

install_framebuf()
from fob import access as faccess  # noqa: E402
from fob import proto  # noqa: E402

T0 = 1_750_000_000
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


Rig = AppRig


@pytest.fixture
def rig(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = Rig(TOUCH_MS=3000)
    r.run()
    return r


def grouped(code):
    return code[:3] + " " + code[3:]


def test_touch_code_only_after_a_press_and_the_loop_keeps_going(rig):
    assert rig.call(op="add", label="plain", secret=SECRET)["ok"]
    assert rig.call(op="add", label="tapme", secret=SECRET, touch=True)["ok"]
    rig.run(0.15)
    assert rig.code() == grouped(pyotp.TOTP(SECRET).at(T0))
    rid = rig.send(op="code", label="tapme")
    rig.run(0.3)
    assert rig.replies() == []  # no code without a press
    assert " ".join(rig.text()).split()[:2] == ["Press", "button"]
    assert "tapme" in rig.text()[4]
    # Meanwhile the loop serves other requests ...
    info = rig.call(op="info")
    assert info["ok"] and info["id"] == rid + 1
    assert rig.call(op="code", label="plain")["code"] == pyotp.TOTP(SECRET).at(T0)
    # ... a second touch code is refused rather than queued ...
    r = rig.call(op="code", label="tapme")
    assert r["err"] == proto.E_TOUCH and "waiting" in r["msg"]
    # ... the clock is read and the prompt stays on screen.
    rig.rtc.t = T0 + 30
    rig.run(0.3)
    assert rig.app.screen.time == T0 + 30
    assert "tapme" in rig.text()[4]
    # The press releases the code (computed at the press time).
    rig.pin.level = 0
    rig.run(0.05)
    rig.pin.level = 1
    rig.run(0.1)
    (r,) = rig.replies()
    assert r["id"] == rid and r["code"] == pyotp.TOTP(SECRET).at(T0 + 30)
    rig.run(0.15)
    assert rig.code() == grouped(pyotp.TOTP(SECRET).at(T0 + 30))  # back to the codes
    assert rig.text()[0].startswith("plain")


def test_touch_timeout(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rig = Rig(TOUCH_MS=300)
    rig.call(op="add", label="tapme", secret=SECRET, touch=True)
    rid = rig.send(op="code", label="tapme")
    start = rig.now_ms
    replies = []
    while not replies and rig.now_ms - start < 3000:
        rig.run(0.02)
        replies = rig.replies()
    (r,) = replies
    assert r["id"] == rid and r["err"] == proto.E_TOUCH and "code" not in r
    assert rig.now_ms - start >= 250
    assert rig.call(op="info")["ok"]  # still serving


def test_a_press_already_held_does_not_count(rig):
    rig.call(op="add", label="tapme", secret=SECRET, touch=True)
    rig.pin.level = 0  # held down before the request
    rig.run(0.05)
    rid = rig.send(op="code", label="tapme")
    rig.run(0.4)  # LONG press time passes
    rig.pin.level = 1
    rig.run(0.1)
    assert rig.replies() == []
    rig.pin.level = 0  # a real press
    rig.run(0.05)
    rig.pin.level = 1
    rig.run(0.1)
    (r,) = rig.replies()
    assert r["id"] == rid and r["ok"]


def test_locking_while_waiting_withholds_the_code(rig, rng):
    salt = rng.randbytes(16)
    key = hashlib.pbkdf2_hmac("sha256", b"pw", salt, 1000, 32)
    rig.call(op="add", label="tapme", secret=SECRET, touch=True)
    rig.call(op="access_set", key=key.hex(), salt=salt.hex(), iterations=1000)
    rig.unlock(key)
    rid = rig.send(op="code", label="tapme")
    assert rig.call(op="lock")["ok"]
    rig.pin.level = 0
    rig.run(0.05)
    rig.pin.level = 1
    rig.run(0.1)
    (r,) = rig.replies()
    assert r["id"] == rid and r["err"] == proto.E_LOCKED and "code" not in r


def test_factory_wipe_reads_the_button(rig, rng):
    salt = rng.randbytes(16)
    key = hashlib.pbkdf2_hmac("sha256", b"pw", salt, 1000, 32)
    rig.call(op="add", label="a", secret=SECRET)
    rig.call(op="access_set", key=key.hex(), salt=salt.hex(), iterations=1000)
    rig.call(op="lock")
    assert rig.call(op="wipe", factory=True)["err"] == proto.E_BUTTON
    rig.pin.level = 0
    rig.run(0.05)
    r = rig.call(op="wipe", factory=True)
    rig.pin.level = 1
    assert r["ok"] and r["access"] is False
    assert rig.call(op="info")["accounts"] == 0
    assert not os.path.exists(faccess.FILE)


class FakeMicropython(types.ModuleType):
    def __init__(self):
        super().__init__("micropython")
        self.calls = []

    def kbd_intr(self, c):
        self.calls.append(c)

    @staticmethod
    def const(x):
        return x


def _set_password(tmp_path, rng):
    salt = rng.randbytes(16)
    key = hashlib.pbkdf2_hmac("sha256", b"pw", salt, 1000, 32)
    (tmp_path / faccess.FILE).write_bytes(faccess.build(key, salt, 1000, 0))
    return key


def test_ctrl_c_off_while_a_password_is_set(tmp_path, monkeypatch, rng):
    monkeypatch.chdir(tmp_path)
    mp = FakeMicropython()
    monkeypatch.setitem(sys.modules, "micropython", mp)
    rig = Rig()
    assert mp.calls == [3]  # no password: Ctrl-C on
    salt = rng.randbytes(16)
    key = hashlib.pbkdf2_hmac("sha256", b"pw", salt, 1000, 32)
    rig.call(op="access_set", key=key.hex(), salt=salt.hex(), iterations=1000)
    assert mp.calls == [3, -1]
    rig.unlock(key)
    rig.call(op="access_clear")
    assert mp.calls == [3, -1, 3]
    # A boot with a password set turns it off at once.
    _set_password(tmp_path, rng)
    mp.calls.clear()
    rig2 = Rig()
    assert mp.calls == [-1]
    assert rig2.call(op="info")["maintenance"] is False


def test_button_held_at_boot_is_a_maintenance_boot(tmp_path, monkeypatch, rng):
    monkeypatch.chdir(tmp_path)
    mp = FakeMicropython()
    monkeypatch.setitem(sys.modules, "micropython", mp)
    _set_password(tmp_path, rng)
    rig = Rig(held=True)
    rig.run(0.1)
    assert mp.calls == [3]  # Ctrl-C on (main.py may have turned it off early)
    assert [x.strip() for x in rig.text()[1:4]] == ["Maintenance:", "", "Ctrl-C on"]
    r = rig.call(op="info")
    assert r["maintenance"] is True and r["access"] is True and r["unlocked"] is False
    assert rig.call(op="list")["err"] == proto.E_LOCKED  # maintenance only opens the REPL
    rig.pin.level = 1
    rig.run(0.4)
    assert rig.app.screen.index == 0  # the boot hold did not navigate


def test_the_screen_is_the_same_locked_or_not(tmp_path, monkeypatch, rng):
    # Access control guards the USB link; the screen shows codes to whoever
    # holds the token (docs/security.md says so).
    monkeypatch.chdir(tmp_path)
    rig = Rig()
    rig.call(op="add", label="a", secret=SECRET)
    key = _set_password(tmp_path, rng)
    rig2 = Rig()
    rig2.run(0.15)
    assert rig2.call(op="list")["err"] == proto.E_LOCKED
    assert rig2.code() == grouped(pyotp.TOTP(SECRET).at(T0))
    assert key.hex().encode() not in bytes(rig2.oled.buffer)
