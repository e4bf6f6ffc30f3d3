"""What a host makes of a USB keyboard's boot reports, under the US, German
and French layouts: the text a person would see typed (the emulated Pico's
USB host, issue 25).

Written from the layouts themselves (xkb's `us`, `de` and `fr` symbols, the
same keys as Windows' and macOS's), not from the firmware's table
(`fob/keyboard.py`), so a test compares the two: the top row unshifted and
with Shift, the keypad with NumLock on, Enter.
"""

from __future__ import annotations

from collections.abc import Iterable

# The top row's keys, usages 0x1E..0x27 (HID Usage Tables 10: "1 and !" ... "0 and )").
TOP_ROW = {
    "us": ("1234567890", "!@#$%^&*()"),
    "de": ("1234567890", '!"§$%&/()='),
    "fr": ("&é\"'(-è_çà", "1234567890"),
}
LAYOUTS = tuple(TOP_ROW)
ENTER = 0x28
KEYPAD_ENTER = 0x58
KEYPAD = "1234567890"  # usages 0x59..0x62 with NumLock on, every layout
SHIFT_BITS = 0x22  # left and right Shift in the modifier byte
ROLLOVER = 0x01  # ErrorRollOver: too many keys down
UNKNOWN = "\ufffd"


def key_text(usage: int, modifiers: int, layout: str) -> str:
    """The text one key press gives (UNKNOWN for a key outside the table)."""
    shifted = bool(modifiers & SHIFT_BITS)
    if 0x1E <= usage <= 0x27:
        return TOP_ROW[layout][1 if shifted else 0][usage - 0x1E]
    if usage in (ENTER, KEYPAD_ENTER):
        return "\n"
    if 0x59 <= usage <= 0x62:
        return KEYPAD[usage - 0x59]
    return UNKNOWN


class Decoder:
    """Follows 8-byte boot reports; a key counts when it goes down."""

    def __init__(self, layout: str) -> None:
        if layout not in TOP_ROW:
            raise ValueError(f"no layout {layout!r}")
        self.layout = layout
        self.down: set[int] = set()
        self.text = ""
        self.errors: list[str] = []

    def report(self, data: bytes) -> None:
        if len(data) != 8:
            self.errors.append(f"a report of {len(data)} bytes")
            return
        keys = {k for k in data[2:] if k}
        if ROLLOVER in keys:
            self.errors.append("rollover")
            return
        for k in data[2:]:
            if k and k not in self.down:
                self.text += key_text(k, data[0], self.layout)
        self.down = keys

    def unplugged(self) -> None:
        """The device went away: a host lets go of its keys."""
        self.down = set()


def typed(reports: Iterable[bytes], layout: str) -> str:
    d = Decoder(layout)
    for r in reports:
        d.report(r)
    return d.text
