"""simlink (inside MicroPython) <-> the parent's part models, and the pty.

Runs a small MicroPython program of its own instead of the firmware, so the
emulator's plumbing is tested on its own: bus errors as MicroPython raises
them, the button pin, the serial relay and its log, power cuts."""

import json
import textwrap
import time

import pytest
import serial

pytestmark = pytest.mark.emu

BOARD = textwrap.dedent("""
    NAME = "sim"; BUS = "sim"; BUTTON_PIN = 7
    RTC = "ds3231"; RTC_ADDR = 0x68; DISPLAY_W = 128; DISPLAY_H = 32; DISPLAY_ADDR = 0x3C
""")

# Answers one JSON command per line with the result of an I2C/pin call.
PROGRAM = textwrap.dedent("""
    import sys, json, simlink
    i2c = simlink.I2C()
    pin = simlink.Pin(7)
    print("boot")
    while True:
        line = sys.stdin.readline()
        cmd = json.loads(line)
        op = cmd["op"]
        try:
            if op == "scan":
                out = i2c.scan()
            elif op == "regs":
                buf = bytearray(cmd["n"])
                i2c.readfrom_mem_into(cmd["addr"], cmd["reg"], buf)
                out = list(buf)
            elif op == "write":
                out = i2c.writeto(cmd["addr"], bytes(cmd["data"]))
            elif op == "writevto":
                out = i2c.writevto(cmd["addr"], [bytes(d) for d in cmd["data"]])
            elif op == "mem":
                i2c.writeto_mem(cmd["addr"], cmd["reg"], bytes(cmd["data"]))
                out = None
            elif op == "pin":
                out = pin.value()
        except OSError as e:
            out = {"errno": e.args[0]}
        print("#r " + json.dumps(out))
""")


@pytest.fixture
def token(tmp_path, make_token):
    fw = tmp_path / "fw"
    fw.mkdir()
    (fw / "main.py").write_text(PROGRAM)
    (tmp_path / "board.py").write_text(BOARD)
    # Not the firmware: a probe program that never answers `info`.
    return make_token(firmware_dir=fw, board_file=tmp_path / "board.py", freeze=1_800_000_000, ready=False)


@pytest.fixture
def port(token):
    s = serial.Serial(token.port, 115200, timeout=5)
    yield s
    s.close()


def ask(port, **cmd):
    port.write(json.dumps(cmd).encode() + b"\n")
    while True:
        line = port.readline()
        assert line, "no answer"
        if line.startswith(b"#r "):
            return json.loads(line[3:])


def test_bus_requests_reach_the_models_and_errors_are_oserrors(token, port):
    assert ask(port, op="scan") == [0x3C, 0x68]
    regs = ask(port, op="regs", addr=0x68, reg=0, n=7)
    t = time.gmtime(1_800_000_000)
    bcd = [int(str(v), 16) for v in (t.tm_sec, t.tm_min, t.tm_hour, t.tm_mday, t.tm_mon, t.tm_year % 100)]
    assert regs[:3] + regs[4:] == bcd
    assert ask(port, op="write", addr=0x3C, data=[0x80, 0xAF]) == 2
    assert token.oled.display_on
    assert ask(port, op="writevto", addr=0x3C, data=[[0x00], [0x81, 0x20]]) == 3
    assert token.oled.contrast == 0x20
    ask(port, op="mem", addr=0x68, reg=0x10, data=[0x33])
    assert token.rtc.regs[0x10] == 0x33
    # No device: MicroPython's ENODEV; an injected glitch: EIO, then fine.
    assert ask(port, op="regs", addr=0x50, reg=0, n=1) == {"errno": 19}
    token.remove_part("ds3231")
    assert ask(port, op="scan") == [0x3C]
    assert ask(port, op="regs", addr=0x68, reg=0, n=1) == {"errno": 19}
    token.add_part("ds3231")
    token.i2c.inject_faults(1)
    assert ask(port, op="regs", addr=0x68, reg=0x10, n=1) == {"errno": 5}
    assert ask(port, op="regs", addr=0x68, reg=0x10, n=1) == [0x33]


def test_button_pin_is_active_low(token, port):
    assert ask(port, op="pin") == 1
    token.button_down()
    assert ask(port, op="pin") == 0
    token.button_up()
    assert ask(port, op="pin") == 1


def test_serial_log_and_power_cut_keep_the_pty(token, port):
    assert ask(port, op="scan")
    assert b"boot\n" in token.serial_log and b"#r [60, 104]" in token.serial_log
    path = token.port
    token.power_cut()
    assert not token.running
    port.write(b'{"op": "scan"}\n')  # sent while the power is off: lost
    time.sleep(0.2)
    token.restart()
    assert token.port == path
    assert port.readline() == b"boot\n"  # the same open port sees the new boot
    assert ask(port, op="pin") == 1
    assert token.serial_log.count(b"boot\n") == 2


def test_the_display_is_dark_after_a_power_cut(token, port):
    assert ask(port, op="write", addr=0x3C, data=[0x00, 0x8D, 0x14, 0xAF]) == 4
    assert token.display_on
    token.power_cut()
    assert not token.display_on
