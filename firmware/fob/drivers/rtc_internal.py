# The microcontroller's own RTC (machine.RTC), for boards without a DS3231.
#
# Ports disagree on the epoch: rp2 and Unix count from 1970, ESP32 from 2000.
# The offset to Unix time is measured with time.gmtime(0), never assumed.
# The chip keeps no "oscillator stopped" flag, so a year before MIN_YEAR is
# read as "never set" (after a reset the RTC restarts at its epoch).

import time

from fob import timeutil

MIN_YEAR = 2024


def epoch_offset():
    """Seconds to add to the port's time.time() to get Unix time."""
    y, mo, d = time.gmtime(0)[:3]
    return timeutil.days_from_civil(y, mo, d) * 86400


class InternalRTC:
    def __init__(self, rtc):
        self.rtc = rtc  # machine.RTC() or anything with datetime()

    def read(self):
        # machine.RTC.datetime(): (year, month, day, weekday, h, m, s, subsec)
        dt = self.rtc.datetime()
        y, mo, d, h, mi, s = dt[0], dt[1], dt[2], dt[4], dt[5], dt[6]
        if not timeutil.valid_date(y, mo, d):
            raise ValueError("RTC holds no valid date")
        return timeutil.to_unix(y, mo, d, h, mi, s), y < MIN_YEAR

    def unix(self):
        return self.read()[0]

    def lost_power(self):
        return self.read()[1]

    def set_unix(self, t):
        y, mo, d, h, mi, s, wd = timeutil.from_unix(t)
        self.rtc.datetime((y, mo, d, wd, h, mi, s, 0))


class TimeRTC:
    """time.time() as a clock (Unix port without a DS3231, or a bare board)."""

    def __init__(self):
        self._offset = epoch_offset()
        self._adjust = 0

    def read(self):
        t = int(time.time()) + self._offset + self._adjust
        return t, timeutil.from_unix(t)[0] < MIN_YEAR

    def unix(self):
        return self.read()[0]

    def lost_power(self):
        return self.read()[1]

    def set_unix(self, t):
        self._adjust = t - int(time.time()) - self._offset
