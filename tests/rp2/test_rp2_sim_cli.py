"""`otpfob sim --board pico`: the emulated Pico behind the same first line
and options as `otpfob sim`, driven by every daily command of the real CLI."""

from __future__ import annotations

import time

import pyotp
import pytest
from click.testing import CliRunner

from conftest import RP2_LANE_B, record_cases
from otpfob import cli
from otpfob.emu.testing import ProtocolClient, grouped, random_secret
from otpfob.errors import EXIT_CLOCK
from support.sim import read_png, start_sim, stop_sim

pytestmark = [pytest.mark.rp2, pytest.mark.slow, RP2_LANE_B]

T = 1_801_000_020


def otpfob(port, *args, input=None, code=0):
    r = CliRunner().invoke(cli.main, ["--port", port, *args], input=input)
    assert r.exit_code == code, (args, r.stdout, r.stderr)
    return r.stdout


def test_pico_sim_serves_every_daily_command_and_its_snapshot(rp2_built, tmp_path):
    png = tmp_path / "screen.png"
    flash = tmp_path / "flash"
    proc, port = start_sim(flash, "--board", "pico", "--snapshot", str(png), "--time", str(T), "--freeze")
    secret = random_secret()
    want = pyotp.TOTP(secret).at(T)
    try:
        with ProtocolClient(port) as client:
            info = client.wait_ready(60)
            assert info["time"] == T and info["clock"] == "ok" and info["board"] == "pico"
        # The frozen clock is far from this computer's: done, with EXIT_CLOCK.
        out = otpfob(
            port,
            "provision",
            "--secret",
            "-",
            "--label",
            "cli",
            "--issuer",
            "Pico",
            input=secret + "\n",
            code=EXIT_CLOCK,
        )
        assert secret not in out
        assert otpfob(port, "code", "-s", "cli", code=EXIT_CLOCK).strip() == want
        assert "cli" in otpfob(port, "list")
        otpfob(port, "verify", "--secret", "-", input=secret + "\n", code=EXIT_CLOCK)
        otpfob(port, "rename", "cli", "renamed")
        assert "renamed" in otpfob(port, "list")
        assert "2027" in otpfob(port, "time", code=EXIT_CLOCK)
        assert "pico" in otpfob(port, "info")
        other = random_secret()
        otpfob(port, "provision", "--secret", other, "--label", "temp", code=EXIT_CLOCK)
        otpfob(port, "delete", "temp", "--yes")
        assert "temp" not in otpfob(port, "list")
        record_cases("rp2-cli-commands", 9)
        # The snapshot follows the screen (at most once a second).
        deadline = time.monotonic() + 30
        text = ""
        while time.monotonic() < deadline and grouped(want) not in text:
            time.sleep(0.3)
            if png.exists():
                try:
                    text = read_png(png)
                except OSError:
                    pass
        assert "renamed" in text and grouped(want) in text
    finally:
        stop_sim(proc)
    assert (flash / "flash.bin").stat().st_size == 2 * 1024 * 1024

    # The flash image is kept: a second run still has the account.
    proc, port = start_sim(flash, "--board", "pico")
    try:
        with ProtocolClient(port) as client:
            client.wait_ready(60)
            assert [a["label"] for a in client.call("list")["accounts"]] == ["renamed"]
    finally:
        stop_sim(proc)
