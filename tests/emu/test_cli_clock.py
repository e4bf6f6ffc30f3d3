"""The command line on the token's clock: honest warnings from `code` and
`list`, the clock history in `otpfob time` (text and --json), `time --set`'s
fine sync (emulated token, real CLI in-process)."""

from __future__ import annotations

import base64
import json
import random
import time

import pyotp
import pytest
from click.testing import CliRunner

from conftest import SEED
from fob import proto
from otpfob import cli
from otpfob.emu.testing import ProtocolClient
from otpfob.errors import EXIT_CLOCK, EXIT_OK

# Random bytes from the run's seed, so OTPFOB_SEED replays them.
_RNG = random.Random(f"{SEED}:{__name__}")

pytestmark = pytest.mark.emu

DAY = 86400


def run(tok, *args: str, code: int = EXIT_OK):
    r = CliRunner().invoke(cli.main, ["--port", tok.port, *args])
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    assert r.exit_code == code, (args, r.exit_code, r.stdout, r.stderr)
    assert "Traceback" not in r.stdout + r.stderr
    return r


def provision(tok) -> str:
    secret = base64.b32encode(_RNG.randbytes(20)).decode().rstrip("=")
    run(tok, "provision", "--secret", secret, "--label", "clockcheck")
    return secret


def move_while_off(tok, seconds: float) -> None:
    """The token's RTC set off by ``seconds`` while it is off (no running jump)."""
    tok.power_cut()
    tok.clock.set(time.time() + seconds)
    tok.restart()
    tok.wait_ready()


def test_code_exits_3_with_a_warning_600_s_slow_and_0_in_step(make_token):
    tok = make_token(rtc_set=True)
    secret = provision(tok)
    r = run(tok, "code", "-s", "clockcheck")
    assert r.stderr == "" and r.stdout.strip() in {pyotp.TOTP(secret).at(time.time() + d) for d in (-30, 0, 30)}
    move_while_off(tok, -600)
    r = run(tok, "code", "-s", "clockcheck", code=EXIT_CLOCK)
    warning = r.stderr.strip()
    assert "\n" not in warning and warning.startswith("Warning:")
    assert "behind this computer" in warning and "otpfob time --set" in warning
    slow = time.time() - 600
    assert r.stdout.strip() in {pyotp.TOTP(secret).at(slow + d) for d in (-30, 0, 30)}
    r = run(tok, "list")  # list warns too, and still lists
    assert "clockcheck" in r.stdout and r.stderr.strip().startswith("Warning:") and "\n" not in r.stderr.strip()
    r = run(tok, "code", "--json", code=EXIT_CLOCK)
    assert json.loads(r.stdout)["accounts"][0]["code"] is not None
    assert "--force" in warning  # 600 s is past the 5 minutes --set moves alone
    run(tok, "time", "--set", "--force")
    r = run(tok, "code", "-s", "clockcheck")
    assert r.stderr == ""


def test_code_on_an_unset_clock_exits_3_without_a_code(make_token):
    tok = make_token(rtc_set=True)
    provision(tok)
    tok.power_cut()
    tok.rtc.battery_removed()
    tok.restart()
    tok.wait_ready()
    r = run(tok, "code", "-s", "clockcheck", code=EXIT_CLOCK)
    assert r.stdout == "" and "not set" in r.stderr and r.stderr.count("\n") == 1
    r = run(tok, "code", code=EXIT_CLOCK)
    assert "[no code]" in r.stdout


def test_forward_and_back_shows_in_time_and_json(make_token):
    tok = make_token(rtc_set=True)
    now = int(time.time())
    with ProtocolClient(tok.port) as c:
        fwd = c.call("time_set", time=now + DAY)
        assert fwd["ok"]
        assert c.call("time_set", time=int(time.time()))["ok"]
        assert c.call("info")["clock_moves"] == 2
    r = run(tok, "info")
    assert "Clock moves: 2 since" in r.stdout
    r = run(tok, "time")
    assert "Warning: the clock was set forward" in r.stdout and "#0" in r.stdout and "#1" in r.stdout
    assert "2 new since last read" in r.stdout
    r = run(tok, "time", "--json")
    out = json.loads(r.stdout)
    assert out["taken_back"] == [[0, 1]]
    assert [e["kind"] for e in out["history"]] == ["set", "set"]
    assert abs(out["history"][0]["new"] - (now + DAY)) <= 1
    assert out["moves_unread"] == 0  # the text run read it
    assert "Clock moves" not in run(tok, "info").stdout


def test_time_set_syncs_on_the_second(make_token):
    tok = make_token(rtc_set=True)
    move_while_off(tok, 7.6)
    r = run(tok, "time", "--set", "--json")
    out = json.loads(r.stdout)
    assert out["set"] is True and abs(out["offset_ms"] - 7600) < 100
    # On the Unix port the host's and the token's timing is the OS scheduler's
    # (two shared cores): on the second, not to 50 ms; tests/rp2/test_rp2_clock.py
    # measures the precision in emulated time.
    assert abs(tok.clock.now() - time.time()) < 0.4
    assert out["history"][-1]["fine"] is True and out["history"][-1]["kind"] == "set"
    r = run(tok, "time", "--set")
    assert "on the second" in r.stdout and "No drift learnt" in r.stdout
    assert proto.CLOCK_OK == json.loads(run(tok, "time", "--json").stdout)["clock"]
