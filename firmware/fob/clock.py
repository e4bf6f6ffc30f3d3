# Whether the token may trust its clock, and the time when it may.
#
# States (fob.proto): CLOCK_OK, CLOCK_UNSET (never set, or the oscillator
# stopped), CLOCK_MISSING (the RTC does not answer), CLOCK_JUMPED (the RTC
# moved by more than the elapsed ticks allow, without being set over serial).
# Jump detection compares each RTC reading with the previous one and the
# milliseconds elapsed between them (ticks).  The baseline moves with every
# good reading, so slow drift between the two oscillators never adds up; a
# jump stays flagged until the clock is set over serial.
# With a `path` (the app passes JUMP_FILE) a jump is also written to flash
# when it is first seen, so a restart does not make a jumped clock trusted
# again: power-cycling is what a user tries first.  The file holds the jump
# in seconds; any file there, even a damaged one, means "jumped" (fail
# closed).  A jump while the power is off cannot be told from the time the
# token spent off (docs/reliability.md), so only running jumps are kept.

import os

from fob import proto
from fob.ticks import ticks_diff, ticks_ms

MIN_TIME = 1704067200  # 2024-01-01T00:00:00Z: anything earlier was never set
MAX_TIME = 4102444799  # 2099-12-31T23:59:59Z: the DS3231's last date
RETRIES = 3  # reads tried before the RTC counts as missing
JUMP_TOLERANCE_MS = 5000  # 1 s per reading's resolution, plus loop stalls (flash writes)
MISSING_BACKOFF_MS = 1000  # don't hammer a dead bus from the display loop
JUMP_FILE = "clock.dat"  # on flash while a jump is not yet cleared by a set


class Clock:
    def __init__(self, rtc, ticks=ticks_ms, tolerance_ms=JUMP_TOLERANCE_MS, path=None):
        self.rtc = rtc  # driver with read() -> (unix, lost) and set_unix(t), or None
        self._ticks = ticks
        self.tolerance_ms = tolerance_ms
        self.path = path  # where a jump is remembered across restarts, or None
        self._last_t = None
        self._last_ticks = 0
        self._jumped = False
        self._fail_at = None
        self.jump_s = 0  # size of the last jump seen, for info
        if path is not None:
            self._load_jump()

    def _load_jump(self):
        try:
            with open(self.path, "rb") as f:
                data = f.read(16)
        except OSError:
            return  # no jump on record
        self._jumped = True
        try:
            self.jump_s = int(str(data, "ascii"))
        except (ValueError, UnicodeError):
            self.jump_s = 0  # damaged: still a jump

    def _save_jump(self):
        if self.path is None:
            return
        try:
            with open(self.path, "wb") as f:
                f.write(str(self.jump_s).encode())
        except OSError:
            pass  # flash full or failing: the jump is still held in RAM

    def _read(self):
        err = None
        for _ in range(RETRIES):
            try:
                return self.rtc.read()
            except (OSError, ValueError) as e:
                # OSError: NACK/timeout; ValueError: garbage read off a noisy
                # bus.  Both are worth another try.
                err = e
        raise OSError(err.args[0] if isinstance(err, OSError) and err.args else 5)

    def now(self):
        """(state, unix time or None).  The time is only given when OK."""
        if self.rtc is None:
            return proto.CLOCK_MISSING, None
        tk = self._ticks()
        if self._fail_at is not None and ticks_diff(tk, self._fail_at) < MISSING_BACKOFF_MS:
            return proto.CLOCK_MISSING, None
        try:
            t, lost = self._read()
        except OSError:
            self._fail_at = tk
            return proto.CLOCK_MISSING, None
        self._fail_at = None
        if lost or t < MIN_TIME or t > MAX_TIME:
            self._last_t = None
            return proto.CLOCK_UNSET, None
        if self._last_t is not None:
            ms = ticks_diff(tk, self._last_ticks)
            delta_ms = (t - self._last_t) * 1000 - ms
            if delta_ms > self.tolerance_ms or delta_ms < -self.tolerance_ms:
                first = not self._jumped
                self._jumped = True
                self.jump_s = (delta_ms + 500) // 1000 if delta_ms > 0 else -((500 - delta_ms) // 1000)
                if first:
                    self._save_jump()
        self._last_t = t
        self._last_ticks = tk
        if self._jumped:
            return proto.CLOCK_JUMPED, None
        return proto.CLOCK_OK, t

    def peek(self):
        """(state, raw RTC time or None) for info: shown even when untrusted."""
        state, t = self.now()
        if t is None and state != proto.CLOCK_MISSING:
            try:
                t = self._read()[0]
            except OSError:
                pass
        return state, t

    def set(self, t):
        """Set the RTC (Unix seconds); raises ValueError / OSError."""
        if not isinstance(t, int) or isinstance(t, bool) or not MIN_TIME <= t <= MAX_TIME:
            raise ValueError("time out of range")
        if self.rtc is None:
            raise OSError(19)
        self.rtc.set_unix(t)
        if self._jumped and self.path is not None:
            # After the RTC write: a cut in between leaves the jump on record
            # (still untrusted, as before the set), never a trusted old time.
            try:
                os.remove(self.path)
            except OSError:
                pass
            try:
                os.stat(self.path)
            except OSError:
                pass
            else:
                raise OSError(5)  # could not clear it: stays untrusted
        self._last_t = t
        self._last_ticks = self._ticks()
        self._jumped = False
        self._fail_at = None
        self.jump_s = 0
