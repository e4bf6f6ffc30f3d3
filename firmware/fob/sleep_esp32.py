# Light sleep on the ESP32 boards (board SLEEP = "esp32-light"), woken by the
# button's RTC GPIO (ext0, at its pressed level) and by VBUS rising (ext1).
#
# Light sleep keeps RAM and the CPU's state: machine.lightsleep() returns and
# the main loop carries on.  The wake press is still down when it returns, so
# the button driver reads it as the first press.  Deep sleep would reset the
# chip and lose that press, so it is not used.
#
# Written against MicroPython 1.25's esp32 port (docs/library/esp32.rst,
# ports/esp32/modesp32.c and modmachine.c); no ESP32 ran it (README "Battery").


def _pin(machine, pin):
    # wake_on_ext0/ext1 are documented to take Pin objects; Pin(n) without a
    # mode leaves the pad as hw.py configured it.
    return machine.Pin(pin) if isinstance(pin, int) else pin


def sleep(button_pin, active_low=True, vbus_pin=None):
    """Sleep until the button is pressed or VBUS rises.  True after a sleep;
    False (and no sleep) when the port lacks what it needs or refuses a pin."""
    try:
        import esp32
        import machine
    except ImportError:
        return False
    for name in ("wake_on_ext0", "wake_on_ext1", "WAKEUP_ALL_LOW", "WAKEUP_ANY_HIGH"):
        if not hasattr(esp32, name):
            return False
    if not (hasattr(machine, "lightsleep") and hasattr(machine, "Pin")):
        return False
    try:
        button = _pin(machine, button_pin)
        vbus = None if vbus_pin is None else _pin(machine, vbus_pin)
        # ext0 is one pin at one level; ext1 can only wake on "any high" or
        # "all low", which is what VBUS (high when plugged in) needs.
        esp32.wake_on_ext0(button, esp32.WAKEUP_ALL_LOW if active_low else esp32.WAKEUP_ANY_HIGH)
        # An empty tuple clears ext1 (None would keep the last call's pins).
        esp32.wake_on_ext1((vbus,) if vbus is not None else (), esp32.WAKEUP_ANY_HIGH)
    except (ValueError, TypeError, OSError):
        # A pin that is not an RTC GPIO ("invalid pin"), or touch wake in use
        # ("no resources"): stay awake rather than sleep with no way back.
        _clear(esp32)
        return False
    machine.lightsleep()  # no timeout: only the pins above wake it
    _clear(esp32)
    # The wake pads come back as RTC IOs (ESP-IDF's sleep docs); an init with
    # a mode hands them back to the GPIO matrix, the pull left as it was.
    for pin in (button, vbus):
        if pin is not None:
            pin.init(machine.Pin.IN)
    return True


def _clear(esp32):
    # So a later lightsleep/deepsleep elsewhere is not woken by stale pins.
    try:
        esp32.wake_on_ext0(None)
        esp32.wake_on_ext1(())
    except (ValueError, TypeError, OSError):
        return  # nothing was set
