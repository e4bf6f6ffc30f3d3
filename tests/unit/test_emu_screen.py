"""The screen reader finds the firmware's glyphs wherever they are drawn."""

import pytest

from fob import font
from otpfob import paths
from otpfob.emu import screen

FW = paths.FIRMWARE


def blank(h=64):
    return [[0] * 128 for _ in range(h)]


def blit(px, data, w, h, x0, y0):
    for y in range(h):
        for x in range(w):
            if (data[(y >> 3) * w + x] >> (y & 7)) & 1 and 0 <= y0 + y < len(px) and x0 + x < 128:
                px[y0 + y][x0 + x] = 1


def text(px, s, x0, y0):
    for i, ch in enumerate(s):
        blit(px, font.small_glyph(ch), 8, 8, x0 + 8 * i, y0)


def digits(px, s, x0, y0, name="large"):
    x = x0
    for ch in s:
        if ch == " ":
            x += 8
            continue
        w, h, data = font.digit_glyph(name, int(ch))
        blit(px, data, w, h, x, y0)
        x += w + font.DIGIT_SPACING


def test_small_text_at_any_position_and_spaces():
    px = blank()
    text(px, "Hello, world!", 3, 5)
    text(px, "a_b-c |x| 2/5", 1, 40)
    assert screen.decode(px, FW) == "Hello, world!\na_b-c |x| 2/5"


@pytest.mark.parametrize(
    "code, name", [("123 456", "large"), ("1111 1111", "narrow"), ("907 180", "large"), ("0123456789", "narrow")]
)
def test_big_digits_and_their_grouping(code, name):
    px = blank()
    digits(px, code, 2, 20, name)
    assert screen.decode(px, FW) == code


def test_latin1_text_and_the_placeholder_at_any_position():
    px = blank()
    text(px, "Bänk Bönk Œuvre", 5, 3)
    text(px, "Zoë ß \u65e5\u672c", 2, 30)  # two characters the font lacks: two placeholders
    assert screen.decode(px, FW) == "Bänk Bönk Œuvre\nZoë ß \ufffd\ufffd"


@pytest.mark.parametrize("chunk", range(0, 166, 16))
def test_every_small_glyph_reads_back(chunk):
    chars = font.small_chars()[chunk : chunk + 16].replace(" ", "")
    px = blank()
    text(px, chars, 0, 8)
    assert screen.decode(px, FW) == chars


def test_bars_and_frames_are_not_text():
    px = blank()
    for x in range(128):
        px[60][x] = px[61][x] = 1  # a bar two rows high, like "_"
    for y in range(10, 40):
        px[y][100] = 1  # a vertical line
    text(px, "ok", 0, 0)
    assert screen.decode(px, FW) == "ok"


def test_inverse_video_reads_the_same():
    px = blank()
    text(px, "inverse", 10, 10)
    digits(px, "42", 10, 30)
    inv = [[1 - v for v in row] for row in px]
    assert screen.decode(inv, FW) == screen.decode(px, FW) == "inverse\n42"


def test_half_blocks_two_rows_per_line():
    px = blank(4)
    px[0][0] = 1
    px[1][1] = 1
    px[0][2] = px[1][2] = 1
    lines = screen.half_blocks(px, border=False).split("\n")
    assert len(lines) == 2
    assert lines[0][:4] == "\u2580\u2584\u2588 "
