# What the OLED shows.  Draws into the SSD1306's frame buffer, then sends it
# with one show(), so the panel never shows a half-drawn frame; show() sends
# only the columns that changed.  While the same code stays up, a new second
# redraws only the countdown.  With ``hold`` set, a frame is drawn but not
# sent: the app draws the next second ahead, before the RTC ticks, and
# sends it (flush()) the moment the tick is seen.
#
# Layout (128x64):  page 0  issuer (or label)         "2/5" at the right
#                   page 1  label (when there is an issuer)
#                   pages 3-5  the code, 24 px seven-segment digits
#                   page 7  countdown bar (rows 58-61), seconds left at the right
# Layout (128x32):  page 0  "issuer:label"   "2/5" and the seconds left
#                   pages 1-3  the code;  columns 126-127 countdown bar
# Small text is 8x8 (fob.font) at x positions that are multiples of 8 and
# page-aligned y, so a screen reader can cut the RAM into cells.  Digits
# sit page-aligned too, in groups (font.gap_before) with a gap between
# groups wider than the space between digits.
# A name that does not fit its line scrolls one character at a time
# (scroll(): a pause at the start and at the end of each cycle), redrawing
# only its own page; the code's pages are not touched.  Names are drawn
# glyph by glyph from fob.font (Latin-1 letters included; any other
# character is one placeholder glyph), from glyph numbers worked out once
# per account (prepare()), so a scroll step allocates nothing.

import framebuf

from fob import font

try:
    from fob.bytecopy import byte_at, copy8, copyn, zero
except Exception:  # no viper (CPython): glyphs drawn with framebuf and Python
    copy8 = None
    copyn = None
    zero = None

    def byte_at(s, i):
        return ord(s[i])


try:
    from micropython import const
except ImportError:  # CPython, for the tests

    def const(x):
        return x


# The screens' texts (each line at most 16 characters).
MSG_CLOCK_UNSET = ("Clock not set", "", "Set it with", "otpfob time", "--set")
MSG_CLOCK_JUMPED = ("Clock jumped", "", "Set it with", "otpfob time", "--set")
MSG_RTC_MISSING = ("RTC missing", "", "Check the clock", "chip. Codes off", "until it answers")
MSG_STORE_DAMAGED = ("Store damaged", "", "No codes shown.", "Erase it with", "otpfob wipe")
MSG_ACCESS_DAMAGED = ("Access damaged", "", "Codes off. Reset", "with otpfob wipe", "--factory")
MSG_NO_ACCOUNTS = ("No accounts", "", "Add one with", "otpfob provision")
MSG_HOTP = ("Hold the button", "for a new code")  # an HOTP account's screen
MSG_TOUCH = ("Press button to", "release code for")
MSG_LOCKED = ("Locked", "", "Unlock with", "otpfob access", "unlock")

COLS = 16  # 8x8 characters per row
_GAP = const(10)  # most pixels between two digit groups
_LINE = const(72)  # glyphs a name line can hold: issuer ":" label, 32 + 1 + 32 (proto)
PAUSE = const(3)  # scroll steps a long name rests at its start and at its end


