"""`otpfob sim` and `make demo` in an 80x24 terminal: the whole OLED fits
(or the terminal is said to be too small), and the demo keeps the
provisioning lines and tells the user to try `otpfob list`.

The drawn screen is decoded back into pixels and compared with the emulated
SSD1306's RAM, so "fits" means every pixel is shown, not just fewer lines.
"""

from __future__ import annotations

import fcntl
import os
import re
import select
import shutil
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from otpfob.emu import ui

pytestmark = pytest.mark.emu

ESC = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
DOTS = ((0x01, 0x08), (0x02, 0x10), (0x04, 0x20), (0x40, 0x80))


def braille_pixels(lines: list[str], w: int, h: int) -> list[list[int]]:
    """The pixels a block of braille characters shows (the inverse of the renderer)."""
    px = [[0] * w for _ in range(h)]
    for row, line in enumerate(lines):
        for col, ch in enumerate(line):
            bits = ord(ch) - 0x2800
            for dy in range(4):
                for dx in range(2):
                    if bits & DOTS[dy][dx]:
                        px[row * 4 + dy][col * 2 + dx] = 1
    return px


def art_of(lines: list[str]) -> list[str]:
    """The braille run of each line that has one."""
    return [m.group(0) for line in lines if (m := re.search("[\u2800-\u28ff]+", line))]


HEADER = [
    "Added 'demo@otpfob' (Demo) to the token.",
    "Checked: the token's code for 'demo@otpfob' matches pyotp; its clock is in step with this computer (same 30 s step).",
    "Next: type the code shown on the token's screen where the service asks for it, to finish set-up.",
    "Try `otpfob list` or `otpfob code` in another terminal: they find this token without --port.",
]
SIDE = [" pyotp says:", "", "  123 456", "", " 12 s left", " 10:29:26", " UTC", "", " screen:", " match"]


@pytest.mark.parametrize("header, side", [(None, []), (HEADER, SIDE)], ids=["sim", "demo"])
def test_the_whole_screen_fits_80x24(make_token, header, side):
    tok = make_token(rtc_set=True)
    tok.press()
    pixels = tok.screen_pixels()
    assert sum(map(sum, pixels)) > 100  # something is on it
    lines = ui.layout(pixels, side, "port /dev/pts/9 | any key: button | q: quit" + "x" * 60, 80, 24, header)
    assert len(lines) <= 24 and max(map(len, lines)) <= 80
    assert braille_pixels(art_of(lines), 128, 64) == [list(map(int, r)) for r in pixels]
    text = "\n".join(lines)
    for line in header or []:
        assert line.split()[0] in text
    for s in side:
        assert s.strip() in text


def test_a_terminal_too_small_is_said_to_be(make_token):
    tok = make_token(rtc_set=True)
    lines = ui.layout(tok.screen_pixels(), [], "footer", 60, 12)
    assert lines[0].startswith("Terminal too small (60x12)") and "needs 64x17" in " ".join(lines)
    assert len(lines) <= 12 and max(map(len, lines)) <= 60


def run_in_pty(cmd: list[str], seconds: float, env) -> list[list[str]]:
    """Run ``cmd`` on an 80x24 pty for ``seconds``; the frames it drew, as visible lines."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    proc = subprocess.Popen(cmd, stdin=slave, stdout=slave, stderr=subprocess.PIPE, env=env, start_new_session=True)
    os.close(slave)
    out = b""
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            if select.select([master], [], [], 0.1)[0]:
                try:
                    out += os.read(master, 65536)
                except OSError:
                    break
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=15)
        finally:
            os.close(master)
    text = out.decode(errors="replace")
    frames = []
    for chunk in text.split("\x1b[H")[1:]:
        frames.append([ESC.sub("", line).rstrip("\r") for line in chunk.split("\n")])
    return frames


def test_sim_and_demo_in_a_real_80x24_pty(tmp_path):
    env = dict(os.environ, OTPFOB_RUNTIME_DIR=str(tmp_path / "run"), COLUMNS="", LINES="")
    del env["COLUMNS"], env["LINES"]
    frames = run_in_pty([sys.executable, "-m", "otpfob.emu.cli", "--flash", str(tmp_path / "flash")], 4, env)
    assert frames, "otpfob sim drew nothing"
    last = frames[-1]
    assert len(last) <= 24 and all(len(line) <= 80 for line in last), last
    assert len(art_of(last)) == 16  # the whole 64-pixel height, 4 rows per line
    # make demo: the provisioning lines stay, with the hint, long after 1.5 s
    frames = run_in_pty([sys.executable, "-m", "otpfob.emu.demo"], 8, env)
    last = "\n".join(frames[-1])
    for words in ("Added 'demo@otpfob'", "Checked:", "Next:", "otpfob list`"):
        assert words in last, last
    # The hint's command runs from where `make demo` ran (issue 23: `otpfob` alone is not on PATH in a clone).
    hint = re.search(r"Try `(\S+) list`", " ".join(" ".join(frames[-1]).split()))
    assert hint, last
    command = hint.group(1)
    assert shutil.which(command, path=env.get("PATH")) or os.access(Path(command).absolute(), os.X_OK), command
    assert len(frames[-1]) <= 24 and all(len(line) <= 80 for line in frames[-1])
    assert len(art_of(frames[-1])) == 16
