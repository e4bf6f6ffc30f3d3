# The token's main loop: serial requests, the button, and the screen.
#
# One loop, never blocking: poll stdin (USB serial) for bytes and collect a
# bounded line (fob.link); read the button; follow the clock and redraw when
# what the screen shows changes (fob.screen); then sleep.
# Where the port has pin IRQs and io.IOBase (rp2, esp32), the loop sleeps in
# one select.poll on stdin and a Wake stream that the button's pin IRQ makes
# readable (as asyncio's ThreadSafeFlag does), until the first thing due:
# the clock's next tick, the screen's next blank, scroll step or notice end,
# a debounce or long-press threshold, a touch timeout, the idle re-lock; at
# most LONGEST_MS.  A press or a serial byte wakes it at once.  Without them
# (the Unix port's emulated token) it polls every LOOP_MS (LOOP_ASLEEP_MS
# blanked), as before.
# While the screen is on and the RTC can read its seconds register alone
# (DS3231), the loop reads the whole clock once a second, just after it
# ticks: it remembers when the last second began (ticks), wakes just before
# the next one and reads the seconds register back to back until it ticks,
# so a new period's code is on screen within a few ms.  Otherwise it reads
# the clock every CLOCK_POLL_MS (CLOCK_POLL_ASLEEP_MS blanked).
# Runs unmodified on rp2/esp32 and under the Unix port (the emulator).
# A code that waits for a button press (touch accounts) does not stop the
# loop: the server defers its reply and the loop finishes it on the press.
# With an access password set, Ctrl-C on the USB serial is turned off
# (fob.link) unless the button is held at power-on.
# On battery (fob/power.py) the loop sleeps once the screen blanks: the
# chip's deepest sleep, until the button or USB power; the press that woke
# it shows the code at once.  A double press on a code types it as a USB
# keyboard (fob/keyboard.py), where the port has runtime USB.

# fob.server first: the largest module, compiled (Unix port, a source
# deploy) while the heap is least fragmented (tests/emu/test_token_capacity.py).
# isort: off
from fob.server import PENDING, Server  # first: see above

# isort: on
from fob import proto
from fob.access import Access
from fob.clock import JUMP_FILE, JUMP_TOLERANCE_MS, Clock
from fob.clocklog import ClockLog
from fob.drivers.button import LONG, SHORT
from fob.link import Link
from fob.screen import Screen
from fob.settings import Settings
from fob.storage import Store
from fob.ticks import sleep_ms, ticks_add, ticks_diff, ticks_ms

try:
    import select
    from io import IOBase
except ImportError:
    IOBase = None

try:
    from micropython import const
except ImportError:  # CPython, for the tests

    def const(x):
        return x


LOOP_MS = 10  # sleep between turns, screen on (the button polled: no pin IRQ)
LOOP_ASLEEP_MS = 50  # ... and blanked, until the button's pin goes down
LONGEST_MS = 1000  # with a pin IRQ: the longest sleep, whatever is due
CLOCK_POLL_MS = 100  # clock reads while the screen is on, without a tick to follow
CLOCK_POLL_ASLEEP_MS = 1000  # ... and while it is blanked (jump detection)
TOUCH_MS = 15000
DOUBLE_MS = 400  # a second short press this soon after the first: type the code (fob/keyboard.py)
POWER_READ_MS = 2000  # USB and the battery are read this often while awake (they move slowly)
EDGE_LEAD_MS = 1  # start watching for the next second this early
AHEAD_MS = 3  # ... and wake this early to draw its frame first (known to 2 ms)
EDGE_POLL_MS = 1  # seconds register reads this far apart around the tick
EDGE_WINDOW_MS = 30  # no tick this long after it was due: poll every turn
EDGE_SPIN_MS = 3  # at the expected tick, reads back to back for this long


_STREAM_POLL = const(3)  # MicroPython's MP_STREAM_POLL ioctl request
_POLL_RD = const(1)  # ... and its "readable" flag


