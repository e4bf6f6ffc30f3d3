"""On battery, on the real rp2 MicroPython in an emulated RP2040 (issue 20):
when USB power goes the token sleeps dormant once its screen blanks (XOSC
stopped: the chip's clock and timer stand still while the DS3231 counts
on); a press wakes it with pyotp's code for the DS3231's time at once;
USB power coming back wakes it for good.  The screen is read from the
SSD1306 model's RAM; asleep, the model shows the panel and its charge pump
off.  Days asleep cost nothing to emulate: the bridge skips dormant time
in one step.

make test runs the sleep and wake after 1 hour, 1 day and 30 days and the
USB plug-in; the HOTP long press, the power cuts, the held button and the
battery thresholds run in make test-slow.
"""

from __future__ import annotations

import random
import re
import time

import pyotp
import pytest
import serial

from conftest import RP2_LANE_B, SEED
from otpfob.emu.testing import ProtocolClient, grouped, random_secret, screen_code
from support.pico import see_clock_notice

pytestmark = [pytest.mark.rp2, RP2_LANE_B]

T0 = 1_790_000_000
BLANK_S = 5  # the shortest screen timeout (config_set timeout)
DAY = 86_400
LIPO_MV = 3900  # about half charged
LOW_MV = 3350  # under BATTERY_LOW_MV (3400): "CHARGE SOON"
CRITICAL_MV = 3250  # under BATTERY_CRITICAL_MV (3300): nothing written


class OnBattery:
    """A Pico with a TOTP and an HOTP account and a 5 s screen timeout."""

    def __init__(self, pico) -> None:
        rnd = random.Random(SEED)
        self.pico = pico
        self.secret = random_secret()
        self.hotp_secret = random_secret()
        self.counter = rnd.randrange(0, 10_000)
        with ProtocolClient(pico.port) as c:
            set_back = c.call("time_set", time=T0)
            c.call("add", label="mail", issuer="Bank", secret=self.secret)
            c.call("add", label="door", secret=self.hotp_secret, type="hotp", counter=self.counter)
            c.call("config_set", timeout=BLANK_S)
        see_clock_notice(pico, set_back)
        pico.set_battery_mv(LIPO_MV)

    def unplug(self) -> None:
        """USB out: the token blanks and sleeps dormant."""
        self.pico.set_usb(False)
        self.sleep()

    def plug(self) -> None:
        """USB back: VBUS wakes the token; the host talks once it has
        enumerated it (as a real host's serial port appears only then)."""
        n = len(self.pico.events())
        self.pico.set_usb(True)
        for _ in range(50):
            if any(e["event"] == "usb" for e in self.pico.events()[n:]):
                return
            self.pico.advance(0.1)
        raise AssertionError("the host did not enumerate the token after the plug")

    def sleep(self) -> None:
        entries = self.pico.power_report()["dormant_entries"]
        for _ in range(4 * BLANK_S):
            self.pico.advance(1)
            if self.pico.dormant and self.pico.power_report()["dormant_entries"] > entries:
                break
        assert self.pico.dormant, "the token did not go dormant on battery"
        oled = self.pico.oled
        assert not oled.display_on and not oled.charge_pump  # 0xAE, then 0x8D 0x10

    def code_now(self) -> str:
        """The code on the screen, checked against pyotp at the DS3231's time."""
        text = self.pico.wait_for_screen(lambda t: screen_code(t) is not None, 30)
        now = int(self.pico.time())
        assert screen_code(text) in {grouped(pyotp.TOTP(self.secret).at(now - d)) for d in (0, 1)}, text
        return text

    def info(self) -> dict:
        with ProtocolClient(self.pico.port, timeout=30) as c:
            return c.call("info")

    def counter_now(self) -> int:
        with ProtocolClient(self.pico.port, timeout=30) as c:
            (acct,) = [a for a in c.call("list")["accounts"] if a["label"] == "door"]
            return acct["counter"]


@pytest.fixture
def on_battery(make_pico) -> OnBattery:
    return OnBattery(make_pico())


# MicroPython's REPL on a stock Pico: GP15 (pulled up) wakes the chip when
# low (IO_BANK0 DORMANT_WAKE_INTE1, bits 28-31), then the wake's INTS1.
SLEEP_LINE = (
    b"import machine,time;machine.Pin(15,machine.Pin.IN,machine.Pin.PULL_UP);"
    b"machine.mem32[0x40014164]=1<<28;t=time.ticks_ms();machine.lightsleep();"
    b"print('woke',time.ticks_diff(time.ticks_ms(),t),machine.mem32[0x40014184]>>28,machine.freq());"
    b"machine.mem32[0x40014164]=0\r\n"
)


