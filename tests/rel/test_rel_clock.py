"""Clock faults on the emulated DS3231, seen as a person sees them: on the
token's screen and through the real `otpfob` command line.

(tests/emu/test_token_clock.py covers OSF on a new part, a missing RTC and a
burst of bus faults; this file adds the battery, jumps by hours while
running, a jump across a restart, and faults aimed at the RTC's reads.)
"""

from __future__ import annotations

import subprocess
import sys
import time

import pyotp
import pytest
from click.testing import CliRunner

from conftest import record_cases
from fob import proto
from otpfob import cli, paths
from otpfob.emu.testing import ProtocolClient, grouped, random_secret, screen_code
from otpfob.errors import EXIT_CLOCK

pytestmark = pytest.mark.emu

REPO = paths.REPO
RTC = 0x68


def otpfob(tok, *args) -> tuple[int, str, str]:
    r = CliRunner().invoke(cli.main, ["--port", tok.port, *args])
    return r.exit_code, r.stdout, r.stderr


@pytest.fixture
def running(make_token):
    """A token whose DS3231 runs on the host's time, with one account."""
    tok = make_token(rtc_set=True)
    client = ProtocolClient(tok.port)
    secret = random_secret()
    client.call("add", label="acct", issuer="Clock", secret=secret)
    tok.wait_for_screen(lambda t: screen_code(t) is not None)
    yield tok, client, secret
    client.close()


def no_code_and_set_hint(tok, words: str) -> str:
    # The whole message: a redraw goes out page by page (only what changed).
    text = tok.wait_for_screen(lambda t: words in t and "--set" in t, timeout=10)
    assert screen_code(text) is None
    assert "otpfob time" in text and "--set" in text, text
    return text


def test_battery_gone_while_off_and_while_running(running):
    tok, client, secret = running
    # While off: both supplies lost, the oscillator stopped (OSF set).
    tok.power_cut()
    tok.rtc.battery_removed()
    tok.restart()
    client.wait_ready()
    no_code_and_set_hint(tok, "Clock not set")
    assert client.call("info")["clock"] == proto.CLOCK_UNSET
    assert client.request("code", label="acct", issuer="Clock")["err"] == proto.E_CLOCK
    code, out, err = otpfob(tok, "info")
    assert code == 0 and "not set, codes withheld; run `otpfob time --set`" in out
    code, out, err = otpfob(tok, "code", "acct")
    # One warning line, no code, exit 3 (services would refuse: there is none).
    assert code == EXIT_CLOCK and "otpfob time --set" in err and "Traceback" not in err
    assert err.count("\n") == 1 and "acct" in out and "[no code]" in out
    code, out, err = otpfob(tok, "time", "--set")  # a stopped clock needs no --force
    assert code == 0, err
    text = tok.wait_for_screen(lambda t: screen_code(t) is not None)
    assert screen_code(text) in {grouped(pyotp.TOTP(secret).at(int(tok.time()) + d)) for d in (-1, 0)}
    # While running: the same, seen by the display loop.
    tok.rtc.battery_removed()
    no_code_and_set_hint(tok, "Clock not set")
    assert client.call("info")["clock"] == proto.CLOCK_UNSET


