"""Port discovery from pyserial's list_ports data."""

from __future__ import annotations

import pytest
from serial.tools.list_ports_common import ListPortInfo

from otpfob import discover
from otpfob.errors import TransportError


def port(device, vid=None, pid=None):
    p = ListPortInfo(device, skip_link_detection=True)
    p.vid, p.pid = vid, pid
    return p


PICO = port("/dev/ttyACM0", 0x2E8A, 0x0005)
S3 = port("/dev/ttyACM1", 0x303A, 0x4001)
CP2102 = port("/dev/ttyUSB0", 0x10C4, 0xEA60)
CH340 = port("/dev/ttyUSB1", 0x1A86, 0x7523)
CH9102 = port("/dev/ttyUSB2", 0x1A86, 0x55D4)
MOUSE = port("/dev/ttyS0")
FTDI = port("/dev/ttyUSB9", 0x0403, 0x6001)


@pytest.mark.parametrize("p", [PICO, S3, CP2102, CH340, CH9102])
def test_one_known_board_is_picked(p):
    assert discover.find_port([MOUSE, FTDI, p]) == p.device


def test_none_found_says_what_to_do():
    with pytest.raises(TransportError) as info:
        discover.find_port([MOUSE, FTDI])
    assert "--port" in str(info.value) and str(info.value).endswith(".")


def test_several_are_listed():
    with pytest.raises(TransportError) as info:
        discover.find_port([CH340, PICO, MOUSE])
    msg = str(info.value)
    assert "/dev/ttyACM0" in msg and "/dev/ttyUSB1" in msg and "--port" in msg
    assert "\n" not in msg


def test_real_list_ports_runs():
    # Whatever this machine has, the call works and returns only known boards.
    for c in discover.candidates():
        assert c.kind
