"""What the emulated OLED shows: as text (glyphs decoded from the pixels),
as an image (Pillow) and as Unicode half blocks for a terminal.

The decoder does not know the firmware's layout.  It loads the glyph
bitmaps from the firmware's own ``fob/font.py`` and searches the pixel
image for them, biggest glyphs first; each match claims its pixels, so the
strokes of a big digit are not read again as small characters.  Lines of
text are rebuilt from the matches' positions.
"""

from __future__ import annotations

import os
from pathlib import Path

from . import glyphs

Pixels = list[list[int]]


def decode(pixels: Pixels, firmware_dir: str | os.PathLike) -> str:
    """The text on the screen, one line per text row, top to bottom."""
    return glyphs.decode(pixels, glyphs.load_fonts(Path(firmware_dir)))


def half_blocks(pixels: Pixels, border: bool = True) -> str:
    """Two pixel rows per terminal line: upper half, lower half, full, none."""
    chars = {(0, 0): " ", (1, 0): "\u2580", (0, 1): "\u2584", (1, 1): "\u2588"}
    h = len(pixels)
    w = len(pixels[0]) if h else 0
    lines = []
    if border:
        lines.append("\u250c" + "\u2500" * w + "\u2510")
    for y in range(0, h, 2):
        top = pixels[y]
        bot = pixels[y + 1] if y + 1 < h else [0] * w
        row = "".join(chars[(top[x], bot[x])] for x in range(w))
        lines.append("\u2502" + row + "\u2502" if border else row)
    if border:
        lines.append("\u2514" + "\u2500" * w + "\u2518")
    return "\n".join(lines)


# Quadrant blocks indexed by (top-left, top-right, bottom-left, bottom-right).
_QUAD = " \u2598\u259d\u2580\u2596\u258c\u259e\u259b\u2597\u259a\u2590\u259c\u2584\u2599\u259f\u2588"


def quadrants(pixels: Pixels, border: bool = True) -> str:
    """2 x 2 pixels per character, for terminals narrower than 130 columns."""
    h = len(pixels)
    w = len(pixels[0]) if h else 0

    def px(x: int, y: int) -> int:
        return pixels[y][x] if y < h and x < w else 0

    lines = []
    cw = (w + 1) // 2
    if border:
        lines.append("\u250c" + "\u2500" * cw + "\u2510")
    for y in range(0, h, 2):
        row = "".join(
            _QUAD[px(x, y) | px(x + 1, y) << 1 | px(x, y + 1) << 2 | px(x + 1, y + 1) << 3] for x in range(0, w, 2)
        )
        lines.append("\u2502" + row + "\u2502" if border else row)
    if border:
        lines.append("\u2514" + "\u2500" * cw + "\u2518")
    return "\n".join(lines)


# Braille dot bits for the pixel at (dx, dy) in a 2 x 4 cell (Unicode's dot numbering).
_BRAILLE = ((0x01, 0x08), (0x02, 0x10), (0x04, 0x20), (0x40, 0x80))


def braille(pixels: Pixels, border: bool = True) -> str:
    """2 x 4 pixels per character (Unicode braille): a 128x64 panel in 64x16,
    so it fits an 80x24 terminal."""
    h = len(pixels)
    w = len(pixels[0]) if h else 0
    cw = (w + 1) // 2
    lines = []
    if border:
        lines.append("\u250c" + "\u2500" * cw + "\u2510")
    for y in range(0, h, 4):
        row = []
        for x in range(0, w, 2):
            bits = 0
            for dy in range(4):
                for dx in range(2):
                    if y + dy < h and x + dx < w and pixels[y + dy][x + dx]:
                        bits |= _BRAILLE[dy][dx]
            row.append(chr(0x2800 + bits))
        lines.append("\u2502" + "".join(row) + "\u2502" if border else "".join(row))
    if border:
        lines.append("\u2514" + "\u2500" * cw + "\u2518")
    return "\n".join(lines)


def image(oled, scale: int = 1):
    """A Pillow RGB image of the panel as lit (white OLED, contrast dims it)."""
    from PIL import Image

    pixels = oled.pixels()
    h = len(pixels)
    w = len(pixels[0])
    # An OLED's brightness follows the contrast current, but never to black.
    level = 96 + (oled.contrast * 159) // 255
    on = (level, level, min(255, level + 16))
    off = (8, 8, 12)
    img = Image.new("RGB", (w, h), off)
    img.putdata([on if v else off for row in pixels for v in row])
    if scale != 1:
        img = img.resize((w * scale, h * scale), Image.Resampling.NEAREST)
    return img
