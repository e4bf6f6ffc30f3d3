"""The parts both emulated tokens share: the I2C bus with the SSD1306 and
the DS3231 on it, the button, and reading the screen.

``EmulatedToken`` (the Unix port) and ``EmulatedPico`` (rp2040js) differ
only in what runs the firmware; the part models and the way tests read the
OLED are these, once.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from .. import paths
from ..paths import FIRMWARE
from . import screen
from .ds3231 import DS3231, Clock
from .i2c import I2CBus, I2CDevice
from .internal_rtc import InternalRTC
from .serial_pty import SerialPty
from .ssd1306 import SSD1306

T = TypeVar("T")


def private_flash(folder: Path) -> Path:
    """An emulated token's flash folder, readable by its owner only: the
    folder 0700 and every file in it 0600 (it holds the OTP secrets in the
    clear, as a board's flash does). Files the token writes later are made
    under umask 077 (FLASH_UMASK)."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    for entry in os.scandir(folder):
        if entry.is_file(follow_symlinks=False):
            os.chmod(entry.path, 0o600)
    return folder


FLASH_UMASK = 0o077  # for the processes that write an emulated token's flash


class EmulatorError(RuntimeError):
    """An emulated token could not be started or driven."""


def default_firmware_dir() -> Path:
    return Path(os.environ.get("OTPFOB_FIRMWARE", FIRMWARE))


def load_board(path: Path) -> dict:
    """A board file's upper-case names (`paths.read_board`: read, never run)."""
    return paths.read_board(Path(path))


class TokenParts:
    """The modelled parts of a token built from ``board_file``."""

    def __init__(
        self,
        board_file: str | os.PathLike,
        clock: Clock,
        *,
        rtc_set: bool = False,
        board_overrides: dict | None = None,
        firmware_dir: str | os.PathLike | None = None,
        rtc_ppm: float = 0.0,
        internal_rtc_ppm: float = 0.0,
    ) -> None:
        """``rtc_ppm``: the DS3231's rate error (its ``clock`` counts that
        much fast); ``internal_rtc_ppm``: the chip's own RTC's (boards with
        RTC = "internal"; the Unix-port token serves it through simlink)."""
        self.firmware_dir = Path(firmware_dir) if firmware_dir else default_firmware_dir()
        self.board_file = Path(board_file)
        self.board_overrides = dict(board_overrides or {})
        self.board = load_board(self.board_file)
        self.board.update(self.board_overrides)
        self.clock = clock
        if rtc_ppm:
            self.clock.set_rate(rtc_ppm)
        self.rtc = DS3231(self.clock, first_power=not rtc_set)
        self.internal_rtc = InternalRTC(Clock(source=clock.source, ppm=internal_rtc_ppm))
        self.oled = SSD1306(height=int(self.board.get("DISPLAY_H", 64)))
        self.i2c = I2CBus()
        self.parts: dict[str, tuple[int, I2CDevice]] = {
            "ssd1306": (int(self.board.get("DISPLAY_ADDR", 0x3C)), self.oled),
            "ds3231": (int(self.board.get("RTC_ADDR", 0x68)), self.rtc),
        }
        for addr, dev in self.parts.values():
            self.i2c.attach(addr, dev)
        self.button_pin = int(self.board.get("BUTTON_PIN", 0))
        self.pins: dict[int, int] = {self.button_pin: 1}  # pull-up: released = 1

    serial: SerialPty | None  # set by the subclass: the token's USB serial

    @property
    def running(self) -> bool:
        """Is the firmware running? (each token knows its own process)"""
        raise NotImplementedError

    @property
    def port(self) -> str:
        """The token's serial port, for the host to open."""
        raise NotImplementedError

    # -- the serial log -------------------------------------------------------------
    @property
    def serial_log(self) -> bytes:
        """Every byte the firmware wrote to its USB serial, since start."""
        return self._recorded("output")

    @property
    def stderr_log(self) -> bytes:
        return self._recorded("stderr")

    def _recorded(self, stream: str) -> bytes:
        if self.serial is None:
            return b""
        with self.serial.lock:
            return bytes(getattr(self.serial, stream))

    def _tail(self) -> str:
        return (self.serial_log[-1500:] + self.stderr_log[-1500:]).decode(errors="replace")

    # -- parts --------------------------------------------------------------------
    def remove_part(self, name: str) -> None:
        """Take a part off the bus (it then NACKs, as if unsoldered)."""
        addr, _ = self.parts[name]
        self.i2c.detach(addr)

    def add_part(self, name: str) -> None:
        addr, dev = self.parts[name]
        self.i2c.attach(addr, dev)

    # -- the screen ------------------------------------------------------------------
    @property
    def display_on(self) -> bool:
        return self.oled.lit()

    def screen_pixels(self) -> list[list[int]]:
        return self.oled.pixels()

    def screen_text(self) -> str:
        """The screen's text, decoded from the OLED RAM glyph by glyph."""
        return screen.decode(self.oled.pixels(), self.firmware_dir)

    def screen_image(self, scale: int = 1):
        return screen.image(self.oled, scale)

    def screen_png(self, path: str | os.PathLike, scale: int = 4) -> None:
        self.screen_image(scale).save(str(path))

    def screen_ansi(self) -> str:
        return screen.half_blocks(self.oled.pixels())

    def wait_for_screen(self, predicate: Callable[[str], bool], timeout: float = 5.0) -> str:
        """Poll the decoded screen until ``predicate(text)``; returns the text."""
        return self._wait_still(self.screen_text, predicate, timeout)

    def wait_for_pixels(self, predicate: Callable[[list[list[int]]], bool], timeout: float = 5.0) -> list[list[int]]:
        """Poll the panel's pixels until ``predicate(pixels)``; returns them
        (a picture no text decoder reads, e.g. one turned 180 degrees)."""
        return self._wait_still(self.screen_pixels, predicate, timeout)

    def _wait_still(self, read: Callable[[], T], predicate: Callable[[T], bool], timeout: float) -> T:
        deadline = time.monotonic() + timeout
        while True:
            seen = read()
            if predicate(seen):
                # A redraw goes out in several transfers (only what changed):
                # answer once the OLED has been still for a quarter second
                # (the countdown moves once a second).
                version = self.oled.version
                time.sleep(0.25)
                if self.oled.version == version:
                    return seen
                continue
            if not self.running:
                raise EmulatorError("the firmware stopped:\n" + self._tail())
            if time.monotonic() > deadline:
                raise TimeoutError("screen never matched; it shows:\n" + self.screen_text())
            time.sleep(0.03)

    def wait_ready(self, timeout: float = 20.0) -> dict:
        """Wait until the firmware answers on its serial port; its ``info``."""
        from .testing import ProtocolClient

        with ProtocolClient(self.port) as client:
            return client.wait_ready(timeout)

    def time(self) -> float:
        """The emulated time: what the token's RTC holds now."""
        return self.clock.now()
