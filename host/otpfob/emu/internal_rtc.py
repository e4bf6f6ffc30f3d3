"""A model of a microcontroller's own RTC (the RP2040's, machine.RTC).

It keeps time only while the chip is powered: a power cut loses it, and
MicroPython's rp2 port starts it at 2021-01-01 00:00:00 at every boot, which
the firmware reads as "never set" (fob/drivers/rtc_internal.py).  Its clock
runs from the board's crystal through a divider, so it has a rate error
like any oscillator (``Clock(ppm=...)``) and no aging register: the firmware
corrects it itself (fob/clock.py).
"""

from __future__ import annotations

import calendar

from .ds3231 import Clock

BOOT_TIME = calendar.timegm((2021, 1, 1, 0, 0, 0))  # what the rp2 port sets at boot


class InternalRTC:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.clock.set(BOOT_TIME)

    def power_on(self) -> None:
        """A boot: the port sets its start date; the time is lost."""
        self.clock.set(BOOT_TIME)

    def read(self) -> int:
        """Unix seconds now (whole)."""
        return int(self.clock.now())

    def write(self, unix: int) -> None:
        """Set by the firmware (machine.RTC.datetime(...)), on the second."""
        self.clock.set(unix)
