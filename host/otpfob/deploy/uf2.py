"""Flashing a Pico image (otpfob frozen in: `make firmware-pico` for the
RP2040, `make firmware-pico2` for the RP2350) through the drive a Pico
shows in BOOTSEL.  The image's own UF2 family says which chip it is for."""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from .. import paths
from ..errors import DeployError, TransportError
from .board import board_from, probe
from .mpy import Progress, quiet
from .transfer import mpremote_cmd

# Per chip: the `make` target that builds its image, and the image.
IMAGE_TARGETS = {"RP2040": "firmware-pico", "RP2350": "firmware-pico2"}
IMAGE_FILES = {"RP2040": "otpfob-pico.uf2", "RP2350": "otpfob-pico2.uf2"}
IMAGES = {chip: paths.BUILD / IMAGE_TARGETS[chip] / IMAGE_FILES[chip] for chip in IMAGE_TARGETS}
IMAGE = IMAGES["RP2040"]
IMAGE_BOARDS = {"RP2040": "pico", "RP2350": "pico2"}  # the board file of the board each image is built as
MICROPYTHON_BUILDS = {"RP2040": "RPI_PICO", "RP2350": "RPI_PICO2"}  # ... and its MicroPython build's name
# The Board-ID line of each bootrom's INFO_UF2.TXT (its drive is named after it).
DRIVE_IDS = {"RP2040": "RPI-RP2", "RP2350": "RP2350"}
# UF2 family IDs (pico-sdk boot/uf2.h).  The absolute family only marks the
# RP2350-E10 block picotool puts first; RISC-V and non-secure Arm images are
# not what otpfob builds.
UF2_FAMILIES = {0xE48BFF56: "RP2040", 0xE48BFF59: "RP2350"}
ABSOLUTE_FAMILY = 0xE48BFF57
UF2_FAMILY_NAMES = {0xE48BFF5A: "the RP2350's RISC-V cores", 0xE48BFF5B: "the RP2350's non-secure Arm state"}
UF2_MAGIC = (0x0A324655, 0x9E5D5157, 0x0AB16F30)  # start0, start1, end
UF2_FLAG_FAMILY = 0x2000
# Where desktops mount USB drives; OTPFOB_UF2_SEARCH adds folders (os.pathsep).
DRIVE_ROOTS = ("/media/*", "/media/*/*", "/run/media/*/*", "/mnt", "/mnt/*", "/Volumes/*")


def default_image(chip: str = "RP2040") -> Path:
    """Where `make` writes the image for ``chip``."""
    return IMAGES[chip]


def uf2_blocks(data: bytes) -> list[tuple[int, int, int, int, int, int]]:
    """Each 512-byte UF2 block's (flags, target address, payload size, block
    number, block count, family or file size); ValueError for what is not UF2."""
    if not data or len(data) % 512:
        raise ValueError("its size is not a whole number of 512-byte UF2 blocks")
    blocks = []
    for at in range(0, len(data), 512):
        start0, start1, flags, addr, size, no, count, family = struct.unpack_from("<8I", data, at)
        (end,) = struct.unpack_from("<I", data, at + 508)
        if (start0, start1, end) != UF2_MAGIC:
            raise ValueError(f"block {at // 512} has no UF2 magic numbers")
        blocks.append((flags, addr, size, no, count, family))
    return blocks


def image_chip(uf2: Path) -> str:
    """The chip a .uf2 is for, from the family ID of its blocks (the
    RP2350-E10 absolute block left aside); DeployError for any other file."""
    try:
        blocks = uf2_blocks(uf2.read_bytes())
    except (OSError, ValueError) as e:
        raise DeployError(
            f"{uf2} is not a UF2 image ({str(e).rstrip('.')}), so nothing was flashed; name the .uf2 that"
            " `make firmware-pico` or `make firmware-pico2` writes."
        ) from None
    families = {fam for flags, _, _, _, _, fam in blocks if flags & UF2_FLAG_FAMILY and fam != ABSOLUTE_FAMILY}
    chips = {UF2_FAMILIES.get(f) for f in families}
    if len(families) != 1 or None in chips:
        named = ", ".join(UF2_FAMILY_NAMES.get(f, f"0x{f:08x}") for f in sorted(families)) or "no family ID"
        raise DeployError(
            f"{uf2} is a UF2 image for {named}, not for the RP2040 or the RP2350's Arm cores, so nothing was"
            " flashed; name the .uf2 that `make firmware-pico` or `make firmware-pico2` writes."
        )
    return str(chips.pop())


