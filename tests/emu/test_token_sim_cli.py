"""`otpfob sim --headless`: prints its port, serves it, writes the PNG, and
keeps the flash folder between runs."""

import os
import subprocess
import sys
import time

import pyotp
import pytest  # noqa: E402

from otpfob import paths
from otpfob.emu.testing import ProtocolClient, grouped, random_secret
from support.sim import read_png, start_sim, stop_sim

pytestmark = pytest.mark.emu

REPO = paths.REPO
T = 1_801_000_020


def test_sim_headless_snapshot_and_persistent_flash(tmp_path):
    png = tmp_path / "screen.png"
    proc, port = start_sim(tmp_path / "flash", "--snapshot", str(png), "--time", str(T), "--freeze")
    secret = random_secret()
    want = grouped(pyotp.TOTP(secret).at(T))
    try:
        with ProtocolClient(port) as client:
            info = client.wait_ready()
            assert info["time"] == T and info["clock"] == "ok"
            client.call("add", label="cli", secret=secret)
        # The snapshot follows the screen while it runs (at most once a second).
        deadline = time.monotonic() + 10
        text = ""
        while time.monotonic() < deadline and want not in text:
            time.sleep(0.2)
            if png.exists():
                try:
                    text = read_png(png)
                except OSError:
                    pass  # caught between writes; the file is replaced atomically
        assert "cli" in text and want in text
    finally:
        stop_sim(proc)
    assert want in read_png(png)  # and it is written on exit

    # A second run on the same flash folder still has the account.
    proc, port = start_sim(tmp_path / "flash")
    try:
        with ProtocolClient(port) as client:
            client.wait_ready()
            assert [a["label"] for a in client.call("list")["accounts"]] == ["cli"]
    finally:
        stop_sim(proc)


def test_sim_reports_a_missing_micropython_in_one_sentence(tmp_path):
    env = dict(os.environ, OTPFOB_MICROPYTHON=str(tmp_path / "nope"))
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "host"), str(REPO / "firmware")])
    proc = subprocess.run(
        [sys.executable, "-m", "otpfob.emu.cli", "--headless"], capture_output=True, text=True, env=env, timeout=30
    )
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    msg = proc.stderr.strip()
    assert msg and "\n" not in msg and not msg.startswith("Error:")  # one sentence, as every otpfob error
