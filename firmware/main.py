# Boot entry, and the guard that keeps the REPL closed (docs/security.md
# "Updates"): with an access password set, Ctrl-C goes off before anything
# else runs, and if the firmware cannot start (a deploy cut short) this file
# never returns to the REPL, unless the button is held (a maintenance boot).
#
# Where the firmware is: `otpfob deploy` stages it in /otp.new, marks it
# complete last, and switches by renames (/otp -> /otp.old, /otp.new ->
# /otp); the first complete folder of /otp, /otp.new, /otp.old is used, so
# a cut at any instant boots the old firmware or the new one.  Without any
# (the image, fob frozen in; the emulated token) fob comes from sys.path.
#
# The account store's buffer is reserved first, while the heap is still in
# one piece: importing the rest of the firmware leaves it fragmented.
import os
import sys

import micropython


def _exists(path):
    try:
        os.stat(path)
        return True
    except OSError:
        return False


_locked = _exists("access.dat")
if _locked:
    micropython.kbd_intr(-1)

for _dir in ("/otp", "/otp.new", "/otp.old"):
    if _exists(_dir + "/complete"):
        sys.path.insert(0, _dir)
        break


def _held():
    # The button at power-on, read as fob.hw does (a maintenance boot).
    try:
        import board
        from machine import Pin

        n = getattr(board, "BUTTON_PIN", None)
        if n is None:
            return False
        pull = {"up": Pin.PULL_UP, "down": Pin.PULL_DOWN}.get(getattr(board, "BUTTON_PULL", "up"))
        pin = Pin(n, Pin.IN, pull) if pull is not None else Pin(n, Pin.IN)
        return pin.value() == (0 if getattr(board, "BUTTON_ACTIVE_LOW", True) else 1)
    except Exception:
        return False


def _guard():
    # No firmware to run: with a password set, hold here for good (the
    # REPL would hand the flash to anyone), unless this is a maintenance
    # boot, which leaves the REPL to `otpfob deploy`.
    if not _locked or _held():
        return
    import time

    while True:
        time.sleep_ms(1000)


try:
    from fob import storage

    buf = storage.reserve()

    import board

    from fob import app
except Exception:
    _guard()
    raise

app.main(board, buf)
