"""The pixel art behind fob/font.py's added glyphs, readable and checkable.

The token keeps its fonts as compact bytes constants (MONO_VLSB columns);
this file draws the same glyphs as rows of ``#`` and ``.``, so a reviewer
can see them, and tests/unit/test_fw_display.py checks that font.py holds exactly
these bitmaps.  Run it to print the bytes constants again after an edit:

    .venv/bin/python tests/support/font_art.py

Accented small letters are built from the font's own base letter (the
8x8 font of MicroPython's framebuf.text) with its top two rows cleared and
an accent drawn there.  Accented capitals use a small-capital body
(rows 2-6) so that the accent fits above it in the 8x8 cell.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "firmware"))

from fob import font  # noqa: E402

# Accents, rows 0-1 (above a body that starts at row 2); cedilla: row 7.
ACCENTS = {
    "grave": ("..##....", "...##..."),
    "acute": ("....##..", "...##..."),
    "circ": ("...##...", "..#..#.."),
    "tilde": ("..##..#.", ".#..##.."),
    "diaer": (".##..##.", "........"),
    "ring": ("..####..", "..#..#.."),
    "caron": ("..#..#..", "...##..."),
}
CEDILLA = "...##..."

# Small-capital bodies, rows 2-6 (O and U square, unlike the round o and u).
CAPS = {
    "A": ("..####..", ".##..##.", ".######.", ".##..##.", ".##..##."),
    "C": ("..#####.", ".##.....", ".##.....", ".##.....", "..#####."),
    "E": (".######.", ".##.....", ".#####..", ".##.....", ".######."),
    "I": ("..####..", "...##...", "...##...", "...##...", "..####.."),
    "N": (".##..##.", ".###.##.", ".######.", ".##.###.", ".##..##."),
    "O": (".######.", ".##..##.", ".##..##.", ".##..##.", ".######."),
    "U": (".##..##.", ".##..##.", ".##..##.", ".##..##.", ".######."),
    "Y": (".##..##.", ".##..##.", "..####..", "...##...", "...##..."),
    "S": ("..#####.", ".##.....", "..####..", ".....##.", ".#####.."),
    "Z": (".######.", ".....##.", "..####..", ".##.....", ".######."),  # not the z
}

# Capitals with a diaeresis: the dots on row 0 over a taller body, rows 1-6.
TALL = {
    "A": ("..####..", ".##..##.", ".##..##.", ".######.", ".##..##.", ".##..##."),
    "E": (".######.", ".##.....", ".#####..", ".##.....", ".##.....", ".######."),
    "I": ("..####..", "...##...", "...##...", "...##...", "...##...", "..####.."),
    "O": ("..####..", ".##..##.", ".##..##.", ".##..##.", ".##..##.", "..####.."),
}  # (not U: its dots would only lengthen its stems)

# Whole glyphs, rows 0-7.
WHOLE = {
    "\u00c6": ("..######", ".##.##..", ".##.##..", ".######.", ".##.##..", ".##.##..", ".##.####", "........"),
    "\u00d0": (".####...", ".##.##..", ".##..##.", "####.##.", ".##..##.", ".##.##..", ".####...", "........"),
    "\u00d7": ("........", ".##..##.", "..####..", "...##...", "..####..", ".##..##.", "........", "........"),
    "\u00d8": ("..####.#", ".##..##.", ".##.###.", ".######.", ".###.##.", ".##..##.", "#.####..", "........"),
    "\u00de": (".##.....", ".#####..", ".##..##.", ".##..##.", ".#####..", ".##.....", ".##.....", "........"),
    "\u00df": ("..###...", ".##.##..", ".##.##..", ".##.###.", ".##..##.", ".##..##.", ".##.##..", "........"),
    "\u00e6": ("........", "........", ".###.##.", "...##..#", ".#######", "#..##...", ".##.###.", "........"),
    "\u00f0": ("..##.#..", "....##..", "..#####.", ".##..##.", ".##..##.", ".##..##.", "..####..", "........"),
    "\u00f7": ("........", "...##...", "........", ".######.", "........", "...##...", "........", "........"),
    "\u00f8": ("........", "......#.", "..####..", ".##.###.", ".######.", ".###.##.", "..####..", ".#......"),
    "\u00fe": (".##.....", ".##.....", ".#####..", ".##..##.", ".##..##.", ".#####..", ".##.....", ".##....."),
    "\u0152": ("..######", ".##.##..", "##..##..", "##..####", "##..##..", ".##.##..", "..######", "........"),
    "\u0153": ("........", "........", ".##.##..", "#..#..#.", "#..####.", "#..#....", ".##.###.", "........"),
}

# Latin-1 letters: (base, accent).  Capitals take a CAPS body, small letters
# the font's own letter (i: without its dot).
_ACCENTED = {
    "\u00c0": ("A", "grave"),
    "\u00c1": ("A", "acute"),
    "\u00c2": ("A", "circ"),
    "\u00c3": ("A", "tilde"),
    "\u00c4": ("A", "diaer"),
    "\u00c5": ("A", "ring"),
    "\u00c8": ("E", "grave"),
    "\u00c9": ("E", "acute"),
    "\u00ca": ("E", "circ"),
    "\u00cb": ("E", "diaer"),
    "\u00cc": ("I", "grave"),
    "\u00cd": ("I", "acute"),
    "\u00ce": ("I", "circ"),
    "\u00cf": ("I", "diaer"),
    "\u00d1": ("N", "tilde"),
    "\u00d2": ("O", "grave"),
    "\u00d3": ("O", "acute"),
    "\u00d4": ("O", "circ"),
    "\u00d5": ("O", "tilde"),
    "\u00d6": ("O", "diaer"),
    "\u00d9": ("U", "grave"),
    "\u00da": ("U", "acute"),
    "\u00db": ("U", "circ"),
    "\u00dc": ("U", "diaer"),
    "\u00dd": ("Y", "acute"),
    "\u0160": ("S", "caron"),
    "\u017d": ("Z", "caron"),
}
for _cap, (_b, _a) in list(_ACCENTED.items()):
    _small = _cap.lower()
    if _small != _cap and _small not in _ACCENTED:
        _ACCENTED[_small] = (_b.lower(), _a)
_ACCENTED["\u00ff"] = ("y", "diaer")


def _vlsb_to_rows(data: bytes) -> list[str]:
    return ["".join("#" if data[x] >> y & 1 else "." for x in range(8)) for y in range(8)]


def _rows_to_vlsb(rows) -> bytes:
    assert len(rows) == 8 and all(len(r) == 8 for r in rows), rows
    return bytes(sum(1 << y for y in range(8) if rows[y][x] == "#") for x in range(8))


def glyph_rows(ch: str) -> list[str]:
    """The 8 rows of an added character's glyph."""
    if ch in WHOLE:
        return list(WHOLE[ch])
    if ch in ("\u00c7", "\u00e7"):  # C/c cedilla: the font's letter, a hook below
        rows = _vlsb_to_rows(bytes(font.small_glyph(ch == "\u00c7" and "C" or "c")))
        rows[7] = CEDILLA
        return rows
    base, accent = _ACCENTED[ch]
    if accent == "diaer" and base in TALL:
        return [ACCENTS["diaer"][0]] + list(TALL[base]) + ["........"]
    if base in CAPS:
        rows = ["........"] * 2 + list(CAPS[base]) + ["........"]
    else:
        rows = _vlsb_to_rows(bytes(font.small_glyph(base)))
    rows[0], rows[1] = ACCENTS[accent]
    return rows


