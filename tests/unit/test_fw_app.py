"""The app loop in CPython: serial lines, button, screens, blanking.

The display is the real SSD1306 driver on a recording bus; what it shows is
read back with the firmware font's decoders, as a person would read it.
"""

import base64
import re

import pyotp
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


def test_button_says_when_it_must_be_read_again():
    from fob.drivers.button import LONG, NONE, Button
    from support.fw import _Pin

    pin = _Pin(1)
    b = Button(pin, debounce_ms=30, long_ms=800)
    b.poll(0)
    assert b.due_ms(0) == -1  # up and still: only an edge can change anything
    pin.level = 0
    assert b.poll(100) == NONE
    assert b.due_ms(110) == 20  # the debounce ends 30 ms after the edge
    assert b.poll(130) == NONE and b.is_pressed()
    assert b.due_ms(130) == 800  # ... then the press becomes long
    assert b.due_ms(900) == 30
    assert b.poll(930) == LONG
    assert b.due_ms(940) == -1


def test_with_a_pin_irq_the_loop_sleeps_until_something_is_due(tmp_path, monkeypatch):
    """The rp2 loop (fob.app.Wake in a select.poll with stdin), its poll
    played by a sleep in virtual time that the IRQ's flag cuts short."""
    from fob.app import CLOCK_POLL_ASLEEP_MS, CLOCK_POLL_MS, Wake
    from support.fw import VIRTUAL_TICKS

    monkeypatch.chdir(tmp_path)
    rig = Rig(BLANK_MS=3000)
    rig.call(op="add", label="a", secret=SECRET)
    rig.call(op="add", label="b", secret=SECRET)
    app = rig.app
    sleeps = []

    def sleep(ms):
        sleeps.append(ms)
        VIRTUAL_TICKS.now += ms
        return iter(())

    app._wake = Wake()
    app._sleep = sleep

    def turns(ms):
        end = rig.now_ms + ms
        while rig.now_ms < end:
            app.step()
            app.pause()

    def edge(level):
        rig.pin.level = level
        app._wake.on_edge(rig.pin)  # what the pin IRQ does

    turns(1000)
    # No second to follow (this RTC has no seconds register): a clock read
    # each CLOCK_POLL_MS, not a turn each LOOP_MS.
    assert 1000 // CLOCK_POLL_MS - 1 <= len(sleeps) <= 1000 // CLOCK_POLL_MS + 2, sleeps
    assert rig.text()[0].startswith("a") and rig.code()
    # A press: the edge wakes the loop at once; it is read again when the
    # debounce ends, and the release moves to the next account at once.
    edge(0)
    n = len(sleeps)
    app.pause()
    assert len(sleeps) == n  # the flag is set: no sleep, the next turn comes at once
    app.step()
    assert 0 < app.pause_ms() <= 10  # the debounce (10 ms on this rig)
    turns(60)
    edge(1)
    app.step()
    assert rig.text()[0].startswith("b")
    # Blanked BLANK_MS after the press, exactly, then a turn a second.
    pressed = rig.now_ms
    while True:
        app.step()
        if not app.screen.ui.awake:
            break
        app.pause()
    assert rig.now_ms - pressed == 3000  # the deadline is slept to, not polled for
    del sleeps[:]
    turns(5000)
    assert len(sleeps) <= 5000 // CLOCK_POLL_ASLEEP_MS + 1, sleeps


class _TickingRTC:
    """A DS3231 as the loop sees it (read() and the seconds register
    alone), its second beginning ``phase_us`` into each second of virtual
    time; each read takes READ_US on the bus, so virtual time moves."""

    READ_US = 150  # a seconds read at 400 kHz: address, register, address, data

    def __init__(self, phase_us):
        from support.fw import VIRTUAL_TICKS

        self.ticks = VIRTUAL_TICKS
        self.us = VIRTUAL_TICKS.now * 1000
        self.phase = phase_us
        # 25 s into a period: a new code 5 s in, the check's most telling second.
        self.t0 = T0 // 30 * 30 + 25 - (self.us - phase_us) // 1_000_000
        self.seconds_reads = 0
        self.stop_at = None  # a stopped oscillator: the time stays here

    def _now_us(self):
        self.us = max(self.us, self.ticks.now * 1000) + self.READ_US
        self.ticks.now = self.us // 1000
        return self.us

    def _t(self, us):
        t = self.t0 + (us - self.phase) // 1_000_000
        return t if self.stop_at is None or t < self.stop_at else self.stop_at

    def second(self):
        self.seconds_reads += 1
        return self._t(self._now_us()) % 60

    def read(self):
        return self._t(self._now_us()), False

    def set_unix(self, t):
        self.t0 += t - self._t(self._now_us())


