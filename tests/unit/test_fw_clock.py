"""Clock trust: unset, missing, retries, jumps, and setting over serial."""

import pytest

from fob import proto
from fob.clock import MAX_TIME, MIN_TIME, RETRIES, Clock
from support.fw import FakeRTC

T0 = 1_750_000_000


class Ticks:
    def __init__(self):
        self.ms = 1000

    def __call__(self):
        return self.ms

    def advance(self, s, rtc=None):
        self.ms += int(s * 1000)
        if rtc:
            rtc.t += s


def make(**kw):
    rtc = FakeRTC(**kw)
    ticks = Ticks()
    return rtc, ticks, Clock(rtc, ticks=ticks)


def test_ok_follows_the_rtc():
    rtc, ticks, c = make()
    assert c.now() == (proto.CLOCK_OK, T0)
    for _ in range(100):
        ticks.advance(1, rtc)
        assert c.now() == (proto.CLOCK_OK, rtc.t)


def test_osf_means_unset_until_set():
    rtc, ticks, c = make(lost=True)
    assert c.now() == (proto.CLOCK_UNSET, None)
    assert c.peek() == (proto.CLOCK_UNSET, T0)  # info shows the raw time
    c.set(T0 + 5)
    assert rtc.lost is False
    assert c.now() == (proto.CLOCK_OK, T0 + 5)


@pytest.mark.parametrize("t", [0, 946684800, MIN_TIME - 1])
def test_times_before_2024_mean_never_set(t):
    _, _, c = make(t=t)
    assert c.now() == (proto.CLOCK_UNSET, None)


def test_missing_rtc():
    c = Clock(None)
    assert c.now() == (proto.CLOCK_MISSING, None)
    with pytest.raises(OSError):
        c.set(T0)


def test_transient_bus_errors_are_retried():
    rtc, _, c = make()
    rtc.fail = RETRIES - 1
    assert c.now() == (proto.CLOCK_OK, T0)
    assert rtc.reads == RETRIES  # the last of them answered


def test_persistent_bus_errors_mean_missing_then_recovery():
    rtc, ticks, c = make()
    rtc.dead = True
    assert c.now() == (proto.CLOCK_MISSING, None)
    assert rtc.reads == RETRIES
    # Back-off: the dead bus is not hammered from the display loop.
    assert c.now() == (proto.CLOCK_MISSING, None)
    assert rtc.reads == RETRIES
    rtc.dead = False
    ticks.advance(2, rtc)
    assert c.now() == (proto.CLOCK_OK, rtc.t)


@pytest.mark.parametrize("jump", [-7200, -10, 10, 3600, 86400])
def test_jumps_are_flagged_until_set(jump):
    rtc, ticks, c = make()
    assert c.now()[0] == proto.CLOCK_OK
    ticks.advance(1, rtc)
    rtc.t += jump  # the RTC moves without a set over serial
    assert c.now() == (proto.CLOCK_JUMPED, None)
    assert c.jump_s == jump
    ticks.advance(1, rtc)
    assert c.now() == (proto.CLOCK_JUMPED, None)  # sticky
    c.set(rtc.t)
    assert c.now() == (proto.CLOCK_OK, rtc.t)


def test_frozen_rtc_is_a_jump():
    rtc, ticks, c = make()
    c.now()
    ticks.advance(10)  # ticks run, RTC stands still
    assert c.now()[0] == proto.CLOCK_JUMPED


def test_small_disagreement_is_tolerated():
    rtc, ticks, c = make()
    c.now()
    # Reading resolution: the RTC second may tick just after or before.
    for ms, dt in ((999, 1), (1001, 1), (1990, 1), (10, 1), (1500, 2)):
        ticks.ms += ms
        rtc.t += dt
        assert c.now()[0] == proto.CLOCK_OK


def test_tolerance_is_configurable():
    rtc = FakeRTC()
    ticks = Ticks()
    c = Clock(rtc, ticks=ticks, tolerance_ms=600_000)
    c.now()
    ticks.advance(300)  # frozen for 5 minutes
    assert c.now()[0] == proto.CLOCK_OK
    rtc.t += 3600
    assert c.now()[0] == proto.CLOCK_JUMPED


@pytest.mark.parametrize("bad", [MIN_TIME - 1, MAX_TIME + 1, "1750000000", 1.5e9, True, None])
def test_set_range(bad):
    rtc, _, c = make()
    with pytest.raises(ValueError):
        c.set(bad)
    assert rtc.t == T0
