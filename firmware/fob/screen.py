# What the screen shows: which account, its code or a message, when it
# blanks, and when it is redrawn.
#
# draw() runs every loop turn; while nothing that decides the screen has
# moved it returns before anything allocates (tests/fw/test_fw_alloc.py), and
# a scroll step of a long name allocates nothing either.
#
# The button: a short press wakes the screen, then moves to the next
# account; a long press moves back, except on an HOTP account's screen,
# where it shows the next code.  The counter is stored before the code is
# drawn (as the USB "code" does), the code stays HOTP_SHOW_MS and then goes,
# and nothing brings it back: moving past an HOTP account uses no counter.
# With an access password set, only an HOTP account added with touch shows
# a code on a long press (its owner said a press on the token is enough);
# any other HOTP account gives codes over USB only, after an unlock, so a
# finder cannot use up its counters (docs/security.md).

from fob import proto
from fob.drivers.button import SHORT
from fob.ticks import ticks_add, ticks_diff, ticks_ms

try:
    from micropython import const
except ImportError:  # CPython, for the tests

    def const(x):
        return x


BLANK_MS = 30000
DISPLAY_RETRY_MS = 5000
MAINTENANCE_MS = 5000  # how long the boot note "Maintenance: Ctrl-C on" stays
HOTP_SHOW_MS = 20000  # how long an HOTP code shown on a long press stays
SCROLL_MS = 450  # a long name moves one character this often
NOTICE_MS = 10000  # how long the "clock set back" notice stays (a press ends it)

MSG_MAINTENANCE = ("Maintenance:", "", "Ctrl-C on", "(button held", "at power-on)")
MSG_HOTP_USB = ("Codes over USB", "only: password")  # an HOTP account without touch, password set
MSG_HOTP_BATTERY = ("Battery empty:", "no new code")  # below the critical voltage (fob.power)
_GAUGE = {"battery": 1, "low": 2, "critical": 3}  # fob.power states -> UI.set_gauge levels

# What the screen shows (besides a code)
_S_CODE = const(0)
_S_HOTP = const(1)
_S_UNSET = const(2)
_S_JUMPED = const(3)
_S_MISSING = const(4)
_S_DAMAGED = const(5)
_S_EMPTY = const(6)
_S_ACCESS_DAMAGED = const(7)
_S_HOTP_USB = const(8)  # an HOTP account whose codes come over USB only
_S_LOCKED = const(9)  # the lock screen (settings): no code until a host unlocks
_S_WIPED = const(10)  # the accounts were erased by wrong unlock answers (wipe_after)


