# The token's main loop: serial requests, the button, and the screen.
#
# One loop, never blocking: poll stdin (USB serial) for bytes and collect a
# bounded line; poll the button; read the clock a few times a second and
# redraw when what the screen shows changes; sleep a few ms.
# Runs unmodified on rp2/esp32 and under the Unix port (the emulator).
# A code that waits for a button press (touch accounts) does not stop the
# loop: the server defers its reply and the loop finishes it on the press.
# With an access password set, Ctrl-C on the USB serial is turned off
# (micropython.kbd_intr(-1)) unless the button is held at power-on.

import sys

from fob import proto
from fob.access import Access
from fob.clock import JUMP_FILE, JUMP_TOLERANCE_MS, Clock
from fob.drivers.button import LONG, SHORT
from fob.server import PENDING, Server
from fob.storage import Store
from fob.ticks import sleep_ms, ticks_diff, ticks_ms

try:
    import select
except ImportError:
    select = None

try:
    from micropython import const
except ImportError:  # CPython, for the tests
    def const(x):
        return x

LOOP_MS = 10
CLOCK_POLL_MS = 100  # clock reads while the screen is on
CLOCK_POLL_ASLEEP_MS = 1000  # ... and while it is blanked (jump detection)
BLANK_MS = 30000
TOUCH_MS = 15000
DISPLAY_RETRY_MS = 5000
MAINTENANCE_MS = 5000  # how long the boot note "Maintenance: Ctrl-C on" stays
_CTRL_C = 3

MSG_MAINTENANCE = ("Maintenance:", "", "Ctrl-C on", "(button held", "at power-on)")

# What the screen shows (besides a code)
_S_CODE = const(0)
_S_HOTP = const(1)
_S_UNSET = const(2)
_S_JUMPED = const(3)
_S_MISSING = const(4)
_S_DAMAGED = const(5)
_S_EMPTY = const(6)
_S_ACCESS_DAMAGED = const(7)


class LineReader:
    """Bytes from a stream, cut into lines of at most MAX_LINE bytes.

    A longer line is dropped as it arrives (the buffer never grows) and
    reported once its end comes, so one flood costs one error reply.
    """

    def __init__(self, limit=proto.MAX_LINE):
        self.buf = bytearray(limit)
        self.n = 0
        self.overflow = False

    def feed(self, b):
        """One byte in; returns bytes (a line), True (an overlong line), or None."""
        if b == 10:  # "\n"
            n = self.n
            over = self.overflow
            self.n = 0
            self.overflow = False
            if over:
                return True
            return bytes(self.buf[:n])
        if self.overflow:
            return None
        if self.n >= len(self.buf):
            self.overflow = True
            return None
        self.buf[self.n] = b
        self.n += 1
        return None

    def reset(self):
        self.n = 0
        self.overflow = False


def _blank(line):
    for b in line:
        if b not in (9, 13, 32):
            return False
    return True


