"""The firmware on the ESP32 boards (issue 20), checked without an ESP32: no
emulator for it can be had here.  Every `machine`/`esp32` name the firmware
uses is in the esp32 port's module tables (MicroPython 1.25 from Debian's
sources, unpacked by `make emulators`; tests/support/esp32_port.py reads
them), the whole firmware compiles for xtensawin, and the boards that sleep
in ESP32 light sleep wake on pins that ext0/ext1 can watch."""

from __future__ import annotations

import pytest

from conftest import ROOT, unavailable
from otpfob import paths
from support import esp32_port

FIRMWARE = ROOT / "firmware"
XTENSAWIN = 10  # MP_NATIVE_ARCH_XTENSAWIN, in the .mpy header's third byte
ESP32_SLEEPERS = sorted(n for n, d in paths.hardware_boards().items() if d.get("SLEEP") == "esp32-light")


@pytest.fixture(scope="module")
def esp32_source():
    from otpfob.emu.rp2 import build

    root = esp32_port.source_root(build.build_dir())
    if root is None:
        unavailable("MicroPython's source is not unpacked under build/rp2 (make emulators)")
    return root


@pytest.fixture(scope="module")
def port_names(esp32_source):
    return esp32_port.port_names(esp32_source)


def test_every_machine_and_esp32_name_the_firmware_uses_is_in_the_port(port_names):
    sources = {p.relative_to(ROOT).as_posix(): p.read_text() for p in sorted(FIRMWARE.rglob("*.py"))}
    uses = esp32_port.firmware_uses(sources)
    # The scan sees the ESP32 sleep path and the pins (or it proves nothing).
    for chain in (
        ("esp32", "wake_on_ext0"),
        ("esp32", "WAKEUP_ALL_LOW"),
        ("machine", "lightsleep"),
        ("machine", "I2C"),
    ):
        assert chain in uses, chain
    assert esp32_port.missing(uses, port_names) == []


def test_a_name_the_esp32_port_lacks_is_reported(port_names):
    # Names other ports have: machine.PinBase (compiled out on esp32 by its
    # config), Pin.ALT (rp2), esp32.wake_on_gpio (none), through each way the
    # scan follows a module.
    source = (
        "import machine\nimport esp32 as chip\nfrom machine import Pin\n"
        "machine.lightsleep()\nmachine.PinBase\nPin.ALT\nchip.wake_on_gpio\n"
        "if hasattr(machine, 'nosuch'):\n    Pin.IN\n"
    )
    found = esp32_port.missing(esp32_port.firmware_uses({"t.py": source}), port_names)
    assert found == [
        "esp32.wake_on_gpio (t.py:7)",
        "machine.Pin.ALT (t.py:6)",
        "machine.PinBase (t.py:5)",
        "machine.nosuch (t.py:8)",
    ]


def test_the_rtc_gpio_tables_are_the_ports(esp32_source):
    # The pins the board checks below accept are the ones wake_on_ext0/ext1
    # accept (anything else: ValueError "invalid pin").
    assert esp32_port.rtc_ext_pins(esp32_source) == esp32_port.RTC_GPIOS


def test_the_whole_firmware_compiles_for_xtensawin(tmp_path):
    from otpfob.devtools.qemu import compile_mpy

    files = sorted(FIRMWARE.rglob("*.py"))
    outs = compile_mpy(FIRMWARE, files, tmp_path, march="xtensawin")
    assert len(outs) == len(files) and (tmp_path / "main.mpy") in outs
    archs = {out.read_bytes()[2] >> 2 for out in outs}
    assert archs == {0, XTENSAWIN}  # bytecode, and the viper core as Xtensa code


def test_every_esp32_board_sleeps():
    esp32_boards = sorted(n for n, d in paths.hardware_boards().items() if d.get("PLATFORM") == "esp32")
    assert esp32_boards and ESP32_SLEEPERS == esp32_boards


@pytest.mark.parametrize("board", ESP32_SLEEPERS)
def test_an_esp32_board_wakes_on_rtc_gpios(board):
    assert esp32_port.board_problems(paths.board_data(board)) == []


def test_a_board_that_could_not_wake_is_refused():
    good = paths.board_data("esp32_devkitc")
    assert esp32_port.board_problems({**good, "BUTTON_PIN": 5}) == [
        "BUTTON_PIN 5 is not an RTC GPIO of the ESP32: ext0 cannot wake on it"
    ]
    s3 = paths.board_data("esp32s3_devkitc")
    assert esp32_port.board_problems({**s3, "VBUS_PIN": 27, "VSYS_ADC_PIN": 35, "VSYS_DIVIDER": 1}) == [
        "VBUS_PIN 27 is not an RTC GPIO of the ESP32S3: ext1 cannot wake on it",
        "VSYS_ADC_PIN 35 is not on the ESP32S3's ADC1",
        "a full battery through VSYS_DIVIDER 1 is above the ADC's 2450 mV",
    ]


def test_the_readme_battery_table_names_the_boards_pins():
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("\n## Battery") :].split("\n## ", 2)[1]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) == 4:
            rows[cells[0]] = dict(zip(["pico", "esp32_devkitc", "esp32s3_devkitc"], cells[1:], strict=True))
    for board in ("esp32_devkitc", "esp32s3_devkitc"):
        data = paths.board_data(board)
        assert f"GPIO{data['VBUS_PIN']}" in rows["USB power sensed (`VBUS_PIN`)"][board]
        assert f"GPIO{data['VSYS_ADC_PIN']}" in rows["battery voltage (`VSYS_ADC_PIN`)"][board]
    pico = paths.board_data("pico")
    assert f"GP{pico['VBUS_PIN']}" in rows["USB power sensed (`VBUS_PIN`)"]["pico"]
    assert f"VSYS/{pico['VSYS_DIVIDER']}" in rows["battery voltage (`VSYS_ADC_PIN`)"]["pico"]
