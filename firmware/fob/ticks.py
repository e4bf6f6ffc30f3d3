# Millisecond ticks: MicroPython's time.ticks_* with a CPython fallback, so
# the pure parts of the firmware (button, clock, app logic) run in tests.
try:
    from time import sleep_ms, ticks_add, ticks_diff, ticks_ms
except ImportError:
    import time as _time

    _PERIOD = 1 << 30  # same wrap as MicroPython's ticks

    def ticks_ms():
        return (_time.monotonic_ns() // 1000000) % _PERIOD

    def ticks_add(t, delta):
        return (t + delta) % _PERIOD

    def ticks_diff(a, b):
        return ((a - b + _PERIOD // 2) % _PERIOD) - _PERIOD // 2

    def sleep_ms(ms):
        _time.sleep(ms / 1000)
