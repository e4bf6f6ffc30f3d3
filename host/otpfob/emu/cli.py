"""``otpfob sim``: run the emulated token (see otpfob.emu.token)."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import click

from .. import discover, paths
from . import ui
from .ds3231 import Clock
from .token import EmulatedToken, EmulatorError


def default_flash(board: str = "sim") -> Path:
    """The token's flash folder in the per-user data folder (sim-flash, pico-flash)."""
    return paths.data_dir() / ("sim-flash" if board == "sim" else "%s-flash" % board)


# A frozen DS3231 beside running ticks looks like a jumped clock to the
# firmware after 5 s (fob.clock); the frozen emulated Pico's board file
# allows 10 minutes, as boards/sim.py does for the Unix-port token.
FROZEN_BOARD = {"CLOCK_JUMP_MS": 600_000}


def _make_token(board: str, flash: Path, clock: Clock, rtc_set: bool):
    if board == "sim":
        return EmulatedToken(flash, clock=clock, rtc_set=rtc_set)
    from .rp2.image import deployed_image
    from .rp2.pico import FLASH_FILE, EmulatedPico

    image = None
    if not (flash / FLASH_FILE).exists():
        image = deployed_image(
            board, progress=lambda m: click.echo(m, err=True), board_extra=FROZEN_BOARD if clock.frozen else None
        )
    return EmulatedPico(flash, clock=clock, rtc_set=rtc_set, image=image)


def run_sim(
    headless: bool = False,
    snapshot: str | None = None,
    flash: str | None = None,
    unix_time: float | None = None,
    freeze: bool = False,
    rtc_unset: bool = False,
    board: str = "sim",
) -> None:
    """Start the emulated token, print its port, draw it until Ctrl-C."""
    clock = Clock(unix_time, frozen=freeze)
    token = _make_token(board, Path(flash) if flash else default_flash(board), clock, not rtc_unset)
    # Ctrl-C and SIGTERM end the loop through a flag, never as an exception
    # raised at an arbitrary point: one raised just after a part model's
    # lock was taken would leave it held, and the shutdown would hang.
    stop = threading.Event()

    def request_stop(*_args) -> None:
        stop.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    announced = None
    try:
        token.start()
        # Announced in the runtime folder, so `otpfob list` finds it without --port.
        announced = discover.advertise(token.port, board)
        print("otpfob sim: serial port %s  (use --port %s)" % (token.port, token.port), flush=True)
        if not headless:
            time.sleep(1.0)  # let the line be read before the screen is drawn over
        footer = "port %s | any key: button (hold it: long press) | l: long press | q: quit" % token.port
        ui.run(token, headless, snapshot, footer=footer, stop=stop)
        if not token.running:
            tail = (token.serial_log[-2000:] + token.stderr_log[-2000:]).decode(errors="replace")
            raise EmulatorError("the emulated firmware stopped:\n" + tail)
    finally:
        if announced is not None:
            discover.withdraw(announced)
        token.stop()


@click.command("sim")
@click.option(
    "--board",
    type=click.Choice(["sim", "pico"]),
    default="sim",
    show_default=True,
    metavar="NAME",
    help="sim: the firmware under MicroPython's Unix port.  pico: the real rp2 "
    "MicroPython in an emulated RP2040 (rp2040js), otpfob deployed on it.",
)
@click.option("--headless", is_flag=True, help="Do not draw the screen (CI, scripts).")
@click.option(
    "--snapshot",
    type=click.Path(dir_okay=False),
    help="Write the screen to this PNG when it changes (at most 1/s) and on exit.",
)
@click.option(
    "--flash",
    type=click.Path(file_okay=False),
    help="Folder holding the token's flash (kept between runs). "
    "Default: sim-flash (pico-flash) in otpfob's data folder, ~/.local/share/otpfob on Linux.",
)
@click.option(
    "--time", "unix_time", type=int, metavar="UNIX", help="Start the emulated RTC at this Unix time instead of now."
)
@click.option("--freeze", is_flag=True, help="Stop the emulated RTC (at --time, or now).")
@click.option(
    "--rtc-unset", is_flag=True, help="Start with a new RTC: oscillator-stop flag set, so the clock must be set."
)
def sim_command(board, headless, snapshot, flash, unix_time, freeze, rtc_unset):
    """Run an emulated token: the real firmware under MicroPython's Unix port,
    or (--board pico) on the real rp2 MicroPython in an emulated RP2040.

    It prints the serial port to use with --port, then draws the OLED.
    Any key is the button; hold a key for a long press; q quits.
    The emulated Pico keeps its whole 2 MB flash as flash.bin in --flash;
    the first start deploys otpfob onto it with `otpfob deploy`.

    \b
    Examples:
      otpfob sim
      otpfob sim --headless --snapshot screen.png
      otpfob sim --flash /tmp/fob --time 1800000000 --freeze
      otpfob sim --board pico --headless --flash /tmp/pico
    """
    try:
        run_sim(headless, snapshot, flash, unix_time, freeze, rtc_unset, board)
    except EmulatorError as e:
        raise click.ClickException(str(e)) from None


if __name__ == "__main__":
    sim_command()
