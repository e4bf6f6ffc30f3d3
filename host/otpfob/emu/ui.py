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
from collections.abc import Callable
from pathlib import Path

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
    header: list[str] | None = None,
) -> None:
    """Draw and drive the token until Ctrl-C, ``q``, ``stop`` or the firmware exits."""
    interactive = not headless and sys.stdin.isatty()
    old = None
    if interactive:
        old = termios.tcgetattr(sys.stdin)
        tty.setcbreak(sys.stdin.fileno())
    keys = Keys(token)
    last_pixels = None
    last_size = None
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
            size = shutil.get_terminal_size((160, 40))  # a resized terminal is drawn again
            if pixels != last_pixels or lines != last_side or size != last_size:
                png_dirty = png_dirty or pixels != last_pixels
                last_pixels, last_side, last_size = pixels, lines, size
                if not headless:
                    _draw(pixels, lines, footer, header)
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


# Renderers from the most to the least detailed: (name, function, border).
RENDERERS = (
    ("half blocks", screen.half_blocks, True),
    ("quadrants", screen.quadrants, True),
    ("braille", screen.braille, True),
    ("braille", screen.braille, False),
)


def _wrap(line: str, cols: int) -> list[str]:
    import textwrap

    return textwrap.wrap(line, cols, subsequent_indent="  ") or [""]


def layout(pixels, side: list[str], footer: str, cols: int, rows: int, header: list[str] | None = None) -> list[str]:
    """The lines to draw in a cols x rows terminal: the header (wrapped),
    the OLED in the most detailed form that fits, the side lines beside it
    (or below, blank ones dropped, when it is too narrow) and the footer.
    When nothing fits, one line saying how big the terminal must be."""
    head = [w for line in header or [] for w in _wrap(line, cols)]
    for _name, render, border in RENDERERS:
        art = render(pixels, border).split("\n")
        aw = max(len(a) for a in art)
        if aw > cols:
            continue
        side_w = max(map(len, side)) if side else 0
        if side and cols >= aw + 2 + side_w:
            body = [a + "  " + (side[i] if i < len(side) else "") for i, a in enumerate(art)]
            body += [" " * (aw + 2) + s for s in side[len(art) :]]
        else:
            body = art + [s for s in side if s.strip()]
        lines = head + body + ([footer[:cols]] if footer else [])
        if len(lines) <= rows:
            return lines
    need_cols = (len(pixels[0]) + 1) // 2  # borderless braille, the side below
    need_rows = (len(pixels) + 3) // 4 + len(head) + len([s for s in side if s.strip()]) + (1 if footer else 0)
    note = "Terminal too small (%dx%d): the emulated screen needs %dx%d; enlarge it, or run otpfob sim --headless." % (
        cols,
        rows,
        need_cols,
        need_rows,
    )
    return _wrap(note, max(cols, 20))[: max(rows, 1)]


def _draw(pixels, side: list[str], footer: str, header: list[str] | None = None) -> None:
    size = shutil.get_terminal_size((160, 40))
    lines = layout(pixels, side, footer, size.columns, size.lines, header)
    # Home, each line cleared to its end, the rest of the screen cleared; no
    # newline after the last line, so a full terminal never scrolls.
    sys.stdout.write("\x1b[H" + "\x1b[K\n".join(lines) + "\x1b[K\x1b[J")
    sys.stdout.flush()
