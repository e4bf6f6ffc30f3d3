"""The emulated token: otpfob's firmware under MicroPython's Unix port, with
register-level models of its I2C parts (see token.EmulatedToken)."""

from .ds3231 import Clock
from .token import EmulatedToken, EmulatorError

__all__ = ["Clock", "EmulatedToken", "EmulatorError"]
