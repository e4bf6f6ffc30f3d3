"""End to end: a power cut keeps the accounts (flash) and the time (RTC on
its battery); the firmware also runs from .mpy files made by mpy-cross."""

import pyotp
import pytest  # noqa: E402

from otpfob.emu.testing import ProtocolClient, grouped, random_secret, screen_code

pytestmark = pytest.mark.emu

T0 = 1_795_000_000


def test_power_cut_and_restart_keep_the_accounts(make_token):
    tok = make_token(freeze=T0)
    with ProtocolClient(tok.port) as client:
        client.call("time_set", time=T0)
        secrets = {}
        for label in ("first", "second"):
            secrets[label] = random_secret()
            client.call("add", label=label, secret=secrets[label])
        tok.wait_for_screen(lambda t: screen_code(t) is not None)
        port = tok.port

        tok.power_cut()
        assert not tok.running and not tok.display_on
        tok.clock.advance(95)  # time passes while the power is off
        tok.restart()

        assert tok.port == port  # the same serial port comes back
        client.wait_ready()
        labels = [a["label"] for a in client.call("list")["accounts"]]
        assert labels == ["first", "second"]
        text = tok.wait_for_screen(lambda t: screen_code(t) is not None)
        label = "first" if "first" in text else "second"
        assert screen_code(text) == grouped(pyotp.TOTP(secrets[label]).at(T0 + 95))
        assert tok.boots == 2


def test_firmware_runs_from_mpy(firmware_mpy, make_token):
    fw = firmware_mpy
    assert not list((fw / "fob").rglob("*.py"))  # only .mpy to import
    tok = make_token(firmware_dir=fw, freeze=T0)
    with ProtocolClient(tok.port) as client:
        client.call("time_set", time=T0)
        secret = random_secret()
        client.call("add", label="mpy", secret=secret, digits=8)
        text = tok.wait_for_screen(lambda t: screen_code(t) is not None)
        assert "mpy" in text
        assert screen_code(text) == grouped(pyotp.TOTP(secret, digits=8).at(T0))
