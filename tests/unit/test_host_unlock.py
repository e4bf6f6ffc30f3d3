"""The host does not feed a fake token (issue 22): it refuses an iteration
count below the floor (200,000, or what this token offered before) or far
above it, at once; the token proves that it holds the key before the host
answers anything; after unlock every request is sealed; the port is opened
with TIOCEXCL. Against a stand-in token on a real pty (host_fake_token)."""

from __future__ import annotations

import fcntl
import json
import os
import random
import stat
import struct
import time

import pytest

from conftest import SEED
from fob import proto
from otpfob import access
from otpfob.errors import TokenError
from otpfob.floors import IterationFloors
from otpfob.session import Session
from otpfob.transport import SerialTransport
from support.fake_token import FakeToken

# Random bytes from the run's seed, so OTPFOB_SEED replays them.
_RNG = random.Random(f"{SEED}:{__name__}")

PASSWORD = "sunshine42"
TIOCGEXCL = 0x80045440  # Linux: is TIOCEXCL set on this tty?


class GreedyToken(FakeToken):
    """A fake token: answers unlock step 1 with its own salt, challenge and
    iteration count, and a proof it cannot make (it has no key)."""

    def __init__(self, iterations: int) -> None:
        super().__init__()
        self.iterations = iterations

    def _handle(self, line: bytes) -> None:
        req = json.loads(line)
        self.requests.append(req)
        if req.get("op") == "info":
            reply = {
                "v": proto.VERSION,
                "id": req["id"],
                "ok": True,
                "version": "0",
                "proto": proto.VERSION,
                "board": "fake",
                "clock": "ok",
                "accounts": 1,
                "free": None,
                "access": True,
                "unlocked": False,
            }
        else:
            reply = {
                "v": proto.VERSION,
                "id": req["id"],
                "ok": True,
                "challenge": _RNG.randbytes(16).hex(),
                "salt": _RNG.randbytes(16).hex(),
                "iterations": self.iterations,
                "retry_ms": 0,
                "proof": _RNG.randbytes(32).hex(),
            }
        self._write((proto.REPLY_TAG + json.dumps(reply) + "\n").encode())


def answers(fake: FakeToken) -> list[dict]:
    return [r for r in fake.requests if "response" in r]


@pytest.mark.parametrize("iterations", [1000, 100_000, 199_999, 2_000_001, 100_000_000])
def test_an_iteration_count_out_of_bounds_is_refused_at_once(iterations):
    with GreedyToken(iterations) as fake, Session(SerialTransport(fake.port)) as s:
        started = time.monotonic()
        with pytest.raises(TokenError) as e:
            s.unlock(PASSWORD)
        took = time.monotonic() - started
        assert took < 0.5, took  # no PBKDF2 at all (10^8 rounds would take ~30 s)
        assert e.value.code == proto.E_AUTH
        assert str(e.value) == (
            f"The token asked for {iterations:,} PBKDF2 rounds, outside the 200,000 to 2,000,000 this otpfob"
            " accepts for it, so it may not be your token; nothing was sent to it."
        )
        assert answers(fake) == []


def test_a_token_that_cannot_prove_gets_no_answer():
    with GreedyToken(access.ITERATIONS) as fake, Session(SerialTransport(fake.port)) as s:
        with pytest.raises(TokenError) as e:
            s.unlock(PASSWORD)
        assert str(e.value) == "The access password is wrong, or this is not the token it was set on."
        assert answers(fake) == []  # nothing a guess could be checked against offline
        (step1,) = [r for r in fake.requests if r.get("op") == "unlock"]
        assert set(step1) == {"v", "id", "op", "host_challenge"}


def _protect(fake: FakeToken, iterations: int, salt: bytes | None = None) -> bytes:
    salt = salt or _RNG.randbytes(16)
    fake.server.access.set(access.derive_key(PASSWORD, salt, iterations), salt, iterations)
    return salt


def test_the_floor_is_remembered_per_token(tmp_path):
    floors = IterationFloors(tmp_path / "state" / "iterations.json")
    with FakeToken() as real:
        salt = _protect(real, 400_000)
        with Session(SerialTransport(real.port), floors=floors) as s:
            s.unlock(PASSWORD)
            s.lock()
    assert floors.floor(salt) == 400_000
    assert stat.S_IMODE(os.stat(floors.path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(floors.path.parent).st_mode) == 0o700
    # Something that answers with the same salt but asks for less now is refused.
    with FakeToken() as fake:
        _protect(fake, access.ITERATIONS, salt)
        with Session(SerialTransport(fake.port), floors=floors) as s, pytest.raises(TokenError) as e:
            s.unlock(PASSWORD)
        assert "400,000 to 2,000,000" in str(e.value)
        assert answers(fake) == []
    assert floors.floor(_RNG.randbytes(16)) == 0  # another token: the global floor only


def test_every_request_after_unlock_is_sealed_and_the_port_is_exclusive():
    with FakeToken() as real:
        _protect(real, access.ITERATIONS)
        real.server.store.add("a", "", b"k" * 20, "sha1", 6, 30, False, 0, False)
        with Session(SerialTransport(real.port)) as s:
            s.info()
            fd = s.transport._serial.fileno()  # type: ignore[attr-defined]
            assert struct.unpack("i", fcntl.ioctl(fd, TIOCGEXCL, b"\0" * 4))[0] == 1
            s.unlock(PASSWORD)
            before = len(real.requests)
            assert [a.label for a in s.list_accounts()] == ["a"]
            s.info()
            s.lock()
            after = real.requests[before:]
            assert [r["op"] for r in after] == ["list", "info", "lock"]
            assert all("mac" in r for r in after)
            assert [r["n"] for r in after] == [1, 2, 3]
            # The seal is gone with the session: the next request goes plain.
            s.info()
            assert "mac" not in real.requests[-1]
