"""DS3231 driver: BCD registers through 2099, century bit, OSF, EOSC."""

import calendar
import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fob import timeutil
from fob.drivers import ds3231


class RegisterI2C:
    """A DS3231's 19 registers behind readfrom_mem_into / writeto_mem."""

    def __init__(self, addr=0x68):
        self.addr = addr
        self.regs = bytearray(0x13)
        self.fail = 0  # fail the next n transfers

    def _check(self, addr):
        if self.fail:
            self.fail -= 1
            raise OSError(5)
        if addr != self.addr:
            raise OSError(19)

    def readfrom_mem_into(self, addr, mem, buf):
        self._check(addr)
        for i in range(len(buf)):
            buf[i] = self.regs[(mem + i) % len(self.regs)]

    def writeto_mem(self, addr, mem, buf):
        self._check(addr)
        for i, b in enumerate(bytes(buf)):
            self.regs[(mem + i) % len(self.regs)] = b


def bcd(n):  # independent of the driver: the decimal digits read as hex
    return int("%02d" % n, 16)


def test_days_from_civil_matches_calendar():
    d = dt.date(1970, 1, 1)
    end = dt.date(2200, 1, 1)
    n = 0
    while d < end:
        assert timeutil.days_from_civil(d.year, d.month, d.day) == n
        assert timeutil.civil_from_days(n) == (d.year, d.month, d.day)
        d += dt.timedelta(days=1)
        n += 1


def test_every_day_2000_2099_round_trips():
    # Every date from 2000-01-01 to 2099-12-31 through the registers, with a
    # different time of day each time so every hour/minute/second value occurs.
    bus = RegisterI2C()
    rtc = ds3231.DS3231(bus)
    date = dt.date(2000, 1, 1)
    days = 0
    while date.year < 2100:
        h, mi, s = (days * 7) % 24, (days * 13) % 60, (days * 29) % 60
        rtc.set_datetime(date.year, date.month, date.day, h, mi, s)
        r = bus.regs
        assert r[0] == bcd(s) and r[1] == bcd(mi) and r[2] == bcd(h)  # bit 6 = 0: 24 h
        assert r[3] == date.isoweekday()  # 1-7, Monday = 1
        assert r[4] == bcd(date.day)
        assert r[5] == bcd(date.month)  # century bit clear for 20xx
        assert r[6] == bcd(date.year - 2000)
        assert rtc.datetime() == (date.year, date.month, date.day, h, mi, s)
        unix = calendar.timegm((date.year, date.month, date.day, h, mi, s))
        assert rtc.read() == (unix, False)
        date += dt.timedelta(days=1)
        days += 1
    assert days == 36525


@settings(max_examples=3000, deadline=None)
@given(st.integers(min_value=946684800, max_value=4102444799))
def test_any_second_through_2099(unix):
    bus = RegisterI2C()
    rtc = ds3231.DS3231(bus)
    rtc.set_unix(unix)
    assert rtc.unix() == unix
    d = dt.datetime.fromtimestamp(unix, dt.timezone.utc)
    assert bytes(bus.regs[0:7]) == bytes(
        [bcd(d.second), bcd(d.minute), bcd(d.hour), d.isoweekday(), bcd(d.day), bcd(d.month), bcd(d.year - 2000)]
    )


def test_century_bit_reads_as_2100s():
    bus = RegisterI2C()
    rtc = ds3231.DS3231(bus)
    rtc.set_datetime(2099, 12, 31, 23, 59, 59)
    # What the chip does at the rollover: year 99 -> 00, century bit toggles.
    bus.regs[0:7] = bytes([0x00, 0x00, 0x00, 5, 0x01, 0x81, 0x00])
    assert rtc.datetime() == (2100, 1, 1, 0, 0, 0)


def test_12_hour_mode_is_read():
    bus = RegisterI2C()
    rtc = ds3231.DS3231(bus)
    rtc.set_datetime(2030, 6, 1, 0, 0, 0)
    bus.regs[2] = 0x40 | 0x20 | bcd(11)  # 11 PM
    assert rtc.datetime()[3] == 23
    bus.regs[2] = 0x40 | bcd(12)  # 12 AM
    assert rtc.datetime()[3] == 0


def test_out_of_range_years_refused():
    rtc = ds3231.DS3231(RegisterI2C())
    for y in (1999, 2100):
        with pytest.raises(ValueError):
            rtc.set_datetime(y, 1, 1, 0, 0, 0)
    with pytest.raises(ValueError):
        rtc.set_datetime(2023, 2, 29, 0, 0, 0)


def test_garbage_registers_are_an_error_not_a_date():
    bus = RegisterI2C()
    rtc = ds3231.DS3231(bus)
    bus.regs[0:7] = bytes([0x00, 0x00, 0x00, 1, 0x00, 0x00, 0x00])  # day 0, month 0
    with pytest.raises(ValueError):
        rtc.read()


def test_osf_is_reported_and_cleared_by_a_set():
    bus = RegisterI2C()
    rtc = ds3231.DS3231(bus)
    rtc.set_datetime(2030, 1, 1, 0, 0, 0)
    bus.regs[0x0F] = 0x88  # OSF (bit 7) + EN32kHz (bit 3), as after first power-up
    bus.regs[0x0E] = 0x9C  # EOSC (bit 7) set: oscillator would stop on battery
    assert rtc.lost_power() is True
    assert rtc.read()[1] is True
    rtc.set_unix(1893456000)
    assert bus.regs[0x0F] == 0x08  # OSF cleared, other bits kept
    assert bus.regs[0x0E] == 0x1C  # EOSC cleared, other bits kept
    assert rtc.lost_power() is False
    assert rtc.read() == (1893456000, False)


def test_bus_errors_propagate_as_oserror():
    bus = RegisterI2C()
    rtc = ds3231.DS3231(bus)
    bus.fail = 1
    with pytest.raises(OSError):
        rtc.read()
    with pytest.raises(OSError):
        ds3231.DS3231(RegisterI2C(), addr=0x69).read()
