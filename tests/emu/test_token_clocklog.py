"""The clock history, the fine sync and the drift correction on the
emulated token (the firmware under MicroPython's Unix port).

The host side is otpfob's own Session and clocksync over the real pty; its
clock is the model's true time (``Clock.true_now``: the wall clock plus the
days a test skipped), so skipping 30 days with the token off is a month on
a shelf for both sides.
"""

from __future__ import annotations

import random
import time

import pytest

from fob import clocklog, proto
from otpfob import clocksync
from otpfob.emu.testing import ProtocolClient
from otpfob.session import Session
from otpfob.transport import SerialTransport

pytestmark = pytest.mark.emu

DAY = 86400


def session(tok) -> Session:
    return Session(SerialTransport(tok.port))


def rtc_error(tok) -> float:
    """The token's DS3231 against true time, in seconds."""
    return tok.clock.now() - tok.clock.true_now()


def test_forward_and_back_is_on_record_and_on_screen(make_token):
    tok = make_token(rtc_set=True, board_overrides={"NOTICE_MS": 3000})
    with session(tok) as s:
        clocksync.sync(s, now=tok.clock.true_now)
        now = int(tok.clock.true_now())
        with ProtocolClient(tok.port) as c:
            fwd = c.call("time_set", time=now + DAY)
            assert fwd["ok"]
            back = c.call("time_set", time=fwd["previous"] + 1)
            assert back["ok"]
        assert s.info().extra["clock_moves"] == 3
        text = tok.wait_for_screen(lambda t: "Clock set back" in t, timeout=10)
        assert "86399 s." in text or "86400 s." in text or "86398 s." in text
        h = clocksync.read_history(s)
        assert [e.kind for e in h.events] == ["set", "set", "set"]  # the sync, forward, back
        pairs = h.taken_back()
        assert len(pairs) == 1 and abs(pairs[0][0].moved - DAY) <= 1
        assert s.info().extra["clock_moves"] == 0
    # Shown once: gone after NOTICE_MS, and not back after a restart.
    tok.wait_for_screen(lambda t: "Clock set back" not in t and t.strip() != "", timeout=10)
    tok.restart()
    tok.wait_ready()
    time.sleep(1.0)
    assert "Clock set back" not in tok.screen_text()


def test_plus_8_ppm_ds3231_is_calibrated_within_2_s_after_90_days(make_token):
    tok = make_token(rtc_set=True, rtc_ppm=8.0)
    with session(tok) as s:
        first = clocksync.sync(s, now=tok.clock.true_now)
        assert first.fine and not first.calibrated
        assert abs(rtc_error(tok)) < 0.4  # the OS's scheduling; see tests/rp2 for the precision
    tok.power_cut()
    tok.clock.advance(30 * DAY)
    tok.restart()
    tok.wait_ready()
    drift = rtc_error(tok)
    assert 20.0 < drift < 21.5
    with session(tok) as s:
        second = clocksync.sync(s, now=tok.clock.true_now)
        assert second.calibrated and second.aging == 80 and not second.saturated
        assert abs(second.rate_ppb - 8000) <= 100
        assert abs(second.offset_ms / 1000 - drift) < 0.4
    tok.power_cut()
    tok.clock.advance(90 * DAY)
    tok.restart()
    tok.wait_ready()
    assert abs(rtc_error(tok)) <= 2.0
    assert tok.rtc.aging == 80


def test_plus_8_ppm_internal_rtc_is_corrected_in_firmware(make_token):
    # The chip's own RTC loses its time at a power cut, so the token stays
    # on; the Unix port's ticks are the wall's, so skipping 30 days of the
    # RTC's time would be a jump: the board here tolerates that.
    tok = make_token(internal_rtc_ppm=8.0, board_overrides={"RTC": "internal", "CLOCK_JUMP_MS": 400 * DAY * 1000})
    clock = tok.internal_rtc.clock
    with session(tok) as s:
        assert s.info().clock == proto.CLOCK_UNSET  # 2021 after boot
        first = clocksync.sync(s, now=clock.true_now)
        assert first.fine and first.aging is None
        clock.advance(30 * DAY)
        second = clocksync.sync(s, now=clock.true_now)
        assert second.calibrated and abs(second.rate_ppb - 8000) <= 100
        assert second.aging is None and second.correction_ppb == second.rate_ppb
        clock.advance(90 * DAY)
        raw_error = clock.now() - clock.true_now()
        assert 60 < raw_error < 64  # what the RTC itself shows: 62 s fast
        state, offset, _ = clocksync.measure_offset(s, now=clock.true_now)
        assert state == proto.CLOCK_OK and abs(offset) <= 2.0


def test_history_survives_power_cuts_during_time_set(make_token, seed):
    rnd = random.Random(seed)
    tok = make_token(rtc_set=True, board_overrides={"SIM_FLASH_WRITE_MS": 1})
    with session(tok) as s:
        clocksync.sync(s, now=tok.clock.true_now)
        old = [(e.seq, e.kind, e.new) for e in clocksync.read_history(s).events]
    inside = 0
    for k in range(14):
        target = int(tok.clock.true_now()) + 1000 * (k + 1)
        with ProtocolClient(tok.port) as c:
            c.raw(b'{"v":%d,"id":1,"op":"time_set","time":%d}\n' % (proto.VERSION, target))
            time.sleep(rnd.uniform(0.0, 0.05))
        tok.power_cut()
        inside += (tok.flash / "clocklog.new").exists()
        tok.restart()
        tok.wait_ready()
        with session(tok) as s:
            h = clocksync.read_history(s)
        assert h.state == "ok" and not (tok.flash / "clocklog.new").exists()
        new = [(e.seq, e.kind, e.new) for e in h.events]
        added = (old + [(old[-1][0] + 1, "set", target)])[-clocklog.MAX_EVENTS :]
        # The old history whole, or it and this set: nothing lost or doubled.
        assert new in (old[-clocklog.MAX_EVENTS :], added), (old, new)
        if abs(tok.clock.now() - target) < 5:
            assert new == added  # the RTC was set: the set is on record
        old = new
    assert 0 <= inside <= 14
