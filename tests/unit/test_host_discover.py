"""Port discovery from pyserial's list_ports data."""

from __future__ import annotations

import json
import os
import stat
import tempfile
from pathlib import Path

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


# -- the announcement folder must be private (issue 22) ----------------------------


def _announce(folder, port):
    (folder / "sim-1.json").write_text(json.dumps({"port": port, "pid": os.getpid(), "board": "sim"}))


@pytest.mark.parametrize("mode", [0o755, 0o777, 0o710, 0o701])
def test_an_announcement_folder_others_can_use_is_refused(tmp_path, monkeypatch, mode):
    folder = tmp_path / "run"
    folder.mkdir()
    _announce(folder, "/dev/null")  # a planted announcement: any existing path will do
    folder.chmod(mode)
    monkeypatch.setenv(discover.RUNTIME_ENV, str(folder))
    for call in (discover.running_sims, discover.find_port, lambda: discover.advertise("/dev/pts/9")):
        with pytest.raises(TransportError) as e:
            call()
        assert str(e.value) == (
            f"The folder {folder}, where `otpfob sim` announces its port, is not private to you (owned by another"
            " user, open to others or not a folder); remove it, or set OTPFOB_RUNTIME_DIR to a folder only you"
            " can use (mode 0700)."
        )


def test_an_announcement_folder_owned_by_someone_else_is_refused(tmp_path, monkeypatch):
    folder = tmp_path / "run"
    folder.mkdir(mode=0o700)
    _announce(folder, "/dev/null")
    monkeypatch.setenv(discover.RUNTIME_ENV, str(folder))
    assert [c.device for c in discover.running_sims()] == ["/dev/null"]  # private: used
    if os.getuid() == 0:
        os.chown(folder, 65534, 65534)
    else:  # not root: someone else's folder is one we cannot chown; point at /tmp's sticky root instead
        folder = Path(tempfile.gettempdir())
        monkeypatch.setenv(discover.RUNTIME_ENV, str(folder))
    with pytest.raises(TransportError):
        discover.running_sims()


def test_a_symlink_is_not_a_private_folder(tmp_path, monkeypatch):
    real = tmp_path / "real"
    real.mkdir(mode=0o700)
    (tmp_path / "link").symlink_to(real)
    monkeypatch.setenv(discover.RUNTIME_ENV, str(tmp_path / "link"))
    with pytest.raises(TransportError):
        discover.running_sims()


def test_the_private_temp_folder_is_made_private(tmp_path, monkeypatch):
    folder = tmp_path / "fresh" / "run"
    monkeypatch.setenv(discover.RUNTIME_ENV, str(folder))
    path = discover.advertise("/dev/null")
    assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
    discover.withdraw(path)