if IOBase is not None:

    class Wake(IOBase):
        """A stream select.poll finds readable once ``set`` is True: the
        button's pin IRQ sets it, so one poll sleeps until a press, serial
        input or the next deadline (as MicroPython's asyncio ThreadSafeFlag
        does)."""

        def __init__(self):
            self.set = False

        def ioctl(self, req, flags):
            if req == _STREAM_POLL and self.set:
                return flags & _POLL_RD
            return 0

        def on_edge(self, pin):
            self.set = True


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
        self.clock = Clock(
            hw.rtc,
            tolerance_ms=getattr(board, "CLOCK_JUMP_MS", JUMP_TOLERANCE_MS),
            path=folder + JUMP_FILE,
            log=ClockLog(folder),
        )
        access = Access(folder)
        settings = Settings(board, folder)
        self.server = Server(
            self.store,
            self.clock,
            board=hw.name,
            touch=self._touch_begin,
            button_held=self._button_held,
            access=access,
            exposure=getattr(board, "EXPOSURE", None),
            settings=settings,
        )
        self.touch_ms = getattr(board, "TOUCH_MS", TOUCH_MS)
        # Button held at power-on: a maintenance boot (Ctrl-C stays on).
        self.maintenance = self._held_at_boot()
        self.server.maintenance = self.maintenance
        self.screen = Screen(hw, board, self.store, access, settings, self.maintenance)
        # USB or battery (fob/power.py), on a board that senses it: the
        # gauge, no flash writes when nearly empty, and on battery the sleep
        # once the screen blanks.  Loaded only there (heap).
        self.power = None
        if hw.power is not None:
            from fob.power import Power

            self.power = Power(board, hw.power)
            self.server.power = self.power
            self.screen.power = self.power
            self.screen.battery()
        self._power_at = ticks_ms()
        self._woken = False  # the press that woke the chip is still down
        self.screen.clock_log = self.clock.log  # the one-time "clock set back" notice
        self._clock_at = ticks_ms()
        self._touch = None  # [start ticks, armed] while a code awaits a press
        self._swallow = self.maintenance  # the boot hold is not a navigation press
        self.link = Link(self.server, stdin, stdout, self.maintenance)
        # The USB keyboard (issue 25), where the port has runtime USB and
        # typing is on; the "layout" setting takes effect at power-on.
        self.settings = settings
        self.keyboard = _keyboard() if settings.layout != "off" else None
        self._armed = None  # (ticks, screen mark) of a first short press on a code
        # Following the RTC's tick (see the top): the seconds register last
        # seen, when it was last read with the old second, and the next read.
        self._second = getattr(hw.rtc, "second", None)
        self._sec = None
        self._sec_at = None
        self._due = self.screen.active
        self._win_end = self._due
        self._sharp = False  # where the second begins is known to 2 ms
        self._ahead_sec = None  # the second whose successor was drawn ahead
        self._verify = False
        self.read_clock(self.screen.active)
        self._wake = None
        self._sleep = None
        self._wake_on_edges()

    def _wake_on_edges(self):
        # Sleep until something is due, a press or serial input: the button's
        # pin IRQ and stdin in one select.poll.  Without a pin IRQ, io.IOBase
        # or select (the Unix port) the loop polls every LOOP_MS instead.
        b = self.hw.button
        if b is None or IOBase is None:
            return
        try:
            wake = Wake()
            p = select.poll()
            p.register(self.link.stdin, select.POLLIN)
            p.register(wake, select.POLLIN)
            if not b.wake_on_edges(wake.on_edge):
                return
        except Exception:
            return
        self._wake = wake
        self._sleep = getattr(p, "ipoll", p.poll)

    # ---- access control ------------------------------------------------------
    def _held_at_boot(self):
        b = self.hw.button
        if b is None:
            return False
        start = ticks_ms()
        b.poll(start)
        if not b.is_down():
            return False  # up at power-on: no hold to confirm, no wait
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
        if self._woken:
            # The wake press showed the code already: its release moves
            # nowhere; held long, it is a long press on what it showed.
            if ev == LONG:
                self.screen.wake_hold(now)
            self._woken = b._raw or b.is_pressed()
            return
        if ev == 0:
            return
        if ev == SHORT and self.keyboard is not None and self._double(now):
            return
        self.screen.press(ev, now)

    def _double(self, now):
        """A short press on a code: the first moves on at once (no wait for
        a second); a second within DOUBLE_MS moves back and types the code
        the first one left, if it may still be shown.  True: handled."""
        armed = self._armed
        self._armed = None
        sc = self.screen
        if armed is not None and ticks_diff(now, armed[0]) < DOUBLE_MS:
            sc.restore(armed[1], now)
            code = sc.code_now()  # the rules again: a lock or a new period since
            st = self.settings
            if code is not None and st.layout != "off":
                self.keyboard.type(code, st.layout, st.enter)
            return True
        if self.keyboard.ready:
            if sc.code_now() is not None:
                self._armed = (now, sc.mark())
        return False

    # ---- power (fob/power.py) -------------------------------------------------
    def _power_step(self, now):
        pw = self.power
        if pw is None:
            return
        if ticks_diff(now, self._power_at) >= POWER_READ_MS:
            self._power_at = now
            pw.update()
            self.screen.battery()
        if not pw.asleep_ok() or self.screen.ui.awake or self._touch is not None:
            return
        b = self.hw.button
        if self.server.pending is not None or (b is not None and (b._raw or b.is_pressed())):
            return  # a reply to send, or a press under way: never lost to a sleep
        if not self.link.idle():
            return
        self.sleep()

    def sleep(self):
        """Display and charge pump off, the chip in its deepest sleep; on the
        wake, the clock first, then (woken by a press) the code at once."""
        self.screen.ui.power_down()
        self.clock.slept()
        self.power.sleep()
        now = ticks_ms()
        self.read_clock(now)
        self._power_at = now
        self.power.update()
        self.screen.battery()
        self._sec = None  # follow the RTC's tick again
        self._due = now
        self._win_end = now
        b = self.hw.button
        if b is not None and b._read():
            b.poll(now)  # the press began now: long press from here
            self._woken = True
            self.screen.wake_press(now)
            self.screen.update(now, False)

    # ---- the loop -----------------------------------------------------------
    def read_clock(self, now):
        self._clock_at = now
        state, t = self.clock.now()
        self.screen.clock_state = state
        self.screen.time = t

    def _follow(self, now):
        """Read the clock just after the RTC's second ticks (screen on)."""
        if ticks_diff(now, self._due) < 0 and ticks_diff(now, self._clock_at) < 1000:
            return
        try:
            s = self._second()
        except Exception:
            # The RTC does not answer: the clock says so (and backs off).
            self._sec = None
            if ticks_diff(now, self._clock_at) >= CLOCK_POLL_MS:
                self.read_clock(now)
            self._due = ticks_add(now, CLOCK_POLL_MS)
            return
        sent = False
        if s == self._sec and self._sharp and ticks_diff(self._win_end, now) > 0:
            # The tick is due within a ms or so (known to 2 ms): the next
            # second's frame is drawn now, before it, then the seconds
            # register read back to back and the frame sent the moment it
            # ticks, so a new period's code goes out as soon as it begins.
            sc = self.screen
            ahead = False
            if self._ahead_sec != s:  # once a second: a late tick is not drawn again
                self._ahead_sec = s
                ahead = sc.clock_state == proto.CLOCK_OK and sc.draw_ahead()
                # Drawn: wait for the watch to begin (the tick less EDGE_LEAD_MS).
                d = ticks_diff(ticks_add(self._due, AHEAD_MS - EDGE_LEAD_MS), ticks_ms())
                if 0 < d <= AHEAD_MS:
                    sleep_ms(d)
            now = ticks_ms()
            end = ticks_add(now, EDGE_SPIN_MS)
            while s == self._sec and ticks_diff(end, now) > 0:
                self._sec_at = now  # the last read of the old second
                now = ticks_ms()
                try:
                    s = self._second()
                except Exception:
                    break  # the next turn's read says what is wrong
            if ahead:
                if s == (self._sec + 1) % 60:
                    sc.send_ahead()
                    sent = True
                else:
                    sc.drop_ahead()
        if s != self._sec:
            last = self._sec_at
            first = self._sec is None
            prev = self._sec
            self._sec = s
            sc = self.screen
            if not first and sc.time is not None and sc.clock_state == proto.CLOCK_OK and s == (prev + 1) % 60:
                # The next second, as expected: show it now (drawn ahead and
                # sent already, or at this turn's update), and read the whole
                # clock (jump check) right after the frame went out.
                if not sent:
                    sc.time += 1
                self._verify = True
            else:
                self.read_clock(now)
            if first or last is None or ticks_diff(now, last) > LOOP_MS + LOOP_MS:
                # Where the second begins is not known (well) yet: look
                # every turn.
                self._sharp = False
                self._due = ticks_add(now, LOOP_MS)
                self._win_end = now
            else:
                # The tick came after ``last`` (the last read of the old
                # second), so the next one comes after ``last`` + 1 s.
                # Known to a few ms only: read every EDGE_POLL_MS around it
                # next time (a few reads), and back to back only once it is
                # known to 2 ms (a spin over 10 ms of doubt is 60 reads).
                self._sharp = ticks_diff(now, last) <= 2
                self._due = ticks_add(last, 1000 - (AHEAD_MS if self._sharp else EDGE_LEAD_MS))
                self._win_end = ticks_add(self._due, EDGE_WINDOW_MS)
        else:
            if ticks_diff(now, self._clock_at) >= 1000 + EDGE_WINDOW_MS:
                self.read_clock(now)  # no tick: stopped, unset or set back
            # The tick is due: look again soon; else every turn.
            inside = ticks_diff(self._win_end, now) > 0
            self._due = ticks_add(now, EDGE_POLL_MS if inside else LOOP_MS)
        self._sec_at = now

    def step(self):
        if self._wake is not None:
            self._wake.set = False  # before the button is read: a later edge wakes the next turn
        now = ticks_ms()
        if self.link.serve():
            self.screen.force = True  # an account or the clock may have changed
            self._sec = None  # the clock may have been set: read it now
            self._due = now
            self._win_end = now
        self.server.tick()  # idle re-lock
        if self._touch is not None:
            self._touch_step(now)
        else:
            self.button(now)
        if self.screen.ui.awake and self._second is not None:
            self._follow(now)
        else:
            self._sec = None
            every = CLOCK_POLL_MS if self.screen.ui.awake else CLOCK_POLL_ASLEEP_MS
            if ticks_diff(now, self._clock_at) >= every:
                self.read_clock(now)
        self.screen.update(now, self._touch is not None)  # the "Press button" screen stays
        self._power_step(now)
        if self._verify:
            self._verify = False
            self.read_clock(now)
            self.screen.update(now, self._touch is not None)

    def pause_ms(self):
        """How long the loop may sleep before its next turn."""
        b = self.hw.button
        if self._wake is not None:
            return self._due_ms(b, ticks_ms())
        if (
            not self.screen.ui.awake
            and self._touch is None
            and self.server.pending is None
            and (b is None or not (b.is_down() or b.is_pressed()))
        ):
            return LOOP_ASLEEP_MS  # a press that began is then polled every LOOP_MS
        if self._second is None or not self.screen.ui.awake:
            return LOOP_MS  # blank with a press under way: no tick to follow
        d = ticks_diff(self._due, ticks_ms())
        return LOOP_MS if d > LOOP_MS else (d if d > 0 else 0)  # the tick is near

    def _due_ms(self, b, now):
        # With the pin IRQ: the time to the first thing due that no edge or
        # serial byte brings (at most LONGEST_MS).
        wait = LONGEST_MS
        d = b.due_ms(now)
        if 0 <= d < wait:
            wait = d
        if self._touch is not None:
            d = self.touch_ms - ticks_diff(now, self._touch[0])
            if d < wait:
                wait = d
        if self.screen.ui.awake and self._second is not None:
            d = ticks_diff(self._due, now)
            e = 1000 - ticks_diff(now, self._clock_at)
            if e < d:
                d = e
        else:
            d = (CLOCK_POLL_MS if self.screen.ui.awake else CLOCK_POLL_ASLEEP_MS) - ticks_diff(now, self._clock_at)
        if d < wait:
            wait = d
        d = self.screen.due_ms(now, self._touch is not None)
        if 0 <= d < wait:
            wait = d
        d = self.server.due_ms(now)
        if 0 <= d < wait:
            wait = d
        if self.power is not None:
            d = POWER_READ_MS - ticks_diff(now, self._power_at)
            if d < wait:
                wait = d
        return wait if wait > 0 else 0

    def pause(self):
        """Sleep between turns: until the next thing due, a button edge or
        serial input (pin IRQ), else LOOP_MS (the button polled)."""
        ms = self.pause_ms()
        if self._wake is None:
            sleep_ms(ms)
        elif ms > 0 and not self._wake.set:
            for _ in self._sleep(ms):
                break

    def run(self):
        while True:
            try:
                self.step()
            except KeyboardInterrupt:
                raise  # Ctrl-C on the USB serial: back to the REPL (mpremote)
            except Exception:
                # Keep serving; whatever failed is retried next time round.
                self.screen.force = True
            self.pause()


def _keyboard():
    """fob.keyboard's device, or None: a port without machine.USBDevice
    (the Unix port, ESP32 builds without runtime USB) or one that refused."""
    try:
        import machine
    except ImportError:
        return None
    if not hasattr(machine, "USBDevice"):
        return None
    try:
        from fob.keyboard import Keyboard

        return Keyboard()
    except Exception:
        return None  # the serial as before, no typing


def main(board=None, buf=None):
    """``buf``: the store's buffer, reserved by main.py before the imports."""
    if board is None:
        import board  # the board file deployed with the firmware
    App(board, buf=buf).run()
