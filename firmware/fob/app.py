# The token's main loop: serial requests, the button, and the screen.
#
# One loop, never blocking: poll stdin (USB serial) for bytes and collect a
# bounded line (fob.link); poll the button; read the clock a few times a
# second and redraw when what the screen shows changes (fob.screen); sleep a
# few ms.
# Runs unmodified on rp2/esp32 and under the Unix port (the emulator).
# A code that waits for a button press (touch accounts) does not stop the
# loop: the server defers its reply and the loop finishes it on the press.
# With an access password set, Ctrl-C on the USB serial is turned off
# (fob.link) unless the button is held at power-on.

# fob.server first: the largest module, compiled (Unix port, a source
# deploy) while the heap is least fragmented (tests/test_token_capacity.py).
from fob.server import PENDING, Server
from fob.access import Access
from fob.clock import JUMP_FILE, JUMP_TOLERANCE_MS, Clock
from fob.drivers.button import LONG, SHORT
from fob.link import Link
from fob.screen import Screen
from fob.storage import Store
from fob.ticks import sleep_ms, ticks_diff, ticks_ms

LOOP_MS = 10
CLOCK_POLL_MS = 100  # clock reads while the screen is on
CLOCK_POLL_ASLEEP_MS = 1000  # ... and while it is blanked (jump detection)
TOUCH_MS = 15000


class App:
    """Builds the parts in one flash folder and runs the loop: ``link`` (the
    USB serial and its Ctrl-C guard), ``screen`` (what is shown, blanking,
    redraw), ``server`` (the protocol), and the button and touch waits."""

    def __init__(self, board, hw=None, stdin=None, stdout=None, folder="", buf=None):
        """``folder``: where the flash files live ("" is the flash root);
        ``buf``: the store's buffer, reserved at boot (main.py)."""
        if hw is None:
            from fob import hw as hwmod

            hw = hwmod.build(board)
        self.board = board
        self.hw = hw
        # The store, the access record and a clock jump (fob/clock.py) all
        # live in the flash folder.
        self.store = Store(folder, buf)
        self.clock = Clock(hw.rtc, tolerance_ms=getattr(board, "CLOCK_JUMP_MS", JUMP_TOLERANCE_MS),
                           path=folder + JUMP_FILE)
        access = Access(folder)
        self.server = Server(self.store, self.clock, board=hw.name, touch=self._touch_begin,
                             button_held=self._button_held, access=access)
        self.touch_ms = getattr(board, "TOUCH_MS", TOUCH_MS)
        # Button held at power-on: a maintenance boot (Ctrl-C stays on).
        self.maintenance = self._held_at_boot()
        self.server.maintenance = self.maintenance
        self.screen = Screen(hw, board, self.store, access, self.maintenance)
        self._clock_at = ticks_ms()
        self._touch = None  # [start ticks, armed] while a code awaits a press
        self._swallow = self.maintenance  # the boot hold is not a navigation press
        self.link = Link(self.server, stdin, stdout, self.maintenance)
        self.read_clock(self.screen.active)

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
        self.screen.ask_touch(label, now)
        return PENDING

    def _touch_step(self, now):
        t = self._touch
        if self.server.pending is None:  # dropped (the link went away)
            self._touch = None
            self.screen.force = True
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
            self.screen.touch_done(now)
            self.link.write(self.server.touch_finish(pressed))

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
        self.screen.press(ev, now)

    # ---- the loop -----------------------------------------------------------
    def read_clock(self, now):
        self._clock_at = now
        state, t = self.clock.now()
        self.screen.clock_state = state
        self.screen.time = t

    def step(self):
        now = ticks_ms()
        if self.link.serve():
            self.screen.force = True  # an account or the clock may have changed
        self.server.tick()  # idle re-lock
        if self._touch is not None:
            self._touch_step(now)
        else:
            self.button(now)
        every = CLOCK_POLL_MS if self.screen.ui.awake else CLOCK_POLL_ASLEEP_MS
        if ticks_diff(now, self._clock_at) >= every:
            self.read_clock(now)
        self.screen.update(now, self._touch is not None)  # the "Press button" screen stays

    def run(self):
        while True:
            try:
                self.step()
            except KeyboardInterrupt:
                raise  # Ctrl-C on the USB serial: back to the REPL (mpremote)
            except Exception:
                # Keep serving; whatever failed is retried next time round.
                self.screen.force = True
            sleep_ms(LOOP_MS)


def main(board=None, buf=None):
    """``buf``: the store's buffer, reserved by main.py before the imports."""
    if board is None:
        import board  # the board file deployed with the firmware
    App(board, buf=buf).run()
