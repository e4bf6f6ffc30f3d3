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
# With a ``log`` (fob.clocklog, the app passes one) every set, the first
# sight of a jump and an oscillator stop are appended to the clock history,
# and the drift correction learnt from two syncs (fob/clockfine.py, loaded
# only for a sync) is applied: on a DS3231 by its aging register, on an RTC
# without one by the firmware, which takes one second off every
# ``1e9 / rate_ppb`` seconds counted from the last set.

import os

from fob import clocklog, proto
from fob.ticks import sleep_ms, ticks_diff, ticks_ms

MIN_TIME = 1704067200  # 2024-01-01T00:00:00Z: anything earlier was never set
MAX_TIME = 4102444799  # 2099-12-31T23:59:59Z: the DS3231's last date
RETRIES = 3  # reads tried before the RTC counts as missing
JUMP_TOLERANCE_MS = 5000  # 1 s per reading's resolution, plus loop stalls (flash writes)
MISSING_BACKOFF_MS = 1000  # don't hammer a dead bus from the display loop
JUMP_FILE = "clock.dat"  # on flash while a jump is not yet cleared by a set
BACK_NOTICE_S = 30  # a set moving a trusted clock back by more than a step: notice on screen


class Clock:
    def __init__(self, rtc, ticks=ticks_ms, tolerance_ms=JUMP_TOLERANCE_MS, path=None, log=None, sleep=sleep_ms):
        self.rtc = rtc  # driver with read() -> (unix, lost) and set_unix(t), or None
        self.ticks = ticks
        self.sleep = sleep
        self.log = log  # fob.clocklog.ClockLog, or None (no history, no correction)
        self.has_aging = hasattr(rtc, "set_aging")  # a DS3231: corrected by its aging register
        self._step = 0  # firmware correction: one second per _step seconds (0: none)
        self._stop_seen = False  # this stop is on record (or was tried)
        self.tolerance_ms = tolerance_ms
        self.path = path  # where a jump is remembered across restarts, or None
        self._last_t = None
        self._last_ticks = 0
        self._slept = False  # the ticks stood still since the last reading
        self._jumped = False
        self._fail_at = None
        self.jump_s = 0  # size of the last jump seen, for info
        if path is not None:
            self._load_jump()
        if log is not None:
            self._load_correction()

    # ---- drift correction ----------------------------------------------------
    def _load_correction(self):
        log = self.log
        if self.has_aging:
            self._step = 0
            # A cut between the history write and the register write, or a
            # part swapped: the register follows the history.
            try:
                if log.aging and self.rtc.aging() != log.aging:
                    self.rtc.set_aging(log.aging)
            except (OSError, ValueError):
                pass
        else:
            r = log.rate_ppb
            self._step = 0 if not r else (1_000_000_000 // r if r > 0 else -(1_000_000_000 // -r))

    def correction_ppb(self):
        """The correction in effect, in ppb (+: the clock is slowed)."""
        if self.log is None:
            return 0
        if self.has_aging:
            return self.log.aging * 100
        return self.log.rate_ppb

    def _corrected(self, t):
        step = self._step
        if not step:
            return t
        e = t - self.log.anchor
        # Small ints only: e // step, never e * rate.
        return t - (e // step if step > 0 else -(e // -step))

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
        tk = self.ticks()
        if self._fail_at is not None and ticks_diff(tk, self._fail_at) < MISSING_BACKOFF_MS:
            return proto.CLOCK_MISSING, None
        try:
            t, lost = self._read()
        except OSError:
            self._fail_at = tk
            return proto.CLOCK_MISSING, None
        self._fail_at = None
        if lost or t < MIN_TIME or t > MAX_TIME:
            self._log_stop()
            self._last_t = None
            return proto.CLOCK_UNSET, None
        t = self._corrected(t)
        if self._last_t is not None:
            ms = ticks_diff(tk, self._last_ticks)
            delta_ms = (t - self._last_t) * 1000 - ms
            if self._slept and delta_ms > 0:
                delta_ms = 0  # the time asleep, which the ticks did not count
            if delta_ms > self.tolerance_ms or delta_ms < -self.tolerance_ms:
                first = not self._jumped
                self._jumped = True
                self.jump_s = (delta_ms + 500) // 1000 if delta_ms > 0 else -((500 - delta_ms) // 1000)
                if first:
                    self._save_jump()
                    self._log(clocklog.JUMP, self._last_t + (ms + 500) // 1000, t)
        self._last_t = t
        self._last_ticks = tk
        self._slept = False
        if self._jumped:
            return proto.CLOCK_JUMPED, None
        return proto.CLOCK_OK, t

    def slept(self):
        """The chip is going dormant: its ticks stop, the RTC runs on.  The
        next reading may be any time later (the time asleep), never earlier
        than the tolerance allows: a clock set back while asleep is a jump."""
        self._slept = True

    def _log(self, kind, previous, new):
        if self.log is None:
            return
        try:
            self.log.append(kind, previous, new)
        except OSError:
            pass  # flash failing: the clock state itself is still right

    def _log_stop(self):
        # Once per stop: the history's last event says so until a set (and
        # a failing flash is tried once per boot, not at every reading).
        if self.log is not None and not self._stop_seen:
            self._stop_seen = True
            if self.log.last_kind() != clocklog.STOP:
                self._log(clocklog.STOP, self._last_t or 0, 0)

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
        """Set the RTC to ``t`` (Unix seconds) at once; raises ValueError /
        OSError.  A fine sync and the drift correction: fob/clockfine.py."""
        if not isinstance(t, int) or isinstance(t, bool) or not MIN_TIME <= t <= MAX_TIME:
            raise ValueError("time out of range")
        state, previous = self.peek()
        return self.commit(t, previous, state == proto.CLOCK_OK)

    def commit(self, t, previous, trusted, flags=0, offset_ms=0, rate=None, aging=None, at=None):
        """Record the set in the history, then write the RTC (at ticks
        ``at``, if given) and, given, the new correction."""
        if self.rtc is None:
            raise OSError(19)
        log = self.log
        if log is not None:
            back = None
            if trusted and previous is not None and previous - t > BACK_NOTICE_S:
                back = previous - t
            # The history first: a cut before the RTC write leaves a set on
            # record that did not happen, never a move that is not on record.
            log.append(clocklog.SET, previous, t, flags, offset_ms, rate, aging, back, t)
        if at is not None:
            wait = ticks_diff(at, self.ticks())
            if wait > 0:
                self.sleep(wait)
        self.rtc.set_unix(t)
        if aging is not None and self.has_aging:
            self.rtc.set_aging(aging)
        if log is not None:
            self._load_correction()
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
        self._last_ticks = self.ticks()
        self._jumped = False
        self._fail_at = None
        self.jump_s = 0
        self._stop_seen = False
        return previous