class Screen:
    """The shown account (``index``), the clock reading it shows
    (``clock_state``, ``time``), the blank timer and the display.

    Set ``force`` when something outside changed what may be shown (a
    request was handled): the next draw() redraws.
    """

    def __init__(self, hw, board, store, access, settings, maintenance=False):
        from fob.ui import UI

        self.hw = hw
        self.board = board
        self.store = store
        self.access = access
        self.settings = settings
        self.power = None  # fob.power.Power, set by the app: the gauge, HOTP writes
        self._hotp_msg = None  # an HOTP account's screen without a code (None: how to get one)
        self.ui = UI(hw.display)
        self.blank_ms = BLANK_MS
        self._applied = None  # the settings generation in effect (apply())
        self._long_ms = None
        self.apply()
        self.hotp_ms = getattr(board, "HOTP_SHOW_MS", HOTP_SHOW_MS)
        self.index = 0
        self.clock_state = None
        self.time = None
        now = ticks_ms()
        self.active = now  # last button press: the blank timer
        self._display_at = now
        self._drawn = None  # key of what is on screen
        # What draw() last looked at: it returns early while none moved.
        self._seen_index = None
        self._seen_generation = None
        self._seen_clock = None
        self._seen_time = None
        self._seen_access_damaged = None
        self._seen_access_set = None
        self._acct = None  # (index, generation) the cached texts/key belong to
        self._p = None  # the shown account's Params (_params())
        self._p_index = -1  # ... for this account
        self._p_generation = -1  # ... and store generation
        self._key = None
        self._code_step = None
        self._code = ""
        self._ahead = None  # the time shown before draw_ahead(), until sent or dropped
        self.force = True
        # A note shown for MAINTENANCE_MS at power-on: the maintenance boot,
        # else that wrong passwords erase the accounts (wipe_after is on).
        self._note = MSG_MAINTENANCE if maintenance else None
        if self._note is None and settings.wipe_after and access.is_set:
            self._note = ("Wipe is on:", "", "%d wrong" % settings.wipe_after, "passwords erase", "every account")
        self._note_at = now if self._note else None
        # The clock history (fob.clocklog), set by the app: after a set moved
        # the clock back by more than a step, a notice is shown once, so a
        # harvest of future codes (set forward, read, set back) is seen.
        self.clock_log = None
        self._notice_at = None
        self._scroll_at = now
        # The HOTP code on screen (None: none), its account, the store
        # generation it was stored in, when it went up, seconds it has left.
        self._hotp = None
        self._hotp_index = -1
        self._hotp_generation = -1
        self._hotp_at = now
        self._hotp_left = 0

    def apply(self):
        """Put the settings in effect (at boot and after a change)."""
        st = self.settings
        if self._applied == st.generation:
            return
        self._applied = st.generation
        self.blank_ms = st.blank_ms
        self.ui.configure(st.flip, st.contrast)
        b = self.hw.button
        if b is not None:
            if self._long_ms is None:
                self._long_ms = b.long_ms  # the board's, for a setting taken back
            b.long_ms = self._long_ms if st.long_press_ms is None else st.long_press_ms
        self.force = True

    # ---- events ------------------------------------------------------------
    def press(self, ev, now):
        """A button press: the first one wakes the screen, the next ones move
        to the next (SHORT) or previous (LONG) account; a LONG press on an
        HOTP account shows its next code instead."""
        self.active = now
        self.force = True
        self._hotp_msg = None
        if not self.ui.awake:
            self.ui.wake()
            return
        if self._notice_at is not None:
            self._end_notice()  # the owner has seen it
            return
        n = self.store.count()
        if not n:
            return
        if ev != SHORT and self._screen() == _S_HOTP:
            self._next_hotp(now)
            return
        self._hotp = None
        self.index = (self.index + (1 if ev == SHORT else -1)) % n

    def wake_press(self, now):
        """The press that woke the chip from its sleep: the screen comes on
        with the code at once (the next update() draws it)."""
        self.active = now
        self.force = True
        self._hotp_msg = None
        self.ui.wake()

    def wake_hold(self, now):
        """The wake press held long: on an HOTP account's screen, its next
        code (as a long press on an awake screen); elsewhere nothing."""
        self.active = now
        self.force = True
        if self.store.count() and self._screen() == _S_HOTP:
            self._next_hotp(now)

    def code_now(self):
        """The code this screen shows for the shown account now, or None
        when none may be shown (asleep, a note, the lock screen, the clock,
        an HOTP account without a code from a long press): all a typed code
        may be (fob/keyboard.py)."""
        if not self.ui.awake or self._note_at is not None or self._notice_at is not None or not self.store.count():
            return None
        screen = self._screen()
        if screen == _S_CODE:
            self._account()
            p = self._params()
            if self.time // p.period == self._code_step:
                return self._code
            return self._key.totp(self.time, p.digits, p.period)
        if (
            screen == _S_HOTP
            and self._hotp is not None
            and self._hotp_index == self.index
            and self._hotp_generation == self.store.generation
        ):
            return self._hotp
        return None

    def mark(self):
        """Where the screen stands (restore() goes back there)."""
        return (self.index, self._hotp, self._hotp_index, self._hotp_generation, self._hotp_at, self._hotp_left)

    def restore(self, mark, now):
        """Back to ``mark``: a double press undoes its first press's move."""
        self.active = now
        self.force = True
        self.index, self._hotp, self._hotp_index, self._hotp_generation, self._hotp_at, self._hotp_left = mark

    def battery(self):
        """The gauge from the power state (fob.power; USB: none)."""
        pw = self.power
        if pw is not None and self.ui.set_gauge(pw.pct, _GAUGE.get(pw.state, 0)):
            self.force = True  # drawn with the next frame, even on a still clock

    def _next_hotp(self, now):
        self._hotp = None
        self._account()
        i = self.index
        p = self.store.params(i)
        if p.counter >= proto.MAX_COUNTER:
            return  # used up: no code (the USB "code" says so)
        if self.power is not None and not self.power.writable():
            self._hotp_msg = MSG_HOTP_BATTERY  # a brown-out mid-write: not worth a code
            self.battery()
            return
        code = self._key.hotp(p.counter, p.digits)
        # Stored first: after a power cut the next press shows the next code,
        # never this one again.  A failed write raises: nothing is shown.
        self.store.set_counter(i, p.counter + 1)
        self._hotp = code
        self._hotp_index = i
        self._hotp_generation = self.store.generation
        self._hotp_at = now
        self._hotp_left = (self.hotp_ms + 999) // 1000

    def _hotp_tick(self, now):
        # The shown HOTP code's seconds: redraw when they change, then hide it.
        left = self.hotp_ms - ticks_diff(now, self._hotp_at)
        if left <= 0:
            self._hotp = None
            self.force = True
            return
        left = (left + 999) // 1000
        if left != self._hotp_left:
            self._hotp_left = left
            self.force = True

    def ask_touch(self, label, now):
        """The "Press button" screen, awake, until ``touch_done()``."""
        self.active = now
        self.ui.wake()
        self.ui.touch(label)
        self._acct = None  # the touch screen used the name lines

    def touch_done(self, now):
        self.active = now
        self.force = True

    # ---- the loop ------------------------------------------------------------
    def update(self, now, waiting):
        """Blank after ``blank_ms`` without a press, retry a failed display,
        redraw. ``waiting``: a touch is pending, its screen stays as it is."""
        if self._applied != self.settings.generation:
            self.apply()
        awake = self.ui.awake
        if awake and not waiting and ticks_diff(now, self.active) >= self.blank_ms:
            self.ui.sleep()
            self._hotp = None  # a code does not outlive the screen
            awake = False
        if self.ui.failed and ticks_diff(now, self._display_at) >= DISPLAY_RETRY_MS:
            self._display_at = now
            self._retry_display()
        if awake and not waiting:
            self.draw()
            self.ui.settle()  # on after a wake, whatever was drawn

    # ---- the next second, drawn before the RTC ticks (app.py) ---------------
    def draw_ahead(self):
        """Draw the next second's frame (a new period's code too) without
        sending it; True if drawn: send_ahead() at the tick, or drop_ahead()."""
        if not self.ui.awake or self.force or self.time is None or self.clock_state != proto.CLOCK_OK:
            return False
        self._ahead = self.time
        self.time += 1
        self.ui.hold = True
        try:
            self.draw()
        except Exception:
            self.ui.hold = False
            self.drop_ahead()
            return False
        return True

    def send_ahead(self):
        """The tick came: the panel gets the frame drawn ahead."""
        self._ahead = None
        self.ui.flush()

    def drop_ahead(self):
        """No tick as expected: back to the time shown, redrawn from scratch
        at the next update (the panel never got the frame drawn ahead)."""
        if self._ahead is not None:
            self.time = self._ahead
            self._ahead = None
        self.ui.hold = False
        self.force = True

    def due_ms(self, now, waiting):
        """Milliseconds until update() has something to do that no event
        brings (blanking, a scroll step, an HOTP code's next second or its
        end, a note's or notice's end, a display retry); -1: nothing."""
        d = -1
        ui = self.ui
        if ui.failed:
            d = DISPLAY_RETRY_MS - ticks_diff(now, self._display_at)
        if not ui.awake or waiting:
            return d if d > 0 or d == -1 else 0
        if self.force:
            return 10  # a redraw failed: try again soon, not in a spin
        e = self.blank_ms - ticks_diff(now, self.active)
        if d < 0 or e < d:
            d = e
        if ui.scrolls:
            e = ticks_diff(self._scroll_at, now)
            if e < d:
                d = e
        if self._hotp is not None:
            left = self.hotp_ms - ticks_diff(now, self._hotp_at)
            e = left - ((left + 999) // 1000 - 1) * 1000 if left > 0 else 0
            if e < d:
                d = e
        if self._note_at is not None:
            e = MAINTENANCE_MS - ticks_diff(now, self._note_at)
            if e < d:
                d = e
        if self._notice_at is not None:
            e = getattr(self.board, "NOTICE_MS", NOTICE_MS) - ticks_diff(now, self._notice_at)
            if e < d:
                d = e
        return d if d > 0 else 0

    def _account(self):
        # Texts and key of the shown account, rebuilt only when it changes.
        key = (self.index, self.store.generation)
        if self._acct != key:
            from fob import otp

            s = self.store
            p = self._params()
            issuer, label = s.names_utf8(self.index)
            self.ui.prepare(
                issuer,
                label,
                self.index,
                s.count(),
                (self.hotp_ms + 999) // 1000 if p.hotp else p.period,
            )
            self._key = otp.OtpKey(s.key(self.index), p.algorithm)  # one at a time
            self._acct = key
            self._code_step = None

    def _params(self):
        # The shown account's Params, parsed again only when the account or
        # the store changed (each second's frame uses the same).
        i = self.index
        g = self.store.generation
        if self._p is None or self._p_index != i or self._p_generation != g:
            self._p = self.store.params(i)
            self._p_index = i
            self._p_generation = g
        return self._p

    def _screen(self):
        if self.store.state != proto.STORE_OK:
            return _S_DAMAGED
        if self.access.damaged:
            # Fail closed, as the serial side does: damaged protection data
            # may be tampering, and only a factory wipe resets it.
            return _S_ACCESS_DAMAGED
        if self.settings.screen_locked(self.access):
            return _S_LOCKED
        n = self.store.count()
        if n == 0:
            return _S_WIPED if self.settings.wiped(self.access) else _S_EMPTY
        if self.index >= n:
            self.index = n - 1
        p = self._params()
        if p.hotp:
            return _S_HOTP if p.touch or not self.access.is_set else _S_HOTP_USB
        st = self.clock_state
        if st == proto.CLOCK_OK:
            return _S_CODE
        if st == proto.CLOCK_MISSING:
            return _S_MISSING
        if st == proto.CLOCK_JUMPED:
            return _S_JUMPED
        return _S_UNSET

    def draw(self):
        now = ticks_ms()
        if self.ui.scrolls and ticks_diff(now, self._scroll_at) >= 0:
            self._scroll_at = ticks_add(now, SCROLL_MS)
            self.ui.scroll()  # redraws only a name's page, when it moved
        if self._hotp is not None:
            self._hotp_tick(now)
        if self._note_at is not None:
            if ticks_diff(now, self._note_at) < MAINTENANCE_MS:
                if self._drawn != "note":
                    self._drawn = "note"
                    self.ui.message(self._note)
                return
            self._note_at = None
            self.force = True
        if self.clock_log is not None and self.clock_log.back and self._notice(now):
            return
        # When nothing that decides the screen has moved, return before
        # anything allocates (no Params, no key).
        if (
            not self.force
            and self.index == self._seen_index
            and self.store.generation == self._seen_generation
            and self.clock_state == self._seen_clock
            and self.time == self._seen_time
            and self.access.damaged == self._seen_access_damaged
            and self.access.is_set == self._seen_access_set
        ):
            return
        self._seen_index = self.index
        self._seen_generation = self.store.generation
        self._seen_clock = self.clock_state
        self._seen_time = self.time
        self._seen_access_damaged = self.access.damaged
        self._seen_access_set = self.access.is_set
        screen = self._screen()
        t = self.time if screen == _S_CODE else None
        key = (screen, self.index, self.store.generation, t)
        if key == self._drawn and not self.force:
            return
        self.force = False
        self._drawn = key
        ui = self.ui
        if screen == _S_CODE:
            self._account()
            p = self._params()
            period = p.period
            step = t // period
            if step != self._code_step:
                self._code = self._key.totp(t, p.digits, period)
                self._code_step = step
            left = period - t % period
            ui.code(self._code, left, period)
        elif screen == _S_HOTP:
            self._account()
            if (
                self._hotp is not None
                and self._hotp_index == self.index
                and self._hotp_generation == self.store.generation
            ):
                ui.code(self._hotp, self._hotp_left, (self.hotp_ms + 999) // 1000)
            else:
                self._hotp = None  # another account, or the store changed
                ui.hotp(self._hotp_msg)
        elif screen == _S_HOTP_USB:
            self._hotp = None
            self._account()
            ui.hotp(MSG_HOTP_USB)
        else:
            self._acct = None
            self._key = None  # no key held while no code is shown
            self._hotp = None
            n = self.settings.wipe_after
            if screen == _S_LOCKED:
                ui.message(_MESSAGES[screen], ("Wipe after %d" % n) if n else None)
            elif screen == _S_WIPED:
                ui.message(("Accounts erased", "", "after %d wrong" % n, "passwords.", "Add them again."))
            else:
                ui.message(_MESSAGES[screen])

    def _notice(self, now):
        """Show the "clock set back" notice; True while it stays."""
        if self._notice_at is None:
            self._notice_at = now
            self._drawn = "notice"
            self._acct = None
            self._key = None
            self.ui.message(
                ("Clock set back", "by %d s." % self.clock_log.back, "Codes for later", "times may have", "been read.")
            )
            return True
        if ticks_diff(now, self._notice_at) < getattr(self.board, "NOTICE_MS", NOTICE_MS):
            return True
        self._end_notice()
        return False

    def _end_notice(self):
        self._notice_at = None
        self.force = True
        try:
            self.clock_log.rewrite(self.clock_log.unread, 0)
        except OSError:
            self.clock_log.back = 0  # flash failing: shown once this boot at least

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
        self._applied = None  # a new UI: orientation and contrast again
        self.apply()
        self._acct = None


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
        _S_LOCKED: ui.MSG_LOCKED,
    }


_init_messages()
