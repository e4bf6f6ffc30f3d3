# What the OLED shows.  Draws into the SSD1306's frame buffer, then sends it
# with one show(), so the panel never shows a half-drawn frame; show() sends
# only the columns that changed.  While the same code stays up, a new second
# redraws only the countdown bar; the next period's digits can be drawn ahead
# (prerender()) so the new code goes out as soon as its period starts.
#
# Layout (128x64):  page 0  issuer (or label)       "2/5" at the right
#                   page 1  label (when there is an issuer)
#                   pages 3-5  the code, 24 px seven-segment digits
#                   rows 58-61 countdown bar, full width = the whole period
# Layout (128x32):  page 0  "issuer:label"          "2/5"
#                   pages 1-3  the code;  columns 126-127 countdown bar
# Small text is 8x8 (framebuf.text's font, see fob.font) at x positions
# that are multiples of 8 and page-aligned y, so a screen reader can cut
# the RAM into cells.  Digits sit page-aligned too.
# Nothing here allocates per frame: texts are prepared once per account
# (prepare()), digit bitmaps are FrameBuffers built once.

import framebuf

from fob import font

# The screens' texts (each line at most 16 characters).
MSG_CLOCK_UNSET = ("Clock not set", "", "Set it with", "otpfob time", "--set")
MSG_CLOCK_JUMPED = ("Clock jumped", "", "Set it with", "otpfob time", "--set")
MSG_RTC_MISSING = ("RTC missing", "", "Check the clock", "chip. Codes off", "until it answers")
MSG_STORE_DAMAGED = ("Store damaged", "", "No codes shown.", "Erase it with", "otpfob wipe")
MSG_ACCESS_DAMAGED = ("Access damaged", "", "Codes off. Reset", "with otpfob wipe", "--factory")
MSG_NO_ACCOUNTS = ("No accounts", "", "Add one with", "otpfob provision")
MSG_HOTP = ("HOTP account", "code over USB:", "otpfob code")
MSG_TOUCH = ("Press button", "to release code", "for")

COLS = 16  # 8x8 characters per row
_GAP = 8  # pixels between the two digit groups


def _ascii(s, n):
    # framebuf.text draws each UTF-8 byte; show non-ASCII as "?" instead.
    out = ""
    for ch in s:
        if len(out) >= n:
            break
        out += ch if 32 <= ord(ch) < 127 else "?"
    return out


def touch_lines(label):
    """The "Press button to release code for LABEL" screen's lines."""
    return MSG_TOUCH + (_ascii(label, COLS),)


