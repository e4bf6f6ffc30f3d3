# SSD1306 OLED controller over I2C (128x64 and 128x32 panels).
#
# Follows the SSD1306 datasheet (Solomon Systech, rev 1.1): section 8.1.5.2
# for the I2C control byte, section 10 for the commands, and the application
# note's power-up sequence (charge pump on, then display on).
# The driver is a framebuf.FrameBuffer: draw into it, then call show() once
# per frame, so the panel never shows a half-drawn screen.

import framebuf

try:
    from micropython import const
except ImportError:  # CPython, for the tests

    def const(x):
        return x


# Control byte (datasheet 8.1.5.2): Co (bit 7) = 1 means "one byte follows,
# then another control byte"; D/C# (bit 6) selects command or GDDRAM data.
_CTRL_CMD = const(0x80)
_CTRL_DATA = const(0x40)

# Commands (datasheet section 9, table 9-1)
_SET_CONTRAST = const(0x81)
_SET_ENTIRE_ON = const(0xA4)  # 0xA4: follow RAM, 0xA5: all pixels on
_SET_NORM_INV = const(0xA6)  # 0xA6 normal, 0xA7 inverted
_SET_DISP = const(0xAE)  # 0xAE off (sleep), 0xAF on
_SET_MEM_ADDR = const(0x20)  # addressing mode: 0 horizontal, 1 vertical, 2 page
_SET_COL_ADDR = const(0x21)  # start, end column (horizontal/vertical mode)
_SET_PAGE_ADDR = const(0x22)  # start, end page
_SET_DISP_START_LINE = const(0x40)
_SET_SEG_REMAP = const(0xA0)  # | 1: column 127 maps to SEG0
_SET_MUX_RATIO = const(0xA8)
_SET_COM_OUT_DIR = const(0xC0)  # | 8: scan from COM[N-1] to COM0
_SET_DISP_OFFSET = const(0xD3)
_SET_COM_PIN_CFG = const(0xDA)
_SET_DISP_CLK_DIV = const(0xD5)
_SET_PRECHARGE = const(0xD9)
_SET_VCOM_DESEL = const(0xDB)
_SET_CHARGE_PUMP = const(0x8D)
_DEACTIVATE_SCROLL = const(0x2E)


def init_commands(width, height, external_vcc=False):
    """The power-up command bytes, in order (also used by the tests)."""
    return (
        _SET_DISP,  # off while configuring
        _SET_MEM_ADDR,
        0x00,  # horizontal addressing: one burst fills the RAM
        _SET_DISP_START_LINE | 0x00,
        _SET_SEG_REMAP | 0x01,
        _SET_MUX_RATIO,
        height - 1,
        _SET_COM_OUT_DIR | 0x08,
        _SET_DISP_OFFSET,
        0x00,
        # Sequential COM pins for 32-row panels, alternative for 64-row ones
        # (datasheet 10.1.18, figure 10-3/10-5 wiring of common modules).
        _SET_COM_PIN_CFG,
        0x02 if height == 32 else 0x12,
        _SET_DISP_CLK_DIV,
        0x80,  # reset value: divide 1, mid oscillator
        _SET_PRECHARGE,
        0x22 if external_vcc else 0xF1,
        _SET_VCOM_DESEL,
        0x30,  # 0.83 x Vcc
        _SET_CONTRAST,
        0xFF,
        _SET_ENTIRE_ON,
        _SET_NORM_INV,
        # Charge pump (application note SSD1306 2.1): 0x14 on, 0x10 off.
        _SET_CHARGE_PUMP,
        0x10 if external_vcc else 0x14,
        _DEACTIVATE_SCROLL,
        _SET_DISP | 0x01,  # on
    )


