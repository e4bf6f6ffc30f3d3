"""The app loop in CPython: serial lines, button, screens, blanking.

The display is the real SSD1306 driver on a recording bus; what it shows is
read back with the firmware font's decoders, as a person would read it.
"""

import base64
import re

import pyotp
import pytest

from otpfob.emu.testing import grouped
from support.fw import AppRig, install_framebuf

install_framebuf()
from fob import proto  # noqa: E402
from fob.link import LineReader  # noqa: E402

T0 = 1_750_000_000
SECRET = base64.b32encode(b"0123456789abcdefghij").decode()


def Rig(**kw):
    kw.setdefault("BLANK_MS", 5000)
    return AppRig(**kw)


@pytest.fixture
def rig(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = Rig()
    r.run()
    return r


def test_line_reader_bounds_lines():
    lr = LineReader(8)
    out = [lr.feed(b) for b in b"abc\n0123456789\nxy\r\n"]
    lines = [x for x in out if x is not None]
    assert lines == [b"abc", True, b"xy\r"]
    assert len(lr.buf) == 8


def test_empty_then_code_then_navigation(rig):
    assert "No accounts" in rig.text()[1]
    assert rig.call(op="add", id=1, label="alice", issuer="Example", secret=SECRET)["ok"]
    assert rig.call(op="add", id=2, label="bob", secret=SECRET, digits=8, algorithm="sha256")["ok"]
    assert rig.call(op="add", id=3, label="carol", secret=SECRET, digits=10, period=60)["ok"]
    rig.run(0.2)
    a = pyotp.TOTP(SECRET)
    assert rig.code() == grouped(a.at(T0))
    assert rig.text()[0] == "Example      1/3" and rig.text()[1] == "alice"
    rig.press()
    assert rig.code() == grouped(pyotp.TOTP(SECRET, digits=8, digest="sha256").at(T0))
    assert rig.text()[0].startswith("bob") and rig.text()[0].endswith("2/3")
    rig.press()
    assert rig.code() == grouped(pyotp.TOTP(SECRET, digits=10, interval=60).at(T0))
    rig.press()
    assert rig.text()[1] == "alice"  # wraps around
    rig.press(400)  # long press: back
    assert rig.text()[0].startswith("carol")
    rig.press(400)
    assert rig.text()[0].startswith("bob")
    rig.press()
    # Across period boundaries, as the clock runs.
    for k in range(1, 4):
        rig.rtc.t = T0 + 60 * k
        rig.app.clock.set(rig.rtc.t)  # the test moves time without waiting
        rig.run(0.15)
        assert rig.code() == grouped(pyotp.TOTP(SECRET, digits=10, interval=60).at(T0 + 60 * k))


def bar_length(rig):
    """Lit columns of the countdown bar (rows 58-61), from the left edge."""
    row = rig.oled.buffer[7 * 128 : 8 * 128]
    n = 0
    while n < 128 and row[n] & 0x3C == 0x3C:
        n += 1
    return n


@pytest.mark.parametrize("period", [30, 90, 3600])
def test_countdown_bar_and_seconds_left(tmp_path, monkeypatch, period):
    monkeypatch.chdir(tmp_path)
    rig = Rig()
    rig.call(op="add", label="a", secret=SECRET, period=period)
    seen = {}
    for left in (period, period * 2 // 3, period // 2, 10, 1):
        rig.rtc.t = T0 - T0 % period + period - left
        rig.app.clock.set(rig.rtc.t)
        rig.run(0.15)
        assert re.search(r"\d+$", rig.text()[7]).group() == str(left)  # the number, at the right
        seen[left] = bar_length(rig)
    full = seen[period]
    assert 80 <= full < 128 - 8 * len(str(period))  # the bar stops short of the number
    for left, n in seen.items():
        assert n == full * left // period


def test_blank_and_wake(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rig = Rig(BLANK_MS=400)
    rig.call(op="add", label="a", secret=SECRET)
    rig.call(op="add", label="b", secret=SECRET)
    rig.run(0.1)
    assert rig.app.screen.ui.awake
    rig.run(0.5)
    assert not rig.app.screen.ui.awake  # BLANK_MS = 400
    rig.press()
    assert rig.app.screen.ui.awake
    assert rig.text()[0].startswith("a")  # the waking press does not move on
    rig.press()
    assert rig.text()[0].startswith("b")


@pytest.mark.parametrize(
    "setup,expect",
    [
        (lambda r: setattr(r.rtc, "lost", True), "Clock not set"),
        (lambda r: setattr(r.rtc, "t", 946684800), "Clock not set"),
        (lambda r: setattr(r.rtc, "dead", True), "RTC missing"),
        (lambda r: setattr(r.rtc, "t", T0 + 86400), "Clock jumped"),
    ],
)
def test_untrusted_clock_shows_no_code(rig, setup, expect):
    rig.call(op="add", label="a", secret=SECRET)
    rig.run(0.15)
    assert rig.code()
    setup(rig)
    rig.run(0.3)
    assert expect in rig.text()[1]
    assert rig.code() == ""
    assert rig.call(op="info")["ok"]  # still answering


def test_damaged_store_screen(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "accounts.dat").write_bytes(b"OTPF\x01\x00\x01\x00garbage")
    r = Rig()
    r.run(0.1)
    assert "Store damaged" in r.text()[1]
    assert r.call(op="info")["store"] == proto.STORE_DAMAGED


def test_serial_garbage_and_floods(rig):
    rig.send_raw(b"\xff\xfe\n")
    rig.send_raw(b"x" * 5000 + b"\n")
    rig.send_raw(b"\n\r\n")  # blank lines: ignored
    rig.send_raw(b'{"v":2,"id":5,"op":"info"}\r\n')
    r = rig.replies()
    assert [x.get("err") for x in r] == [proto.E_FRAME, proto.E_TOO_LONG, None]
    assert r[-1]["id"] == 5


def test_display_failure_is_survived(rig):
    rig.call(op="add", label="a", secret=SECRET)
    rig.bus.fail = True
    rig.rtc.t += 1
    rig.app.clock.set(rig.rtc.t)
    rig.run(0.2)
    assert rig.app.screen.ui.failed
    assert rig.call(op="code", label="a")["ok"]


def test_128x32_layout(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = Rig(height=32)
    r.call(op="add", label="alice", issuer="Example", secret=SECRET, digits=10)
    r.call(op="add", label="bob", secret=SECRET)
    r.run(0.15)
    left = 30 - T0 % 30
    assert r.text()[0] == "Example:a 1/2 %d" % left  # the name scrolls (test_long_names_scroll)
    assert r.code() == grouped(pyotp.TOTP(SECRET, digits=10).at(T0))
    r.press()
    assert r.code() == grouped(pyotp.TOTP(SECRET).at(T0))
