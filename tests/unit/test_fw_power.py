"""The token on battery (fob.power, fob.app's sleep, issue 20) in CPython, in
virtual time: the charge estimate, the power states, no flash write below
the critical voltage (every write op, the HOTP long press), and the loop's
sleep: entered with the blank, never with a press or a request under way,
and a wake press that shows the code for the RTC's time at once, however
long the ticks stood still.  The same path on the Unix-port token:
tests/emu/test_token_battery.py; on the emulated Pico, dormant:
tests/rp2/test_rp2_battery.py."""

import base64

import pyotp
import pytest
from hypothesis import given
from hypothesis import strategies as st

from otpfob import paths
from otpfob.emu.testing import grouped
from support.fw import VIRTUAL_TICKS, AppRig, ServerRig, flash_files, install_framebuf

install_framebuf()
from fob import (  # noqa: E402
    app,
    power,
    proto,
    storage,
)
from fob import screen as fw_screen  # noqa: E402
from fob.ticks import ticks_diff  # noqa: E402

SECRET = base64.b32encode(bytes(range(1, 21))).decode()
BLANK_MS = 5000
BOARD = {"VBUS_PIN": "sim", "SLEEP": "sim", "BUTTON_PIN": 0, "BLANK_MS": BLANK_MS}


@pytest.fixture(autouse=True)
def _flash(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


class Supply:
    """fob.hw's power sense: USB, the battery as VSYS, and a sleep that
    runs ``wake(supply)`` (the test's wake source) with the ticks stopped."""

    def __init__(self, mv=3900, usb=False):
        self.on_usb = usb
        self.mv = mv
        self.slept_at = []  # virtual ms at each sleep
        self.wake = None

    def usb(self):
        return self.on_usb

    def vsys_mv(self):
        return self.mv

    def sleep(self):
        self.slept_at.append(VIRTUAL_TICKS.now)
        if self.wake is None:
            raise AssertionError("asleep with no wake planned")
        self.wake(self)


def board(**kw):
    return type("Board", (), {**BOARD, **kw})


# -- the charge estimate --------------------------------------------------------


@given(st.sampled_from(["lipo", "aaa3"]), st.integers(2000, 5000), st.integers(0, 500))
def test_the_charge_falls_with_the_voltage_from_100_to_0(chemistry, mv, less):
    hi, lo = power.percent(mv, chemistry), power.percent(mv - less, chemistry)
    assert 0 <= lo <= hi <= 100
    curve = power.AAA3 if chemistry == "aaa3" else power.LIPO
    assert power.percent(curve[0], chemistry) == 100 and power.percent(curve[-2], chemistry) == 0
    for i in range(0, len(curve), 2):  # each point of the table is met exactly
        assert power.percent(curve[i], chemistry) == curve[i + 1]


@pytest.mark.parametrize(
    ("mv", "usb", "state", "writable"),
    [
        (3900, False, power.BATTERY, True),
        (3399, False, power.LOW, True),
        (3299, False, power.CRITICAL, False),
        (3000, True, power.USB, True),  # on USB the supply is the host's: never refused
    ],
)
def test_power_states_follow_the_thresholds(mv, usb, state, writable):
    p = power.Power(board(), Supply(mv=mv, usb=usb))
    assert p.state == state and p.writable() is writable
    assert (p.mv is None) is usb and (p.pct is None) is usb


def test_a_board_that_senses_nothing_counts_as_usb_and_never_sleeps():
    p = power.Power(board(SLEEP=None), None)
    assert p.state == power.USB and p.writable() and not p.asleep_ok()
    internal = power.Power(board(RTC="internal"), Supply())  # dormant would stop the chip's RTC
    assert internal.state == power.BATTERY and not internal.asleep_ok()


def test_a_failing_sense_neither_sleeps_nor_refuses():
    class Broken(Supply):
        def usb(self):
            raise OSError(5)

    p = power.Power(board(), Broken())
    assert p.state == power.USB and p.writable()


# -- no writes below the critical voltage ------------------------------------------

WRITES = [
    ("add", {"label": "new", "secret": SECRET}),
    ("delete", {"label": "a", "issuer": ""}),
    ("rename", {"label": "a", "issuer": "", "new": "b"}),
    ("move", {"label": "a", "issuer": "", "to": 0}),
    ("config_set", {"timeout": 60}),
    ("time_set", {"time": 1_800_000_000}),
    ("wipe", {}),
    ("access_set", {"key": "00" * 32, "salt": "00" * 16, "iterations": 1000}),
    ("code", {"label": "h", "issuer": ""}),  # an HOTP code stores its counter
]


def test_every_write_is_refused_at_the_critical_voltage_and_nothing_changes():
    rig = ServerRig()
    rig.ok("add", label="a", secret=SECRET)
    rig.ok("add", label="h", secret=SECRET, type="hotp", counter=3)
    supply = Supply(mv=3900)
    rig.server.power = power.Power(board(), supply)
    supply.mv = 3200
    before = flash_files()
    for op, args in WRITES:
        r = rig.err(op, proto.E_BATTERY, **args)
        assert "too low" in r["msg"]
    assert flash_files() == before
    assert rig.ok("code", label="a", issuer="")["code"] == pyotp.TOTP(SECRET).at(rig.rtc.t)  # reads go on
    info = rig.ok("info")
    assert (info["power"], info["battery"], info["battery_mv"]) == ("battery", "critical", 3200)
    supply.on_usb = True  # plugged in: writes again
    rig.ok("code", label="h", issuer="")
    assert rig.ok("info")["power"] == "usb"


# -- the loop: sleep with the blank, the wake press ---------------------------------------


def _rig(supply, **kw):
    r = AppRig(height=64, power=supply, **{**BOARD, **kw})
    r.run(0.1)
    return r


def test_sleeps_with_the_blank_and_a_wake_press_shows_the_code_at_once():
    supply = Supply()
    rig = _rig(supply)
    rig.call(op="add", label="a", secret=SECRET)
    rig.call(op="add", label="b", secret=SECRET[::-1])
    start = rig.now_ms - ticks_diff(VIRTUAL_TICKS.ticks_ms(), rig.app.screen.active)  # the last press
    days = iter([1, 30, 365])
    woke = []

    def wake(s):
        rig.rtc.t += next(days) * 86400  # the ticks stood still, the RTC ran on
        rig.pin.level = 0  # the press that wakes it
        woke.append(rig.rtc.t)

    supply.wake = wake
    for n in range(3):
        rig.run((BLANK_MS + 300) / 1000 if n == 0 else BLANK_MS / 1000)
        assert len(supply.slept_at) == n + 1
        # Entered with the blank (within a loop turn) after the last press.
        assert 0 <= supply.slept_at[n] - (start + BLANK_MS) <= 100
        # Woken: the code for the RTC's time now, the clock trusted.
        assert rig.code() == grouped(pyotp.TOTP(SECRET).at(woke[n]))
        assert rig.text()[0].startswith("a") and "1/2" in rig.text()[0]
        rig.pin.level = 1  # released: the wake press moves nowhere
        rig.run(0.1)
        assert "1/2" in rig.text()[0] and rig.app.clock.now()[0] == proto.CLOCK_OK
        start = rig.now_ms - ticks_diff(VIRTUAL_TICKS.ticks_ms(), rig.app.screen.active)


def test_a_long_wake_press_on_an_hotp_account_gives_its_next_code():
    supply = Supply()
    rig = _rig(supply)
    rig.call(op="add", label="h", secret=SECRET, type="hotp", counter=41)

    def wake(s):
        rig.pin.level = 0

    supply.wake = wake
    rig.run((BLANK_MS + 200) / 1000)
    assert supply.slept_at
    rig.run(0.5)  # held past the long press (300 ms here)
    assert rig.code() == grouped(pyotp.HOTP(SECRET).at(41))
    rig.pin.level = 1
    rig.run(0.1)
    s = storage.Store()
    assert s.params(s.find("h", "")).counter == 42


def test_at_the_critical_voltage_the_long_press_gives_no_hotp_code():
    supply = Supply(mv=3200)
    rig = _rig(supply, BLANK_MS=600_000)
    supply.on_usb = True
    rig.call(op="add", label="h", secret=SECRET, type="hotp", counter=41)
    supply.on_usb = False
    rig.run(2.1)  # the next power reading
    rig.press(400)
    assert rig.code() == ""
    assert [t.strip() for t in rig.text()[3:5]] == list(fw_screen.MSG_HOTP_BATTERY)
    s = storage.Store()
    assert s.params(s.find("h", "")).counter == 41


def test_never_asleep_with_the_button_down_or_a_request_half_read():
    supply = Supply()
    rig = _rig(supply)
    rig.app._second = lambda: rig.rtc.t % 60  # a DS3231's seconds register: the loop follows its tick
    rig.call(op="add", label="a", secret=SECRET)
    supply.wake = lambda s: None
    rig.pin.level = 0
    rig.run(0.05)
    rig.pin.level = 1  # a press, its release not yet seen ...
    rig.pin.level = 0
    rig.run((BLANK_MS + 500) / 1000)  # ... held past the blank
    assert not supply.slept_at
    assert not rig.app.screen.ui.awake and rig.app.pause_ms() == app.LOOP_MS  # polled, never a busy spin
    rig.pin.level = 1
    import os

    os.write(rig.in_w, b'{"v": 2, "op": "in')  # half a request
    rig.run((BLANK_MS + 500) / 1000)
    assert not supply.slept_at
    os.write(rig.in_w, b'fo", "id": 9}\n')
    rig.run((BLANK_MS + 500) / 1000)
    assert supply.slept_at  # (and again each turn: this test's wake source wakes nothing)


# -- the board files ---------------------------------------------------------------------


class _FakePin:
    IN = 1

    def __init__(self, n, mode=None):
        self.n = n

    def value(self):
        return 1


class _FakeMachine:
    class ADC:
        def __init__(self, pin):
            self.pin = pin

        def read_u16(self):
            return 0


@pytest.mark.parametrize("name", sorted(paths.hardware_boards()))
def test_only_a_board_whose_sense_is_wired_senses_its_power(name):
    """A Pico's VBUS and VSYS sense are on the board; an ESP32's dividers
    are not, so until BATTERY_WIRED an unwired, floating pin never makes the
    token think it runs on battery (and sleep with its serial gone)."""
    from fob import hw

    data = paths.board_data(name)
    sense = hw._power(board(**data), _FakePin, _FakeMachine)
    wired = data.get("VBUS_PIN") is not None and data.get("BATTERY_WIRED", True)
    assert (sense is not None) == bool(wired)
    if data.get("PLATFORM") == "esp32":
        assert sense is None  # shipped unwired
    if name == "pico":
        assert sense is not None and sense.usb() and data["SLEEP"] == "rp2-dormant"
