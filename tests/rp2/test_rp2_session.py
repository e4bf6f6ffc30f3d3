"""The unlocked session on the emulated Pico (issue 22): the rp2 port's own
USB CDC, the firmware's real main loop, emulated time. A second program on
the same pty gets nothing and ends the owner's session; garbage lines do not
keep a session alive past 60 s of emulated idle time; sealed requests do."""

from __future__ import annotations

import json
import os
import random
import stat

import pytest
import serial

from conftest import RP2_LANE_A, SEED
from fob import proto
from otpfob.emu.testing import ProtocolClient, random_secret
from otpfob.errors import TokenError
from otpfob.session import Session
from otpfob.transport import SerialTransport

# Random bytes from the run's seed, so OTPFOB_SEED replays them.
_RNG = random.Random(f"{SEED}:{__name__}")

pytestmark = [pytest.mark.rp2, RP2_LANE_A]  # in lane A for the lanes' balance (CI time)

PASSWORD = "rp2 session password"
ENDED = "The token ended this command's unlocked session"


def reply(pico, rid: int) -> dict:
    """The token's reply with this id, from its serial log."""
    tag = proto.REPLY_TAG.encode()
    for line in pico.serial_log.split(b"\n"):
        if line.startswith(tag):
            r = json.loads(line[len(tag) :])
            if r.get("id") == rid:
                return r
    raise AssertionError("no reply %d" % rid)


def owner(pico) -> Session:
    # A cheap password (1,000 rounds) to keep the test quick: the floor lowered to match.
    return Session(SerialTransport(pico.port, timeout=10), min_iterations=1000)


def test_the_session_belongs_to_its_owner(make_pico):
    pico = make_pico(ready=False)
    pico.wait_ready(240)  # generous: the emulator slows down on a loaded machine
    # Its flash image holds the secrets: the owner's only (0700 folder, 0600 file).
    assert stat.S_IMODE(os.stat(pico.flash).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(pico.image).st_mode) == 0o600
    with ProtocolClient(pico.port, timeout=10) as c:
        c.call("add", label="alpha", secret=random_secret())
    with owner(pico) as s:
        s.set_access(PASSWORD, iterations=1000)  # leaves s unlocked (a session of its own)
        assert [a.label for a in s.list_accounts()] == ["alpha"]
        # A second program opens the same pty (root is not bound by TIOCEXCL).
        with serial.Serial(pico.port, 115200, timeout=0.2) as other:
            other.write(b'{"v":%d,"id":77,"op":"list"}\n' % proto.VERSION)
        with pytest.raises(TokenError) as e:
            s.list_accounts()  # the unsealed list ended the session
        assert str(e.value).startswith(ENDED)
        assert reply(pico, 77)["err"] == proto.E_LOCKED

        # Garbage and unsealed lines every 25 s of emulated time: the
        # session still ends 60 s after the last sealed request.
        s.unlock(PASSWORD)
        s.time_get()
        with ProtocolClient(pico.port, timeout=10) as c:
            for _ in range(3):
                pico.advance(25)
                assert c.raw(b"\xff" + _RNG.randbytes(40).replace(b"\n", b"") + b"\n")["err"] == proto.E_FRAME
                assert c.request("info")["unlocked"] is False
        with pytest.raises(TokenError) as e:
            s.list_accounts()
        assert str(e.value).startswith(ENDED)

        # Sealed requests every 50 s keep it.
        s.unlock(PASSWORD)
        for _ in range(3):
            pico.advance(50)
            s.time_get()
        assert [a.label for a in s.list_accounts()] == ["alpha"]
        s.lock()
    with ProtocolClient(pico.port, timeout=10) as c:
        assert c.request("list")["err"] == proto.E_LOCKED
