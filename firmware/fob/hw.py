# The one place that turns a board file (boards/*.py, deployed as board.py)
# into bus and pin objects and drivers.
#
# A part that is missing or fails at start-up becomes None, never an
# exception: the token still answers on USB and says on screen what is wrong
# (the clock reports a missing RTC; the app retries a missing display).


class Hardware:
    def __init__(self):
        self.name = "unknown"
        self.i2c = None
        self.display = None
        self.rtc = None
        self.button = None
        self.power = None  # usb() and vsys_mv() (fob.power), or None: not sensed


class PowerSense:
    """USB power on a pin (high: a host powers the board) and the supply
    voltage through a divider on an ADC pin (None: not wired)."""

    def __init__(self, vbus, adc, divider):
        self.vbus = vbus
        self.adc = adc
        self.divider = divider

    def usb(self):
        return self.vbus.value() == 1

    def vsys_mv(self):
        if self.adc is None:
            return None
        adc = self.adc
        total = 0
        if hasattr(adc, "read_uv"):  # ESP32: calibrated microvolts
            for _ in range(4):  # the ADC's noise is a few LSB: average it
                total += adc.read_uv() // 1000
            return (total >> 2) * self.divider
        for _ in range(4):
            total += adc.read_u16()
        # 0-65535 for 0-3.3 V (the RP2040's reference), times the divider.
        return (total >> 2) * 3300 // 65535 * self.divider


def _bus(board):
    if getattr(board, "BUS", None) == "sim":
        import simlink  # the emulator puts it on the path; no board has it

        return simlink.I2C(), simlink.Pin, None
    import machine

    i2c_id = getattr(board, "I2C_ID", 0)
    freq = getattr(board, "I2C_FREQ", 400_000)
    sda = machine.Pin(board.SDA)
    scl = machine.Pin(board.SCL)
    if i2c_id is None:  # bit-banged on any two pins
        i2c = machine.SoftI2C(sda=sda, scl=scl, freq=freq)
    else:
        i2c = machine.I2C(i2c_id, sda=sda, scl=scl, freq=freq)
    return i2c, machine.Pin, machine


def _button(board, pin_cls, machine):
    from fob.drivers.button import Button

    n = getattr(board, "BUTTON_PIN", None)
    if n is None:
        return None
    if machine is None:
        pin = pin_cls(n)  # simlink.Pin: the model knows its pull-up
    else:
        pull = getattr(board, "BUTTON_PULL", "up")
        pull = {"up": pin_cls.PULL_UP, "down": pin_cls.PULL_DOWN}.get(pull)
        pin = pin_cls(n, pin_cls.IN, pull) if pull is not None else pin_cls(n, pin_cls.IN)
    return Button(
        pin,
        active_low=getattr(board, "BUTTON_ACTIVE_LOW", True),
        debounce_ms=getattr(board, "DEBOUNCE_MS", 30),
        long_ms=getattr(board, "LONG_PRESS_MS", 800),
    )


def _power(board, pin_cls, machine):
    vbus = getattr(board, "VBUS_PIN", None)
    if vbus is None or not getattr(board, "BATTERY_WIRED", True):
        return None  # nothing sensed: as on USB, never asleep
    if machine is None:
        import simpower  # the emulated token's USB and battery

        return simpower.Power()
    adc_pin = getattr(board, "VSYS_ADC_PIN", None)
    adc = None
    if adc_pin is not None and hasattr(machine, "ADC"):
        if hasattr(machine.ADC, "ATTN_11DB"):  # ESP32: the full range is about 0-3.1 V
            adc = machine.ADC(pin_cls(adc_pin), atten=machine.ADC.ATTN_11DB)
        else:
            adc = machine.ADC(pin_cls(adc_pin))
    return PowerSense(pin_cls(vbus, pin_cls.IN), adc, getattr(board, "VSYS_DIVIDER", 3))


def _display(board, i2c):
    from fob.drivers.ssd1306 import SSD1306_I2C

    return SSD1306_I2C(
        getattr(board, "DISPLAY_W", 128),
        getattr(board, "DISPLAY_H", 64),
        i2c,
        addr=getattr(board, "DISPLAY_ADDR", 0x3C),
    )


def _rtc(board, i2c, machine):
    kind = getattr(board, "RTC", "ds3231")
    if kind == "ds3231":
        from fob.drivers.ds3231 import DS3231

        rtc = DS3231(i2c, getattr(board, "RTC_ADDR", 0x68))
        rtc.read_raw()  # probe: raises OSError when it does not answer
        return rtc
    from fob.drivers import rtc_internal

    if getattr(board, "BUS", None) == "sim":
        import simlink  # the emulator's model of the chip's own RTC

        return rtc_internal.InternalRTC(simlink.RTC())
    if machine is not None and hasattr(machine, "RTC"):
        return rtc_internal.InternalRTC(machine.RTC())
    return rtc_internal.TimeRTC()


def build(board):
    """Hardware for a board module; never raises for a missing part."""
    hw = Hardware()
    hw.name = getattr(board, "NAME", "unknown")
    try:
        hw.i2c, pin_cls, machine = _bus(board)
    except Exception:
        return hw  # no bus at all: every I2C part is missing
    try:
        hw.button = _button(board, pin_cls, machine)
    except Exception:
        hw.button = None
    try:
        hw.power = _power(board, pin_cls, machine)
    except Exception:
        hw.power = None
    try:
        hw.display = _display(board, hw.i2c)
    except Exception:
        hw.display = None
    try:
        hw.rtc = _rtc(board, hw.i2c, machine)
    except Exception:
        # Keep the driver for a DS3231 that did not answer yet: the clock
        # retries it and reports CLOCK_MISSING meanwhile.
        if getattr(board, "RTC", "ds3231") == "ds3231" and hw.i2c is not None:
            from fob.drivers.ds3231 import DS3231

            hw.rtc = DS3231(hw.i2c, getattr(board, "RTC_ADDR", 0x68))
    return hw


def retry_display(hw, board):
    """Build the display if it was missing at start-up (hot-plugged, flaky)."""
    if hw.display is None and hw.i2c is not None:
        try:
            hw.display = _display(board, hw.i2c)
        except Exception:
            hw.display = None  # still missing: tried again on a later turn
    return hw.display