class App:
    def __init__(self, board, hw=None, stdin=None, stdout=None, folder="", buf=None):
        """``folder``: where the flash files live ("" is the flash root);
        ``buf``: the store's buffer, reserved at boot (main.py)."""
        if hw is None:
            from fob import hw as hwmod

            hw = hwmod.build(board)
        from fob.ui import UI

        self.board = board
        self.hw = hw
        # The store, the access record and a clock jump (fob/clock.py) all
        # live in the flash folder.
        self.store = Store(folder, buf)
        self.clock = Clock(hw.rtc, tolerance_ms=getattr(board, "CLOCK_JUMP_MS", JUMP_TOLERANCE_MS),
                           path=folder + JUMP_FILE)
        self.ui = UI(hw.display)
        self.server = Server(self.store, self.clock, board=hw.name, touch=self._touch_begin,
                             button_held=self._button_held, access=Access(folder))
        self.blank_ms = getattr(board, "BLANK_MS", BLANK_MS)
        self.touch_ms = getattr(board, "TOUCH_MS", TOUCH_MS)
        # Bytes streams where the port has them (sys.stdin.buffer), else text.
        self.stdin = stdin if stdin is not None else getattr(sys.stdin, "buffer", sys.stdin)
        self._text_out = False
        if stdout is None:
            stdout = getattr(sys.stdout, "buffer", None)
            if stdout is None:
                stdout = sys.stdout
                self._text_out = True
        self.stdout = stdout
        self.reader = LineReader()
        self._one = bytearray(1)
        self._poll = None
        if select is not None:
            try:
                self._poll = select.poll()
                self._poll.register(self.stdin, select.POLLIN)
                self._ipoll = getattr(self._poll, "ipoll", self._poll.poll)
            except Exception:
                self._poll = None
        self.index = 0
        # Button held at power-on: a maintenance boot (Ctrl-C stays on).
        self.maintenance = self._held_at_boot()
        now = ticks_ms()
        self._active = now  # last button press: the blank timer
        self._clock_at = ticks_ms()
        self._clock_state = None
        self._time = None
        self._display_at = now
        self._drawn = None  # key of what is on screen
        # What draw() last looked at: it returns early while none moved.
        self._seen_index = None
        self._seen_generation = None
        self._seen_clock = None
        self._seen_time = None
        self._seen_access_damaged = None
        self._acct = None  # (index, generation) the cached texts/key belong to
        self._key = None
        self._code_step = None
        self._code = ""
        self._force = True
        self._touch = None  # [start ticks, armed] while a code awaits a press
        self._swallow = self.maintenance  # the boot hold is not a navigation press
        self._note_at = ticks_ms() if self.maintenance else None
        self.server.maintenance = self.maintenance
        self._repl_off = None  # unknown: main.py may have turned Ctrl-C off already
        self.guard_repl()
        self.read_clock(now)

    # ---- serial ---------------------------------------------------------
    def _read_byte(self):
        s = self.stdin
        if hasattr(s, "readinto"):
            if s.readinto(self._one) != 1:
                return -1
            return self._one[0]
        c = s.read(1)
        if not c:
            return -1
        return c[0] if isinstance(c, (bytes, bytearray)) else ord(c)

    def _write(self, data):
        try:
            self.stdout.write(data.decode() if self._text_out else data)
            if hasattr(self.stdout, "flush"):
                self.stdout.flush()
        except OSError:
            pass  # nobody listening (pty closed): the reply is lost, not the token

    def _readable(self):
        # One event check per byte: on bare-metal ports a read of n bytes
        # blocks until all n come, so only ever read what poll promised.
        if self._poll is None:
            return False
        # ipoll (MicroPython) reuses its result; poll builds a list each call.
        for _, ev in self._ipoll(0):
            if ev & select.POLLIN:
                return True
            if ev & (select.POLLHUP | select.POLLERR):
                # The other end went away (emulator pty): a new connection
                # starts from scratch.
                self.reader.reset()
                self.server.reset_session()
        return False

    def serve(self, budget=4 * proto.MAX_LINE):
        """Handle what arrived on the serial, at most `budget` bytes per call."""
        for _ in range(budget):
            if not self._readable():
                return
            try:
                b = self._read_byte()
            except OSError:
                return
            if b < 0:
                return
            line = self.reader.feed(b)
            if line is None:
                continue
            if line is True:
                self._write(self.server.too_long())
            elif not _blank(line):
                out = self.server.handle_line(line)
                if out is not None:  # None: deferred until a button press
                    self._write(out)
                self._force = True  # an account or the clock may have changed
                self.guard_repl()  # a password may have been set or cleared

    # ---- access control ------------------------------------------------------
    def _held_at_boot(self):
        b = self.hw.button
        if b is None:
            return False
        start = ticks_ms()
        while ticks_diff(ticks_ms(), start) < b.debounce_ms + 20:
            b.poll()
            sleep_ms(5)
        return b.is_pressed()

    def _button_held(self):
        b = self.hw.button
        return b is not None and b.is_pressed()

    def guard_repl(self):
        """Ctrl-C off while a password is set, so mpremote cannot break in
        and read the flash over USB; on again in a maintenance boot."""
        off = self.server.access.is_set and not self.maintenance
        if off == self._repl_off:
            return
        try:
            import micropython
        except ImportError:
            return  # CPython
        if hasattr(micropython, "kbd_intr"):
            micropython.kbd_intr(-1 if off else _CTRL_C)
            self._repl_off = off

    # ---- touch (server callback and loop) ----------------------------------
    def _touch_begin(self, label):
        """Ask for a press on screen; the loop finishes the request."""
        b = self.hw.button
        if b is None:
            return False
        now = ticks_ms()
        # A press that began before the request does not count: wait for
        # the button to be up first.
        self._touch = [now, not b.is_pressed()]
        self._active = now
        self.ui.wake()
        from fob import ui

        self.ui.message(ui.touch_lines(label))
        return PENDING

    def _touch_step(self, now):
        t = self._touch
        if self.server.pending is None:  # dropped (the link went away)
            self._touch = None
            self._force = True
            return
        b = self.hw.button
        ev = b.poll(now)
        pressed = False
        if not t[1]:
            t[1] = not b.is_pressed()
        elif ev == SHORT or ev == LONG:
            pressed = True
        if pressed or ticks_diff(now, t[0]) >= self.touch_ms:
            self._touch = None
            self._active = now
            self._force = True
            self._write(self.server.touch_finish(pressed))

    # ---- button -----------------------------------------------------------
    def button(self, now):
        b = self.hw.button
        if b is None:
            return
        ev = b.poll(now)
        if self._swallow:
            self._swallow = b.is_pressed()  # until the boot hold is released
            return
        if ev == 0:
            return
        self._active = now
        if not self.ui.awake:
            self.ui.wake()  # the first press only wakes
            self._force = True
            return
        n = self.store.count()
        if n:
            self.index = (self.index + (1 if ev == SHORT else -1)) % n
        self._force = True

    # ---- clock and screen -----------------------------------------------------
    def read_clock(self, now):
        self._clock_at = now
        state, t = self.clock.now()
        self._clock_state = state
        self._time = t

    def _account(self):
        # Texts and key of the shown account, rebuilt only when it changes.
        key = (self.index, self.store.generation)
        if self._acct != key:
            from fob import otp

            s = self.store
            self.ui.prepare(s.issuer(self.index), s.label(self.index), self.index, s.count())
            self._key = otp.OtpKey(s.key(self.index), s.params(self.index).algorithm)  # one at a time
            self._acct = key
            self._code_step = None

    def _screen(self):
        if self.store.state != proto.STORE_OK:
            return _S_DAMAGED
        if self.server.access.damaged:
            # Fail closed, as the serial side does: damaged protection data
            # may be tampering, and only a factory wipe resets it.
            return _S_ACCESS_DAMAGED
        n = self.store.count()
        if n == 0:
            return _S_EMPTY
        if self.index >= n:
            self.index = n - 1
        if self.store.params(self.index).hotp:
            return _S_HOTP
        st = self._clock_state
        if st == proto.CLOCK_OK:
            return _S_CODE
        if st == proto.CLOCK_MISSING:
            return _S_MISSING
        if st == proto.CLOCK_JUMPED:
            return _S_JUMPED
        return _S_UNSET

    def draw(self):
        if self._note_at is not None:
            if ticks_diff(ticks_ms(), self._note_at) < MAINTENANCE_MS:
                if self._drawn != "note":
                    self._drawn = "note"
                    self.ui.message(MSG_MAINTENANCE)
                return
            self._note_at = None
            self._force = True
        # draw() runs every loop; when nothing that decides the screen has
        # moved, return before anything allocates (no Params, no key).
        if (not self._force and self.index == self._seen_index
                and self.store.generation == self._seen_generation
                and self._clock_state == self._seen_clock and self._time == self._seen_time
                and self.server.access.damaged == self._seen_access_damaged):
            return
        self._seen_index = self.index
        self._seen_generation = self.store.generation
        self._seen_clock = self._clock_state
        self._seen_time = self._time
        self._seen_access_damaged = self.server.access.damaged
        screen = self._screen()
        t = self._time if screen == _S_CODE else None
        key = (screen, self.index, self.store.generation, t)
        if key == self._drawn and not self._force:
            return
        self._force = False
        self._drawn = key
        ui = self.ui
        if screen == _S_CODE:
            self._account()
            p = self.store.params(self.index)
            period = p.period
            step = t // period
            if step != self._code_step:
                self._code = self._key.totp(t, p.digits, period)
                self._code_step = step
            ui.code(self._code, period - t % period, period)
        elif screen == _S_HOTP:
            self._account()
            ui.hotp()
        else:
            self._acct = None
            self._key = None  # no key held while no code is shown
            ui.message(_MESSAGES[screen])

    def step(self):
        now = ticks_ms()
        self.serve()
        self.server.tick()  # idle re-lock
        if self._touch is not None:
            self._touch_step(now)
        else:
            self.button(now)
        awake = self.ui.awake
        every = CLOCK_POLL_MS if awake else CLOCK_POLL_ASLEEP_MS
        if ticks_diff(now, self._clock_at) >= every:
            self.read_clock(now)
        waiting = self._touch is not None  # the "Press button" screen stays
        if awake and not waiting and ticks_diff(now, self._active) >= self.blank_ms:
            self.ui.sleep()
            awake = False
        if self.ui.failed and ticks_diff(now, self._display_at) >= DISPLAY_RETRY_MS:
            self._display_at = now
            self._retry_display()
        if awake and not waiting:
            self.draw()

    def _retry_display(self):
        if self.hw.display is None:
            from fob import hw as hwmod

            if hwmod.retry_display(self.hw, self.board) is None:
                return
            from fob.ui import UI

            awake = self.ui.awake
            self.ui = UI(self.hw.display)
            self.ui.awake = True
            if not awake:
                self.ui.sleep()
        elif not self.ui.recover():
            return
        self._force = True
        self._acct = None

    def run(self):
        while True:
            try:
                self.step()
            except KeyboardInterrupt:
                raise  # Ctrl-C on the USB serial: back to the REPL (mpremote)
            except Exception:
                # Keep serving; whatever failed is retried next time round.
                self._force = True
            sleep_ms(LOOP_MS)


_MESSAGES = None


def _init_messages():
    global _MESSAGES
    from fob import ui

    _MESSAGES = {
        _S_UNSET: ui.MSG_CLOCK_UNSET,
        _S_JUMPED: ui.MSG_CLOCK_JUMPED,
        _S_MISSING: ui.MSG_RTC_MISSING,
        _S_DAMAGED: ui.MSG_STORE_DAMAGED,
        _S_ACCESS_DAMAGED: ui.MSG_ACCESS_DAMAGED,
        _S_EMPTY: ui.MSG_NO_ACCOUNTS,
    }


_init_messages()


def main(board=None, buf=None):
    """``buf``: the store's buffer, reserved by main.py before the imports."""
    if board is None:
        import board  # the board file deployed with the firmware
    App(board, buf=buf).run()