@pytest.mark.parametrize("hours", [-5, 3])
def test_jump_by_hours_while_running_is_reported_and_withheld_until_set(running, hours):
    tok, client, secret = running
    tok.clock.advance(hours * 3600)
    no_code_and_set_hint(tok, "Clock jumped")
    assert client.request("code", label="acct", issuer="Clock")["err"] == proto.E_CLOCK
    # `otpfob info`, as a real process: the jump and what to do.
    p = subprocess.run(
        [sys.executable, "-m", "otpfob", "--port", tok.port, "info"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )
    assert p.returncode == 0, p.stderr
    line = next(x for x in p.stdout.splitlines() if x.startswith("Clock:"))
    jump = int(line.split("jumped by ")[1].split(" s")[0])
    assert abs(jump - hours * 3600) <= 2, line
    assert "codes withheld" in line and "otpfob time --set" in line
    # The token knows its clock is wrong: --set puts it right without --force.
    code, out, err = otpfob(tok, "time", "--set")
    assert code == 0, err
    assert abs(tok.time() - time.time()) < 2
    text = tok.wait_for_screen(lambda t: screen_code(t) is not None)
    assert screen_code(text) in {grouped(pyotp.TOTP(secret).at(int(tok.time()) + d)) for d in (-1, 0)}
    assert client.call("info")["clock"] == proto.CLOCK_OK


def test_a_jump_is_remembered_across_a_restart(running):
    """Power-cycling is what a user tries first: it must not make a jumped
    clock trusted again (the jump is kept on flash until `time --set`)."""
    tok, client, secret = running
    tok.clock.advance(-2 * 3600)
    no_code_and_set_hint(tok, "Clock jumped")
    for _ in range(2):
        tok.power_cut()
        tok.restart()
        client.wait_ready()
        info = client.call("info")
        assert info["clock"] == proto.CLOCK_JUMPED and abs(info["clock_jump"] + 7200) <= 2, info
        no_code_and_set_hint(tok, "Clock jumped")
        assert client.request("code", label="acct", issuer="Clock")["err"] == proto.E_CLOCK
    code, out, err = otpfob(tok, "time", "--set")
    assert code == 0, err
    tok.power_cut()
    tok.restart()
    client.wait_ready()
    assert client.call("info")["clock"] == proto.CLOCK_OK
    tok.wait_for_screen(lambda t: screen_code(t) is not None)


def test_time_passing_while_off_is_not_a_jump(running):
    """A month on a shelf (the RTC on its battery) is normal: codes at the new time."""
    tok, client, secret = running
    tok.power_cut()
    tok.clock.advance(30 * 86400)
    tok.restart()
    client.wait_ready()
    assert client.call("info")["clock"] == proto.CLOCK_OK
    r = client.call("code", label="acct", issuer="Clock")
    assert r["code"] == pyotp.TOTP(secret).at(r["time"]) and abs(r["time"] - tok.time()) <= 2


def test_bus_errors_mid_read_are_retried_then_reported(running):
    tok, client, secret = running
    reads = 0
    # One or two failed transfers in a read: retried, nobody notices.
    for n in (1, 2, 1, 2, 1, 2, 1, 2):
        tok.i2c.inject_faults(n, addr=RTC)
        deadline = time.monotonic() + 3
        while tok.i2c.pending_faults and time.monotonic() < deadline:
            time.sleep(0.01)
        assert tok.i2c.pending_faults == 0
        assert client.call("info")["clock"] == proto.CLOCK_OK
        reads += 1
    assert screen_code(tok.screen_text()) is not None
    # A bus that keeps failing: no code, a clear message, and the serial answers.
    tok.i2c.inject_faults(10**9, addr=RTC)
    text = tok.wait_for_screen(lambda t: "RTC missing" in t)
    assert screen_code(text) is None
    assert client.call("info")["clock"] == proto.CLOCK_MISSING
    assert client.request("code", label="acct", issuer="Clock")["err"] == proto.E_CLOCK
    code, out, err = otpfob(tok, "info")
    assert code == 0 and "no RTC answers; check its wiring" in out
    code, out, err = otpfob(tok, "time", "--set")
    assert code == 1 and err.strip().endswith(".") and "\n" not in err.strip() and "Traceback" not in err
    # The fault clears: the token reads its clock again by itself.
    tok.i2c.inject_faults(0)
    tok.wait_for_screen(lambda t: screen_code(t) is not None, timeout=8)
    assert client.call("info")["clock"] == proto.CLOCK_OK
    assert tok.running and tok.stderr_log == b""
    record_cases("clock-faults", reads + 1)