_GRAIN = const(4)  # changed spans are sent rounded up to this many columns
_MERGE = const(3)  # at most this many pages share a window (a code's digits)
_WINDOW_BYTES = const(8)  # a window's transfer on the wire: the address and 7 bytes
_DATA_BYTES = const(2)  # a data transfer's address and control byte
_SPLIT = const(8)  # spans at most this wide are never split
_SPLIT_EXTRA = const(4)  # a second window's Python time, in bytes on the wire

try:
    from fob.bytecopy import copyn, longest_same, same_back, same_from
except Exception:  # no viper (CPython): the same work in Python, the same bytes sent

    def longest_same(a, b, base, spec):
        n = spec >> 16
        best = at = run = 0
        for c in range((spec >> 8) & 0xFF, (spec & 0xFF) + 1):
            if all(a[base + k * 128 + c] == b[base + k * 128 + c] for k in range(n)):
                run += 1
                if run > best:
                    best = run
                    at = c + 1 - run
            else:
                run = 0
        return (at << 8) | best

    def copyn(dst, d, src, sn):
        s = sn >> 8
        for j in range(sn & 0xFF):
            dst[d + j] = src[s + j]

    def same_from(a, b, i, end):
        while i < end and a[i] == b[i]:
            i += 1
        return i

    def same_back(a, b, i, start):
        while i > start and a[i] == b[i]:
            i -= 1
        return i


