"""A register-level model of the SSD1306 OLED controller on I2C.

It executes the command stream as the datasheet (Solomon Systech SSD1306
rev 1.1, sections 8.1.5, 9 and 10) describes, into 128 x 8 pages of display
RAM, and renders what the panel would show from that RAM and the display
settings (on/off, inverse, entire-display-on, contrast, segment and COM
remaps, multiplex ratio, display offset and start line, COM pin layout).

I2C framing (datasheet 8.1.5.2): after the address, each control byte has
Co (bit 7) and D/C# (bit 6).  Co = 0: every following byte of the
transaction is data (D/C# = 1) or commands (D/C# = 0).  Co = 1: exactly one
byte follows, then another control byte.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable

WIDTH = 128
PAGES = 8

# Addressing modes (20h)
HORIZONTAL = 0
VERTICAL = 1
PAGE = 2

# Number of parameter bytes each multi-byte command takes.
_PARAMS = {
    0x81: 1,  # contrast
    0x20: 1,  # memory addressing mode
    0x21: 2,  # column address range
    0x22: 2,  # page address range
    0xA8: 1,  # multiplex ratio
    0xD3: 1,  # display offset
    0xDA: 1,  # COM pins hardware configuration
    0xD5: 1,  # clock divide / oscillator frequency
    0xD9: 1,  # pre-charge period
    0xDB: 1,  # VCOMH deselect level
    0x8D: 1,  # charge pump
    0x26: 6,  # right horizontal scroll setup
    0x27: 6,  # left horizontal scroll setup
    0x29: 5,  # vertical and right horizontal scroll setup
    0x2A: 5,  # vertical and left horizontal scroll setup
    0xA3: 2,  # vertical scroll area
}


class SSD1306:
    """The controller plus its panel (``height`` 64 or 32 rows)."""

    def __init__(self, height: int = 64, seed: int | None = 1306) -> None:
        if height not in (32, 64):
            raise ValueError("panel height must be 32 or 64")
        self.height = height
        self.lock = threading.RLock()
        self.version = 0  # bumped on every change that may alter the picture
        self._rng = random.Random(seed)
        self.commands: list[int] = []  # every command byte executed, for tests
        # Power accounting from timestamped commands: ``now`` (emulated ns)
        # is set by the emulator that owns the bus; without it nothing is counted.
        self.now: Callable[[], int] | None = None
        self.on_ns = 0  # display on (0xAF) with the charge pump on: the panel lit
        self.off_ns = 0  # otherwise: the controller asleep or the panel dark
        self.pump_ns = 0  # charge pump enabled (0x8D 0x14), whatever the display
        self.lit_pixel_ns = 0  # lit pixels x ns while the panel was lit (its current follows them)
        self._since: int | None = None
        self._lit_pixels = 0
        self.power_on()

    # -- power -----------------------------------------------------------
    def power_on(self) -> None:
        """Reset state (datasheet 8.9 and the command table's reset values).

        Display RAM is not initialised by a reset: it powers up with whatever
        the cells hold, modelled as noise, so a driver must clear it.
        """
        with self.lock:
            self._account()
            self.ram = bytearray(self._rng.getrandbits(8) for _ in range(WIDTH * PAGES))
            self.display_on = False
            self.contrast = 0x7F
            self.inverse = False
            self.entire_on = False
            self.mode = PAGE
            self.col_start, self.col_end = 0, WIDTH - 1
            self.page_start, self.page_end = 0, PAGES - 1
            self.col, self.page = 0, 0
            self.page_mode_col = 0
            self.mux = 64
            self.offset = 0
            self.start_line = 0
            self.seg_remap = False
            self.com_remap = False
            self.com_pins = 0x12
            self.charge_pump = False
            self.scrolling = False
            self.clock_div = 0x80
            self.precharge = 0x22
            self.vcomh = 0x20
            self._pending: list[int] = []  # a multi-byte command being collected
            self.version += 1
            self._recount()

    # -- I2C -------------------------------------------------------------
    def i2c_write(self, data: bytes, stop: bool = True) -> None:
        with self.lock:
            self._account()
            i = 0
            n = len(data)
            while i < n:
                ctrl = data[i]
                i += 1
                is_data = bool(ctrl & 0x40)
                if ctrl & 0x80:  # Co = 1: one byte, then a new control byte
                    if i < n:
                        self._byte(data[i], is_data)
                        i += 1
                else:  # Co = 0: the rest is a stream
                    for b in data[i:]:
                        self._byte(b, is_data)
                    break
            self.version += 1
            self._recount()

    # -- power accounting --------------------------------------------------
    def _account(self) -> None:
        """Charge the time since the last change to the state it was in."""
        if self.now is None:
            return
        now = self.now()
        if self._since is not None and now > self._since:
            dt = now - self._since
            if self.lit():
                self.on_ns += dt
                self.lit_pixel_ns += dt * self._lit_pixels
            else:
                self.off_ns += dt
            if self.charge_pump:
                self.pump_ns += dt
        self._since = now

    def _recount(self) -> None:
        # Lit pixels of the rows the panel shows (inverse and entire-on included).
        if self.entire_on:
            n = WIDTH * self.height
        else:
            n = int.from_bytes(self.ram[: WIDTH * self.height // 8], "little").bit_count()
            if self.inverse:
                n = WIDTH * self.height - n
        self._lit_pixels = n

    def power_report(self) -> dict:
        """Emulated ns per display state up to now, and lit pixel-ns."""
        with self.lock:
            self._account()
            return {
                "oled_on_ns": self.on_ns,
                "oled_off_ns": self.off_ns,
                "oled_pump_ns": self.pump_ns,
                "oled_lit_pixel_ns": self.lit_pixel_ns,
            }

    def i2c_read(self, n: int) -> bytes:
        # Status byte: D6 = 1 while the display is off (datasheet 8.1.3).
        status = 0x00 if self.display_on else 0x40
        return bytes([status]) * n

    def _byte(self, b: int, is_data: bool) -> None:
        if is_data:
            self._data(b)
        else:
            self._command_byte(b)

    # -- data ------------------------------------------------------------
    def _data(self, b: int) -> None:
        """Store one byte at the RAM pointer and advance it (datasheet 10.1.3).

        The RAM is kept by segment: the segment remap (A0h/A1h) maps a column
        address to a segment as the byte is written, and "only affects
        subsequent data input" (datasheet 10.1.8), so what was written
        before a remap stays where it was."""
        if self.mode == PAGE:
            self.ram[self.page * WIDTH + self._seg(self.page_mode_col)] = b
            # Page mode: the column wraps within the page, the page stays.
            self.page_mode_col = (self.page_mode_col + 1) % WIDTH
            return
        self.ram[self.page * WIDTH + self._seg(self.col)] = b
        if self.mode == HORIZONTAL:
            if self.col >= self.col_end:
                self.col = self.col_start
                self.page = self.page_start if self.page >= self.page_end else self.page + 1
            else:
                self.col += 1
        else:  # VERTICAL
            if self.page >= self.page_end:
                self.page = self.page_start
                self.col = self.col_start if self.col >= self.col_end else self.col + 1
            else:
                self.page += 1

    # -- commands --------------------------------------------------------
    def _command_byte(self, b: int) -> None:
        if self._pending:
            self._pending.append(b)
            if len(self._pending) == 1 + _PARAMS[self._pending[0]]:
                cmd, *args = self._pending
                self._pending = []
                self._command(cmd, args)
            return
        if b in _PARAMS:
            self._pending = [b]
            return
        self._command(b, [])

    def _command(self, cmd: int, args: list[int]) -> None:
        self.commands.append(cmd)
        if cmd == 0x81:
            self.contrast = args[0]
        elif cmd in (0xA4, 0xA5):
            self.entire_on = cmd == 0xA5
        elif cmd in (0xA6, 0xA7):
            self.inverse = cmd == 0xA7
        elif cmd in (0xAE, 0xAF):
            self.display_on = cmd == 0xAF
        elif cmd == 0x20:
            mode = args[0] & 0x03
            if mode != 0x03:  # 11b is invalid and ignored
                self.mode = mode
        elif cmd == 0x21:
            # Also resets the column pointer to the start (datasheet 10.1.4).
            self.col_start, self.col_end = args[0] & 0x7F, args[1] & 0x7F
            self.col = self.col_start
        elif cmd == 0x22:
            self.page_start, self.page_end = args[0] & 0x07, args[1] & 0x07
            self.page = self.page_start
        elif 0xB0 <= cmd <= 0xB7:
            self.page = cmd & 0x07
        elif cmd <= 0x0F:
            self.page_mode_col = (self.page_mode_col & 0xF0) | cmd
        elif 0x10 <= cmd <= 0x1F:
            self.page_mode_col = ((cmd & 0x07) << 4) | (self.page_mode_col & 0x0F)
        elif 0x40 <= cmd <= 0x7F:
            self.start_line = cmd & 0x3F
        elif cmd in (0xA0, 0xA1):
            self.seg_remap = cmd == 0xA1
        elif cmd == 0xA8:
            if args[0] & 0x3F >= 15:  # 0-14 are invalid entries
                self.mux = (args[0] & 0x3F) + 1
        elif cmd in (0xC0, 0xC8):
            self.com_remap = cmd == 0xC8
        elif cmd == 0xD3:
            self.offset = args[0] & 0x3F
        elif cmd == 0xDA:
            self.com_pins = args[0] & 0x32
        elif cmd == 0x8D:
            self.charge_pump = bool(args[0] & 0x04)
        elif cmd == 0xD5:
            self.clock_div = args[0]
        elif cmd == 0xD9:
            self.precharge = args[0]
        elif cmd == 0xDB:
            self.vcomh = args[0]
        elif cmd == 0x2E:
            self.scrolling = False
        elif cmd == 0x2F:
            self.scrolling = True
        # 0xE3 (NOP) and the scroll setups change nothing the model draws.

    # -- what the panel shows ---------------------------------------------
    def lit(self) -> bool:
        """Whether the panel emits light at all (display on and powered)."""
        # Without the charge pump (and with no external VCC) the panel is dark.
        return self.display_on and self.charge_pump

    def _seg(self, col: int) -> int:
        return WIDTH - 1 - col if self.seg_remap else col

    def _ram_pixel(self, col: int, line: int) -> int:
        return (self.ram[(line >> 3) * WIDTH + col] >> (line & 7)) & 1

    def _com_for_row(self, y: int) -> int:
        """Which COM output drives panel row ``y`` (0 = top as mounted)."""
        h = self.height
        q = h - 1 - y  # modules are mounted so that A1/C8 give an upright image
        panel_alt = h == 64  # 128x64 modules are wired for the alternative layout
        alt = bool(self.com_pins & 0x10)
        if panel_alt and not alt:
            # Row pin p is driven by COM p; the panel wired pin p to row q(p).
            return (q // 2) if q % 2 == 0 else h // 2 + q // 2
        if alt and not panel_alt:
            return 2 * q if q < h // 2 else 2 * (q - h // 2) + 1
        return q

    def pixels(self) -> list[list[int]]:
        """The panel as rows of 0/1, what a person sees (all 0 when dark)."""
        with self.lock:
            h = self.height
            if not self.lit():
                return [[0] * WIDTH for _ in range(h)]
            rows = []
            for y in range(h):
                com = self._com_for_row(y)
                scan = (self.mux - 1 - com) if self.com_remap else com
                if scan >= self.mux or scan < 0:
                    rows.append([0] * WIDTH)
                    continue
                line = (self.start_line + self.offset + scan) % 64
                row = []
                for x in range(WIDTH):
                    seg = WIDTH - 1 - x  # the module's SEG0 is its right edge
                    v = 1 if self.entire_on else self._ram_pixel(seg, line)
                    if self.inverse:
                        v ^= 1
                    row.append(v)
                rows.append(row)
            return rows
