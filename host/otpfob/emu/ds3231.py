"""A register-level model of the DS3231 RTC (Maxim datasheet 19-5170 rev 10).

Registers 00h-12h.  Time and calendar are BCD; the month register's bit 7
is the century bit, which toggles when the year rolls from 99 to 00.  The
status register's OSF (bit 7) is set at first power-up and whenever the
oscillator stops (both supplies lost, or EOSC set while on the battery);
it stays set until written to 0.  The register pointer auto-increments and
wraps from 12h to 00h.  Time registers are copied to the user buffers at
each I2C START, so one read transaction sees a consistent time.  Writing the
seconds register resets the countdown chain (the next tick is 1 s later).

Time comes from a ``Clock`` that tests control: real time plus an offset,
frozen, or advanced by hand.  The clock *is* this part's oscillator, so
``clock.now()`` is the time the token's RTC holds.
"""

from __future__ import annotations

import calendar
import threading
import time
from collections.abc import Callable

ADDR = 0x68
NREGS = 0x13

_SECONDS = 0x00
_HOURS = 0x02
_DAY = 0x03
_MONTH = 0x05
_YEAR = 0x06
_CONTROL = 0x0E
_STATUS = 0x0F
_AGING = 0x10
_TEMP_MSB = 0x11
_TEMP_LSB = 0x12

_OSF = 0x80
_EOSC = 0x80
_CONV = 0x20
_BSY = 0x04
# The aging offset's effect per LSB at 25 degrees C (datasheet: "about
# 0.1 ppm"); positive values slow the oscillator.
PPM_PER_AGING = 0.1
CONVERSION_S = 64  # the chip converts the temperature every 64 s by itself


