"""On battery, on the Unix-port token (issue 20): the token sleeps once its
screen blanks (the simlink supply model records each sleep), the press that
wakes it shows pyotp's code for the DS3231's time at once, USB power wakes
it, and below the critical voltage nothing is written.  The same firmware
path on the emulated Pico (dormant, in emulated time): tests/rp2/test_rp2_battery.py."""

import time

import pyotp
import pytest

from otpfob.emu.testing import ProtocolClient, grouped, random_secret, screen_code
from otpfob.emu.token import POWER_BOARD

pytestmark = pytest.mark.emu

T0 = 1_795_000_000
# On the supply model; a blank long enough to read the screen between two sleeps.
BOARD = {**POWER_BOARD, "BLANK_MS": 4000}


def _wait(cond, timeout=10.0):
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise TimeoutError("the token never got there")
        time.sleep(0.02)


@pytest.fixture
def on_battery(make_token):
    """A token with two TOTP accounts, on a LiPo at 3.9 V, USB unplugged,
    its clock frozen (a still screen); the secrets come with it."""

    def make(mv=3900, **kwargs):
        tok = make_token(rtc_set=True, freeze=T0, board_overrides=BOARD, **kwargs)
        secrets = [random_secret(), random_secret()]
        with ProtocolClient(tok.port) as c:
            for n, s in enumerate(secrets):
                c.call("add", label="acct%d" % n, secret=s)
        tok.set_battery_mv(mv)
        tok.set_usb(False)
        return tok, secrets

    return make


def test_asleep_after_the_blank_and_a_press_a_month_later_shows_the_code(on_battery):
    tok, secrets = on_battery()
    _wait(lambda: tok.supply.asleep)
    assert not tok.oled.display_on and not tok.oled.charge_pump  # panel and charge pump off
    for days in (1, 30):
        t = T0 + days * 86400
        tok.clock.freeze(t)
        tok.button_down()
        text = tok.wait_for_screen(lambda s: screen_code(s) is not None)
        assert screen_code(text) == grouped(pyotp.TOTP(secrets[0]).at(t))  # the clock is trusted
        assert "1/2" in text.splitlines()[0]
        tok.button_up()
        time.sleep(0.3)
        # The wake press was the first press: its release moved nowhere.
        assert "1/2" in tok.screen_text().splitlines()[0]
        _wait(lambda: tok.supply.asleep)
    with ProtocolClient(tok.port) as c:
        assert c.call("info")["clock"] == "ok"


def test_usb_power_wakes_it_and_keeps_it_awake(on_battery):
    tok, _ = on_battery()
    _wait(lambda: tok.supply.asleep)
    n = len(tok.supply.sleeps)
    tok.set_usb(True)
    _wait(lambda: not tok.supply.asleep)
    with ProtocolClient(tok.port) as c:
        info = c.call("info")
    assert info["power"] == "usb" and info["battery_mv"] is None and info["battery"] is None
    time.sleep(5)  # past the blank: on USB it never sleeps
    assert len(tok.supply.sleeps) == n and not tok.supply.asleep


def test_no_sleep_while_the_button_is_held(on_battery):
    tok, _ = on_battery()
    tok.button_down()
    time.sleep(5)  # past the blank timeout, held all along
    assert not tok.supply.sleeps
    tok.button_up()
    _wait(lambda: tok.supply.asleep)


def test_hotp_long_press_from_sleep_gives_the_next_code(on_battery):
    tok, _ = on_battery()
    secret = random_secret()
    with ProtocolClient(tok.port) as c:
        c.call("wipe")
        c.call("add", label="hotp", secret=secret, type="hotp", counter=7)
    tok.press()  # the add woke nothing; let it blank from here
    _wait(lambda: tok.supply.asleep)
    tok.button_down()
    text = tok.wait_for_screen(lambda s: screen_code(s) is not None)  # held past the long press
    tok.button_up()
    assert screen_code(text) == grouped(pyotp.HOTP(secret).at(7))
    tok.set_usb(True)
    with ProtocolClient(tok.port) as c:
        assert c.call("code", label="hotp", issuer="")["counter"] == 8  # 7 was used, once


def test_low_battery_warns_under_the_code(on_battery):
    tok, secrets = on_battery(mv=3350)
    _wait(lambda: tok.supply.asleep)
    tok.press()  # the wake press: the first account, at once
    text = tok.wait_for_screen(lambda s: "CHARGE SOON" in s and screen_code(s) is not None)
    assert screen_code(text) == grouped(pyotp.TOTP(secrets[0]).at(T0))
    with ProtocolClient(tok.port) as c:
        info = c.call("info")
    assert (info["power"], info["battery"], info["battery_mv"]) == ("battery", "low", 3350)
    assert 0 <= info["battery_percent"] < 10


def test_critical_battery_refuses_every_write_and_changes_nothing(on_battery):
    tok, secrets = on_battery(mv=3200)
    secret = random_secret()
    before = {p.name: p.read_bytes() for p in tok.flash.iterdir() if p.is_file()}
    with ProtocolClient(tok.port) as c:
        assert c.call("info")["battery"] == "critical"
        for op, args in (
            ("add", {"label": "new", "secret": secret}),
            ("delete", {"label": "acct0", "issuer": ""}),
            ("rename", {"label": "acct0", "issuer": "", "new": "x"}),
            ("move", {"label": "acct1", "issuer": "", "to": 0}),
            ("config_set", {"timeout": 60}),
            ("time_set", {"time": T0 + 5}),
            ("wipe", {}),
        ):
            r = c.request(op, **args)
            assert r["ok"] is False and r["err"] == "battery_low", (op, r)
        # Reading is fine: a TOTP code needs no write.
        assert c.call("code", label="acct0", issuer="")["code"] == pyotp.TOTP(secrets[0]).at(T0)
    _wait(lambda: tok.supply.asleep)
    tok.press()
    text = tok.wait_for_screen(lambda s: "BATTERY EMPTY" in s and screen_code(s) is not None)
    assert screen_code(text) == grouped(pyotp.TOTP(secrets[0]).at(T0))
    after = {p.name: p.read_bytes() for p in tok.flash.iterdir() if p.is_file()}
    assert after == before  # byte for byte


def test_the_cli_says_the_power_and_refuses_writes_in_one_sentence(on_battery):
    from support.cli import Transcript

    tok, _ = on_battery(mv=3900)
    otpfob = Transcript(tok.port)
    assert "Power:       battery, 3.90 V, about" in otpfob("info").stdout
    tok.set_battery_mv(3200)
    r = otpfob("delete", "acct0", "--yes", code=None)
    assert r.exit_code != 0 and "battery is too low to write safely" in r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert "acct0" in otpfob("list").stdout
    tok.set_usb(True)
    assert "Power:       USB" in otpfob("info").stdout
