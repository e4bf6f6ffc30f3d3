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
# While the firmware loads, sys.path holds only ".frozen": `fob` itself is
# imported from its folder first, and its modules then come through
# fob.__path__.  The first import of a built-in module a file may extend
# (os, struct, time, machine, ...) otherwise looks in each sys.path folder
# on the flash, and littlefs reads and checks the whole log of every folder
# on the way for each look (about 1 ms a folder, hundreds of looks).  The
# REPL gets the usual path back.
#
# The account store's buffer is reserved first, while the heap is still in
# one piece: importing the rest of the firmware leaves it fragmented.
import sys

import micropython

_usual = sys.path[:]
sys.path[:] = [".frozen"]  # os below: the built-in, without a look on the flash
import os  # noqa: E402


def _exists(path):
    try:
        os.stat(path)
        return True
    except OSError:
        return False


_locked = _exists("access.dat")
if _locked:
    micropython.kbd_intr(-1)

_home = None
for _dir in ("/otp", "/otp.new", "/otp.old"):
    if _exists(_dir + "/complete"):
        _home = _dir
        break
_repl = ([_home] if _home else []) + _usual  # the path the REPL gets


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
    sys.path[:] = _repl
    if not _locked or _held():
        return
    import time

    while True:
        time.sleep_ms(1000)


try:
    # fob from the deploy folder, else frozen in; failing both (the
    # emulated token) from the usual path, left as it is.
    sys.path[:] = [_home or ".frozen"]
    try:
        import fob  # noqa: F401

        _fw = [".frozen"]
    except ImportError:
        if _home:
            raise
        _fw = _usual
    sys.path[:] = _fw
    from fob import storage

    buf = storage.reserve()
    sys.path[:] = _usual  # board.py is in the flash root (the emulator's: on its path)
    import board

    sys.path[:] = _fw
    from fob import app
except Exception:
    _guard()
    raise

try:
    app.main(board, buf)
finally:
    sys.path[:] = _repl
