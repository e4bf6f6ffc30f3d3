"""`otpfob sim --headless`: prints its port, serves it, writes the PNG, and
keeps the flash folder between runs."""

import os
import signal
import subprocess
import sys
import time

import pyotp
import pytest  # noqa: E402
from PIL import Image

from otpfob import paths
from otpfob.emu import screen
from otpfob.emu.testing import ProtocolClient, grouped, random_secret

pytestmark = pytest.mark.emu

REPO = paths.REPO
T = 1_801_000_020


def start_sim(tmp_path, *extra):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(REPO / "host"), str(REPO / "firmware"), env.get("PYTHONPATH", "")])
    proc = subprocess.Popen(
        [sys.executable, "-m", "otpfob.emu.cli", "--headless", "--flash", str(tmp_path / "flash"),
         *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    line = proc.stdout.readline()
    assert line.startswith("otpfob sim: serial port /dev/"), line + proc.stderr.read()
    port = line.split()[4]
    assert "(use --port %s)" % port in line
    return proc, port


def stop_sim(proc):
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=15)
    assert proc.returncode == 0, err
    return out, err


def read_png(png):
    img = Image.open(png).convert("L")
    w, h = img.size
    pixels = [[1 if img.getpixel((x * 4 + 1, y * 4 + 1)) > 64 else 0 for x in range(w // 4)]
              for y in range(h // 4)]
    return screen.decode(pixels, REPO / "firmware")


def test_sim_headless_snapshot_and_persistent_flash(tmp_path):
    png = tmp_path / "screen.png"
    proc, port = start_sim(tmp_path, "--snapshot", str(png), "--time", str(T), "--freeze")
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
    proc, port = start_sim(tmp_path)
    try:
        with ProtocolClient(port) as client:
            client.wait_ready()
            assert [a["label"] for a in client.call("list")["accounts"]] == ["cli"]
    finally:
        stop_sim(proc)


def test_sim_reports_a_missing_micropython_in_one_sentence(tmp_path):
    env = dict(os.environ, OTPFOB_MICROPYTHON=str(tmp_path / "nope"))
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "host"), str(REPO / "firmware")])
    proc = subprocess.run([sys.executable, "-m", "otpfob.emu.cli", "--headless"],
                          capture_output=True, text=True, env=env, timeout=30)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().startswith("Error:")
