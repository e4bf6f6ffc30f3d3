"""The clock history, the fine sync and the drift correction, in CPython.

The firmware's Server, Clock, ClockLog and DS3231 driver run against the
register-level DS3231 model (host/otpfob/emu/ds3231.py) over a bus adapter,
and the host's own sync code (otpfob.clocksync) drives them through a
Session.  Time is the model's: the clock's ticks and sleeps move it, and a
test skips days with ``advance`` (nothing reads the wall clock).
"""

from __future__ import annotations

import json
import os
import sys

import pytest

import fob
from fob import clocklog, proto
from fob.access import Access
from fob.clock import MAX_TIME, MIN_TIME, Clock
from fob.drivers import ds3231, rtc_internal
from fob.server import Server
from fob.storage import Store
from otpfob import clocksync
from otpfob.emu.ds3231 import DS3231 as DS3231Model
from otpfob.emu.ds3231 import Clock as ModelClock
from otpfob.emu.internal_rtc import InternalRTC as InternalRTCModel
from otpfob.session import Session
from support import fw as fw_support  # noqa: F401  (firmware/ on sys.path)

T0 = 1_767_225_600  # 2026-01-01
DAY = 86400


class ModelI2C:
    """machine.I2C's memory calls, onto the DS3231 model's transactions."""

    def __init__(self, model):
        self.model = model

    def readfrom_mem_into(self, addr, mem, buf):
        self.model.i2c_write(bytes([mem]), stop=False)
        buf[:] = self.model.i2c_read(len(buf))

    def writeto_mem(self, addr, mem, buf):
        self.model.i2c_write(bytes([mem]) + bytes(buf))


class MachineRTC:
    """machine.RTC's datetime() onto the internal-RTC model."""

    def __init__(self, model):
        self.model = model

    def datetime(self, dt=None):
        from fob import timeutil

        if dt is None:
            y, mo, d, h, mi, s, wd = timeutil.from_unix(self.model.read())
            return (y, mo, d, wd, h, mi, s, 0)
        self.model.write(timeutil.to_unix(dt[0], dt[1], dt[2], dt[4], dt[5], dt[6]))


class Rig:
    """A token's clock parts and server in ``folder``; the host is the test."""

    def __init__(self, folder, *, ppm=0.0, internal=False, start=T0 + 0.37):
        self.folder = str(folder) + "/"
        self.src = float(start)  # true seconds: the models' time base
        self.internal = internal
        if internal:
            self.model_clock = ModelClock(source=lambda: self.src, ppm=ppm)
            self.model = InternalRTCModel(self.model_clock)
            self.model.write(int(start))  # set once by hand (not through the token)
            self.rtc = rtc_internal.InternalRTC(MachineRTC(self.model))
        else:
            self.model_clock = ModelClock(start, source=lambda: self.src, ppm=ppm)
            self.model = DS3231Model(self.model_clock, first_power=False)
            self.rtc = ds3231.DS3231(ModelI2C(self.model))
        self.boot()

    def ticks(self):
        return int(self.src * 1000) % (1 << 30)

    def sleep(self, ms):
        self.src += ms / 1000

    def boot(self):
        """Power on (again): the firmware's objects are built from flash."""
        self.log = clocklog.ClockLog(self.folder)
        self.clock = Clock(self.rtc, ticks=self.ticks, sleep=self.sleep, log=self.log, tolerance_ms=600_000)
        self.server = Server(Store(self.folder), self.clock, board="test", access=Access(self.folder))
        self.n = 0

    def true_now(self):
        return self.model_clock.true_now()

    def error(self):
        """The token's clock (its RTC, corrected as the firmware reads it) against true time."""
        state, t = self.clock.now()
        assert state == proto.CLOCK_OK
        # The RTC's fraction of a second: the model knows it.
        frac = self.model_clock.now() % 1
        return t + frac - self.true_now()

    def advance(self, seconds):
        """Skip true time with the token off (a month on a key ring)."""
        self.model_clock.advance(seconds)
        self.boot()

    # A transport for the host's Session: straight into the server.
    port = "rig"

    def call(self, op, args=None, *, timeout=None):
        self.n += 1
        req = {"v": proto.VERSION, "id": self.n, "op": op}
        req.update(args or {})
        line = self.server.handle_line(json.dumps(req).encode())
        self.src += 0.002  # the reply's way back to the host
        return json.loads(line[len(proto.REPLY_TAG) :])

    def close(self):
        pass

    def session(self):
        return Session(self)


