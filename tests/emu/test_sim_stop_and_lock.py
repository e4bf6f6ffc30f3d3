"""`otpfob sim` at a terminal (issue 23, item 7): Ctrl-C ends it cleanly
(exit 0, no error), and a second sim on the same flash folder is refused
while the first runs, through the real CLI on a real pty."""

from __future__ import annotations

import fcntl
import os
import select
import signal
import struct
import subprocess
import sys
import termios
import time

import pytest

from otpfob import paths

pytestmark = pytest.mark.emu


def _sim(args: list[str], env) -> tuple[subprocess.Popen, int]:
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    proc = subprocess.Popen(
        [sys.executable, "-m", "otpfob", "sim", *args],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        cwd=paths.REPO,
        start_new_session=True,
    )
    os.close(slave)
    return proc, master


def _read_until(master: int, words: str, timeout: float = 30) -> str:
    seen = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and words.encode() not in seen:
        if select.select([master], [], [], 0.1)[0]:
            try:
                seen += os.read(master, 65536)
            except OSError:
                break
    return seen.decode(errors="replace")


def test_ctrl_c_ends_the_sim_cleanly_and_one_flash_has_one_sim(tmp_path):
    env = dict(os.environ, OTPFOB_RUNTIME_DIR=str(tmp_path / "run"))
    flash = tmp_path / "flash"
    first, master = _sim(["--flash", str(flash)], env)
    try:
        assert "serial port" in _read_until(master, "serial port"), "the sim did not start"
        time.sleep(1.5)  # drawing the screen
        # A second sim on the same flash is refused at once, one sentence, and the first runs on.
        second = subprocess.run(
            [sys.executable, "-m", "otpfob", "sim", "--headless", "--flash", str(flash)],
            capture_output=True,
            text=True,
            timeout=30,
            env=env,
            cwd=paths.REPO,
        )
        msg = second.stderr.strip()
        assert second.returncode == 1 and "\n" not in msg and not msg.startswith("Error"), second.stderr
        assert f"The flash folder {flash} is in use by another `otpfob sim` (process {first.pid})" in msg
        assert first.poll() is None
        # Ctrl-C at the terminal: the signal goes to the whole foreground group, firmware included.
        os.killpg(first.pid, signal.SIGINT)
        out = _read_until(master, "Stopped the emulated token", 20)
        assert first.wait(timeout=20) == 0, out
        assert "Error" not in out and "stopped:" not in out and "Stopped the emulated token" in out
    finally:
        if first.poll() is None:
            first.kill()
        os.close(master)
    # Once it ended, the flash is free again.
    again = subprocess.Popen(
        [sys.executable, "-m", "otpfob", "sim", "--headless", "--flash", str(flash)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=paths.REPO,
        start_new_session=True,
    )
    try:
        assert "serial port" in again.stdout.readline()
    finally:
        os.killpg(again.pid, signal.SIGINT)
        assert again.wait(timeout=20) == 0