def test_dormant_stops_the_chips_clock_and_the_button_ends_it(rp2_built, tmp_path):
    from otpfob.emu.rp2.pico import EmulatedPico

    with EmulatedPico(tmp_path / "stock", rtc_set=True) as pico, serial.Serial(pico.port, timeout=0.2) as port:

        def read_until(token: bytes) -> bytes:
            got, deadline = b"", time.monotonic() + 60
            while token not in got and time.monotonic() < deadline:
                got += port.read(4096)
            return got

        port.write(b"\r\n")
        assert b">>> " in read_until(b">>> ")
        port.write(SLEEP_LINE)
        deadline = time.monotonic() + 60
        while not pico.dormant and time.monotonic() < deadline:
            time.sleep(0.05)
        assert pico.dormant
        before = pico.power_report()
        pico.advance(3600)
        assert pico.dormant  # no wake source held: an hour and still asleep
        pico.button_down()
        woke = re.search(rb"woke (\d+) (\d+) (\d+)", read_until(b">>> "))
        pico.button_up()
        assert woke is not None
        ticks, ints, freq = (int(g) for g in woke.groups())
        assert ticks <= 10  # the chip's timer stood still for the hour
        assert ints == 1  # DORMANT_WAKE_INTS: GP15's LEVEL_LOW
        assert freq == 125_000_000  # clocks_init() after the wake: PLLs back
        after = pico.power_report()
        assert after["dormant_ns"] - before["dormant_ns"] >= 3600e9
        assert after["world_ns"] - before["world_ns"] >= 3600e9


def test_sleeps_on_battery_wakes_with_the_code_and_on_usb(on_battery):
    t, pico = on_battery, on_battery.pico
    info = t.info()
    assert (info["power"], info["battery"], info["battery_mv"], info["battery_percent"]) == ("usb", None, None, None)
    t.unplug()
    for asleep in (3600, DAY, 30 * DAY):
        ticks0 = pico.power_report()
        pico.advance(asleep)
        assert pico.dormant  # nothing but a wake source ends it
        report = pico.power_report()
        # The chip's clock stood still: all but a sliver of the time was dormant.
        assert report["dormant_ns"] - ticks0["dormant_ns"] >= asleep * 1e9 - 1e6
        pico.press()
        text = t.code_now()
        assert "%" in text  # the battery gauge under the code
        t.sleep()
    wakes = [e for e in pico.events() if e["event"] == "wake"]
    assert [e["pin"] for e in wakes] == [15, 15, 15]  # the button, each time
    # USB power back: VBUS wakes it, the host enumerates it, it answers and stays awake.
    t.plug()
    info = t.info()
    assert info["power"] == "usb" and info["battery_mv"] is None
    assert [e["pin"] for e in pico.events() if e["event"] == "wake"][-1] == 24
    entries = pico.power_report()["dormant_entries"]
    pico.advance(2 * BLANK_S + 2)
    assert not pico.dormant and pico.power_report()["dormant_entries"] == entries


@pytest.mark.slow
def test_hotp_long_press_from_dormant(on_battery):
    t, pico = on_battery, on_battery.pico
    pico.press()  # to the HOTP account: the token sleeps on its screen
    pico.wait_for_screen(lambda s: "door" in s, 30)
    t.unplug()
    pico.advance(3600)
    pico.hold()  # the wake press, held: the next HOTP code
    text = pico.wait_for_screen(lambda s: screen_code(s) is not None, 30)
    assert screen_code(text) == grouped(pyotp.HOTP(t.hotp_secret).at(t.counter))
    t.sleep()
    t.plug()
    assert t.counter_now() == t.counter + 1


@pytest.mark.slow
def test_power_cuts_while_asleep_and_while_waking(on_battery):
    t, pico = on_battery, on_battery.pico
    t.unplug()
    pico.advance(600)
    pico.power_cut()  # asleep: nothing in flight
    pico.restart()
    t.sleep()  # on battery from the first instant: it boots, blanks and sleeps
    pico.advance(DAY)
    # Cut 20,000 instructions into the wake (the clock read, the first frame).
    pico.power_cut(at_instruction=pico.instructions + 20_000, wait=False)
    pico.button_down()
    pico.wait_off()
    pico.button_up()
    pico.restart()
    t.sleep()
    pico.press()
    t.code_now()
    t.sleep()
    t.plug()
    assert t.info()["accounts"] == 2
    assert t.counter_now() == t.counter


@pytest.mark.slow
def test_no_sleep_while_the_button_is_held(on_battery):
    t, pico = on_battery, on_battery.pico
    pico.set_usb(False)
    pico.button_down()
    entries = pico.power_report()["dormant_entries"]
    pico.advance(3 * BLANK_S)
    assert not pico.dormant and pico.power_report()["dormant_entries"] == entries
    pico.button_up()
    t.sleep()


@pytest.mark.slow
def test_low_battery_warning_and_no_write_when_critical(on_battery):
    t, pico = on_battery, on_battery.pico
    pico.set_battery_mv(LOW_MV)
    t.unplug()
    pico.press()
    assert "CHARGE SOON" in t.code_now()
    t.sleep()
    pico.press()  # wake on the TOTP account, then to the HOTP account
    pico.wait_for_screen(lambda s: screen_code(s) is not None, 30)
    pico.press()
    pico.wait_for_screen(lambda s: "door" in s, 30)
    t.sleep()
    pico.set_battery_mv(CRITICAL_MV)
    before = pico.save_flash()
    pico.hold()  # a new HOTP code would write its counter: refused
    text = pico.wait_for_screen(lambda s: "Battery empty" in s, 30)
    assert screen_code(text) is None
    t.sleep()
    assert pico.save_flash() == before  # the store, and every other byte, unchanged
    t.plug()
    assert t.counter_now() == t.counter
