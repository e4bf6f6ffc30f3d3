"""fob/sleep_esp32.py against a stand-in for the esp32 port's sleep calls,
modelled on ports/esp32/modesp32.c and modmachine.c (MicroPython 1.25): no
ESP32 emulator can be had here.  The stand-in keeps the port's rules: Pin
objects, only RTC GPIOs ("invalid pin"), ext1's pin set replaced by a list
and kept by None, and what lightsleep() arms is what was set when it ran."""

from __future__ import annotations

import sys
import types

import pytest

from fob import sleep_esp32
from support.esp32_port import RTC_GPIOS


class Pin:
    IN, PULL_UP = 1, 2
    made: list[Pin] = []  # every Pin the firmware built, in order

    def __init__(self, n, mode=None, pull=None):
        self.n = n
        self.inits: list[int] = []
        Pin.made.append(self)

    def init(self, mode=None, pull=-1):
        self.inits.append(mode)


def port(events: list, *, drop: str | None = None, rtc=RTC_GPIOS["ESP32"]):
    """The machine and esp32 modules as the port has them (without `drop`)."""
    state = {"ext0": None, "ext1": ()}
    Pin.made = []

    def pin_id(pin):
        if not isinstance(pin, Pin):
            raise TypeError("expecting a pin")  # the docs ask for Pin objects
        if pin.n not in rtc:
            raise ValueError("invalid pin")
        return pin.n

    def wake_on_ext0(pin, level=False):
        state["ext0"] = None if pin is None else (pin_id(pin), level)

    def wake_on_ext1(pins=None, level=False):
        if pins is not None:  # None keeps the last pins, as modesp32.c does
            state["ext1"] = (tuple(pin_id(p) for p in pins), level) if pins else ()

    def lightsleep(*args):
        events.append(("lightsleep", args, dict(state)))

    esp32 = types.SimpleNamespace(
        wake_on_ext0=wake_on_ext0, wake_on_ext1=wake_on_ext1, WAKEUP_ALL_LOW=False, WAKEUP_ANY_HIGH=True
    )
    machine = types.SimpleNamespace(Pin=Pin, lightsleep=lightsleep)
    for mod in (esp32, machine):
        if drop and hasattr(mod, drop):
            delattr(mod, drop)
    return machine, esp32, state


@pytest.fixture
def on_esp32(monkeypatch):
    def install(**kwargs):
        events: list = []
        machine, esp32, state = port(events, **kwargs)
        monkeypatch.setitem(sys.modules, "machine", machine)
        monkeypatch.setitem(sys.modules, "esp32", esp32)
        return events, state

    return install


def test_sleeps_until_the_button_or_usb_power(on_esp32):
    events, state = on_esp32()
    assert sleep_esp32.sleep(27, True, 34) is True
    # One sleep with no timeout, armed on the button going low and VBUS high.
    assert events == [("lightsleep", (), {"ext0": (27, False), "ext1": ((34,), True)})]
    assert state == {"ext0": None, "ext1": ()}  # disarmed after the wake


def test_an_active_high_button_and_no_vbus_pin(on_esp32):
    events, _ = on_esp32()
    assert sleep_esp32.sleep(27, False, None) is True
    assert events == [("lightsleep", (), {"ext0": (27, True), "ext1": ()})]


def test_the_wake_pads_go_back_to_the_gpio_matrix(on_esp32):
    # ESP-IDF leaves a wake pad as an RTC IO: an init with a mode (and no
    # pull, so hw.py's pull-up stays) hands it back.
    on_esp32()
    sleep_esp32.sleep(27, True, 34)
    assert [(p.n, p.inits) for p in Pin.made] == [(27, [Pin.IN]), (34, [Pin.IN])]


@pytest.mark.parametrize("drop", ["wake_on_ext0", "wake_on_ext1", "WAKEUP_ALL_LOW", "lightsleep"])
def test_a_missing_name_means_no_sleep(on_esp32, drop):
    events, _ = on_esp32(drop=drop)
    assert sleep_esp32.sleep(27, True, 34) is False
    assert events == []


def test_no_esp32_module_means_no_sleep(monkeypatch):
    monkeypatch.setitem(sys.modules, "esp32", None)  # import esp32 -> ImportError
    assert sleep_esp32.sleep(27, True, 34) is False


@pytest.mark.parametrize("button, vbus", [(5, 34), (27, 23)])
def test_a_pin_that_cannot_wake_it_means_no_sleep(on_esp32, button, vbus):
    events, state = on_esp32()
    assert sleep_esp32.sleep(button, True, vbus) is False
    assert events == []
    assert state == {"ext0": None, "ext1": ()}  # nothing left armed