class UI:
    def __init__(self, display):
        self.d = display  # fob.drivers.ssd1306.SSD1306_I2C or None
        self.failed = display is None
        self.awake = True
        self.w = display.width if display else 128
        self.h = display.height if display else 64
        self.small = self.h == 32
        self._region = self.w - 4 if self.small else self.w  # the code's width
        # Digits: copied page by page from the font's bytes (fob.bytecopy),
        # or, without viper, blitted from a FrameBuffer each.
        self._digits = {}
        if copyn is None:
            for name in ("large", "narrow"):
                fbs = []
                for d in range(10):
                    w, h, data = font.digit_glyph(name, d)
                    fbs.append(framebuf.FrameBuffer(bytearray(data), w, h, framebuf.MONO_VLSB))
                self._digits[name] = fbs
        # The code the frame buffer shows (None: redraw it all).
        self._shown = None
        self.hold = False  # draw but do not send (flush() sends)
        # Per-account name lines, set by prepare(): glyph numbers, length,
        # page, cells of room and the first glyph shown (the scroll).
        self._idx = [bytearray(_LINE), bytearray(_LINE)]
        self._n = [0, 0]
        self._page = [0, 1]
        self._cols = [COLS, COLS]
        self._off = [0, 0]
        self._lines = 0
        self._tick = 0
        self.scrolls = False  # a name line is too long for its room
        self._names = False  # the names are on screen (not a message)
        self._pos = ""
        self._pos_x = 0
        self._secs = 2  # cells for the seconds left (the period's digits)
        self._flip = False  # as init_display leaves it, until configure()
        self._dark = False  # the panel is off (0xAE) ...
        self._gauge_pct = None  # the battery line (set_gauge())
        self._gauge_level = 0
        self._gauge_dirty = False
        self._pump_off = False  # ... and its charge pump too (power_down())
        self._contrast = 255

    # ---- plumbing ---------------------------------------------------------
    def flush(self):
        """Send what was drawn while held."""
        self.hold = False
        self._show()

    def _show(self):
        if self.failed or self.hold:
            return
        try:
            self.d.show()
        except OSError:
            self.failed = True  # the app retries with recover()
            return
        self.settle()

    def settle(self):
        """Turn the panel on after a wake, once the new frame is in its RAM
        (it keeps the old one while off: never show a stale code)."""
        if not self._dark or self.failed or not self.awake:
            return
        try:
            if self._pump_off:
                self.d.pump(True)
                self._pump_off = False
            self.d.poweron()
            self._dark = False
        except OSError:
            self.failed = True

    def configure(self, flip, contrast):
        """Orientation and contrast (the settings); kept across recover()."""
        # Only what differs from what the panel has: a flip sends the whole
        # frame again (23 ms at 400 kHz), at every power-on if always sent.
        turn = flip != self._flip
        bright = contrast != self._contrast
        self._flip = flip
        self._contrast = contrast
        if self.failed:
            return
        try:
            if turn:
                self.d.flip(flip)
            if bright:
                self.d.contrast(contrast)
        except OSError:
            self.failed = True

    def recover(self):
        """Try to bring a failed display back (re-runs its init sequence)."""
        if self.d is None:
            return False
        self._shown = None
        try:
            self.d.init_display()
            self.d.flip(self._flip)
            self.d.contrast(self._contrast)
            self._dark = self._pump_off = False  # init_display turned both on
            if not self.awake:
                self.d.poweroff()
                self._dark = True
            self.failed = False
        except OSError:
            self.failed = True
        return not self.failed

    def sleep(self):
        if self.awake:
            self.awake = False
            if not self.failed and not self._dark:
                try:
                    self.d.poweroff()  # 0xAE: panel off, RAM kept
                    self._dark = True
                except OSError:
                    self.failed = True

    def power_down(self):
        """Blanked, and the charge pump off too (before the chip sleeps)."""
        if not self.awake and not self.failed and not self._pump_off:
            try:
                self.d.pump(False)
                self._pump_off = True
            except OSError:
                self.failed = True

    def wake(self):
        """Awake: the panel comes on with the next frame drawn (settle())."""
        self.awake = True

    def _text(self, s, col, page):
        # ASCII only (messages): framebuf's built-in draws the same glyphs.
        self.d.text(s, col * 8, page * 8, 1)

    def _glyph(self, g, col, page):
        # Glyph number g into the cell (col, page): a copy of its 8 bytes.
        b = self.d.buffer
        if g < 96:
            data = font.SMALL
            s = g * 8
        else:
            data = font.EXTRA
            s = (g - 96) * 8
        o = page * self.w + col * 8
        if copy8 is not None:
            copy8(b, o, data, s)
            return
        for j in range(8):
            b[o + j] = data[s + j]

    def _blank(self, col, page):
        self.d.fill_rect(col * 8, page * 8, 8, 8, 0)  # framebuf's C, not a byte loop

    # ---- names ----------------------------------------------------------------
    def _set_line(self, k, parts, page, cols):
        # Line k: the glyph numbers of the texts in parts (str, or UTF-8
        # bytes: decoded here, so no str is made), one after another.
        idx = self._idx[k]
        n = 0
        for s in parts:
            if isinstance(s, str):
                s = s.encode()
            i = 0
            m = len(s)
            while i < m and n < _LINE:
                c = s[i]
                if c < 0x80:
                    i += 1
                elif c < 0xE0:
                    c = ((c & 0x1F) << 6) | (s[i + 1] & 0x3F)
                    i += 2
                elif c < 0xF0:
                    c = ((c & 0x0F) << 12) | ((s[i + 1] & 0x3F) << 6) | (s[i + 2] & 0x3F)
                    i += 3
                else:
                    c = 0x10000  # beyond the fonts: the placeholder
                    i += 4
                idx[n] = font.index(c)
                n += 1
        self._n[k] = n
        self._page[k] = page
        self._cols[k] = cols
        self._off[k] = 0

    def _line(self, k):
        # Line k's visible part, from glyph _off[k], into its room.
        idx = self._idx[k]
        n = self._n[k]
        i = self._off[k]
        page = self._page[k]
        cols = self._cols[k]
        if copy8 is not None:
            # Inlined _glyph(): a name line is up to 16 cells, each a call.
            b = self.d.buffer
            o = page * self.w
            small = font.SMALL
            extra = font.EXTRA
            c = 0
            while c < cols and i < n:
                g = idx[i]
                if g < 96:
                    copy8(b, o, small, g * 8)
                else:
                    copy8(b, o, extra, (g - 96) * 8)
                o += 8
                c += 1
                i += 1
            if c < cols:
                self.d.fill_rect(c * 8, page * 8, (cols - c) * 8, 8, 0)
            return
        for c in range(cols):
            if i < n:
                self._glyph(idx[i], c, page)
            else:
                self._blank(c, page)
            i += 1

    def _glyphs_at(self, k, first, count, col, page):
        # count glyphs of line k from first, at (col, page): the touch screen.
        idx = self._idx[k]
        for c in range(count):
            self._glyph(idx[first + c], col + c, page)

    def scroll(self):
        """One step of each name line that does not fit: it rests PAUSE steps
        at its start, moves a character a step until its end shows, rests
        PAUSE steps, and starts again.  Redraws only those lines."""
        if not self.scrolls or not self._names or self.failed:
            return
        self._tick += 1
        moved = False
        for k in range(self._lines):
            over = self._n[k] - self._cols[k]
            if over > 0:
                off = self._tick % (over + PAUSE + PAUSE) - PAUSE
                if off < 0:
                    off = 0
                elif off > over:
                    off = over
                if off != self._off[k]:
                    self._off[k] = off
                    self._line(k)
                    moved = True
        if moved:
            self._show()

    # ---- screens ------------------------------------------------------------
    def message(self, lines, extra=None):
        """A text screen: the first line on top, the rest below (centred)."""
        if self.failed:
            return
        self._shown = None
        self._names = False
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

    def touch(self, label):
        """ "Press button to release code for" and the label, wrapped onto
        a second line when longer than a line (a label fits two)."""
        if self.failed:
            return
        self._shown = None
        self._names = False
        self.scrolls = False
        self.d.fill(0)
        first = 0 if self.small else 1
        for i in range(len(MSG_TOUCH)):
            self._text(MSG_TOUCH[i], (COLS - len(MSG_TOUCH[i])) // 2, first + i)
        page = 2 if self.small else 4  # 64 rows: a blank line before the label
        self._set_line(1, (label,), page, COLS)
        n = self._n[1]
        if n <= COLS:
            self._glyphs_at(1, 0, n, (COLS - n) // 2, page)
        else:
            self._glyphs_at(1, 0, COLS, 0, page)
            self._glyphs_at(1, COLS, min(n - COLS, COLS), 0, page + 1)
        self._show()

    def prepare(self, issuer, label, index, count, period=30):
        """Texts for one account, built once when the account changes.
        ``period``: the most seconds the countdown shows (its cells)."""
        self._shown = None
        pos = "%d/%d" % (index + 1, count) if count > 1 else ""
        secs = 1
        while period >= 10:
            period //= 10
            secs += 1
        self._secs = secs if secs > 2 else 2
        self._pos = pos
        right = len(pos) + 1 if pos else 0
        if self.small:
            right += self._secs + 1
            self._set_line(0, (issuer, b":", label) if issuer else (label,), 0, COLS - right)
            self._lines = 1
        elif issuer:
            self._set_line(0, (issuer,), 0, COLS - right)
            self._set_line(1, (label,), 1, COLS)
            self._lines = 2
        else:
            self._set_line(0, (label,), 0, COLS - right)
            self._lines = 1
        self._pos_x = COLS - right + 1
        self._tick = 0
        self.scrolls = False
        for k in range(self._lines):
            if self._n[k] > self._cols[k]:
                self.scrolls = True

    def _header(self):
        d = self.d
        if zero is None:
            d.fill(0)
        else:
            zero(d.buffer, len(d.buffer))
        for k in range(self._lines):
            self._line(k)
        if self._pos:
            self._text(self._pos, self._pos_x, 0)
        self._names = True

    def _seconds(self, left):
        # The seconds left, right-aligned in their cells: page 7 beside the
        # bar, or the top line's right end on a 32-row screen.
        page = 0 if self.small else self.h // 8 - 1
        col = COLS - 1
        for _ in range(self._secs):
            if left or col == COLS - 1:
                self._glyph(16 + left % 10, col, page)  # "0"-"9" are glyphs 16-25
                left //= 10
            else:
                self._blank(col, page)
            col -= 1

    def code(self, code, left, period):
        """The account prepared last, with its code and seconds left."""
        if self.failed:
            return
        d = self.d
        y = 8 if self.small else 24
        if code != self._shown:
            same = self._shown is not None  # the same account: only the digits change
            if not same:
                self._header()
                self._gauge_dirty = True
            if same:
                d.fill_rect(0, y, self._region, 24, 0)
            self._digits_into(d, d.buffer, code, y)
            self._shown = code
        if left < 0:
            left = 0
        if left > period:
            left = period
        self._seconds(left)
        if self._gauge_dirty:
            self._gauge_line()
        if self.small:
            bar = 24 * left // period
            d.fill_rect(self.w - 2, 8, 2, 24, 0)
            d.fill_rect(self.w - 2, 32 - bar, 2, bar, 1)
        else:
            full = self.w - 8 * self._secs - 4
            d.fill_rect(0, 58, full, 4, 0)
            d.fill_rect(0, 58, full * left // period, 4, 1)
        self._show()

    def set_gauge(self, pct, level):
        """The battery line under a code (64 rows): ``level`` 0 none (USB),
        1 the charge, 2 low ("CHARGE SOON"), 3 critical ("BATTERY EMPTY")."""
        if pct != self._gauge_pct or level != self._gauge_level:
            self._gauge_pct = pct
            self._gauge_level = level
            self._gauge_dirty = True
            return True
        return False

    def _gauge_line(self):
        # Page 6 (rows 48-55), free on a 64-row screen; a 32-row one has no room.
        self._gauge_dirty = False
        if self.small:
            return
        d = self.d
        d.fill_rect(0, 48, self.w, 8, 0)
        level = self._gauge_level
        if not level:
            return
        pct = self._gauge_pct
        # A 15x6 outline and its 2-pixel tip, filled as charged, and the text
        # a row down: rows 48 (under the digits) and 56 (over the seconds)
        # stay dark, so both read apart (capitals and digits have no
        # descenders).
        x = self.w - 18
        d.rect(x, 49, 15, 6, 1)
        d.fill_rect(x + 15, 51, 2, 2, 1)
        if pct is not None:
            d.fill_rect(x + 2, 51, 11 * pct // 100, 2, 1)
        if level == 2:
            s = "CHARGE SOON"
        elif level == 3:
            s = "BATTERY EMPTY"
        elif pct is not None:
            s = "%d%%" % pct
        else:
            return
        d.text(s, x - 2 - 8 * len(s), 49, 1)

    def _digits_into(self, d, buf, code, y):
        # Into FrameBuffer d over buf (w columns a page), at page-aligned y.
        n = len(code)
        name = font.font_for(n)
        w, data = font.FONTS[name]
        sp = font.DIGIT_SPACING
        gaps = font.groups(n) - 1
        body = n * w + (n - 1 - gaps) * sp
        gap = (self._region - body) // gaps
        if gap > _GAP:
            gap = _GAP
        x = (self._region - body - gaps * gap) // 2
        row = (y // 8) * self.w
        size = w * font.DIGIT_H // 8
        for i in range(n):
            if i and font.gap_before(n, i):
                x += gap - sp
            g = byte_at(code, i) - 48
            if copyn is None:
                d.blit(self._digits[name][g], x, y)
            else:
                s = g * size
                for p in range(font.DIGIT_H // 8):
                    copyn(buf, row + p * self.w + x, data, ((s + p * w) << 8) | w)
            x += w + sp

    def hotp(self, lines=None):
        """The prepared HOTP account, no code shown: how to get one."""
        if self.failed:
            return
        if lines is None:
            lines = MSG_HOTP
        self._shown = None
        self._header()
        self._gauge_line()
        first = 1 if self.small else 3
        for i in range(len(lines)):
            self._text(lines[i], (COLS - len(lines[i])) // 2, first + i)
        self._show()
