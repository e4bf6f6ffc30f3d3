# A debounced push button, polled from the main loop (no interrupts, so
# nothing runs behind the display code's back).
#
# A press counts once the pin has held it for debounce_ms; its release at
# the first reading that sees it (latency: one poll, not a debounce wait).
# poll() returns SHORT when a press shorter than long_ms is released, and
# LONG as soon as a press has lasted long_ms (the user sees the reaction
# while still holding).  A press that produced LONG gives nothing on release.

from fob.ticks import ticks_diff, ticks_ms

try:
    from micropython import const
except ImportError:  # CPython, for the tests

    def const(x):
        return x


NONE = const(0)
SHORT = const(1)
LONG = const(2)


class Button:
    def __init__(self, pin, active_low=True, debounce_ms=30, long_ms=800):
        self.pin = pin
        self.active_low = active_low
        self.debounce_ms = debounce_ms
        self.long_ms = long_ms
        self._stable = False  # debounced state: pressed?
        self._raw = False
        self._raw_since = ticks_ms()
        self._pressed_at = 0
        self._long_sent = False

    def is_pressed(self):
        return self._stable

    def _read(self):
        v = self.pin.value()
        return (not v) if self.active_low else bool(v)

    def poll(self, now=None):
        if now is None:
            now = ticks_ms()
        raw = self._read()
        if raw != self._raw:
            self._raw = raw
            self._raw_since = now
        if self._stable and not raw:
            # A release counts at the first reading that sees it: the press
            # was debounced already, and a bounce back down is shorter than
            # debounce_ms, so it does not make a new press.
            self._stable = False
            return NONE if self._long_sent else SHORT
        if raw != self._stable and ticks_diff(now, self._raw_since) >= self.debounce_ms:
            self._stable = raw
            if raw:
                self._pressed_at = now
                self._long_sent = False
            elif not self._long_sent:
                return SHORT
            return NONE
        if self._stable and not self._long_sent:
            if ticks_diff(now, self._pressed_at) >= self.long_ms:
                self._long_sent = True
                return LONG
        return NONE