def bcd(v: int) -> int:
    return ((v // 10) << 4) | (v % 10)


def unbcd(b: int) -> int:
    return (b >> 4) * 10 + (b & 0x0F)


class Clock:
    """The RTC's oscillator: real time plus an offset, or frozen.

    ``source`` is the time base it counts: the host's wall clock by default,
    an emulator's emulated seconds for the emulated Pico.  ``ppm`` is the
    oscillator's rate error: it counts ``1 + ppm / 1e6`` seconds for each
    second of ``source`` (a crystal off its nominal frequency); the part
    that owns it may add a correction (``set_correction``, the DS3231's aging
    register).  ``true_now()`` is what a perfect clock shows: ``source`` plus
    the time ``advance()`` skipped, the host's clock in a test that skips
    days.
    """

    def __init__(
        self,
        unix: float | None = None,
        frozen: bool = False,
        source: Callable[[], float] = time.time,
        ppm: float = 0.0,
    ) -> None:
        self._source = source
        self._lock = threading.Lock()
        self._ppm = float(ppm)
        self._correction_ppm = 0.0
        # A perfect clock, in step with this one when it was made: the
        # source plus this (advance() adds the true time it skips).
        self._true_offset = 0.0
        self._at = self._source()  # source reading the count was last anchored at
        self._value = self._at  # the time shown at that reading
        self._frozen: float | None = None
        if unix is not None:
            self._true_offset = unix - self._at
        if frozen:
            self._frozen = float(self._source() if unix is None else unix)
        elif unix is not None:
            self.set(unix)

    @property
    def ppm(self) -> float:
        """The oscillator's own rate error, in ppm (+: runs fast)."""
        return self._ppm

    @property
    def rate_ppm(self) -> float:
        """The rate it counts at now: its error less the correction."""
        return self._ppm - self._correction_ppm

    def _now(self, src: float) -> float:
        return self._value + (src - self._at) * (1.0 + self.rate_ppm * 1e-6)

    def _anchor(self) -> None:
        src = self._source()
        self._value = self._now(src)
        self._at = src

    def now(self) -> float:
        with self._lock:
            if self._frozen is not None:
                return self._frozen
            return self._now(self._source())

    def true_now(self) -> float:
        """A perfect clock's time: what a host with a good clock reads.  It
        was in step with this one when it was made, has no rate error, is
        not moved by set(), and counts the time advance() skipped."""
        return self._source() + self._true_offset

    @property
    def source(self) -> Callable[[], float]:
        return self._source

    def rebase(self, source: Callable[[], float]) -> None:
        """Count ``source`` from now on, both times going on from where they stand."""
        with self._lock:
            value = self._now(self._source())
            true = self._source() + self._true_offset
            self._source = source
            self._at = source()
            self._value = value
            self._true_offset = true - self._at

    def set(self, unix: float) -> None:
        """Jump to ``unix``; stays frozen if frozen, else keeps running."""
        with self._lock:
            if self._frozen is not None:
                self._frozen = float(unix)
            else:
                self._at = self._source()
                self._value = float(unix)

    def set_rate(self, ppm: float) -> None:
        """Change the oscillator's rate error from now on."""
        with self._lock:
            self._anchor()
            self._ppm = float(ppm)

    def set_correction(self, ppm: float) -> None:
        """A correction the part applies (the DS3231's aging offset), from now on."""
        with self._lock:
            self._anchor()
            self._correction_ppm = float(ppm)

    def freeze(self, unix: float | None = None) -> None:
        """Stop time (at ``unix`` if given, else where it is now)."""
        value = self.now() if unix is None else float(unix)
        with self._lock:
            self._frozen = value

    def run(self) -> None:
        """Let a frozen clock run again from where it stands."""
        with self._lock:
            if self._frozen is not None:
                self._at = self._source()
                self._value = self._frozen
                self._frozen = None

    @property
    def frozen(self) -> bool:
        return self._frozen is not None

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` of true time pass at once: a running clock moves
        by them at its rate (frozen: by exactly ``seconds``)."""
        with self._lock:
            if self._frozen is not None:
                self._frozen += seconds
            else:
                self._value += seconds * (1.0 + self.rate_ppm * 1e-6)
        self._true_offset += seconds


class DS3231:
    def __init__(self, clock: Clock | None = None, first_power: bool = True) -> None:
        self.clock = clock or Clock()
        self.lock = threading.RLock()
        self.regs = bytearray(NREGS)
        self.regs[_CONTROL] = 0x1C  # power-on: INTCN, RS2, RS1 set
        # Power-on: OSF set, EN32kHz set.  A part that kept its battery
        # since it was last set reads with OSF clear.
        self.regs[_STATUS] = 0x88 if first_power else 0x08
        self.regs[_TEMP_MSB] = 25  # 25.00 degrees C
        self.pointer = 0
        self.hour12 = False  # the mode last written to the hours register
        self._dow_base = (1, 0)  # (day register value, unix day number it was written)
        self._snapshot = self._time_fields(self.clock.now())
        self._stopped_at: float | None = None
        # The aging offset takes effect at the next temperature conversion:
        # when CONV is set, or within 64 s (the automatic one).
        self._aging_due: float | None = None
        self.clock.set_correction(0.0)
        self.writes: list[tuple[int, bytes]] = []  # (pointer, data) log for tests

    # -- test controls ------------------------------------------------------
    def set_osf(self) -> None:
        with self.lock:
            self.regs[_STATUS] |= _OSF

    def clear_osf(self) -> None:
        with self.lock:
            self.regs[_STATUS] &= ~_OSF & 0xFF

    @property
    def aging(self) -> int:
        """The aging offset register, signed."""
        v = self.regs[_AGING]
        return v - 256 if v > 127 else v

    def _convert(self) -> None:
        # A temperature conversion: the oscillator follows the aging offset.
        self._aging_due = None
        self.clock.set_correction(self.aging * PPM_PER_AGING)

    def _aging_check(self) -> None:
        if self._aging_due is not None and self.clock.true_now() >= self._aging_due:
            self._convert()

    @property
    def osf(self) -> bool:
        return bool(self.regs[_STATUS] & _OSF)

    def battery_only(self) -> None:
        """Main power lost: with EOSC set the oscillator stops on battery."""
        with self.lock:
            if self.regs[_CONTROL] & _EOSC:
                self._stopped_at = self.clock.now()
                self.regs[_STATUS] |= _OSF

    def power_restored(self) -> None:
        with self.lock:
            if self._stopped_at is not None:
                self.clock.set(self._stopped_at)
                self._stopped_at = None

    def battery_removed(self) -> None:
        """Both supplies lost: registers reset, oscillator stopped (OSF set)."""
        with self.lock:
            DS3231.__init__(self, self.clock, first_power=True)

    # -- time <-> registers -----------------------------------------------------
    def _time_fields(self, unix: float) -> bytes:
        t = time.gmtime(int(unix))
        year = 2000 + (t.tm_year - 2000) % 200
        days = int(unix) // 86400
        dow_val, dow_day = self._dow_base if hasattr(self, "_dow_base") else (1, days)
        dow = (dow_val - 1 + days - dow_day) % 7 + 1
        if self.hour12:
            h12 = t.tm_hour % 12 or 12
            hours = 0x40 | (0x20 if t.tm_hour >= 12 else 0) | bcd(h12)
        else:
            hours = bcd(t.tm_hour)
        month = bcd(t.tm_mon) | (0x80 if year >= 2100 else 0)
        return bytes([bcd(t.tm_sec), bcd(t.tm_min), hours, dow, bcd(t.tm_mday), month, bcd(year % 100)])

    def _fields_to_unix(self, f: bytes | bytearray) -> int:
        sec = min(unbcd(f[0] & 0x7F), 59)
        minute = min(unbcd(f[1] & 0x7F), 59)
        h = f[2]
        if h & 0x40:
            hour = unbcd(h & 0x1F) % 12 + (12 if h & 0x20 else 0)
        else:
            hour = unbcd(h & 0x3F)
        hour = min(hour, 23)
        month = min(max(unbcd(f[5] & 0x1F), 1), 12)
        year = 2000 + unbcd(f[6]) + (100 if f[5] & 0x80 else 0)
        mdays = calendar.monthrange(year, month)[1]
        day = min(max(unbcd(f[4] & 0x3F), 1), mdays)
        return calendar.timegm((year, month, day, hour, minute, sec, 0, 0, 0))

    # -- I2C -------------------------------------------------------------------
    def _start(self) -> None:
        # START: the user buffers are synchronised to the running time.
        self._aging_check()
        self._snapshot = self._time_fields(self.clock.now())

    def i2c_write(self, data: bytes, stop: bool = True) -> None:
        with self.lock:
            self._start()
            if not data:
                return
            self.pointer = data[0] % NREGS
            fields = bytearray(self._snapshot)
            wrote_time = wrote_seconds = False
            dow = None
            start = self.pointer
            for b in data[1:]:
                p = self.pointer
                if p < 7:
                    fields[p] = b
                    wrote_time = True
                    wrote_seconds |= p == _SECONDS
                    if p == _HOURS:
                        self.hour12 = bool(b & 0x40)
                    if p == _DAY:
                        dow = max(1, min(7, b & 0x07))
                elif p == _STATUS:
                    # OSF, A2F, A1F can only be cleared; BSY is read-only.
                    cur = self.regs[p]
                    self.regs[p] = (cur & b & 0x83) | (b & 0x08) | (cur & _BSY)
                elif p in (_TEMP_MSB, _TEMP_LSB):
                    pass  # read-only
                elif p == _CONTROL:
                    self.regs[p] = b & ~_CONV & 0xFF  # CONV clears when the conversion is done
                    if b & _CONV:
                        self._convert()
                elif p == _AGING:
                    self.regs[p] = b
                    self._aging_due = self.clock.true_now() + CONVERSION_S
                elif p < NREGS:
                    self.regs[p] = b
                self.pointer = (p + 1) % NREGS
            if data[1:]:
                self.writes.append((start, bytes(data[1:])))
            if wrote_time:
                now = self.clock.now()
                frac = 0.0 if wrote_seconds else now - int(now)
                self.clock.set(self._fields_to_unix(fields) + frac)
                if dow is not None:  # the weekday counts on from the new date
                    self._dow_base = (dow, int(self.clock.now()) // 86400)
                self._snapshot = self._time_fields(self.clock.now())

    def i2c_read(self, n: int) -> bytes:
        with self.lock:
            return bytes(self.i2c_read_byte(k == 0) for k in range(n))

    def i2c_read_byte(self, first: bool) -> int:
        """One byte of a read transaction, for a bus that moves bytes one
        at a time (the emulated Pico); ``first`` is the byte after START."""
        with self.lock:
            if first:
                self._start()
            p = self.pointer
            value = self._snapshot[p] if p < 7 else self.regs[p]
            self.pointer = (p + 1) % NREGS
            if self.pointer == 0:
                # Pointer rolled over to 00h: buffers resynchronise.
                self._start()
            return value

    def now(self) -> float:
        return self.clock.now()
