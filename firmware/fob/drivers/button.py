# A debounced push button, read from the main loop (the reading and the
# debouncing never run behind the display code's back).  Where the port has
# pin IRQs (rp2, esp32), wake_on_edges() has an edge call a tiny handler
# that only wakes the loop, so the loop need not poll while nothing moves;
# due_ms() says when the loop must read it again without a new edge.
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

    def is_down(self):
        """The last reading, not debounced (a press may be beginning)."""
        return self._raw

    def _read(self):
        v = self.pin.value()
        return (not v) if self.active_low else bool(v)

    def wake_on_edges(self, handler):
        """Call ``handler(pin)`` on each edge (a soft pin IRQ); False where
        the pin has no IRQ (the emulated token's simlink pin): poll then."""
        pin = self.pin
        if not hasattr(pin, "irq") or not hasattr(pin, "IRQ_FALLING"):
            return False
        pin.irq(handler=handler, trigger=pin.IRQ_FALLING | pin.IRQ_RISING)
        return True

    def due_ms(self, now):
        """Milliseconds until poll() may report something with no new edge
        (a debounce ends, a press becomes long); -1: only an edge can."""
        if self._raw != self._stable:
            d = self.debounce_ms - ticks_diff(now, self._raw_since)
        elif self._stable and not self._long_sent:
            d = self.long_ms - ticks_diff(now, self._pressed_at)
        else:
            return -1
        return d if d > 0 else 0

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