class SSD1306_I2C(framebuf.FrameBuffer):
    """show() sends only what changed since the last show(): a shadow of the
    panel's RAM is kept, and each page's changed columns go out as one
    window (column/page address commands, then the data), rounded up to
    4 columns and copied behind the data control byte of one transfer
    buffer; neighbouring pages share a window when that is shorter.  All
    views are made once, so a show() allocates nothing."""

    def __init__(self, width, height, i2c, addr=0x3C, external_vcc=False):
        if height not in (32, 64) or width != 128:
            raise ValueError("supported panels: 128x64, 128x32")
        self.width = width
        self.height = height
        self.pages = height // 8
        self.i2c = i2c
        self.addr = addr
        self.external_vcc = external_vcc
        # Allocated once: the frame buffer, its shadow (what the panel
        # holds), one command transfer, the window transfer, the data
        # transfer and its views (below).
        self.buffer = bytearray(self.pages * width)
        self._shadow = bytearray(self.pages * width)
        self._valid = False  # the shadow is what the panel holds
        self._cmd = bytearray(2)
        self._cmd[0] = _CTRL_CMD
        self._win = bytearray(7)  # Co = 0: a command stream
        self._win[1] = _SET_COL_ADDR
        self._win[4] = _SET_PAGE_ADDR
        self._data_vec = (bytes((_CTRL_DATA,)), memoryview(self.buffer))
        # A span is copied behind the data control byte of one transfer
        # buffer (fob.bytecopy); a view of it per span length, made once.
        self._tx = bytearray(width + 1)
        self._tx[0] = _CTRL_DATA
        tmv = memoryview(self._tx)
        self._txv = [tmv[: n + 1] for n in range(0, width + 1, _GRAIN)]
        super().__init__(self.buffer, width, height, framebuf.MONO_VLSB)
        self.init_display()

    def write_cmd(self, cmd):
        self._cmd[1] = cmd
        self.i2c.writeto(self.addr, self._cmd)

    def init_display(self):
        for cmd in init_commands(self.width, self.height, self.external_vcc):
            self.write_cmd(cmd)
        self.fill(0)
        self.show_all()

    def poweroff(self):
        self.write_cmd(_SET_DISP)

    def poweron(self):
        self.write_cmd(_SET_DISP | 0x01)

    def pump(self, on):
        """The charge pump on or off (application note: 0x8D 0x14 before
        display on, 0x8D 0x10 after display off); off, the panel draws
        nothing, the RAM is kept.  Not used with an external VCC."""
        if not self.external_vcc:
            self.write_cmd(_SET_CHARGE_PUMP)
            self.write_cmd(0x14 if on else 0x10)

    def contrast(self, value):
        self.write_cmd(_SET_CONTRAST)
        self.write_cmd(value & 0xFF)

    def flip(self, turned):
        """Turn the image 180 degrees (True) or back upright: segment remap
        and COM scan direction, the opposite of init_commands'.  The COM
        scan acts at once (datasheet 10.1.14), the segment remap only on
        data written after it (10.1.8): so the whole frame goes out again."""
        self.write_cmd(_SET_SEG_REMAP | (0 if turned else 0x01))
        self.write_cmd(_SET_COM_OUT_DIR | (0 if turned else 0x08))
        self.show_all()

    def invert(self, on):
        self.write_cmd(_SET_NORM_INV | (1 if on else 0))

    def _window(self, c0, c1, p0, p1):
        w = self._win
        w[2] = c0
        w[3] = c1
        w[5] = p0
        w[6] = p1
        self.i2c.writeto(self.addr, w)

    def show_all(self):
        """The whole frame, whatever the panel holds (after a reset)."""
        self._valid = False
        self._window(0, self.width - 1, 0, self.pages - 1)
        self.i2c.writevto(self.addr, self._data_vec)
        self._shadow[:] = self.buffer
        self._valid = True

    def show(self):
        """Send the pages' changed column spans (each with its own window,
        set every time: a glitch would otherwise leave the RAM pointer
        elsewhere).  Neighbouring pages changed over about the same columns
        (a code's digits span three) share one window when that is fewer
        bytes on the wire than a window each."""
        if not self._valid:
            self.show_all()
            return
        buf = self.buffer
        sh = self._shadow
        w = self.width
        pages = self.pages
        p = 0
        while p < pages:
            base = p * w
            a = same_from(buf, sh, base, base + w) - base
            if a == w:  # the page as the panel has it
                p += 1
                continue
            b = same_back(buf, sh, base + w - 1, base + a) - base
            apart = _WINDOW_BYTES + _DATA_BYTES + b - a + 1  # on the wire, a window per page
            q = p + 1
            while q < pages and q - p < _MERGE:
                base = q * w
                qa = same_from(buf, sh, base, base + w) - base
                if qa == w:
                    break  # unchanged: it ends the run
                qb = same_back(buf, sh, base + w - 1, base + qa) - base
                na = a if a < qa else qa
                nb = b if b > qb else qb
                apart += _WINDOW_BYTES + _DATA_BYTES + qb - qa + 1
                if _WINDOW_BYTES + (q - p + 1) * (_DATA_BYTES + nb - na + 1) > apart:
                    break
                a = na
                b = nb
                q += 1
            if b - a > _SPLIT:
                # Changed in two places apart (the bar's end and the
                # seconds; a code's two groups of digits): two windows when
                # the columns unchanged between them, in every page, cost
                # more on the wire than a second window.
                g = longest_same(buf, sh, p * w, ((q - p) << 16) | (a << 8) | b)
                n = g & 0xFF
                if n * (q - p) > _WINDOW_BYTES + (q - p) * _DATA_BYTES + _SPLIT_EXTRA:
                    g >>= 8
                    self._span(p, q, a, g - 1)
                    a = g + n
            self._span(p, q, a, b)
            p = q

    def _span(self, p0, p1, c0, c1):
        # Columns c0..c1 of pages p0..p1-1, rounded up to whole grains: one
        # window, then a transfer a page (the panel's RAM pointer walks the
        # window across transfers, datasheet 10.1.3).
        w = self.width
        g = (c1 - c0 + _GRAIN) // _GRAIN
        n = g * _GRAIN
        if c0 + n > w:
            c0 = w - n
        self._valid = False
        self._window(c0, c0 + n - 1, p0, p1 - 1)
        tx = self._txv[g]
        sh = self._shadow
        for p in range(p0, p1):
            copyn(self._tx, 1, self.buffer, ((p * w + c0) << 8) | n)
            self.i2c.writeto(self.addr, tx)
            copyn(sh, p * w, self.buffer, (p * w << 8) | w)
        self._valid = True
