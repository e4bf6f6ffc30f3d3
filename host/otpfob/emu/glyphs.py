"""Find the firmware's glyphs in a pixel image and read them back as text.

A glyph matches at a place when its whole character cell matches exactly:
its ink, and the dark margin of the cell around the ink (clipped at the
screen edges); ink that touches the cell's edge may not continue past it.
So a bar or a big digit's strokes do not read as ``_`` or ``|``.  Candidates are found from each lit pixel through an index of the
glyphs' top ink rows.  Bigger glyphs are matched first and claim their
pixels.  Text lines are rebuilt from cell positions: glyphs of one font
whose cells share a top row, with spaces where the gap between cells is
wider than the font's normal spacing.
"""

from __future__ import annotations

import functools
import importlib.util
from dataclasses import dataclass, field
from pathlib import Path

Pixels = list[list[int]]


@dataclass(frozen=True)
class Glyph:
    char: str
    font: str
    rows: tuple[int, ...]  # ink box rows, bit x = column x of the box
    w: int
    h: int
    dx: int  # ink box position in its character cell
    dy: int
    cell_w: int
    cell_h: int
    spacing: int = 0  # the font's normal gap between cells, in pixels

    @property
    def ink(self) -> int:
        return sum(bin(r).count("1") for r in self.rows)


def glyph_from_cell(char: str, font: str, cell: list[list[int]], spacing: int = 0) -> Glyph | None:
    """Build a Glyph from a cell given as rows of 0/1 (None if blank)."""
    cell_h = len(cell)
    cell_w = len(cell[0]) if cell_h else 0
    ys = [y for y in range(cell_h) if any(cell[y])]
    xs = [x for x in range(cell_w) if any(cell[y][x] for y in range(cell_h))]
    if not ys:
        return None
    y0, y1, x0, x1 = ys[0], ys[-1], xs[0], xs[-1]
    rows = tuple(sum(1 << (x - x0) for x in range(x0, x1 + 1) if cell[y][x]) for y in range(y0, y1 + 1))
    return Glyph(char, font, rows, x1 - x0 + 1, y1 - y0 + 1, x0, y0, cell_w, cell_h, spacing)


def vlsb_cell(data: bytes, w: int, h: int) -> list[list[int]]:
    """A MONO_VLSB bitmap (page by page, LSB on top) as rows of 0/1."""
    return [[(data[(y >> 3) * w + x] >> (y & 7)) & 1 for x in range(w)] for y in range(h)]


@dataclass
class Match:
    x: int  # ink box top-left in the image
    y: int
    candidates: list[Glyph] = field(default_factory=list)

    @property
    def glyph(self) -> Glyph:
        return self.candidates[0]


class Matcher:
    def __init__(self, glyphs: list[Glyph]) -> None:
        # Unique ink boxes, biggest first; identical boxes share one entry.
        boxes: dict[tuple, list[Glyph]] = {}
        for g in glyphs:
            boxes.setdefault((g.rows, g.w), []).append(g)
        self.boxes = sorted(boxes.values(), key=lambda gs: (-gs[0].ink, -gs[0].w * gs[0].h))
        # Index: first ink column of the box's top row -> boxes, to try a box
        # only where its top-left ink pixel could be.
        self.index: dict[tuple[int, int, int], list[list[Glyph]]] = {}
        for gs in self.boxes:
            g = gs[0]
            fx = (g.rows[0] & -g.rows[0]).bit_length() - 1
            self.index.setdefault((g.w, fx, g.rows[0]), []).append(gs)
        self.keys = sorted({(w, fx) for (w, fx, _) in self.index})

    def find(self, pixels: Pixels) -> list[Match]:
        H = len(pixels)
        W = len(pixels[0]) if H else 0
        rows = [sum(1 << x for x, v in enumerate(r) if v) for r in pixels]
        found: list[tuple[int, int, int, list[Glyph]]] = []
        seen = set()
        for y in range(H):
            r = rows[y]
            x = 0
            while r >> x:
                if not (r >> x) & 1:
                    x += 1
                    continue
                for w, fx in self.keys:
                    x0 = x - fx
                    if x0 < 0 or x0 + w > W:
                        continue
                    window = (r >> x0) & ((1 << w) - 1)
                    for gs in self.index.get((w, fx, window), ()):
                        key = (x0, y, id(gs))
                        if key in seen:
                            continue
                        seen.add(key)
                        fits = [g for g in gs if self._fits(rows, W, H, x0, y, g)]
                        if fits:
                            found.append((-gs[0].ink, x0, y, fits))
                x += 1
        # Biggest first; a match may not reuse pixels an earlier one claimed.
        found.sort(key=lambda m: m[0])
        claimed = [0] * H
        out = []
        for _, x0, y0, gs in found:
            g = gs[0]
            if any(claimed[y0 + k] & (g.rows[k] << x0) for k in range(g.h)):
                continue
            for k in range(g.h):
                claimed[y0 + k] |= g.rows[k] << x0
            out.append(Match(x0, y0, list(gs)))
        return out

    @staticmethod
    def _fits(rows: list[int], W: int, H: int, x0: int, y0: int, g: Glyph) -> bool:
        # The whole cell must match: the ink box, and dark elsewhere in the
        # cell (the part of the cell that is on the screen).
        cx, cy = x0 - g.dx, y0 - g.dy
        if y0 + g.h > H:
            return False
        lo, hi = max(cx, 0), min(cx + g.cell_w, W)
        mask = ((1 << (hi - lo)) - 1) << lo
        for y in range(max(cy, 0), min(cy + g.cell_h, H)):
            k = y - y0
            want = g.rows[k] << x0 if 0 <= k < g.h else 0
            if rows[y] & mask != want:
                return False
        # Ink that touches the cell's edge must not run on past it: a bar
        # is not a row of "_" and a frame is not a column of "|".
        left, right = cx - 1, cx + g.cell_w
        for k in range(g.h):
            r = rows[y0 + k]
            ink = g.rows[k] << x0
            if left >= 0 and ink >> cx & 1 and r >> left & 1:
                return False
            if right < W and ink >> (right - 1) & 1 and r >> right & 1:
                return False
        top, bottom = cy - 1, cy + g.cell_h
        if g.dy == 0 and top >= 0 and rows[top] & (g.rows[0] << x0):
            return False
        if g.dy + g.h == g.cell_h and bottom < H and rows[bottom] & (g.rows[-1] << x0):
            return False
        return True


