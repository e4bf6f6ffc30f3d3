"""Flashing the Pico image (otpfob frozen in, `make firmware-pico`) through
the RPI-RP2 drive a Pico shows in BOOTSEL."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from .. import paths
from ..errors import DeployError, TransportError
from .board import probe
from .mpy import Progress, quiet
from .transfer import mpremote_cmd

IMAGE = paths.BUILD / "firmware-pico" / "otpfob-pico.uf2"
# Where desktops mount USB drives; OTPFOB_UF2_SEARCH adds folders (os.pathsep).
DRIVE_ROOTS = ("/media/*", "/media/*/*", "/run/media/*/*", "/mnt", "/mnt/*", "/Volumes/*")


def _is_rp2_drive(d: Path) -> bool:
    try:
        return "RPI-RP2" in (d / "INFO_UF2.TXT").read_text(errors="replace")
    except OSError:
        return False


def find_drive(drive: Path | None = None) -> Path | None:
    """The mounted RPI-RP2 drive of a Pico in BOOTSEL, found by its
    INFO_UF2.TXT; ``drive``: the one folder to look at."""
    import glob

    if drive is not None:
        return drive if _is_rp2_drive(drive) else None
    roots = [r for r in os.environ.get("OTPFOB_UF2_SEARCH", "").split(os.pathsep) if r] + list(DRIVE_ROOTS)
    for pattern in roots:
        for d in sorted(glob.glob(pattern)):
            if _is_rp2_drive(Path(d)):
                return Path(d)
    return None


def _wait(what: Callable[[], object], timeout: float, step: float = 0.3) -> object:
    deadline = time.monotonic() + timeout
    while True:
        got = what()
        if got or time.monotonic() > deadline:
            return got
        time.sleep(step)


def flash_image(
    uf2: Path,
    *,
    port: str | None,
    drive: Path | None,
    find_port: Callable[[], str],
    progress: Progress = quiet,
    timeout: float = 60.0,
) -> str:
    """Put the .uf2 on a Pico: through its RPI-RP2 drive if it is in BOOTSEL,
    else ask the MicroPython on ``port`` to enter BOOTSEL first (after
    checking it is an RP2040).  Returns the serial port the new firmware
    answers on."""
    if not uf2.is_file():
        where = (
            f"The Pico image {uf2} is missing"
            if paths.is_checkout() or uf2 != IMAGE
            else "No Pico image comes with an installed otpfob"
        )
        raise DeployError(
            f"{where}; run `make firmware-pico` in an otpfob checkout, which writes"
            f" build/firmware-pico/{IMAGE.name}, and name that file with --image PATH (or deploy without --image onto"
            " a Pico running MicroPython, from micropython.org/download/RPI_PICO)."
        )
    found = find_drive(drive)
    if found is None:
        port = port or find_port()
        info = probe(port)
        if info.name != "micropython" or info.platform != "rp2" or info.chip not in ("RP2040", ""):
            raise DeployError(
                f"The otpfob image is for the RP2040, but the board on {port} is {info.description}"
                f" ({info.name}, sys.platform {info.platform!r}), so nothing was flashed; deploy it without --image."
            )
        progress(f"Asking {info.description} on {port} to enter BOOTSEL...")
        try:  # the port goes away with the board: do not wait for an answer
            subprocess.run(
                mpremote_cmd()
                + ["connect", port, "resume", "exec", "--no-follow", "import machine; machine.bootloader()"],
                capture_output=True,
                text=True,
                timeout=20,
            )
        except subprocess.TimeoutExpired:
            pass
        found = _wait(lambda: find_drive(drive), timeout)  # type: ignore[assignment]
        if not found:
            where = str(drive) if drive else "any mounted drive"
            raise DeployError(
                f"No RPI-RP2 drive appeared at {where} after asking the Pico to enter BOOTSEL; hold BOOTSEL while"
                " plugging it in, and name its mount point with --drive if it is not found."
            )
    assert found is not None
    progress(f"Copying {uf2.name} to the RPI-RP2 drive at {found}...")
    with open(uf2, "rb") as src, open(found / uf2.name, "wb") as dst:
        shutil.copyfileobj(src, dst)
        dst.flush()
        os.fsync(dst.fileno())
    # The Pico reboots into the new firmware once every block is written: the drive goes away.
    if not _wait(lambda: not _is_rp2_drive(found), timeout):
        raise DeployError(
            f"The Pico did not restart after {uf2.name} was copied to {found}; unplug it, plug it in again and run deploy without BOOTSEL."
        )
    progress("The Pico restarted with the new firmware.")

    def answers() -> str | None:
        try:
            p = port or find_port()
        except TransportError:
            return None
        return p if os.path.exists(p) else None

    got = _wait(answers, timeout)
    if not got:
        raise TransportError(
            "The Pico's serial port did not come back after flashing; name it with --port and run deploy again."
        )
    return str(got)