def _drive_chip(d: Path) -> str | None:
    """The chip whose bootrom shows the drive ``d``, from its INFO_UF2.TXT."""
    try:
        text = (d / "INFO_UF2.TXT").read_text(errors="replace")
    except OSError:
        return None
    ids = re.findall(r"^Board-ID:\s*(\S+)", text, re.M)
    return next((chip for chip, board_id in DRIVE_IDS.items() if board_id in ids), None)


def _is_rp2_drive(d: Path, chip: str = "RP2040") -> bool:
    return _drive_chip(d) == chip


def find_drive(drive: Path | None = None, chip: str = "RP2040") -> Path | None:
    """The mounted BOOTSEL drive of a ``chip`` board (RPI-RP2 for an RP2040,
    RP2350 for an RP2350), found by its INFO_UF2.TXT; ``drive``: the one
    folder to look at."""
    import glob

    if drive is not None:
        return drive if _is_rp2_drive(drive, chip) else None
    roots = [r for r in os.environ.get("OTPFOB_UF2_SEARCH", "").split(os.pathsep) if r] + list(DRIVE_ROOTS)
    for pattern in roots:
        for d in sorted(glob.glob(pattern)):
            if _is_rp2_drive(Path(d), chip):
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
    """Put the .uf2 on a Pico: through its BOOTSEL drive if it is in BOOTSEL,
    else ask the MicroPython on ``port`` to enter BOOTSEL first (after
    checking it has the image's chip).  Returns the serial port the new
    firmware answers on."""
    if not uf2.is_file():
        chip = next((c for c, name in IMAGE_FILES.items() if uf2.name == name), "RP2040")
        where = (
            f"The Pico image {uf2} is missing"
            if paths.is_checkout() or uf2 != IMAGES[chip]
            else "No Pico image comes with an installed otpfob"
        )
        name = IMAGE_TARGETS[chip]
        raise DeployError(
            f"{where}; run `make {name}` in an otpfob checkout, which writes"
            f" build/{name}/{IMAGE_FILES[chip]}, and name that file with --image PATH (or deploy without --image onto"
            f" a Pico running MicroPython, from micropython.org/download/{MICROPYTHON_BUILDS[chip]})."
        )
    chip = image_chip(uf2)
    drive_id = DRIVE_IDS[chip]
    found = find_drive(drive, chip)
    if found is None:
        port = port or find_port()
        info = probe(port)
        own = info.chip.split("-")[0]  # an RP2350 running MicroPython's RISC-V build takes the Arm image
        if info.name != "micropython" or info.platform != "rp2" or own not in (chip, ""):
            fix = (
                f"flash its own image with `otpfob deploy --board {board_from(info) or IMAGE_BOARDS[own]} --image`"
                if info.platform == "rp2" and own in IMAGE_BOARDS
                else "deploy it without --image"
            )
            raise DeployError(
                f"The otpfob image {uf2.name} is for the {chip}, but the board on {port} is {info.description}"
                f" ({info.name}, sys.platform {info.platform!r}), so nothing was flashed; {fix}."
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
        found = _wait(lambda: find_drive(drive, chip), timeout)  # type: ignore[assignment]
        if not found:
            where = str(drive) if drive else "any mounted drive"
            raise DeployError(
                f"No {drive_id} drive appeared at {where} after asking the Pico to enter BOOTSEL; hold BOOTSEL while"
                " plugging it in, and name its mount point with --drive if it is not found."
            )
    assert found is not None
    progress(f"Copying {uf2.name} to the {drive_id} drive at {found}...")
    with open(uf2, "rb") as src, open(found / uf2.name, "wb") as dst:
        shutil.copyfileobj(src, dst)
        dst.flush()
        os.fsync(dst.fileno())
    # The Pico reboots into the new firmware once every block is written: the drive goes away.
    if not _wait(lambda: not _is_rp2_drive(found, chip), timeout):
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