def _choose(matches: list[Match]) -> None:
    """Order each match's candidates: the likeliest glyph first.

    Several glyphs can fit one place (a seven-segment "1" is the same ink in
    both digit fonts).  Prefer the font and cell row the other glyphs use,
    and a cell that sits one advance away from another match's cell.
    """
    votes: dict[tuple[str, int], int] = {}
    for m in matches:
        for key in {(g.font, m.y - g.dy) for g in m.candidates}:
            votes[key] = votes.get(key, 0) + (2 if len(m.candidates) == 1 else 1)
    cells = {(g.font, m.x - g.dx, m.y - g.dy) for m in matches for g in m.candidates}

    def score(m: Match, g: Glyph) -> tuple[int, int]:
        cx, top = m.x - g.dx, m.y - g.dy
        step = g.cell_w + g.spacing
        near = sum((g.font, cx + d, top) in cells for d in (-step, step))
        return (votes.get((g.font, top), 0) + 2 * near, -g.cell_w)

    for m in matches:
        if len(m.candidates) > 1:
            m.candidates.sort(key=lambda g: score(m, g), reverse=True)


def to_text(matches: list[Match]) -> str:
    """Group matches into lines (same font, overlapping cells), left to right."""
    _choose(matches)
    lines: list[list[Match]] = []
    for m in sorted(matches, key=lambda m: (m.y - m.glyph.dy, m.x)):
        g = m.glyph
        top = m.y - g.dy
        for line in lines:
            lg = line[0].glyph
            ltop = line[0].y - lg.dy
            if lg.font == g.font and ltop == top:
                line.append(m)
                break
        else:
            lines.append([m])
    out = []
    for line in lines:
        line.sort(key=lambda m: m.x - m.glyph.dx)
        text = ""
        prev_end = None
        for m in line:
            g = m.glyph
            cell_x = m.x - g.dx
            if prev_end is not None:
                gap = cell_x - prev_end
                if gap > g.spacing:
                    text += " " * max(1, round((gap - g.spacing) / (g.cell_w + g.spacing)))
            text += g.char
            prev_end = cell_x + g.cell_w
        out.append((min(m.y - m.glyph.dy for m in line), min(m.x for m in line), text))
    out.sort()
    return "\n".join(t for _, _, t in out)


def decode_with(pixels: Pixels, matcher: Matcher) -> str:
    H = len(pixels)
    if not H:
        return ""
    lit = sum(map(sum, pixels))
    if lit * 2 > H * len(pixels[0]):  # inverse video: read dark glyphs
        pixels = [[1 - v for v in row] for row in pixels]
    return to_text(matcher.find(pixels))


# -- the firmware's fonts ---------------------------------------------------------
_cache: dict[str, Matcher] = {}


def load_fonts(firmware_dir: Path) -> Matcher:
    key = str(firmware_dir.resolve())
    if key not in _cache:
        _cache[key] = Matcher(font_glyphs(firmware_dir))
    return _cache[key]


