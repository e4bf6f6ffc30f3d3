"""`otpfob deploy` as a library: put otpfob on a board running MicroPython,
or flash a Pico with the otpfob image.

`run()` is the whole flow, in the order that touches nothing before it has
to: the board name is checked, the board is asked what it runs (`board`),
checked, the firmware built (`mpy`), checked again for room, copied
(`transfer.copy`, or through BOOTSEL for an image: `uf2`), reset, and must
answer `info` with this release's version. Every refusal is a `DeployError`
sentence; the CLI only shows progress and maps errors to exit codes.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .. import discover
from ..errors import DeployError
from .board import BoardInfo, board_from, check_board, probe, refuse_build, refuse_running_otpfob
from .mpy import Build, Progress, board_arch, board_names, build, image_board_chip, image_build, quiet
from .transfer import COPY_STALL, copy, mpremote_args, reset_and_check
from .uf2 import IMAGE, IMAGE_BOARDS, IMAGES, default_image, find_drive, flash_image, image_chip

__all__ = [
    "COPY_STALL",
    "IMAGE",
    "IMAGES",
    "BoardInfo",
    "Build",
    "Deployed",
    "board_arch",
    "board_from",
    "board_names",
    "build",
    "check_board",
    "copy",
    "default_image",
    "find_drive",
    "flash_image",
    "image_build",
    "image_chip",
    "image_for",
    "mpremote_args",
    "probe",
    "reset_and_check",
    "run",
]

CopyStep = Callable[[Build, str], None]


@dataclass
class Deployed:
    port: str  # where the token answers now
    board: str
    version: str  # the firmware version it reported after the reset


AFTER_FLASH_TRIES = 3
AFTER_FLASH_PROBE_S = 50.0


def _probe_after_flash(port: str) -> BoardInfo:
    """Probe a board that has only just restarted on a new image.  mpremote's
    Ctrl-C can land while the board is still starting, before main.py runs
    the app it was meant to stop; it then waits for a REPL that never comes.
    A fresh try sends a fresh Ctrl-C."""
    for _ in range(AFTER_FLASH_TRIES - 1):
        try:
            return probe(port, timeout=AFTER_FLASH_PROBE_S)
        except DeployError:
            pass
    return probe(port, timeout=AFTER_FLASH_PROBE_S)  # the last try's error is the one reported


def image_for(board: str | None) -> Path:
    """The image `make` builds for ``board``'s chip (the Pico's when no board is named)."""
    if board is None:
        return IMAGE
    return default_image(image_board_chip(board))


def run(
    port: str | None,
    board: str | None,
    *,
    image: Path | None = None,
    drive: Path | None = None,
    find_port: Callable[[], str] = discover.find_port,
    progress: Progress = quiet,
    copy_step: CopyStep | None = None,
) -> Deployed:
    """Deploy to the board on ``port`` (None: ``find_port()``); ``board``
    None: the board's own description decides. ``image``: flash this .uf2
    (through the RPI-RP2 drive, ``drive`` or found) instead of copying .mpy
    files. ``copy_step(build, port)`` replaces the plain copy (the CLI's
    progress bar wraps `copy`)."""
    if board is not None:
        board_arch(board)  # its one-sentence refusal, before any port is touched
    copy_step = copy_step or (lambda out, p: copy(out, p, progress=progress))
    # Each deploy builds in a folder of its own: two at once (two boards)
    # must not delete each other's files mid-copy.
    work = Path(tempfile.mkdtemp(prefix="otpfob-deploy-"))
    try:
        if image is not None:
            # Boards with no image, or another chip than the image's, are
            # refused before anything is touched (a missing image: flash_image).
            chip = image_chip(image) if image.is_file() else None
            if board is not None:
                image_build(board, work, chip=chip)
            port = flash_image(image, port=port, drive=drive, find_port=discover.find_port, progress=progress)
            info = _probe_after_flash(port)
            if not board:
                board = board_from(info) or IMAGE_BOARDS[chip or image_chip(image)]
                progress(f"The board says it is a {info.description}: deploying --board {board}.")
            out = image_build(board, work)
            check_board(info, board, port, files=[p for p, _ in out.files], mpy=False)
        else:
            port = port or find_port()  # the board first: nothing is compiled for a missing one
            refuse_running_otpfob(port)
            info = probe(port)
            board = board or _board_of(info, port, progress)
            check_board(info, board, port, files=None)  # chip and .mpy before compiling
            out = build(board, out_dir=work, progress=progress)
            progress(f"Built {len(out.files)} files for {board} ({out.arch}).")
            check_board(info, board, port, files=[p for p, _ in out.files])
        copy_step(out, port)
        version = reset_and_check(port, progress=progress)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return Deployed(port, board, version)


def _board_of(info: BoardInfo, port: str, progress: Progress) -> str:
    """The board a probed board's description settles, said aloud; else a refusal."""
    refuse_build(info, port)
    board = board_from(info)
    if not board:
        raise DeployError(
            f"The board on {port} describes itself as {info.description!r}, which does not settle the board"
            f" file; name it with --board ({board_names()})."
        )
    progress(f"The board says it is a {info.description}: deploying --board {board}.")
    return board
