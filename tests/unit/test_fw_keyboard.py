"""The token's USB keyboard (issue 25) under CPython: the descriptors
against the USB 2.0 and HID 1.11 rules a host applies (the interface
association the CDC needs, the boot keyboard's report layout), the reports
the firmware builds decoded by the host's own layout tables
(otpfob.emu.keymap), and the double-press gesture in the app: it types
only the code the screen shows, never without a press."""

import base64

import pyotp
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from otpfob.emu import keymap
from support.fw import AppRig, install_framebuf

install_framebuf()

from fob import keyboard, proto  # noqa: E402

SECRET = base64.b32encode(b"0123456789abcdefghij").decode()

# MicroPython 1.25's BUILTIN_CDC desc_cfg (shared/tinyusb/mp_usbd_descriptor.c:
# TUD_CONFIG_DESCRIPTOR + TUD_CDC_DESCRIPTOR, interfaces 0-1, endpoints 0x81, 0x02, 0x82).
BUILTIN_CDC_CFG = bytes(
    [9, 2, 75, 0, 2, 1, 0, 0x80, 125]
    + [8, 11, 0, 2, 2, 2, 0, 0]  # IAD: interfaces 0-1, CDC ACM
    + [9, 4, 0, 0, 1, 2, 2, 0, 4]
    + [5, 0x24, 0, 0x20, 1, 5, 0x24, 1, 0, 1, 4, 0x24, 2, 2, 5, 0x24, 6, 0, 1]
    + [7, 5, 0x81, 3, 8, 0, 16]
    + [9, 4, 1, 0, 2, 10, 0, 0, 0]
    + [7, 5, 0x02, 2, 64, 0, 0, 7, 5, 0x82, 2, 64, 0, 0]
)


def _descriptors(data):
    out, i = [], 0
    while i < len(data):
        n = data[i]
        assert n >= 2 and i + n <= len(data), "a descriptor runs past the end"
        out.append(bytes(data[i : i + n]))
        i += n
    return out


def test_the_composite_configuration_follows_usb_2_and_hid_1_11():
    assert len(BUILTIN_CDC_CFG) == 75
    cfg = keyboard.config_descriptor(BUILTIN_CDC_CFG, 2, 0x83)
    descs = _descriptors(cfg)
    assert cfg[2] | cfg[3] << 8 == len(cfg)  # wTotalLength
    itfs = [d for d in descs if d[1] == 4]
    assert cfg[4] == len(itfs) == 3  # bNumInterfaces
    assert sorted(d[2] for d in itfs) == [0, 1, 2]
    # The CDC pair stays behind its association (Windows binds usbser to it).
    iad = next(d for d in descs if d[1] == 11)
    assert iad[2:4] == bytes((0, 2))
    hid_at = next(i for i, d in enumerate(descs) if d[1] == 4 and d[5] == 3)
    itf, hid, ep = descs[hid_at : hid_at + 3]
    assert tuple(itf[2:8]) == (2, 0, 1, 3, 1, 1)  # interface 2, 1 endpoint, HID boot keyboard
    # HID descriptor right after the interface (HID 1.11 7.1), before its endpoint.
    assert hid[1] == 0x21 and hid[2:4] == b"\x11\x01" and hid[5] == 1 and hid[6] == 0x22
    assert hid[7] | hid[8] << 8 == len(keyboard.REPORT_DESCRIPTOR)
    assert ep[1] == 5 and ep[2] == 0x83 and ep[3] & 3 == 3  # interrupt IN
    assert ep[4] | ep[5] << 8 == 8 and 1 <= ep[6] <= 255  # 8-byte reports, full-speed bInterval
    # No endpoint address used twice, none of the CDC's taken.
    addrs = [d[2] for d in descs if d[1] == 5]
    assert len(addrs) == len(set(addrs))


def _items(desc):
    """HID short items: (tag/type byte without size, value)."""
    out, i = [], 0
    while i < len(desc):
        b = desc[i]
        size = (0, 1, 2, 4)[b & 3]
        out.append((b & 0xFC, int.from_bytes(desc[i + 1 : i + 1 + size], "little")))
        i += 1 + size
    return out


def test_the_report_descriptor_is_the_boot_keyboards():
    """Walk the items as a host's parser does: 8 bits of modifiers, a
    constant byte, 6 key bytes in (64 bits: the boot report); 5 LED bits
    and 3 padding out (the LED report)."""
    size = count = 0
    bits = {"in": 0, "out": 0}
    depth = 0
    for tag, value in _items(keyboard.REPORT_DESCRIPTOR):
        if tag == 0x74:
            size = value
        elif tag == 0x94:
            count = value
        elif tag == 0x80:
            bits["in"] += size * count
        elif tag == 0x90:
            bits["out"] += size * count
        elif tag == 0xA0:
            depth += 1
        elif tag == 0xC0:
            depth -= 1
    assert bits == {"in": 64, "out": 8} and depth == 0
    assert _items(keyboard.REPORT_DESCRIPTOR)[:3] == [(0x04, 1), (0x08, 6), (0xA0, 1)]  # Generic Desktop, Keyboard


