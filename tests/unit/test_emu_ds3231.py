"""The DS3231 model: registers, BCD, century, OSF, pointer, as the datasheet."""

import calendar
import time

from hypothesis import given, settings
from hypothesis import strategies as st

from otpfob.emu.ds3231 import DS3231, Clock

Y2000 = 946684800
Y2100 = 4102444800


def to_bcd(v):
    return (v // 10) * 16 + v % 10


def expected_regs(unix):
    t = time.gmtime(unix)
    return [
        to_bcd(t.tm_sec),
        to_bcd(t.tm_min),
        to_bcd(t.tm_hour),
        to_bcd(t.tm_mday),
        to_bcd(t.tm_mon) | (0x80 if t.tm_year >= 2100 else 0),
        to_bcd(t.tm_year % 100),
    ]


def read(rtc, reg, n):
    rtc.i2c_write(bytes([reg]), stop=False)
    return rtc.i2c_read(n)


def fields(regs):
    return [regs[0], regs[1], regs[2], regs[4], regs[5], regs[6]]  # without the weekday


def test_power_on_registers():
    rtc = DS3231(Clock(Y2000, frozen=True))
    r = read(rtc, 0x0E, 2)
    assert r[0] == 0x1C  # control: INTCN, RS2, RS1
    assert r[1] & 0x80  # OSF set at first power-up
    assert read(rtc, 0x11, 2) == bytes([25, 0])  # 25.00 C


@settings(max_examples=300, deadline=None)
@given(st.integers(Y2000, Y2100 + 86400 * 365 * 20))
def test_time_registers_are_bcd_of_the_clock(unix):
    rtc = DS3231(Clock(unix, frozen=True))
    assert fields(read(rtc, 0, 7)) == expected_regs(unix)


@settings(max_examples=300, deadline=None)
@given(st.integers(Y2000, Y2100 - 1), st.integers(1, 7))
def test_writing_the_time_registers_sets_the_clock(unix, dow):
    clock = Clock(Y2000 + 12345.6, frozen=True)
    rtc = DS3231(clock)
    r = expected_regs(unix)
    rtc.i2c_write(bytes([0x00, r[0], r[1], r[2], dow, r[3], r[4], r[5]]))
    assert clock.now() == unix  # seconds written: the countdown restarts
    assert read(rtc, 3, 1)[0] == dow


def test_century_bit_toggles_when_the_year_rolls_over():
    clock = Clock(calendar.timegm((2099, 12, 31, 23, 59, 59)), frozen=True)
    rtc = DS3231(clock)
    assert read(rtc, 5, 2) == bytes([0x12, 0x99])
    clock.advance(1)
    assert read(rtc, 0, 7)[4:7] == bytes([0x01, 0x81, 0x00])


def test_weekday_counts_at_midnight():
    clock = Clock(calendar.timegm((2024, 2, 28, 23, 59, 59)), frozen=True)
    rtc = DS3231(clock)
    rtc.i2c_write(bytes([0x03, 7]))
    clock.advance(1)
    assert read(rtc, 3, 3) == bytes([1, 0x29, 0x02])  # wraps 7 -> 1; leap day


def test_register_pointer_auto_increments_and_wraps_after_12h():
    rtc = DS3231(Clock(Y2000, frozen=True))
    rtc.i2c_write(bytes([0x10, 0x5A]))  # aging offset
    r = read(rtc, 0x10, 5)
    assert r[0] == 0x5A and r[1:3] == bytes([25, 0])
    assert r[3:5] == bytes([0x00, 0x00])  # 00h seconds, 01h minutes of 2000-01-01
    # Writes wrap too.
    rtc.i2c_write(bytes([0x12, 0xFF, 0x30]))  # temperature is read-only, then seconds
    assert read(rtc, 0, 1) == b"\x30"
    assert read(rtc, 0x12, 1) == b"\x00"


def test_osf_is_cleared_by_writing_zero_and_never_set_by_writing_one():
    rtc = DS3231(Clock(Y2000, frozen=True))
    assert rtc.osf
    rtc.i2c_write(bytes([0x0F, 0x08]))
    assert not rtc.osf and read(rtc, 0x0F, 1)[0] == 0x08
    rtc.i2c_write(bytes([0x0F, 0x88]))
    assert not rtc.osf
    rtc.set_osf()
    assert read(rtc, 0x0F, 1)[0] & 0x80


def test_eosc_stops_the_oscillator_on_battery():
    clock = Clock(Y2000 + 100, frozen=True)
    rtc = DS3231(clock, first_power=False)
    rtc.battery_only()
    clock.advance(50)
    rtc.power_restored()
    assert clock.now() == Y2000 + 150 and not rtc.osf  # kept time on battery
    rtc.i2c_write(bytes([0x0E, 0x9C]))  # EOSC = 1
    rtc.battery_only()
    clock.advance(50)
    rtc.power_restored()
    assert clock.now() == Y2000 + 150 and rtc.osf


def test_twelve_hour_mode_reads_back_in_twelve_hour_form():
    clock = Clock(calendar.timegm((2030, 6, 1, 15, 4, 5)), frozen=True)
    rtc = DS3231(clock)
    rtc.i2c_write(bytes([0x02, 0x40 | 0x20 | 0x03]))  # 3 PM, 12-hour mode
    assert read(rtc, 2, 1)[0] == 0x63
    assert time.gmtime(clock.now()).tm_hour == 15
    rtc.i2c_write(bytes([0x02, 0x23]))  # back to 24-hour: 23 h
    assert time.gmtime(clock.now()).tm_hour == 23


def test_a_running_clock_runs_and_a_minute_write_keeps_the_seconds():
    clock = Clock(Y2000)
    rtc = DS3231(clock)
    a = clock.now()
    time.sleep(0.05)
    assert clock.now() > a
    clock.freeze(Y2000 + 10.5)
    rtc.i2c_write(bytes([0x01, 0x07]))
    assert clock.now() == Y2000 + 7 * 60 + 10.5
