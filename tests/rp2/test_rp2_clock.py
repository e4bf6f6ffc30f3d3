"""The fine sync, the drift correction and the clock history on the
emulated Pico (MicroPython's rp2 port in rp2040js), in emulated time.

The host side is otpfob.clocksync over the real USB CDC.  Its clock is the
DS3231 model's true time, and the instant it "receives" a reply is the
emulated instant the reply's last USB packet left the chip (recorded by the
bridge), so the figures are the token's own precision, free of this
machine's scheduling; a real host adds its USB latency (full-speed frames:
about 1 ms).  Skipped days pass with the Pico off.
"""

from __future__ import annotations

import statistics

import pytest

from conftest import RP2_LANE_A, record_cases
from otpfob import clocksync
from otpfob.emu.testing import ProtocolClient
from otpfob.session import Session
from otpfob.transport import SerialTransport

pytestmark = [pytest.mark.rp2, RP2_LANE_A]  # in lane A for the lanes' balance (CI time)

DAY = 86400
SLOW = 120  # s per request: the emulation runs slower than real time on a loaded machine


class HostClock:
    """A perfect host clock in emulated time: now() is the instant the last
    reply line left the chip (the reply's arrival, without transit)."""

    def __init__(self, pico):
        self.pico = pico
        self.reply_ns = pico.emulated_ns()
        pico.on_usb = self._usb

    def _usb(self, data: bytes, ns: int) -> None:
        if b"\n" in data:
            self.reply_ns = ns

    def now(self) -> float:
        skipped = self.pico.clock.true_now() - self.pico.emulated_seconds()
        return self.reply_ns / 1e9 + skipped


def error(pico) -> float:
    """The DS3231 against true time, in seconds."""
    return pico.clock.now() - pico.clock.true_now()


def off_for(pico, seconds: float) -> None:
    pico.power_cut()
    pico.clock.advance(seconds)
    pico.restart()
    pico.wait_ready(60)


@pytest.mark.slow
def test_fine_sync_precision(make_pico):
    pico = make_pico(rtc_set=True)
    host = HostClock(pico)
    errors = []
    with Session(SerialTransport(pico.port)) as s:
        for k in range(5):
            # Start each sync off by a different fraction of a second.
            pico.clock.set(pico.clock.now() + 0.137 * (k + 1) + 3)
            r = clocksync.sync(s, now=host.now, calibrate=False, timeout=SLOW)
            assert r.fine and abs(r.offset_ms / 1000 - (0.137 * (k + 1) + 3)) < 0.06
            errors.append(error(pico))
    record_cases("rp2-fine-syncs", len(errors))
    print("fine sync errors (ms):", [round(e * 1000, 1) for e in errors])
    print("mean %.1f ms, max |e| %.1f ms" % (statistics.mean(errors) * 1000, max(abs(e) for e in errors) * 1000))
    assert max(abs(e) for e in errors) <= 0.05


def test_plus_8_ppm_calibrated_within_2_s_after_90_days(make_pico):
    pico = make_pico(rtc_set=True, rtc_ppm=8.0)
    host = HostClock(pico)
    with Session(SerialTransport(pico.port)) as s:
        first = clocksync.sync(s, now=host.now, timeout=SLOW)
        assert not first.calibrated
    off_for(pico, 30 * DAY)
    drift = error(pico)
    with Session(SerialTransport(pico.port)) as s:
        second = clocksync.sync(s, now=host.now, timeout=SLOW)
        assert second.calibrated and second.aging == 80 and not second.saturated
        print("after 30 days: %.3f s; learnt %d ppb, aging %d" % (drift, second.rate_ppb, second.aging))
    off_for(pico, 90 * DAY)
    print("90 days after calibrating: %.3f s (uncalibrated: %.1f s)" % (error(pico), 8e-6 * 90 * DAY))
    assert 20.0 < drift < 21.5
    assert abs(second.rate_ppb - 8000) <= 20
    assert abs(error(pico)) <= 2.0
    off_for(pico, 245 * DAY)
    print("a year after the first sync: %.3f s" % error(pico))
    assert abs(error(pico)) <= 2.0


def test_forward_and_back_on_screen_and_on_record(make_pico):
    pico = make_pico(rtc_set=True)
    with ProtocolClient(pico.port) as c:
        t = c.call("time_get")["time"]
        assert c.call("time_set", time=t + DAY)["ok"]
        assert c.call("time_set", time=t + 2)["ok"]
        assert c.call("info")["clock_moves"] == 2
    text = pico.wait_for_screen(lambda x: "Clock set back" in x, timeout=30)
    assert "s." in text
    with Session(SerialTransport(pico.port)) as s:
        h = clocksync.read_history(s)
    assert [e.kind for e in h.events][-2:] == ["set", "set"]
    assert len(h.taken_back()) == 1