@settings(max_examples=200, deadline=None)
@given(
    code=st.text(alphabet="0123456789", min_size=proto.MIN_DIGITS, max_size=proto.MAX_DIGITS),
    layout=st.sampled_from(keymap.LAYOUTS),
    enter=st.booleans(),
)
def test_the_reports_type_the_code_under_each_layout(code, layout, enter):
    buf = bytearray(keyboard.REPORT_LEN * 2 * keyboard.MAX_KEYS)
    n = keyboard.fill(buf, code, keyboard.LAYOUTS[layout], enter)
    reports = [bytes(buf[i * 8 : i * 8 + 8]) for i in range(n)]
    assert keymap.typed(reports, layout) == code + ("\n" if enter else "")
    assert reports[-1] == bytes(8)  # every key let go at the end
    if layout == "fr":  # AZERTY read as US is not the code: the Shift matters
        assert keymap.typed(reports, "us") != code


def test_the_layouts_are_the_settings_choices():
    assert set(keyboard.LAYOUTS) == set(proto.LAYOUTS) - {"off"} == set(keymap.LAYOUTS)


class FakeKeyboard:
    """Stands for fob.keyboard.Keyboard: the host configured it."""

    ready = True

    def __init__(self):
        self.typed = []

    def type(self, code, layout, enter):
        self.typed.append((code, layout, enter))
        return True


@pytest.fixture
def rig(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    # A board whose default layout is US (a new token's is off: no typing).
    r = AppRig(height=64, BLANK_MS=600_000, HOTP_SHOW_MS=4000, LAYOUT="us")
    r.app.keyboard = FakeKeyboard()
    r.run(0.1)
    return r


def _double(rig, gap=0.12):
    rig.press()
    rig.run(gap)
    rig.press()


def test_a_double_press_types_the_shown_totp_code_and_stays(rig):
    rig.call(op="add", label="one", secret=SECRET)
    rig.call(op="add", label="two", secret=SECRET[::-1])
    rig.call(op="config_set", layout="de", enter=True)
    rig.run(0.1)
    assert rig.text()[0].startswith("one")
    _double(rig)
    ((code, layout, enter),) = rig.app.keyboard.typed
    assert (layout, enter) == ("de", True)
    assert code == pyotp.TOTP(SECRET).at(rig.rtc.t) == rig.code().replace(" ", "")
    rig.run(0.1)
    assert rig.text()[0].startswith("one")  # the first press's move was undone
    rig.run(1)
    rig.press()  # alone: it moves, types nothing
    rig.run(1)
    assert rig.text()[0].startswith("two") and len(rig.app.keyboard.typed) == 1


def test_presses_too_far_apart_type_nothing(rig):
    rig.call(op="add", label="one", secret=SECRET)
    rig.call(op="add", label="two", secret=SECRET[::-1])
    rig.run(0.1)
    _double(rig, gap=0.6)
    assert rig.app.keyboard.typed == []
    assert rig.text()[0].startswith("one")  # two moves: back to the first


def test_hotp_types_the_code_the_long_press_made_and_nothing_before(rig):
    rig.call(op="add", label="vpn", secret=SECRET, type="hotp", counter=5)
    rig.run(0.1)
    _double(rig)  # no code on screen yet: nothing typed, no counter used
    assert rig.app.keyboard.typed == []
    rig.run(1)
    rig.press(400)
    assert rig.code().replace(" ", "") == pyotp.HOTP(SECRET).at(5)
    rig.run(1)
    _double(rig)
    assert rig.app.keyboard.typed == [(pyotp.HOTP(SECRET).at(5), "us", False)]


def test_no_typing_while_a_touch_waits_or_the_clock_is_untrusted_or_typing_is_off(rig):
    rig.call(op="add", label="door", secret=SECRET, touch=True)
    rig.run(0.1)
    rig.send(op="code", label="door")  # the "Press button" screen
    _double(rig)  # the first press answers the touch request
    rig.run(0.5)
    assert rig.app.keyboard.typed == []
    rig.replies()
    rig.run(1)
    rig.call(op="config_set", layout="off")
    rig.run(0.1)
    _double(rig)
    assert rig.app.keyboard.typed == []
    rig.call(op="config_set", layout="us")
    rig.rtc.lost = True  # the oscillator stopped: no code on screen
    rig.run(1.2)
    assert rig.code() == ""
    _double(rig)
    assert rig.app.keyboard.typed == []


def test_the_layout_as_a_person_types_it():
    from otpfob import settings as host_settings
    from otpfob.errors import InputError

    assert host_settings.parse("layout", " FR ") == "fr"
    assert host_settings.parse("enter", "on") is True
    with pytest.raises(InputError) as got:
        host_settings.parse("layout", "azerty")
    assert got.value.message == "layout must be off, us, de or fr."
