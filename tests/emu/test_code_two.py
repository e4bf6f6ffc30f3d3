"""Two consecutive codes (`otpfob code LABEL --two`, and what `otpfob aws`
sends): the token computes each at its own time; the host only waits for the
token's next period and never asks for a code of a time that has not come.

Checked against the emulated token: both codes equal pyotp's for two
adjacent periods of the token's clock, even with that clock well off this
computer's; HOTP gives the next two counters; a wait that overruns a whole
period starts again; a token whose clock stands still is given up on with
one sentence.
"""

from __future__ import annotations

import base64
import json
import time

import pyotp
import pytest

from otpfob.consecutive import two_codes
from otpfob.emu import leakscan
from otpfob.errors import TokenError
from otpfob.session import Session
from otpfob.transport import SerialTransport
from otpfob.uri import Account
from support.cli import Transcript, one_sentence

pytestmark = pytest.mark.emu


def set_time(tok, unix: float) -> None:
    """Set the token's clock as `otpfob time --set` does (a jump of the RTC alone would make it distrust its clock)."""
    tok.clock.run()
    with Session(SerialTransport(tok.port)) as s:
        s.time_set(int(unix))


@pytest.fixture
def tok(token):
    set_time(token, time.time())
    with Session(SerialTransport(token.port)) as s:
        s.wipe()
    return token


def end_of_period(offset: float, left: float = 1.5) -> float:
    """A token time `offset` s from this computer's, `left` s before one of the token's periods ends."""
    t = time.time() + offset
    return (int(t) // 30 + 1) * 30 - left


def add(tok, acct: Account) -> Account:
    with Session(SerialTransport(tok.port)) as s:
        s.add(acct)
    return acct


def info_of(s: Session, label: str):
    return next(a for a in s.list_accounts() if a.label == label)


@pytest.mark.parametrize("offset", [0, 3600, -86400 * 3])  # the token an hour ahead, three days behind
def test_two_codes_are_adjacent_periods_of_the_tokens_clock(tok, offset, rng):
    key = rng.randbytes(20)
    acct = add(tok, Account("two", key, issuer="AWS"))
    set_time(tok, end_of_period(offset))
    waits: list[int] = []
    with Session(SerialTransport(tok.port)) as s:
        pair = two_codes(s, info_of(s, acct.label), on_wait=waits.append)
    first, second = pair.first, pair.second
    assert second.time // 30 == first.time // 30 + 1
    totp = pyotp.TOTP(base64.b32encode(key).decode())
    assert (first.code, second.code) == (totp.at(first.time), totp.at(second.time))
    assert waits and max(waits) <= 2  # it waited for the token's period, not this computer's
    # Every code request named the account only: there is no way to ask for another time.
    sent = [
        json.loads(line) for line in tok.serial.input.splitlines() if b'"op": "code"' in line or b'"op":"code"' in line
    ]
    assert sent and all(set(r) <= {"v", "id", "op", "label", "issuer"} for r in sent)


def test_hotp_gives_the_next_two_counters(tok, rng):
    key = rng.randbytes(20)
    add(tok, Account("door", key, type="hotp", counter=41, digits=8, algorithm="sha256"))
    with Session(SerialTransport(tok.port)) as s:
        pair = two_codes(s, info_of(s, "door"))
    hotp = pyotp.HOTP(base64.b32encode(key).decode(), digits=8, digest="sha256")
    assert (pair.first.counter, pair.second.counter) == (41, 42)
    assert (pair.first.code, pair.second.code) == (hotp.at(41), hotp.at(42))


def test_a_wait_that_overruns_a_period_starts_again(tok, rng):
    key = rng.randbytes(20)
    add(tok, Account("slow", key))
    set_time(tok, end_of_period(0, left=1.0))
    firsts = []
    stalled = []

    def sleep(seconds: float) -> None:
        if not stalled:  # the first wait stalls past a whole period
            stalled.append(True)
            tok.clock.advance(86)  # into the last seconds of the period after next
        time.sleep(seconds)

    with Session(SerialTransport(tok.port)) as s:
        pair = two_codes(s, info_of(s, "slow"), on_first=firsts.append, sleep=sleep)
    assert len(firsts) == 2 and pair.first is firsts[1]
    assert pair.second.time // 30 == pair.first.time // 30 + 1
    totp = pyotp.TOTP(base64.b32encode(key).decode())
    assert (pair.first.code, pair.second.code) == (totp.at(pair.first.time), totp.at(pair.second.time))


def test_a_clock_that_stands_still_is_given_up_on(tok, rng):
    add(tok, Account("stuck", rng.randbytes(20)))
    tok.clock.freeze(end_of_period(0, left=0.5))
    with Session(SerialTransport(tok.port)) as s, pytest.raises(TokenError) as e:
        two_codes(s, info_of(s, "stuck"), sleep=lambda _s: time.sleep(0.05), clock=_fast_clock())
    one_sentence(e.value.message)
    assert "consecutive periods" in e.value.message


def _fast_clock():
    """A monotonic clock that runs 20 times fast (the stuck-clock test need not take minutes)."""
    start = time.monotonic()
    return lambda: start + (time.monotonic() - start) * 20


# -- through the CLI ------------------------------------------------------------------


def test_code_two_through_the_cli(tok, rng):
    key = rng.randbytes(40)
    otpfob = Transcript(tok.port)
    otpfob("provision", "--secret", base64.b32encode(key).decode(), "--label", "root@123456789012", "--issuer", "AWS")
    set_time(tok, end_of_period(0))
    before = tok.time()
    r = otpfob("code", "root@123456789012", "--two")
    lines = r.stdout.strip().splitlines()
    assert [line.split(":")[0] for line in lines] == ["Code 1", "Code 2"]
    c1, c2 = (line.split(": ")[1] for line in lines)
    totp = pyotp.TOTP(base64.b32encode(key).decode())
    step = int(before) // 30
    assert (c1, c2) == (totp.at(step * 30), totp.at((step + 1) * 30))
    assert "Waiting" in r.stderr
    assert not leakscan.find(otpfob.text.encode(), [key])


def test_code_two_refusals(tok):
    otpfob = Transcript(tok.port)
    r = otpfob("code", "--two", code=None)
    assert r.exit_code != 0 and "--two" in one_sentence(r.stderr)
    r = otpfob("code", "x", "--two", "--json", code=None)
    assert r.exit_code != 0 and "leave out --json." in one_sentence(r.stderr)  # only what was given
    r = otpfob("code", "x", "--two", "--json", "--single", code=None)
    assert r.exit_code != 0 and "leave out --single and --json." in one_sentence(r.stderr)
    r = otpfob("code", "nothing-here", "--two", code=None)
    assert r.exit_code != 0
    one_sentence(r.stderr)
