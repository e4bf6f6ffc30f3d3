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


_CHUNK = const(16)  # columns: changed spans are sent in whole chunks


class SSD1306_I2C(framebuf.FrameBuffer):
    """show() sends only what changed since the last show(): a shadow of the
    panel's RAM is kept, and each page's changed columns go out as one
    window (column/page address commands, then the data), rounded to
    16-column chunks.  All views and transfer vectors are made once, so a
    show() allocates nothing."""

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
        # holds), one command transfer, the window transfer, views of the
        # pages and chunks, and a vector per span length for writevto().
        self.buffer = bytearray(self.pages * width)
        self._shadow = bytearray(self.pages * width)
        self._valid = False  # the shadow is what the panel holds
        self._cmd = bytearray(2)
        self._cmd[0] = _CTRL_CMD
        self._win = bytearray(7)  # Co = 0: a command stream
        self._win[1] = _SET_COL_ADDR
        self._win[4] = _SET_PAGE_ADDR
        self._data_vec = (bytes((_CTRL_DATA,)), memoryview(self.buffer))
        mv = memoryview(self.buffer)
        smv = memoryview(self._shadow)
        self._page = [mv[p * width : (p + 1) * width] for p in range(self.pages)]
        self._spage = [smv[p * width : (p + 1) * width] for p in range(self.pages)]
        self._chunks = [mv[i : i + _CHUNK] for i in range(0, len(self.buffer), _CHUNK)]
        ctrl = self._data_vec[0]
        self._vecs = [[ctrl] * (n + 1) for n in range(width // _CHUNK + 1)]
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
        elsewhere)."""
        if not self._valid:
            self.show_all()
            return
        buf = self.buffer
        sh = self._shadow
        w = self.width
        for p in range(self.pages):
            if self._page[p] == self._spage[p]:
                continue
            base = p * w
            a = base
            while buf[a] == sh[a]:
                a += 1
            b = base + w - 1
            while buf[b] == sh[b]:
                b -= 1
            k0 = a // _CHUNK
            k1 = b // _CHUNK
            n = k1 - k0 + 1
            vec = self._vecs[n]
            for j in range(n):
                vec[j + 1] = self._chunks[k0 + j]
            a = k0 * _CHUNK
            b = k1 * _CHUNK + _CHUNK
            # A failed transfer leaves the shadow unknown: send all next time.
            self._valid = False
            self._window(a - base, b - base - 1, p, p)
            self.i2c.writevto(self.addr, vec)
            sh[base : base + w] = self._page[p]  # no slice object: allocates nothing
            self._valid = True
