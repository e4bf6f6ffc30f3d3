"""End to end: no code while the clock is unset or untrusted, and a clear
message (with the serial still answering) when the RTC is missing or the
bus glitches."""

import time

import pyotp
import pytest

from fob import proto
from otpfob.emu.testing import ProtocolClient, grouped, random_secret, screen_code

pytestmark = pytest.mark.emu

T0 = 1_800_000_015


@pytest.fixture
def fresh(make_token):
    """A token as built: the DS3231 has just had its first power (OSF set)."""
    tok = make_token(freeze=T0)
    client = ProtocolClient(tok.port)
    yield tok, client
    client.close()


def test_unset_clock_shows_no_code_until_set_then_osf_hides_it_again(fresh):
    tok, client = fresh
    secret = random_secret()
    client.call("add", label="acct", secret=secret)
    text = tok.wait_for_screen(lambda t: "Clock not set" in t)
    assert screen_code(text) is None
    assert client.call("info")["clock"] == proto.CLOCK_UNSET
    assert client.request("code", label="acct")["err"] == proto.E_CLOCK

    client.call("time_set", time=T0)
    assert not tok.rtc.osf  # the firmware cleared the oscillator-stop flag
    text = tok.wait_for_screen(lambda t: screen_code(t) is not None)
    assert screen_code(text) == grouped(pyotp.TOTP(secret).at(T0))

    tok.rtc.set_osf()  # the oscillator stopped (battery ran flat)
    text = tok.wait_for_screen(lambda t: "Clock not set" in t, timeout=5)
    assert screen_code(text) is None
    assert client.request("code", label="acct")["err"] == proto.E_CLOCK


def test_missing_rtc_shows_a_message_and_the_serial_still_answers(make_token):
    tok = make_token(rtc_set=True, before_start=lambda t: t.remove_part("ds3231"))
    with ProtocolClient(tok.port) as client:
        info = client.wait_ready()
        assert info["clock"] == proto.CLOCK_MISSING
        client.call("add", label="acct", secret=random_secret())
        assert [a["label"] for a in client.call("list")["accounts"]] == ["acct"]
        text = tok.wait_for_screen(lambda t: "RTC missing" in t)
        assert screen_code(text) is None
        # Solder it back: the firmware retries it and shows codes again.
        tok.add_part("ds3231")
        tok.wait_for_screen(lambda t: screen_code(t) is not None, timeout=8)
        assert client.call("info")["clock"] == proto.CLOCK_OK


def test_rtc_lost_while_running_and_bus_faults_do_not_stop_the_token(make_token):
    tok = make_token(rtc_set=True)
    with ProtocolClient(tok.port) as client:
        secret = random_secret()
        client.call("add", label="acct", secret=secret)
        tok.wait_for_screen(lambda t: screen_code(t) is not None)
        tok.remove_part("ds3231")
        text = tok.wait_for_screen(lambda t: "RTC missing" in t)
        assert screen_code(text) is None
        assert client.call("info")["clock"] == proto.CLOCK_MISSING
        tok.add_part("ds3231")
        tok.wait_for_screen(lambda t: screen_code(t) is not None, timeout=8)
        # A burst of failed transactions (any part): the token recovers
        # and shows the right code for a time set after the burst.
        tok.i2c.inject_faults(20)
        deadline = time.monotonic() + 10
        while tok.i2c.pending_faults and time.monotonic() < deadline:
            time.sleep(0.05)
        assert tok.i2c.pending_faults == 0
        later = int(tok.clock.now()) + 60  # within the firmware's jump tolerance
        tok.clock.freeze(later)
        want = grouped(pyotp.TOTP(secret).at(later))
        tok.wait_for_screen(lambda t: screen_code(t) == want, timeout=15)
        assert client.call("list")["accounts"][0]["label"] == "acct"
        assert tok.running