def files(folder):
    return {n: open(os.path.join(folder, n), "rb").read() for n in sorted(os.listdir(folder))}


# -- the history -------------------------------------------------------------------------


def test_every_move_is_on_record_with_sequence_numbers(tmp_path):
    rig = Rig(tmp_path)
    s = rig.session()
    h = clocksync.read_history(s)
    assert h.events == [] and h.state == "ok"
    t = int(rig.true_now())
    clocksync.set_coarse(s, t + DAY)
    clocksync.set_coarse(s, t + 5)
    info = rig.call("info")
    assert info["clock_moves"] == 2
    h = clocksync.read_history(s)
    assert [e.kind for e in h.events] == ["set", "set"]
    assert [e.seq for e in h.events] == [0, 1]
    assert h.events[0].new == t + DAY and abs(h.events[0].moved - DAY) <= 1
    assert h.events[1].previous == t + DAY and h.events[1].new == t + 5
    assert h.unread == 2 and rig.call("info")["clock_moves"] == 0
    pairs = h.taken_back()
    assert len(pairs) == 1 and pairs[0][0].seq == 0 and pairs[0][1].seq == 1
    # The notice the screen shows once: the move back, in seconds.
    assert rig.log.back == DAY - 5 or abs(rig.log.back - (DAY - 5)) <= 1


def test_ring_keeps_the_last_16_and_numbers_go_on(tmp_path):
    rig = Rig(tmp_path)
    s = rig.session()
    t = int(rig.true_now())
    for k in range(40):
        clocksync.set_coarse(s, t + k)
        if k % 7 == 3:
            rig.boot()  # restarts between sets: nothing lost or doubled
    h = clocksync.read_history(s)
    assert [e.seq for e in h.events] == list(range(24, 40))
    assert [e.new for e in h.events] == [t + k for k in range(24, 40)]
    assert h.lost == 24 and h.next_seq == 40
    assert rig.call("info")["clock_moves"] == 0


def test_jump_and_stop_are_recorded_once(tmp_path):
    rig = Rig(tmp_path)
    s = rig.session()
    clocksync.set_coarse(s, int(rig.true_now()))
    rig.clock.now()
    rig.model_clock.advance(3 * 3600)  # the RTC moves 3 h while running
    for _ in range(5):
        assert rig.clock.now()[0] == proto.CLOCK_JUMPED
    rig.boot()
    rig.model.battery_removed()  # OSF: the oscillator stopped
    for _ in range(5):
        assert rig.clock.now()[0] == proto.CLOCK_UNSET
    rig.boot()
    assert rig.clock.now()[0] == proto.CLOCK_UNSET  # still the same stop after a restart
    h = clocksync.read_history(s)
    assert [e.kind for e in h.events] == ["set", "jump", "stop"]
    jump = h.events[1]
    assert abs(jump.moved - 3 * 3600) <= 1


def test_refused_times_change_nothing(tmp_path):
    rig = Rig(tmp_path)
    s = rig.session()
    clocksync.set_coarse(s, int(rig.true_now()))
    before = files(tmp_path)
    t0 = rig.model_clock.now()
    for args in (
        {"time": MIN_TIME - 1},
        {"time": MAX_TIME + 1},
        {"time": -5},
        {"time": 1.5e9},
        {"time": T0, "edge_ms": -1},
        {"time": T0, "edge_ms": proto.MAX_EDGE_MS + 1},
        {"time": T0, "calibrate": 1},
        {"time": T0, "rate_ppb": 8000},
    ):
        r = rig.call("time_set", args)
        assert r["ok"] is False and r["err"] == proto.E_ARG, (args, r)
    assert files(tmp_path) == before
    assert abs(rig.model_clock.now() - t0) < 1