def decode(pixels: Pixels, matcher: Matcher) -> str:
    return decode_with(pixels, matcher)


@functools.cache
def _import_font(firmware_dir: Path):
    # Once per firmware tree: screen reads call this for every page.
    path = firmware_dir / "fob" / "font.py"
    if not path.exists():
        # A firmware tree compiled to .mpy: read the fonts from the sources.
        from ..paths import FIRMWARE

        path = FIRMWARE / "fob" / "font.py"
    spec = importlib.util.spec_from_file_location("_otpfob_fw_font", path)
    assert spec is not None and spec.loader is not None  # a .py file by its path
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


PLACEHOLDER = "\ufffd"  # what the font's placeholder glyph reads as


@functools.cache
def small_table(firmware_dir: Path) -> dict[bytes, str]:
    """The small font's cells (8 column bytes) and the character each shows;
    the placeholder glyph reads as PLACEHOLDER (one shared table: read it, do
    not change it)."""
    font = _import_font(firmware_dir)
    table = {bytes(font.small_glyph("\x7f")): PLACEHOLDER}
    for ch in font.small_chars():
        if ch != " ":
            table.setdefault(bytes(font.small_glyph(ch)), ch)
    return table


def font_glyphs(firmware_dir: Path) -> list[Glyph]:
    """Every glyph of the firmware's fonts: 8x8 text (ASCII, the Latin
    letters, the placeholder) and the code digits."""
    font = _import_font(firmware_dir)
    out: list[Glyph] = []
    for cell, ch in small_table(firmware_dir).items():
        g = glyph_from_cell(ch, "small", vlsb_cell(cell, 8, 8))
        if g:
            out.append(g)
    for name in font.FONTS:
        for d in range(10):
            w, h, data = font.digit_glyph(name, d)
            g = glyph_from_cell(str(d), name, vlsb_cell(bytes(data), w, h), font.DIGIT_SPACING)
            if g:
                out.append(g)
    return out


# -- page-aligned reading (the firmware's own layout; CPython app tests) -----------
def _page_rows(ram, width: int, page: int, pages: int = 1) -> list[bytes]:
    # ram: SSD1306 GDDRAM bytes, page-major (page * width + column).
    return [bytes(ram[(page + p) * width : (page + p + 1) * width]) for p in range(pages)]


def page_text(ram, width: int, page: int, firmware_dir: Path | None = None) -> str:
    """Small text on one page row, read in 8-pixel cells (the token draws
    text at x positions that are multiples of 8): spaces for empty cells,
    "?" for a cell that matches no glyph, right spaces stripped."""
    from ..paths import FIRMWARE

    table = small_table(firmware_dir or FIRMWARE)
    row = _page_rows(ram, width, page)[0]
    out = []
    for x in range(0, width - 7, 8):
        cell = row[x : x + 8]
        out.append(" " if not any(cell) else table.get(cell, "?"))
    return "".join(out).rstrip()


def page_code(ram, width: int, page: int, firmware_dir: Path | None = None) -> str:
    """The digits drawn on pages page..page+2, with a space where the gap
    between two digit cells is wider than the font's digit spacing
    ("123 456"); "" when none is found."""
    return " ".join("".join(g) for g in page_code_cells(ram, width, page, firmware_dir)[0])


def page_code_cells(ram, width: int, page: int, firmware_dir: Path | None = None):
    """(groups, cells): the code's digits in groups, and each digit's
    (x, width) cell, found by exact match of each digit font's bitmaps."""
    from ..paths import FIRMWARE

    font = _import_font(firmware_dir or FIRMWARE)
    rows = _page_rows(ram, width, page, 3)
    best: tuple[list[list[str]], list[tuple[int, int]]] = ([], [])
    for name, (w, _) in font.FONTS.items():
        glyphs = []
        for d in range(10):
            g = font.digit_glyph(name, d)[2]
            glyphs.append((tuple(bytes(g[p * w : (p + 1) * w]) for p in range(3)), str(d)))
        groups: list[list[str]] = []
        cells: list[tuple[int, int]] = []
        x = 0
        while x <= width - w:
            win = tuple(rows[p][x : x + w] for p in range(3))
            hit = next((d for g, d in glyphs if g == win), None)
            if hit is None:
                x += 1
                continue
            if not cells or x - (cells[-1][0] + w) > font.DIGIT_SPACING:
                groups.append([])
            groups[-1].append(hit)
            cells.append((x, w))
            x += w + font.DIGIT_SPACING
        if len(cells) > len(best[1]):
            best = (groups, cells)
    return best
