"""The parts both emulated tokens share: the I2C bus with the SSD1306 and
the DS3231 on it, the button, and reading the screen.

``EmulatedToken`` (the Unix port) and ``EmulatedPico`` (rp2040js) differ
only in what runs the firmware; the part models and the way tests read the
OLED are these, once.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Callable

from ..paths import FIRMWARE
from . import screen
from .ds3231 import DS3231, Clock
from .i2c import I2CBus
from .serial_pty import SerialPty
from .ssd1306 import SSD1306


class EmulatorError(RuntimeError):
    """An emulated token could not be started or driven."""


def default_firmware_dir() -> Path:
    return Path(os.environ.get("OTPFOB_FIRMWARE", FIRMWARE))


def load_board(path: Path) -> dict:
    """Board files are data only: run one and keep its upper-case names."""
    ns: dict = {}
    exec(compile(path.read_text(), str(path), "exec"), ns)
    return {k: v for k, v in ns.items() if k.isupper()}


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
    ) -> None:
        self.firmware_dir = Path(firmware_dir) if firmware_dir else default_firmware_dir()
        self.board_file = Path(board_file)
        self.board_overrides = dict(board_overrides or {})
        self.board = load_board(self.board_file)
        self.board.update(self.board_overrides)
        self.clock = clock
        self.rtc = DS3231(self.clock, first_power=not rtc_set)
        self.oled = SSD1306(height=int(self.board.get("DISPLAY_H", 64)))
        self.i2c = I2CBus()
        self.parts = {
            "ssd1306": (int(self.board.get("DISPLAY_ADDR", 0x3C)), self.oled),
            "ds3231": (int(self.board.get("RTC_ADDR", 0x68)), self.rtc),
        }
        for addr, dev in self.parts.values():
            self.i2c.attach(addr, dev)
        self.button_pin = int(self.board.get("BUTTON_PIN", 0))
        self.pins: dict[int, int] = {self.button_pin: 1}  # pull-up: released = 1

    running: bool  # set by the subclass: is the firmware running?
    serial: SerialPty | None  # set by the subclass: the token's USB serial

    # -- the serial log -------------------------------------------------------------
    @property
    def serial_log(self) -> bytes:
        """Every byte the firmware wrote to its USB serial, since start."""
        if self.serial is None:
            return b""
        with self.serial.lock:
            return bytes(self.serial.output)

    @property
    def stderr_log(self) -> bytes:
        if self.serial is None:
            return b""
        with self.serial.lock:
            return bytes(self.serial.stderr)

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
        deadline = time.monotonic() + timeout
        text = ""
        while True:
            text = self.screen_text()
            if predicate(text):
                # A redraw goes out in several transfers (only what changed):
                # answer once the OLED has been still for a quarter second
                # (the countdown moves once a second).
                version = self.oled.version
                time.sleep(0.25)
                if self.oled.version == version:
                    return text
                continue
            if not self.running:
                raise EmulatorError("the firmware stopped:\n" + self._tail())
            if time.monotonic() > deadline:
                raise TimeoutError("screen never matched; it shows:\n" + text)
            time.sleep(0.03)

    def wait_ready(self, timeout: float = 20.0) -> dict:
        """Wait until the firmware answers on its serial port; its ``info``."""
        from .testing import ProtocolClient

        with ProtocolClient(self.port) as client:
            return client.wait_ready(timeout)

    def time(self) -> float:
        """The emulated time: what the token's RTC holds now."""
        return self.clock.now()