class UI:
    def __init__(self, display):
        self.d = display  # fob.drivers.ssd1306.SSD1306_I2C or None
        self.failed = display is None
        self.awake = True
        self.w = display.width if display else 128
        self.h = display.height if display else 64
        self.small = self.h == 32
        self._digits = {}
        for name in ("large", "narrow"):
            fbs = []
            for d in range(10):
                w, h, data = font.digit_glyph(name, d)
                fbs.append(framebuf.FrameBuffer(bytearray(data), w, h, framebuf.MONO_VLSB))
            self._digits[name] = fbs
        # The code the frame buffer shows (None: redraw it all), and the
        # digits drawn ahead (prerender()) in a strip the size of their pages.
        self._shown = None
        self._pre_code = None
        self._pre = bytearray(self.w * 3)
        self._pre_fb = framebuf.FrameBuffer(self._pre, self.w, 24, framebuf.MONO_VLSB)
        # Per-account texts, set by prepare().
        self._top = ""
        self._second = ""
        self._pos = ""
        self._pos_x = 0

    # ---- plumbing ---------------------------------------------------------
    def _show(self):
        if self.failed:
            return
        try:
            self.d.show()
        except OSError:
            self.failed = True  # the app retries with recover()

    def recover(self):
        """Try to bring a failed display back (re-runs its init sequence)."""
        if self.d is None:
            return False
        self._shown = None
        try:
            self.d.init_display()
            if not self.awake:
                self.d.poweroff()
            self.failed = False
        except OSError:
            self.failed = True
        return not self.failed

    def sleep(self):
        if self.awake:
            self.awake = False
            if not self.failed:
                try:
                    self.d.poweroff()  # 0xAE: panel off, RAM kept
                except OSError:
                    self.failed = True

    def wake(self):
        if not self.awake:
            self.awake = True
            if not self.failed:
                try:
                    self.d.poweron()
                except OSError:
                    self.failed = True

    def _text(self, s, col, page):
        self.d.text(s, col * 8, page * 8, 1)

    # ---- screens ------------------------------------------------------------
    def message(self, lines, extra=None):
        """A text screen: the first line on top, the rest below (centred)."""
        if self.failed:
            return
        self._shown = None
        d = self.d
        d.fill(0)
        rows = self.h // 8
        page = 0 if self.small else 1
        for i in range(len(lines)):
            line = lines[i]
            if self.small and i == 1 and line == "":
                continue  # 32 rows: no spacer line
            if page >= rows:
                break
            self._text(line, (COLS - len(line)) // 2, page)
            page += 1
        if extra and page < rows:
            self._text(extra, (COLS - len(extra)) // 2, page)
        self._show()

    def prepare(self, issuer, label, index, count):
        """Texts for one account, built once when the account changes."""
        self._shown = None
        pos = "%d/%d" % (index + 1, count) if count > 1 else ""
        self._pos = pos
        self._pos_x = COLS - len(pos)
        room = COLS - (len(pos) + 1 if pos else 0)
        if self.small:
            self._top = _ascii(issuer + ":" + label if issuer else label, room)
            self._second = ""
        elif issuer:
            self._top = _ascii(issuer, room)
            self._second = _ascii(label, COLS)
        else:
            self._top = _ascii(label, room)
            self._second = ""

    def _header(self):
        d = self.d
        d.fill(0)
        self._text(self._top, 0, 0)
        if self._pos:
            self._text(self._pos, self._pos_x, 0)
        if self._second:
            self._text(self._second, 0, 1)

    def prerender(self, code):
        """Draw ``code``'s digits ahead, for the next period's code()."""
        if self.failed or code == self._pre_code:
            return
        self._pre_fb.fill(0)
        self._digits_into(self._pre_fb, code, 0)
        self._pre_code = code

    def code(self, code, left, period):
        """The account prepared last, with its code and seconds left."""
        if self.failed:
            return
        d = self.d
        y = 8 if self.small else 24
        if code != self._shown:
            if self._shown is None:
                self._header()
            else:
                d.fill_rect(0, y, self.w, 24, 0)  # same account: the digits only
            if code == self._pre_code:
                off = (y // 8) * self.w
                d.buffer[off:off + 3 * self.w] = self._pre  # drawn ahead: a copy
            else:
                self._digits_into(d, code, y)
            self._shown = code
        if left < 0:
            left = 0
        if self.small:
            bar = 24 * left // period
            d.fill_rect(self.w - 2, 8, 2, 24, 0)
            d.fill_rect(self.w - 2, 32 - bar, 2, bar, 1)
        else:
            d.fill_rect(0, 58, self.w, 4, 0)
            d.fill_rect(0, 58, self.w * left // period, 4, 1)
        self._show()

    def _digits_into(self, d, code, y):
        n = len(code)
        name = font.font_for(n)
        fbs = self._digits[name]
        w = font.LARGE_W if name == "large" else font.NARROW_W
        sp = font.DIGIT_SPACING
        region = self.w - 4 if self.small else self.w
        body = n * w + (n - 2) * sp
        gap = region - body
        if gap > _GAP:
            gap = _GAP
        x = (region - body - gap) // 2
        g = font.group(n)
        for i in range(n):
            if i == g:
                x += gap - sp
            d.blit(fbs[ord(code[i]) - 48], x, y)
            x += w + sp

    def hotp(self):
        """The prepared HOTP account: codes come over USB only."""
        if self.failed:
            return
        self._shown = None
        self._header()
        first = 1 if self.small else 3
        for i in range(len(MSG_HOTP)):
            if first + i < self.h // 8:
                self._text(MSG_HOTP[i], 0, first + i)
        self._show()