def test_a_cut_history_write_leaves_old_or_new(tmp_path):
    rig = Rig(tmp_path)
    s = rig.session()
    t = int(rig.true_now())
    clocksync.set_coarse(s, t)
    old = (tmp_path / clocklog.FILE).read_bytes()
    clocksync.set_coarse(s, t + 100)
    new = (tmp_path / clocklog.FILE).read_bytes()
    # Every length of a cut NEW file beside the old history: dropped.
    for n in range(len(new)):
        (tmp_path / clocklog.FILE).write_bytes(old)
        (tmp_path / "clocklog.new").write_bytes(new[:n])
        rig.boot()
        assert [e.seq for e in clocksync.read_history(s).events] == [0]
        assert not (tmp_path / "clocklog.new").exists()
    # A whole NEW file alone (cut between remove and rename): adopted.
    (tmp_path / clocklog.FILE).unlink()
    (tmp_path / "clocklog.new").write_bytes(new)
    rig.boot()
    assert [e.seq for e in clocksync.read_history(s).events] == [0, 1]


def test_damaged_history_reads_as_damaged_then_starts_again(tmp_path):
    rig = Rig(tmp_path)
    s = rig.session()
    clocksync.set_coarse(s, int(rig.true_now()))
    data = bytearray((tmp_path / clocklog.FILE).read_bytes())
    data[12] ^= 0x10
    (tmp_path / clocklog.FILE).write_bytes(bytes(data))
    rig.boot()
    h = clocksync.read_history(s)
    assert h.state == "damaged" and h.events == []
    clocksync.set_coarse(s, int(rig.true_now()))
    h = clocksync.read_history(s)
    assert h.state == "ok" and len(h.events) == 1


# -- the fine sync and the drift correction ----------------------------------------------


def test_fine_sync_lands_on_the_second(tmp_path):
    rig = Rig(tmp_path, start=T0 + 0.73)
    rig.model_clock.set(rig.model_clock.now() + 17.4)  # 17.4 s ahead
    s = rig.session()
    r = clocksync.sync(s, now=rig.true_now)
    assert r.fine and r.clock == proto.CLOCK_OK
    assert abs(r.offset_ms - 17400) <= 10
    assert abs(rig.error()) <= 0.01
    e = clocksync.read_history(s).events[-1]
    assert e.fine and e.offset_ms == r.offset_ms


@pytest.mark.parametrize("internal", [False, True], ids=["ds3231", "internal"])
def test_plus_8_ppm_is_learnt_and_corrected(tmp_path, internal):
    rig = Rig(tmp_path, ppm=8.0, internal=internal)
    s = rig.session()
    first = clocksync.sync(s, now=rig.true_now)
    assert not first.calibrated  # nothing to learn from yet
    rig.advance(30 * DAY)
    drift = rig.error()
    assert 20.0 < drift < 21.5  # 8 ppm of 30 days: 20.7 s
    second = clocksync.sync(s, now=rig.true_now)
    assert second.calibrated
    assert abs(second.rate_ppb - 8000) <= 20
    if internal:
        assert second.aging is None and second.correction_ppb == second.rate_ppb
    else:
        assert second.aging == 80 and not second.saturated and second.correction_ppb == 8000
    rig.advance(90 * DAY)
    assert abs(rig.error()) <= 2.0
    # Uncalibrated, the same 90 days are 62 s.
    assert abs(8e-6 * 90 * DAY - 62.2) < 0.1
    h = clocksync.read_history(s)
    assert h.rate_ppb == second.rate_ppb
    assert h.expected_error_s(90) < 0.5


def test_aging_saturates_and_says_so(tmp_path):
    rig = Rig(tmp_path, ppm=20.0)
    s = rig.session()
    clocksync.sync(s, now=rig.true_now)
    rig.advance(10 * DAY)
    r = clocksync.sync(s, now=rig.true_now)
    assert r.calibrated and r.saturated and r.aging == ds3231.AGING_MAX
    assert abs(r.rate_ppb - 20000) <= 50
    assert rig.model.aging == ds3231.AGING_MAX
    h = clocksync.read_history(s)
    # 20 - 12.7 ppm left: the expected error says so.
    assert 6 < h.expected_error_s(30) - 0 < 25


