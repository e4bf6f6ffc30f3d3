"""Where the emulated Pico's build lives (``make emulators``, see
host/tools/build_rp2.sh): the rp2 firmware, our bootrom, rp2040js."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from ... import paths
from ..parts import EmulatorError

HERE = Path(__file__).resolve().parent
BRIDGE = HERE / "bridge.mjs"
BOARD_FILE = paths.board_file("pico")
# The float routines the ROM's tables point at sit in flash, far above the
# firmware and its filesystem (the emulated chip has 16 MB of flash space).
ROMEXT_OFFSET = 0xF00000


def build_dir() -> Path:
    return Path(os.environ.get("OTPFOB_RP2_BUILD", paths.BUILD / "rp2"))


@dataclass
class Rp2Build:
    root: Path
    node: str
    rp2040js: Path  # the package's ESM entry point
    bootrom: Path
    romext: Path | None
    firmware: Path  # firmware.bin: MicroPython's rp2 port, RPI_PICO
    mpy_cross: Path

    def flash_functions(self) -> list[tuple[int, int]]:
        """[start, end) of the bootrom's flash erase and program routines,
        from its link map (a power cut inside one is counted as such)."""
        found: list[tuple[int, int]] = []
        try:
            lines = (self.root / "rom" / "bootrom.map").read_text().splitlines()
        except OSError:
            return found
        for k, line in enumerate(lines):
            parts = line.split()
            if len(parts) == 1 and parts[0] in (".text.rom_flash_range_erase", ".text.rom_flash_range_program"):
                start, size = (int(x, 16) for x in lines[k + 1].split()[:2])
                found.append((start, start + size))
        return found


def find() -> Rp2Build | None:
    root = build_dir()
    node = shutil.which("node") or shutil.which("nodejs")
    entry = root / "js" / "node_modules" / "rp2040js" / "dist" / "esm" / "index.js"
    romext = root / "romext.bin"
    b = Rp2Build(
        root,
        node or "",
        entry,
        root / "bootrom.bin",
        romext if romext.exists() else None,
        root / "firmware.bin",
        root / "mpy-cross" / "mpy-cross",
    )
    if not node or not all(p.exists() for p in (entry, b.bootrom, b.firmware)):
        return None
    return b


def require() -> Rp2Build:
    b = find()
    if b is None and not paths.is_checkout():
        raise EmulatorError(
            "The emulated Pico (`otpfob sim --board pico`) runs only from an otpfob source checkout where"
            " `make emulators` has built it; an installed otpfob emulates the token with `otpfob sim`."
        )
    if b is None:
        raise EmulatorError(
            "The emulated Pico is not built; run `make emulators` in an otpfob checkout "
            "(it needs Node.js and the ARM toolchain)."
        )
    return b
