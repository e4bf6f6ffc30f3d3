# Byte copies and compares for fob.ui and the SSD1306 driver in
# @micropython.viper (native code): glyph columns and changed spans
# straight from the font's bytes into the frame buffer at a few cycles a
# byte, with no slice object and no FrameBuffer per digit on the heap.
# Importing this module fails where viper is missing (CPython); fob.ui then
# draws with framebuf and Python loops.
import micropython


@micropython.viper
def copy8(dst: ptr8, d: int, src: ptr8, s: int):
    """8 bytes from src[s:] to dst[d:] (a small glyph's columns)."""
    for j in range(8):
        dst[d + j] = src[s + j]


@micropython.viper
def byte_at(s: ptr8, i: int) -> int:
    """Byte i of a str or bytes (indexing a str in Python makes a new str,
    looked up among all the interned ones: slow with .mpy files)."""
    return s[i]


@micropython.viper
def zero(dst: ptr8, n: int):
    """n zero bytes from dst[0:] (framebuf's fill(0) walks pixel by pixel:
    most of a ms for a 128x64 frame on an RP2040)."""
    for j in range(n):
        dst[j] = 0


@micropython.viper
def copyn(dst: ptr8, d: int, src: ptr8, sn: int):
    """``sn & 0xFF`` bytes from src[sn >> 8:] to dst[d:] (viper takes at
    most four arguments, so the source offset and the count share one)."""
    n = sn & 0xFF
    s = sn >> 8
    for j in range(n):
        dst[d + j] = src[s + j]


@micropython.viper
def same_from(a: ptr8, b: ptr8, i: int, end: int) -> int:
    """The first index from i (up to end) where a and b differ."""
    while i < end and a[i] == b[i]:
        i += 1
    return i


@micropython.viper
def same_back(a: ptr8, b: ptr8, i: int, start: int) -> int:
    """The last index from i down to start where a and b differ."""
    while i > start and a[i] == b[i]:
        i -= 1
    return i


@micropython.viper
def longest_same(a: ptr8, b: ptr8, base: int, spec: int) -> int:
    """Columns c0..c1 of n pages of 128 bytes from ``base``, spec = n << 16 |
    c0 << 8 | c1: the longest run of columns where a and b agree in every
    page, as its first column << 8 | its length."""
    n = spec >> 16
    c = (spec >> 8) & 0xFF
    end = spec & 0xFF
    best = 0
    at = 0
    run = 0
    while c <= end:
        k = 0
        i = base + c
        while k < n and a[i] == b[i]:
            k += 1
            i += 128
        if k == n:
            run += 1
            if run > best:
                best = run
                at = c + 1 - run
        else:
            run = 0
        c += 1
    return (at << 8) | best
