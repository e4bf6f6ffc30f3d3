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
