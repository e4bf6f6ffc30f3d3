"""``otpfob sim``: run the emulated token (see otpfob.emu.token)."""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import click

from .. import discover, paths
from . import ui
from .ds3231 import Clock
from .token import POWER_BOARD, EmulatedToken, EmulatorError


def default_flash(board: str = "sim") -> Path:
    """The token's flash folder in the per-user data folder (sim-flash, pico-flash)."""
    return paths.data_dir() / ("sim-flash" if board == "sim" else "%s-flash" % board)


# A frozen DS3231 beside running ticks looks like a jumped clock to the
# firmware after 5 s (fob.clock); the frozen emulated Pico's board file
# allows 10 minutes, as boards/sim.py does for the Unix-port token.
FROZEN_BOARD = {"CLOCK_JUMP_MS": 600_000}


def _make_token(
    board: str, flash: Path, clock: Clock, rtc_set: bool, internal_rtc_ppm: float = 0.0, battery: bool = False
):
    if board == "sim":
        return EmulatedToken(
            flash,
            clock=clock,
            rtc_set=rtc_set,
            internal_rtc_ppm=internal_rtc_ppm,
            board_overrides=POWER_BOARD if battery else None,
        )
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
    rtc_ppm: float = 0.0,
    internal_rtc_ppm: float = 0.0,
    battery: float | None = None,
) -> None:
    """Start the emulated token, print its port, draw it until Ctrl-C."""
    folder = Path(flash) if flash else default_flash(board)
    with flash_lock(folder):
        _run_sim(folder, headless, snapshot, unix_time, freeze, rtc_unset, board, rtc_ppm, internal_rtc_ppm, battery)


@contextlib.contextmanager
def flash_lock(folder: Path) -> Iterator[None]:
    """Hold FOLDER.lock (beside the flash folder, not in the token's own
    filesystem) while a sim runs on it: two tokens on one flash would each
    overwrite the other's accounts."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    path = folder.with_name(folder.name + ".lock")
    with open(path, "a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            f.seek(0)
            pid = f.read().strip() or "unknown"
            raise EmulatorError(
                f"The flash folder {folder} is in use by another `otpfob sim` (process {pid}); stop that one,"
                " or give this one another --flash."
            ) from None
        f.seek(0)
        f.truncate()
        f.write(str(os.getpid()))
        f.flush()
        try:
            yield
        finally:
            f.truncate(0)


def _run_sim(
    folder, headless, snapshot, unix_time, freeze, rtc_unset, board, rtc_ppm, internal_rtc_ppm, battery
) -> None:
    clock = Clock(unix_time, frozen=freeze, ppm=rtc_ppm)
    token = _make_token(board, folder, clock, not rtc_unset, internal_rtc_ppm, battery is not None)
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
        if battery is not None:
            # On a battery at that voltage, USB power unplugged: the token
            # sleeps when its screen blanks, until a press.
            token.set_battery_mv(round(battery * 1000))
            token.set_usb(False)
        # Announced in the runtime folder, so `otpfob list` finds it without --port.
        announced = discover.advertise(token.port, board)
        print("otpfob sim: serial port %s  (use --port %s)" % (token.port, token.port), flush=True)
        if not headless:
            time.sleep(1.0)  # let the line be read before the screen is drawn over
        footer = "port %s | any key: button (hold it: long press) | l: long press | q: quit" % token.port
        ui.run(token, headless, snapshot, footer=footer, stop=stop)
        # Ctrl-C at a terminal reaches the firmware's process too: after a
        # stop that was asked for, its end is no failure.
        if not token.running and not stop.is_set():
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
@click.option(
    "--rtc-ppm",
    type=float,
    default=0.0,
    metavar="PPM",
    help="The DS3231's rate error in ppm (+: runs fast), for trying `otpfob time --set`'s drift correction.",
)
@click.option(
    "--internal-rtc-ppm",
    type=float,
    default=0.0,
    metavar="PPM",
    help="The chip's own RTC's rate error (--board sim with a board file saying RTC = \"internal\").",
)
@click.option(
    "--battery",
    type=click.FloatRange(2.5, 5.0),
    metavar="VOLTS",
    help="Run on a battery at this voltage, USB power unplugged: the battery gauge under the code, and sleep"
    " when the screen blanks until a press (the Unix-port token's serial still answers while it is awake).",
)
def sim_command(board, headless, snapshot, flash, unix_time, freeze, rtc_unset, rtc_ppm, internal_rtc_ppm, battery):
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
      otpfob sim --rtc-ppm 8         # a DS3231 8 ppm fast
      otpfob sim --battery 3.9       # on a LiPo at 3.9 V: the gauge, sleep on blank
    """
    try:
        run_sim(headless, snapshot, flash, unix_time, freeze, rtc_unset, board, rtc_ppm, internal_rtc_ppm, battery)
    except EmulatorError as e:
        # One sentence, as every otpfob error (no "Error:" prefix), also when run on its own.
        click.echo(str(e).strip(), err=True)
        sys.exit(1)
    click.echo("Stopped the emulated token; its flash is kept.", err=True)


if __name__ == "__main__":
    sim_command()
