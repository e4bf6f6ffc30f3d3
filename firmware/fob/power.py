# USB or battery: whether a host powers the token, the battery's charge, and
# the deepest sleep that still wakes on the button (docs/architecture.md
# "Power").
#
# Board data (boards/*.py, all optional): VBUS_PIN (USB power sensed on a
# pin), VSYS_ADC_PIN and VSYS_DIVIDER (the supply voltage through a divider on
# an ADC pin), BATTERY_DIODE_MV (the drop of the diode between the battery
# and VSYS, added back), BATTERY ("lipo" or "aaa3"), BATTERY_LOW_MV,
# BATTERY_CRITICAL_MV, and SLEEP ("rp2-dormant", "esp32-light"): how to sleep.
# fob/hw.py builds the pins (``hw.power``: usb() and vsys_mv()).
#
# A board that cannot sense USB counts as on USB: it never sleeps.  On USB
# the supply is the host's, so the battery cannot be read (None).  Below the
# critical voltage the token refuses every write to flash: a brown-out in the
# middle of one must not be how it dies.

USB = "usb"
BATTERY = "battery"
LOW = "low"  # on battery, below BATTERY_LOW_MV: the screen warns
CRITICAL = "critical"  # ... below BATTERY_CRITICAL_MV: no writes to flash

# Voltage at rest (mV) and charge left (%) pairs, falling; flat tuples (one
# object each, not one per point: heap).  LiPo: a single cell's common
# discharge table at about 0.2 C; AAA: three alkaline cells in series
# (1.5 V new, 1.0 V spent).  Then (low, critical) thresholds in mV.
LIPO = (
    4200,
    100,
    4110,
    90,
    4020,
    80,
    3950,
    70,
    3870,
    60,
    3840,
    50,
    3800,
    40,
    3770,
    30,
    3730,
    20,
    3690,
    10,
    3610,
    5,
    3300,
    0,
)
AAA3 = (4650, 100, 4200, 80, 3900, 50, 3600, 20, 3300, 5, 3000, 0)
LIPO_LIMITS = (3400, 3300)
AAA3_LIMITS = (3450, 3150)


def percent(mv, chemistry="lipo"):
    """Charge left (0-100) for a voltage at rest, interpolated on the curve."""
    c = AAA3 if chemistry == "aaa3" else LIPO
    if mv >= c[0]:
        return 100
    for i in range(2, len(c), 2):
        v = c[i]
        if mv >= v:
            p = c[i + 1]
            return p + (mv - v) * (c[i - 1] - p) // (c[i - 2] - v)
    return 0


class Power:
    """The token's power source and battery: ``state`` (USB, BATTERY, LOW,
    CRITICAL), ``mv`` and ``pct`` (None on USB), refreshed by update()."""

    def __init__(self, board, sense):
        self.sense = sense  # fob.hw's power pins, or None (nothing sensed)
        self.sleep_kind = getattr(board, "SLEEP", None)
        self.chemistry = getattr(board, "BATTERY", "lipo")
        low, critical = AAA3_LIMITS if self.chemistry == "aaa3" else LIPO_LIMITS
        self.low_mv = getattr(board, "BATTERY_LOW_MV", low)
        self.critical_mv = getattr(board, "BATTERY_CRITICAL_MV", critical)
        self.diode_mv = getattr(board, "BATTERY_DIODE_MV", 0)
        self.button_pin = getattr(board, "BUTTON_PIN", None)
        self.active_low = getattr(board, "BUTTON_ACTIVE_LOW", True)
        self.vbus_pin = getattr(board, "VBUS_PIN", None)
        # Dormant stops the chip's own RTC with its clocks: sleep needs the
        # DS3231, which keeps the time on its own crystal.
        self.can_sleep = self.sleep_kind is not None and getattr(board, "RTC", "ds3231") == "ds3231"
        self.state = USB
        self.mv = None
        self.pct = None
        self.update()

    def on_usb(self):
        if self.sense is None:
            return True
        try:
            return self.sense.usb()
        except Exception:
            return True  # cannot tell: never sleep, never refuse

    def update(self):
        """Read USB and the battery now; returns the state."""
        if self.on_usb():
            self.state, self.mv, self.pct = USB, None, None
            return USB
        try:
            mv = self.sense.vsys_mv()
        except Exception:
            mv = None  # the ADC failed: no gauge, no refusal
        if mv is None:
            self.state, self.mv, self.pct = BATTERY, None, None
            return BATTERY
        mv += self.diode_mv
        self.mv = mv
        self.pct = percent(mv, self.chemistry)
        if mv < self.critical_mv:
            self.state = CRITICAL
        elif mv < self.low_mv:
            self.state = LOW
        else:
            self.state = BATTERY
        return self.state

    def writable(self):
        """May the token write to flash now?  Read fresh: a write is rare."""
        return self.update() != CRITICAL

    def asleep_ok(self):
        """On battery, with a way to sleep that the button ends."""
        return self.can_sleep and self.state != USB and self.button_pin is not None

    def sleep(self):
        """The deepest sleep that the button (or USB power) ends; returns
        after the wake.  The caller has turned the display off."""
        kind = self.sleep_kind
        if kind == "rp2-dormant":
            from fob import sleep_rp2

            wakes = [(self.button_pin, not self.active_low)]
            if isinstance(self.vbus_pin, int):
                wakes.append((self.vbus_pin, True))
            sleep_rp2.dormant(wakes)
        elif kind == "esp32-light":
            from fob import sleep_esp32

            sleep_esp32.sleep(self.button_pin, self.active_low, self.vbus_pin)
        elif kind == "sim":
            self.sense.sleep()
