"""`otpfob sim --headless` as a child process: started, its port read from
its first line, stopped with Ctrl-C; and its --snapshot PNG read back."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from PIL import Image

from otpfob import paths
from otpfob.emu import screen


def start_sim(flash: Path, *extra: str, env: dict | None = None) -> tuple[subprocess.Popen, str]:
    """Start `otpfob sim --headless --flash FLASH EXTRA...` (``--board pico``
    in ``extra`` for the emulated Pico); (the process, its serial port)."""
    env = dict(os.environ if env is None else env)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(paths.REPO / "host"), str(paths.REPO / "firmware"), env.get("PYTHONPATH", "")]
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "otpfob.emu.cli", "--headless", "--flash", str(flash), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None and proc.stderr is not None
    line = proc.stdout.readline()  # the same first line for both emulated tokens
    assert line.startswith("otpfob sim: serial port /dev/"), line + proc.stderr.read()
    port = line.split()[4]
    assert "(use --port %s)" % port in line
    return proc, port


def stop_sim(proc: subprocess.Popen, timeout: float = 60) -> tuple[str, str]:
    """Ctrl-C, as a person stops it: it must exit 0; (stdout, stderr)."""
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err
    return out, err


def read_png(png: Path) -> list[str]:
    """The text on a --snapshot PNG (4 image pixels a screen pixel)."""
    img = Image.open(png).convert("L")
    w, h = img.size
    pixels = [[1 if img.getpixel((x * 4 + 1, y * 4 + 1)) > 64 else 0 for x in range(w // 4)] for y in range(h // 4)]
    return screen.decode(pixels, paths.REPO / "firmware")
