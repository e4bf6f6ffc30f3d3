"""The emulated token in a terminal: the OLED in Unicode half blocks, and
the keyboard as its button.

Keys: any key is the button.  A tap is a short press.  Holding a key down
(the terminal's auto-repeat) holds the button for as long as the repeats
keep coming: a long press.  ``l`` is an explicit long press, ``q`` quits.
A tap is only sent once the terminal's repeat delay has passed without a
repeat (about 0.6 s), because until then a tap and a hold look the same.
"""

from __future__ import annotations

import os
import select
import shutil
import sys
import termios
import threading
import time
import tty
from pathlib import Path
from typing import Callable

from . import screen
from .token import EmulatedToken

REPEAT_DELAY = 0.6  # longer than common auto-repeat delays (250-600 ms)
REPEAT_GAP = 0.25  # a hold ends when repeats stop for this long
LONG_MS = 1200


class Keys:
    """Turns key events into button presses (see the module docstring)."""

    def __init__(self, token: EmulatedToken) -> None:
        self.token = token
        self.pending: float | None = None
        self.holding = False
        self.last = 0.0
        self.release_at: float | None = None

    def key(self, ch: str, now: float) -> None:
        if ch == "l":
            threading.Thread(target=self.token.hold, args=(LONG_MS,), daemon=True).start()
            return
        self.last = now
        if self.holding:
            return
        if self.pending is not None:  # a repeat: the key is being held
            self.pending = None
            self.holding = True
            self.token.button_down()
        else:
            self.pending = now

    def tick(self, now: float) -> None:
        if self.pending is not None and now - self.pending > REPEAT_DELAY:
            self.pending = None
            self.token.button_down()
            self.release_at = now + 0.1
        if self.release_at is not None and now >= self.release_at:
            self.release_at = None
            self.token.button_up()
        if self.holding and now - self.last > REPEAT_GAP:
            self.holding = False
            self.token.button_up()


def write_png(token: EmulatedToken, path: str, scale: int = 4) -> None:
    tmp = Path(str(path) + ".tmp.png")
    token.screen_png(tmp, scale)
    os.replace(tmp, path)


def run(
    token: EmulatedToken,
    headless: bool,
    snapshot: str | None,
    side: Callable[[], list[str]] | None = None,
    footer: str = "",
    stop: threading.Event | None = None,
) -> None:
    """Draw and drive the token until Ctrl-C, ``q``, ``stop`` or the firmware exits."""
    interactive = not headless and sys.stdin.isatty()
    old = None
    if interactive:
        old = termios.tcgetattr(sys.stdin)
        tty.setcbreak(sys.stdin.fileno())
    keys = Keys(token)
    last_pixels = None
    last_side: list[str] | None = None
    last_png = 0.0
    png_dirty = False
    try:
        if not headless:
            sys.stdout.write("\x1b[2J\x1b[?25l")
        while token.running and not (stop is not None and stop.is_set()):
            now = time.monotonic()
            if interactive and select.select([sys.stdin], [], [], 0.02)[0]:
                ch = os.read(sys.stdin.fileno(), 1).decode(errors="replace")
                if ch in ("q", "Q"):
                    break
                keys.key(ch, now)
            elif not interactive:
                time.sleep(0.05)
            keys.tick(now)
            pixels = token.screen_pixels()
            lines = side() if side else []
            if pixels != last_pixels or lines != last_side:
                png_dirty = png_dirty or pixels != last_pixels
                last_pixels, last_side = pixels, lines
                if not headless:
                    _draw(pixels, lines, footer)
            if snapshot and png_dirty and now - last_png >= 1.0:
                write_png(token, snapshot)
                last_png, png_dirty = now, False
    except KeyboardInterrupt:
        pass
    finally:
        if old is not None:
            termios.tcsetattr(sys.stdin, termios.TCSADRAIN, old)
        if not headless:
            sys.stdout.write("\x1b[?25h\n")
            sys.stdout.flush()
        if snapshot:
            write_png(token, snapshot)


def _draw(pixels, side: list[str], footer: str) -> None:
    cols = shutil.get_terminal_size((160, 40)).columns
    wide = cols >= len(pixels[0]) + 2 + (2 + max(map(len, side)) if side else 0)
    # Half blocks (1 x 2 pixels) when the terminal is wide enough, else
    # quadrants (2 x 2) so that an 80-column terminal still shows it all.
    art = (screen.half_blocks(pixels) if wide else screen.quadrants(pixels)).split("\n")
    out = ["\x1b[H"]
    for i, row in enumerate(art):
        extra = side[i] if i < len(side) else ""
        out.append(row + "  " + extra + "\x1b[K\n")
    for i in range(len(art), len(side)):
        out.append(" " * (len(art[0]) + 2) + side[i] + "\x1b[K\n")
    if footer:
        out.append(footer + "\x1b[K\n")
    sys.stdout.write("".join(out))
    sys.stdout.flush()