def test_no_calibration_across_a_jump_or_too_soon(tmp_path):
    rig = Rig(tmp_path, ppm=8.0)
    s = rig.session()
    clocksync.sync(s, now=rig.true_now)
    rig.advance(3600)  # an hour: too soon
    assert not clocksync.sync(s, now=rig.true_now).calibrated
    rig.advance(5 * DAY)
    rig.clock.now()
    rig.model_clock.set(rig.model_clock.now() + 7200)  # moved while running
    rig.sleep(1000)
    assert rig.clock.now()[0] == proto.CLOCK_JUMPED
    r = clocksync.sync(s, now=rig.true_now)
    assert not r.calibrated and r.clock == proto.CLOCK_OK


# -- the models --------------------------------------------------------------------------


def test_model_rate_error_and_aging_register():
    src = [T0 * 1.0]
    clock = ModelClock(T0, source=lambda: src[0], ppm=8.0)
    model = DS3231Model(clock, first_power=False)
    src[0] += DAY
    assert abs(clock.now() - clock.true_now() - 8e-6 * DAY) < 1e-6
    # Aging 80 (8 ppm slower) written: no effect until a conversion...
    model.i2c_write(bytes([0x10, 80]))
    assert model.aging == 80 and clock.rate_ppm == 8.0
    src[0] += 10
    model.i2c_write(bytes([0x0F]), stop=False)
    model.i2c_read(1)
    assert clock.rate_ppm == 8.0
    # ...which the chip starts by itself within 64 s, or at once with CONV.
    src[0] += 60
    model.i2c_write(bytes([0x0F]), stop=False)
    model.i2c_read(1)
    assert abs(clock.rate_ppm) < 1e-9
    model.i2c_write(bytes([0x10, (-40) & 0xFF]))
    model.i2c_write(bytes([0x0E, 0x1C | 0x20]))  # CONV
    assert abs(clock.rate_ppm - 12.0) < 1e-9 and model.regs[0x0E] & 0x20 == 0
    # A skipped day counts at the rate; true time by exactly a day.
    before, true_before = clock.now(), clock.true_now()
    clock.advance(DAY)
    assert abs(clock.true_now() - true_before - DAY) < 1e-6
    assert abs(clock.now() - before - DAY * (1 + 12e-6)) < 1e-6
    # Losing both supplies resets the register and its effect.
    model.battery_removed()
    assert model.aging == 0 and abs(clock.rate_ppm - 8.0) < 1e-9


def test_internal_rtc_model_loses_its_time_at_boot():
    src = [T0 * 1.0]
    model = InternalRTCModel(ModelClock(source=lambda: src[0], ppm=-5.0))
    model.write(T0)
    src[0] += DAY
    assert model.read() == T0 + DAY - 1  # 5 ppm slow: 0.43 s behind
    model.power_on()
    assert model.read() < MIN_TIME


def test_the_everyday_clock_read_leaves_the_fine_sync_unloaded(tmp_path, monkeypatch):
    """`otpfob code` reads the clock each time; on a board that read must not
    load fob/clockfine.py, whose import needs a contiguous piece of a heap
    the store and the screen have fragmented.  A fine sync (edge) loads it."""
    rig = Rig(tmp_path)
    clocksync.set_coarse(rig.session(), int(rig.true_now()))  # time_set loads it
    monkeypatch.delitem(sys.modules, "fob.clockfine")
    monkeypatch.delattr(fob, "clockfine")  # else `from fob import clockfine` finds it
    got = rig.call("time_get")
    assert got["clock"] == "ok" and abs(got["time"] - int(rig.true_now())) <= 1
    assert "fob.clockfine" not in sys.modules
    for bad in ("yes", 1, None):
        assert rig.call("time_get", {"edge": bad})["err"] == proto.E_ARG
    edge = rig.call("time_get", {"edge": True})
    assert edge["clock"] == "ok" and 0 <= edge["ms"]
    assert "fob.clockfine" in sys.modules