def extra_chars() -> str:
    """The characters font.EXTRA holds, in its order."""
    return "".join(chr(c) for c in range(0xC0, 0x100)) + "\u0152\u0153\u0160\u0161\u017d\u017e"


def extra_bytes() -> bytes:
    return b"".join(_rows_to_vlsb(glyph_rows(ch)) for ch in extra_chars())


# The seven-segment digit "1", redrawn: centred in its cell, with a flag and
# a foot, so it is as wide on screen as the other digits' cells suggest and
# keeps its distance from its neighbours.
ONE_LARGE = (
    ["......###....."]
    + [".....####....."]
    + ["....#####....."]
    + ["...##.###....."]
    + ["..##..###....."]
    + ["......###....."] * 16
    + ["..##########.."] * 3
)
ONE_NARROW = (
    ["....###..."] + ["...####..."] + ["..#####..."] + [".##.###..."] + ["....###..."] * 17 + [".#########"] * 3
)


def rows_to_vlsb_tall(rows: list[str]) -> bytes:
    """Rows of a glyph taller than 8 px, as MONO_VLSB pages."""
    w = len(rows[0])
    out = bytearray()
    for page in range(len(rows) // 8):
        for x in range(w):
            out.append(sum(1 << k for k in range(8) if rows[page * 8 + k][x] == "#"))
    return bytes(out)


def _literal(data: bytes, per_line: int) -> str:
    lines = []
    for i in range(0, len(data), per_line):
        lines.append('    b"' + "".join("\\x%02x" % b for b in data[i : i + per_line]) + '"')
    return "\n".join(lines)


if __name__ == "__main__":
    assert len(ONE_LARGE) == 24 and len(ONE_NARROW) == 24
    print("EXTRA = (\n" + _literal(extra_bytes(), 8) + "\n)")
    print("large 1:\n" + _literal(rows_to_vlsb_tall(ONE_LARGE), 14))
    print("narrow 1:\n" + _literal(rows_to_vlsb_tall(ONE_NARROW), 10))