def _irq_rig_on(phase_us):
    """A rig whose loop sleeps as on rp2 (fob.app.Wake; its poll played by
    a sleep in virtual time) on a _TickingRTC, with one TOTP account."""
    from fob.app import Wake
    from support.fw import VIRTUAL_TICKS

    rig = Rig(BLANK_MS=60_000)
    rtc = _TickingRTC(phase_us)  # after the rig: its virtual ticks start there
    rig.app.hw.rtc = rig.app.clock.rtc = rtc
    rig.app._second = rtc.second
    rig.call(op="add", label="a", secret=SECRET)
    rig.app._wake = Wake()

    def sleep(ms):
        VIRTUAL_TICKS.now += ms
        return iter(())

    rig.app._sleep = sleep
    return rig, rtc


@settings(max_examples=10, deadline=None)
@given(phase_us=st.integers(0, 999_999))
def test_the_loop_finds_the_rtcs_tick_and_then_reads_it_a_few_times_a_second(tmp_path_factory, phase_us):
    """Following the DS3231's second with a pin IRQ loop: a wake costs at
    most one second of reads every LOOP_MS and one of reads every
    EDGE_POLL_MS; then each new second is on screen within a read or two
    of its tick, for a few reads a second.  The next second's frame is
    drawn before the tick, but the panel never gets it early: whenever the
    OLED is written, what its RAM then shows (seconds left, code) is the
    RTC's second at that instant."""
    import os

    from otpfob.emu import glyphs
    from support.fw import VIRTUAL_TICKS

    os.chdir(tmp_path_factory.mktemp("tick"))
    rig, rtc = _irq_rig_on(phase_us)
    app = rig.app
    oled = rig.oled
    wrong = []

    def check_panel():
        # A frame sent: the RAM as the panel has it (the driver's shadow)
        # against the RTC's second at its last transfer.
        t = writes[-1]
        left = re.search(r"(\d+)$", glyphs.page_text(oled._shadow, 128, 7)).group(1)
        code = glyphs.page_code(oled._shadow, 128, 3)
        if left != str(30 - t % 30) or code != grouped(pyotp.TOTP(SECRET).at(t)):
            wrong.append((t, left, code))

    writes = []
    real_writeto = rig.bus.writeto

    def writeto(addr, buf, stop=True):
        real_writeto(addr, buf, stop)
        writes.append(rtc._t(rtc.us))

    rig.bus.writeto = writeto
    shown = []  # (virtual us when the new second was taken up, that second)
    last = app.screen.time
    reads = []
    for _second in range(8):
        before = rtc.seconds_reads
        end = (VIRTUAL_TICKS.now // 1000 + 1) * 1000
        while VIRTUAL_TICKS.now < end:
            del writes[:]
            app.step()
            if writes and app.screen.ui.awake and not app.screen.ui.hold:
                check_panel()
            if app.screen.time != last:
                last = app.screen.time
                shown.append((rtc.us, last))
            app.pause()
        reads.append(rtc.seconds_reads - before)
    assert sum(reads[:3]) <= 1000 // 10 + 30 + 20, reads  # the search: every 10 ms, then every 1 ms
    assert max(reads[4:]) <= 16, reads  # then a short burst around each tick
    late = [us - (phase_us + (t - rtc.t0) * 1_000_000) for us, t in shown[4:]]
    assert late and all(0 <= d <= 2 * rtc.READ_US + 1000 for d in late), late
    assert rig.code() == grouped(pyotp.TOTP(SECRET).at(app.screen.time))
    assert not wrong, wrong[:5]


def test_a_second_drawn_ahead_is_dropped_when_the_rtc_does_not_tick(tmp_path, monkeypatch):
    """The oscillator stops just before a second's tick: the frame drawn
    ahead for it never reaches the panel."""
    from otpfob.emu import glyphs
    from support.fw import VIRTUAL_TICKS

    monkeypatch.chdir(tmp_path)
    rig, rtc = _irq_rig_on(250_000)
    app = rig.app
    end = VIRTUAL_TICKS.now + 4000
    while VIRTUAL_TICKS.now < end:
        app.step()
        app.pause()
    assert app._sharp  # the tick is known: the next second is drawn ahead
    rtc.stop_at = rtc._t(rtc.us)
    end = VIRTUAL_TICKS.now + 3000
    drawn_ahead = 0
    while VIRTUAL_TICKS.now < end:
        app.step()
        drawn_ahead += app._ahead_sec is not None
        # The panel never shows a second the RTC has not reached (it shows
        # the last one, or a message once the clock is found stopped).
        code = glyphs.page_code(rig.oled._shadow, 128, 3)
        if code:
            left = re.search(r"(\d+)$", glyphs.page_text(rig.oled._shadow, 128, 7)).group(1)
            assert (left, code) == (str(30 - rtc.stop_at % 30), grouped(pyotp.TOTP(SECRET).at(rtc.stop_at)))
        assert not app.screen.ui.hold  # nothing left held back after a turn
        app.pause()
    assert drawn_ahead
