"""EmulatedPico: the real rp2 MicroPython firmware in rp2040js, wired to the
same part models as the emulated token.

    pico = EmulatedPico(flash="build/pico-flash", image=deployed_image())
    pico.start()
    print(pico.port)              # /dev/pts/N: pyserial, mpremote, --port
    pico.clock.freeze(1_700_000_000)
    pico.press(); pico.hold()     # in emulated time
    print(pico.screen_text())     # the OLED, decoded from its RAM
    pico.power_cut(at_instruction=123_456); pico.restart()
    pico.set_usb(False); pico.set_battery_mv(3900)   # on battery (VBUS low, VSYS 3.9 V)
    pico.power_report()           # emulated ns per power state, the OLED's too
    pico.stop()

A Node process (``bridge.mjs``) runs the chip; this process owns the I2C
bus, the SSD1306, the DS3231, the button and the USB serial pty, and sets
the pace.  Emulated time follows the wall clock: it never runs ahead of
it, and when the emulator falls behind (a busy chip, a loaded host) the lag
is dropped, not made up in a burst, so it never runs faster either (the
token's clock then trails the host's), unless ``paced=False`` or
``advance()`` moves it on.  The DS3231 counts emulated seconds.  Flash is a 2 MB image file in
the ``flash`` folder, written at every power cut and stop.

BOOTSEL: ``machine.bootloader()`` on the chip (our ROM's reset_usb_boot)
or ``bootsel()`` from here powers the chip off and shows the USB drive a
real RP2040 shows, as a folder ``flash/RPI-RP2`` holding INFO_UF2.TXT.  A
``.uf2`` copied into it is programmed the way the bootrom does (each 4 KB
sector a block touches is erased first; the rest of the flash, such as
the littlefs filesystem, is kept); once every block of the file has been
written, the folder goes away and the chip boots the new firmware.
"""

from __future__ import annotations

import base64
import json
import os
import select
import shutil
import struct
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from .. import keymap
from ..battery import CURRENTS, Battery, adc_counts
from ..ds3231 import Clock
from ..parts import FLASH_UMASK, EmulatorError, TokenParts, private_flash
from ..serial_pty import SerialPty
from . import build

FLASH_BYTES = 2 * 1024 * 1024  # the Pico's W25Q16JV
FLASH_FILE = "flash.bin"
BOOTSEL_DIR = "RPI-RP2"  # the folder standing for the BOOTSEL drive, in the flash folder
# What a real RP2040's BOOTSEL drive holds (bootrom B2).
INFO_UF2 = "UF2 Bootloader v3.0\r\nModel: Raspberry Pi RP2\r\nBoard-ID: RPI-RP2\r\n"
INDEX_HTM = (
    '<html><head><meta http-equiv="refresh" content="0;URL=\'https://raspberrypi.com/'
    "device/RP2?version=E0C9125B0D9B'\"/></head><body>Redirecting to raspberrypi.com</body></html>\r\n"
)
UF2_FAMILY_RP2040 = 0xE48BFF56
XIP_BASE = 0x10000000
# Emulated time one sync may run ahead: the latency of host input and pin changes.
SLICE_NS = 2_000_000
PACE_LAG_NS = 20_000_000  # paced: the most emulated time may trail the wall clock by
DORMANT_SLICE_NS = 1_000_000_000  # unpaced and dormant: a sync per emulated second
VBUS_PIN = 24  # the Pico senses VBUS on GP24 (through R10/R1)
USB_VSYS_MV = 4700  # 5 V VBUS less the Pico's D1 (MBR120VLSFT1) drop
ADC_TEMP_27C = 876  # ADC4, the temperature sensor's 0.706 V at 27 C (datasheet 4.9.5)
# The bridge's per-power-on counters, kept across power-ons in power_report().
_POWER_KEYS = ("run_ns", "wait_ns", "dormant_ns", "dormant_entries")
T = TypeVar("T")


class EmulatedPico(TokenParts):
    def __init__(
        self,
        flash: str | os.PathLike | None = None,
        *,
        clock: Clock | None = None,
        rtc_set: bool = False,
        image: str | os.PathLike | None = None,
        board_file: str | os.PathLike | None = None,
        paced: bool = True,
        stepped: bool = False,
        wire_time: bool = True,
        rtc_ppm: float = 0.0,
    ) -> None:
        """``flash``: folder holding flash.bin (created from ``image``, the
        flash of a deployed Pico, when missing).  ``paced``: emulated time
        never runs ahead of the wall clock, nor faster than it.  ``stepped``: emulated time moves
        only when ``advance()`` (or ``exchange()``) moves it, whatever the
        wall clock does; host bytes reach the chip at the instant it
        stands at, so a run is the same on any host, however loaded
        (benchmarks).  ``wire_time``: I2C transfers
        take their time on the wire at the bus frequency, as on a board.
        ``rtc_ppm``: the DS3231's rate error (the chip's own RTC is
        rp2040js's, without one)."""
        self.rp2 = build.require()
        self._own_flash = flash is None
        self.flash = private_flash(Path(flash) if flash else Path(tempfile.mkdtemp(prefix="otpfob-pico-")))
        self.image = self.flash / FLASH_FILE
        if not self.image.exists():
            if image is not None:
                shutil.copyfile(image, self.image)
            else:  # a Pico with only MicroPython on it: littlefs is made at first boot
                fw = self.rp2.firmware.read_bytes()
                self.image.write_bytes(fw + b"\xff" * (FLASH_BYTES - len(fw)))
            os.chmod(self.image, 0o600)
        self._base_ns = 0  # emulated time of earlier power-ons
        self._ns = 0  # emulated time since this power-on
        super().__init__(
            board_file or build.BOARD_FILE,
            clock or Clock(time.time(), source=self.emulated_seconds),
            rtc_set=rtc_set,
            rtc_ppm=rtc_ppm,
        )
        if clock is not None:  # the RTC counts emulated time from where it stands
            clock.rebase(self.emulated_seconds)
        self.paced = paced
        self.stepped = stepped
        self.wire_time = wire_time
        self.inputs = 0  # host writes that reached the chip
        self._input_line_done = True  # the last of them ended a line
        self._stopped_ns = 0  # emulated time of the chip's last sync (where a slice ended)
        self.lines_out = 0  # line ends the firmware sent to the host
        self.serial: SerialPty | None = None
        self.proc: subprocess.Popen | None = None
        self._link: threading.Thread | None = None
        self._cmds: list[dict] = []
        self._cv = threading.Condition()
        self._instr = 0
        self._wait_ns = 0
        self._since_input = -1
        self._flash_ops: list[int] = []
        self.last_off: dict = {}  # the 'off' event of the last power cut
        self._on = False
        self._skip_ns = 0
        self._wall0 = 0.0
        self._emu0 = 0
        self._events: list[dict] = []
        self.i2c_bytes = 0  # bytes on the I2C wire (address bytes included)
        self.last_input_ns = 0  # when host bytes last reached the chip
        self.reply_after = -1  # instructions from the last host input to the end of a line sent back
        # Called as f(addr, emulated_ns) after each I2C write reached a model
        # (benchmarks watch the OLED's RAM with it).
        self.on_i2c_write: Callable[[int, int], None] | None = None
        # Called as f(data, emulated_ns) for each USB packet the firmware sent.
        self.on_usb: Callable[[bytes, int], None] | None = None
        self.boots = 0
        self.resets = 0
        # Power: the USB cable (VBUS on GP24 and the host), VSYS from the
        # battery (ADC3), time per power state.
        self.usb_plugged = True
        self.battery = Battery()
        self._drawn_mc0 = 0.0  # charge drawn before the battery was set
        self.vsys_divider = int(self.board.get("VSYS_DIVIDER", 3))
        self.battery_diode_mv = int(self.board.get("BATTERY_DIODE_MV", 0))
        self._power = dict.fromkeys(_POWER_KEYS, 0)  # this power-on, from the last sync
        self._power_done = dict.fromkeys(_POWER_KEYS, 0)  # earlier power-ons
        self.dormant = False
        self.oled.now = self.emulated_ns
        self.bootsel_dir = self.flash / BOOTSEL_DIR
        self._bootsel: threading.Thread | None = None
        self._bootsel_stop = threading.Event()
        self.uf2_loads = 0  # .uf2 files programmed through the BOOTSEL folder

    # -- emulated time ------------------------------------------------------------
    def emulated_ns(self) -> int:
        return self._base_ns + self._ns

    def emulated_seconds(self) -> float:
        # The DS3231's time base: whole emulated nanoseconds, as seconds.
        return (self._base_ns + self._ns) / 1e9

    @property
    def instructions(self) -> int:
        """Instructions executed since this power-on."""
        return self._instr

    @property
    def wait_ns(self) -> int:
        """Emulated time the core spent in WFI/WFE since this power-on."""
        return self._wait_ns

    def advance(self, seconds: float, timeout: float | None = None) -> None:
        """Let emulated time run ``seconds`` ahead of the wall clock (as fast
        as the emulator goes; stepped: from where it stands) and wait until
        it has."""
        target = self.emulated_ns() + int(seconds * 1e9)
        with self._cv:
            if self.stepped:
                self._skip_ns = max(self._skip_ns, target - self._emu0)
            else:
                self._skip_ns += int(seconds * 1e9)
            self._cv.notify_all()
        self.wait_emulated(target, timeout)

    def wait_emulated(self, target_ns: int, timeout: float | None = None) -> None:
        """Block until emulated time reaches ``target_ns``."""
        limit = timeout if timeout is not None else 30 + 10 * max(0, target_ns - self.emulated_ns()) / 1e9
        deadline = time.monotonic() + limit
        with self._cv:
            # Stepped: until the chip has stopped there (an I2C event of the
            # slice still running already says a later time than its start).
            while (self._stopped_ns if self.stepped else self.emulated_ns()) < target_ns:
                if not self.running:
                    raise EmulatorError("the emulated Pico stopped:\n" + self._tail())
                self._cv.wait(min(0.5, max(0.0, deadline - time.monotonic())))
                if time.monotonic() > deadline:
                    raise TimeoutError("emulated time did not reach %d ns" % target_ns)

    def exchange(self, talk: Callable[[], T], step: float = 0.001, timeout: float = 300) -> T:
        """Stepped: run ``talk`` (write one request to the serial port, read
        its reply) in a thread, and move emulated time on in ``step``
        seconds from the instant the request reached the chip until a line
        has come back; ``talk``'s result.  Where the chip then stands
        depends on emulated time only."""
        box: dict = {}

        def run() -> None:
            try:
                box["value"] = talk()
            except BaseException as e:  # re-raised in the caller
                box["error"] = e

        inputs, lines = self.inputs, self.lines_out
        thread = threading.Thread(target=run, name="otpfob-pico-exchange", daemon=True)
        thread.start()
        deadline = time.monotonic() + timeout
        with self._cv:
            # The whole request line at one instant (a pty may split a write).
            while (self.inputs == inputs or not self._input_line_done) and thread.is_alive():
                self._cv.wait(0.05)
                if time.monotonic() > deadline:
                    raise TimeoutError("the request never reached the emulated Pico")
        while self.lines_out == lines and thread.is_alive():
            self.advance(step)
            if time.monotonic() > deadline:
                raise TimeoutError("the emulated Pico did not answer")
        thread.join(30)  # the reply is in the pty: only the reader is left
        while thread.is_alive():  # a line that was not the reply: go on
            self.advance(step)
            thread.join(0.05)
        if "error" in box:
            raise box["error"]
        return box["value"]

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of emulated time (paced: about as long on the wall)."""
        self.wait_emulated(self.emulated_ns() + int(seconds * 1e9))

    # -- lifecycle ----------------------------------------------------------------------
    @property
    def port(self) -> str:
        if self.serial is None:
            raise EmulatorError("the emulated Pico is not started")
        return self.serial.port

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None and self._on

    def start(self) -> EmulatedPico:
        if self.serial is None:
            self.serial = SerialPty()
        link_in_r, link_in_w = os.pipe()  # CPython -> Node
        link_out_r, link_out_w = os.pipe()  # Node -> CPython
        self._host_r, host_w = os.pipe()  # host bytes, from the pty relay
        dev_r, self._dev_w = os.pipe()  # firmware bytes, to the pty relay
        err_r, err_w = os.pipe()
        opts = {
            "rp2040js": str(self.rp2.rp2040js),
            "bootrom": str(self.rp2.bootrom),
            "romExt": str(self.rp2.romext) if self.rp2.romext else None,
            "romExtOffset": build.ROMEXT_OFFSET,
            "flashBytes": FLASH_BYTES,
            "fdIn": link_in_r,
            "fdOut": link_out_w,
            "flash": str(self.image),
            "i2c": int(self.board.get("I2C_ID", 0)),
            "pins": {str(self.button_pin): 1},
            "vbusPin": VBUS_PIN,
            "usb": self.usb_plugged,
            "wireTime": self.wire_time,
            "flashFuncs": self.rp2.flash_functions(),
            "logLevel": 3,
        }
        try:
            self.proc = subprocess.Popen(
                [self.rp2.node, str(build.BRIDGE), json.dumps(opts)],
                stdin=subprocess.DEVNULL,
                stdout=err_w,
                stderr=err_w,
                pass_fds=(link_in_r, link_out_w),
                close_fds=True,
                umask=FLASH_UMASK,
            )
        except OSError as e:
            raise EmulatorError("Node.js could not be started (%s)." % e.strerror) from None
        for fd in (link_in_r, link_out_w, err_w):
            os.close(fd)
        self._to_node = os.fdopen(link_in_w, "wb", buffering=0)
        self._from_node = os.fdopen(link_out_r, "rb", buffering=1 << 16)
        self.serial.attach(host_w, dev_r, err_r)
        self._link = threading.Thread(target=self._serve, name="otpfob-pico-link", daemon=True)
        self._link.start()
        self._power_on()
        return self

    def _queue(self, *cmds: dict) -> None:
        with self._cv:
            self._cmds.extend(cmds)
            self._cv.notify_all()

    def _power_on(self) -> None:
        self.oled.power_on()
        self.rtc.power_restored()
        self._wall0 = time.monotonic()
        self._emu0 = self.emulated_ns()
        self._skip_ns = 0
        with self._cv:
            self._on = True
        self._queue({"op": "power_on", "flash": str(self.image)})
        self.boots += 1

    def power_cut(self, at_instruction: int | None = None, *, wait: bool = True, timeout: float = 120) -> None:
        """Pull the power, now or once this power-on has run
        ``at_instruction`` instructions (then ``wait=False`` returns at once:
        drive the firmware, then ``wait_off()``).  The flash image is kept
        exactly as it is at that instant; the RTC runs on its battery."""
        if not self.running:
            return
        if at_instruction is None:
            self._queue({"op": "power_off", "flash": str(self.image)})
        else:
            self._queue({"op": "cut", "instr": int(at_instruction)})
        if wait:
            self.wait_off(timeout)

    def wait_ready(self, timeout: float = 60.0) -> dict:
        """Wait for the app's first screen, then ask for ``info`` once
        (asking while it boots queues requests that each collect the heap)."""
        try:
            self.wait_for_screen(lambda t: t.strip() != "", timeout)
        except TimeoutError:
            return super().wait_ready(timeout)  # no display on the bus: ask until it answers
        # Booted: one request, as long as the emulator needs on a loaded
        # host (one a second would queue up behind a slow answer, each
        # collecting the heap, and none be read in time).
        from ..testing import ProtocolClient

        with ProtocolClient(self.port, timeout=timeout) as client:
            return client.call("info")

    def save_flash(self, timeout: float = 60) -> bytes:
        """Write the flash image as it is now (the chip keeps running); its bytes."""
        with self._cv:
            n = sum(1 for e in self._events if e["event"] == "saved")
        self._queue({"op": "save", "flash": str(self.image)})
        deadline = time.monotonic() + timeout
        with self._cv:
            while sum(1 for e in self._events if e["event"] == "saved") == n:
                # Every sync notifies: the deadline is checked on each wake.
                self._cv.wait(0.5)
                if time.monotonic() > deadline:
                    raise TimeoutError("the flash image was not saved")
        return self.image.read_bytes()

    def cut_after_input(self, instructions: int) -> None:
        """Schedule a power cut ``instructions`` after the next host bytes
        reach the chip (then send a request, then ``wait_off()``)."""
        self._queue({"op": "cut", "afterInput": int(instructions)})

    def cut_in_flash_op(self, n: int, plus: int) -> None:
        """Schedule a power cut ``plus`` instructions after the ``n``-th ROM
        flash erase or program (from 0) that follows the next host bytes."""
        self._queue({"op": "cut", "flashOp": int(n), "plus": int(plus)})

    @property
    def since_input(self) -> int:
        """Instructions run since host bytes last reached the chip."""
        return self._since_input

    @property
    def flash_ops(self) -> list[int]:
        """When ROM flash erases/programs began, in instructions after the last input."""
        return list(self._flash_ops)

    def wait_off(self, timeout: float = 120) -> None:
        """Wait for a scheduled power cut to happen."""
        deadline = time.monotonic() + timeout
        with self._cv:
            while self._on:
                if self.proc is None or self.proc.poll() is not None:
                    break
                # Every sync notifies: the deadline is checked on each wake.
                self._cv.wait(0.5)
                if time.monotonic() > deadline:
                    raise TimeoutError("the emulated Pico was not cut within %d s" % timeout)
        self.oled.power_on()  # contents lost; dark until initialised again
        self.rtc.battery_only()

    def restart(self) -> None:
        """Power on again with the same flash and the same RTC."""
        if self.running:
            self.power_cut()
        self._power_on()

    # -- BOOTSEL: the USB drive of the RP2040's bootrom -----------------------------
    def bootsel(self) -> Path:
        """Hold BOOTSEL and power on (or run ``machine.bootloader()``): the
        chip stops and the drive folder appears; returns it.  A ``.uf2``
        copied into it is flashed and the chip boots it."""
        if self._bootsel is not None and self._bootsel.is_alive():
            return self.bootsel_dir
        if self.running:
            self.power_cut()
        self.bootsel_dir.mkdir(exist_ok=True)
        for old in self.bootsel_dir.iterdir():
            old.unlink()
        (self.bootsel_dir / "INDEX.HTM").write_text(INDEX_HTM)
        (self.bootsel_dir / "INFO_UF2.TXT").write_text(INFO_UF2)
        self._bootsel_stop.clear()
        self._bootsel = threading.Thread(target=self._bootsel_drive, name="otpfob-pico-bootsel", daemon=True)
        self._bootsel.start()
        return self.bootsel_dir

    def _bootsel_drive(self) -> None:
        while not self._bootsel_stop.wait(0.2):
            for f in sorted(self.bootsel_dir.glob("*")):
                if f.suffix.lower() != ".uf2":
                    continue
                blocks = uf2_blocks(f.read_bytes())
                if blocks is None:  # still being copied
                    continue
                image = bytearray(self.image.read_bytes())
                for sector in {(addr - XIP_BASE) // 4096 for addr, _ in blocks}:
                    image[sector * 4096 : (sector + 1) * 4096] = b"\xff" * 4096
                for addr, data in blocks:
                    off = addr - XIP_BASE
                    image[off : off + len(data)] = data
                tmp = self.image.with_suffix(".uf2tmp")
                tmp.write_bytes(bytes(image))
                os.replace(tmp, self.image)
                self.uf2_loads += 1
                shutil.rmtree(self.bootsel_dir, ignore_errors=True)  # the drive goes away
                if self.proc is not None and self.proc.poll() is None:
                    self._power_on()  # the bootrom reboots into the new firmware
                return

    def stop(self) -> None:
        self._bootsel_stop.set()
        if self.proc is not None:
            if self.running:
                self.power_cut()
            self._queue({"op": "quit"})
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            if self._link is not None:
                self._link.join(5)
            for f in (self._to_node, self._from_node):
                try:
                    f.close()
                except OSError:
                    pass
            for fd in (self._host_r, self._dev_w):
                try:
                    os.close(fd)
                except OSError:
                    pass
            if self.serial is not None:
                self.serial.detach()
            self.proc = None
        if self.serial is not None:
            self.serial.close()
            self.serial = None
        if self._own_flash:
            shutil.rmtree(self.flash, ignore_errors=True)

    def __enter__(self) -> EmulatedPico:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- the button, in emulated time ---------------------------------------------------
    def _pin(self, level: int, at_ns: int | None = None) -> None:
        cmd = {"op": "pin", "pin": self.button_pin, "value": level}
        if at_ns is not None:
            cmd["at"] = at_ns - self._base_ns
        self._queue(cmd)

    def button_down(self) -> None:
        self.pins[self.button_pin] = 0
        self._pin(0)

    def button_up(self) -> None:
        self.pins[self.button_pin] = 1
        self._pin(1)

    def press(self, ms: int = 100) -> None:
        """Down for ``ms`` of emulated time, then released; returns once the
        firmware has had 50 ms to act on the release."""
        t0 = self.emulated_ns() + SLICE_NS
        self._pin(0, t0)
        self._pin(1, t0 + ms * 1_000_000)
        self.wait_emulated(t0 + (ms + 50) * 1_000_000)

    def hold(self, ms: int = 1200) -> None:
        self.press(ms)

    def double_press(self, ms: int = 80, gap_ms: int = 120) -> int:
        """Two short presses ``gap_ms`` apart (the typing gesture); returns
        the emulated ns of the first press, once the firmware has had 50 ms
        to act on the second release."""
        t0 = self.emulated_ns() + SLICE_NS
        t1 = t0 + (ms + gap_ms) * 1_000_000
        self._pin(0, t0)
        self._pin(1, t0 + ms * 1_000_000)
        self._pin(0, t1)
        self._pin(1, t1 + ms * 1_000_000)
        self.wait_emulated(t1 + (ms + 50) * 1_000_000)
        return t0

    def events(self) -> list[dict]:
        """What the chip reported: USB up, watchdog resets, power offs."""
        with self._cv:
            return list(self._events)

    # -- the USB keyboard (issue 25; usbhost.mjs) -------------------------------------------
    def hid_reports(self, since_ns: int = 0) -> list[tuple[int, bytes]]:
        """(emulated ns of the host's poll, report) for each HID report the
        host took from the keyboard's endpoint at or after ``since_ns``."""
        return [
            (e["at_ns"], bytes(e["report"])) for e in self.events() if e["event"] == "hid" and e["at_ns"] >= since_ns
        ]

    def typed(self, layout: str, since_ns: int = 0) -> str:
        """What a host with ``layout`` shows typed since ``since_ns``
        (a re-enumeration or a power-off lets go of the keys)."""
        d = keymap.Decoder(layout)
        for e in self.events():
            if e.get("at_ns", 0) < since_ns:
                continue
            if e["event"] == "hid":
                d.report(bytes(e["report"]))
            elif e["event"] in ("usb_disconnect", "off", "reset", "unplug"):
                d.unplugged()
        if d.errors:
            raise AssertionError("the keyboard sent bad reports: " + ", ".join(d.errors))
        return d.text

    def wait_keyboard(self, timeout: float = 60.0, since_ns: int = 0) -> dict:
        """The host's view of the keyboard once enumerated at or after
        ``since_ns`` (the last 'hid_ready' event: interface, endpoint,
        report descriptor, configuration descriptor)."""
        end = time.monotonic() + timeout
        with self._cv:
            while True:
                ready = [e for e in self._events if e["event"] == "hid_ready" and e["at_ns"] >= since_ns]
                if ready:
                    return ready[-1]
                left = end - time.monotonic()
                if left <= 0 or not self._on:
                    raise EmulatorError("The emulated Pico's keyboard was never enumerated.")
                self._cv.wait(min(left, 0.5))

    # -- the link to Node ------------------------------------------------------------------
    def _read(self, n: int) -> bytes:
        data = self._from_node.read(n)
        if data is None or len(data) < n:
            raise EOFError
        return data

    def _serve(self) -> None:
        try:
            while True:
                kind, length = struct.unpack("<cI", self._read(5))
                payload = self._read(length) if length else b""
                self._dispatch(kind, payload)
        except (EOFError, OSError, ValueError):
            pass
        finally:
            with self._cv:
                self._on = False
                self._cv.notify_all()

    def _dispatch(self, kind: bytes, p: bytes) -> None:
        if kind == b"C":
            self._ns = int(struct.unpack_from("<d", p, 2)[0])
            ack = self.i2c.ack(p[0])
            self.i2c_bytes += 1
            self._to_node.write(b"\x01" if ack else b"\x00")
        elif kind == b"R":
            self._ns = int(struct.unpack_from("<d", p, 2)[0])
            self.i2c_bytes += 1
            self._to_node.write(bytes([self.i2c.read_byte(p[0], bool(p[1]))]))
        elif kind == b"W":
            self._ns = int(struct.unpack_from("<d", p, 2)[0])
            self.i2c.write_acked(p[0], p[10:], stop=bool(p[1]))
            self.i2c_bytes += len(p) - 10
            if self.on_i2c_write is not None:
                self.on_i2c_write(p[0], self._base_ns + self._ns)
        elif kind == b"A":
            self._ns = int(struct.unpack_from("<d", p, 2)[0])
            self._to_node.write(struct.pack("<H", self._adc(p[0])))
        elif kind == b"U":
            # Recorded before the bytes reach the pty: whoever reads them
            # there finds their emulated instant already noted.
            if b"\n" in p[16:]:
                self.reply_after = int(struct.unpack_from("<d", p, 8)[0])
                self.lines_out += p[16:].count(b"\n")
            if self.on_usb is not None:
                self.on_usb(p[16:], self._base_ns + int(struct.unpack_from("<d", p, 0)[0]))
            self._to_host(p[16:])
        elif kind == b"E":
            self._event(json.loads(p))
        elif kind == b"Y":
            self._sync(json.loads(p))

    def _to_host(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            n = os.write(self._dev_w, view)
            view = view[n:]

    def _event(self, ev: dict) -> None:
        if ev["event"] == "break" and ev.get("code") == 0:
            # The ROM's reset_usb_boot: machine.bootloader() was called.
            threading.Thread(target=self.bootsel, daemon=True).start()
        with self._cv:
            if "nanos" in ev:  # emulated ns since the Pico was made, as emulated_ns()
                ev["at_ns"] = self._base_ns + int(ev["nanos"])
            self._events.append(ev)
            if ev["event"] == "reset":
                self.resets += 1
                self._end_power_on()
                self._base_ns += int(ev["nanos"])
                self._ns = 0
                self._instr = 0
            elif ev["event"] == "off":
                self.last_off = ev
                self._end_power_on()
                self._base_ns += int(ev["nanos"])
                self._ns = 0
                self._on = False
            self._cv.notify_all()

    def _host_input(self) -> bytes:
        data = b""
        while select.select([self._host_r], [], [], 0)[0]:
            chunk = os.read(self._host_r, 4096)
            if not chunk:
                break
            data += chunk
        return data

    def _sync(self, state: dict) -> None:
        with self._cv:
            if not state.get("off"):
                self._ns = int(state["nanos"])
                self._stopped_ns = self._base_ns + self._ns
                self._instr = int(state["instr"])
                self._wait_ns = int(state["wait"])
                self._since_input = int(state["sinceInput"])
                self._flash_ops = state["flashOps"]
                self._power = {
                    "run_ns": int(state["run"]),
                    "wait_ns": int(state["wait"]),
                    "dormant_ns": int(state["dormantNanos"]),
                    "dormant_entries": int(state["dormantEntries"]),
                }
                self.dormant = bool(state["dormant"])
            self._cv.notify_all()
        while True:
            with self._cv:
                # One snapshot: a command queued before an advance() never
                # misses the slice that advance() allows.
                cmds, self._cmds = self._cmds, []
                on = self._on
                skip = self._skip_ns
            data = self._host_input()
            if data:
                cmds.append({"op": "input", "data": base64.b64encode(data).decode()})
                self.last_input_ns = self.emulated_ns()
                with self._cv:
                    self.inputs += 1
                    self._input_line_done = data.endswith(b"\n")
                    self._cv.notify_all()
            if state.get("off") and not any(c["op"] in ("power_on", "quit") for c in cmds):
                # Power is off: nothing runs until a command comes.
                self._reply(cmds)
                with self._cv:
                    if not self._cmds:
                        self._cv.wait(0.05)
                return
            now = self.emulated_ns()
            # Dormant, nothing runs: the chip may skip ahead in long slices, or
            # to the horizon at once (its pin changes are queued at their instants).
            until = now + (DORMANT_SLICE_NS if self.dormant else SLICE_NS)
            if self.stepped and on:
                limit = self._emu0 + skip
                if limit <= now and not cmds:
                    # At the horizon: wait for advance(), host input or a command.
                    select.select([self._host_r], [], [], 0.005)
                    continue
                until = max(limit, now + 1) if self.dormant else min(until, max(limit, now + 1))
            elif self.paced and on:
                limit = self._emu0 + skip + int((time.monotonic() - self._wall0) * 1e9)
                if limit - now > PACE_LAG_NS and now >= self._emu0 + skip:
                    # Behind the wall clock (a busy chip, a loaded host), once
                    # what advance() asked for is run: the lag is dropped, not
                    # made up in a burst once the chip idles, so emulated time
                    # never runs faster than the wall's and a wait measured on
                    # the wall never sees a timeout of the token's (a screen's
                    # blank) come early.
                    self._wall0 += (limit - now - PACE_LAG_NS) / 1e9
                    limit = now + PACE_LAG_NS
                if limit <= now and not cmds:
                    # Ahead of the wall clock: wait for it, for host input or a command.
                    wait = min((now - limit) / 1e9 + 0.0005, 0.05)
                    select.select([self._host_r], [], [], wait)
                    continue
                until = max(limit, now + 1) if self.dormant else min(until, max(limit, now + 1))
            cmds.append({"op": "run", "until": until - self._base_ns})
            self._reply(cmds)
            return

    # -- power: USB cable, battery, time per power state --------------------------------------
    def set_usb(self, plugged: bool, at: int | None = None) -> None:
        """Plug the USB cable in or pull it out, now or at emulated ``at`` ns:
        VBUS on GP24, and the host (unplugged: no CDC bytes either way;
        plugged in: the host enumerates the device again)."""
        self.usb_plugged = bool(plugged)
        cmd: dict = {"op": "usb", "value": int(plugged)}
        if at is not None:
            cmd["at"] = at - self._base_ns
        self._queue(cmd)

    def set_battery_mv(self, mv: float | None) -> None:
        """VSYS fixed at ``mv`` (a bench supply), or None: the LiPo model again."""
        self.battery.fixed_mv = mv

    def set_battery(self, battery: Battery) -> None:
        """A battery model: its voltage falls with the charge drawn from now on."""
        self._drawn_mc0 = CURRENTS.charge_mc(self.power_report())
        self.battery = battery

    def battery_mv(self) -> float:
        """The cell's voltage now (the charge the power states drew from it)."""
        drawn_mc = CURRENTS.charge_mc(self.power_report()) - self._drawn_mc0
        return self.battery.mv(drawn_mc / 3600.0)

    def vsys_mv(self) -> float:
        """VSYS: the cell through the board's diode (BATTERY_DIODE_MV), or
        VBUS through the Pico's own Schottky when USB powers it."""
        on_cell = self.battery_mv() - self.battery_diode_mv
        return max(on_cell, USB_VSYS_MV) if self.usb_plugged else on_cell

    def _adc(self, channel: int) -> int:
        if channel == 3:
            return adc_counts(self.vsys_mv(), self.vsys_divider)
        return ADC_TEMP_27C if channel == 4 else 0

    def _end_power_on(self) -> None:
        for k in _POWER_KEYS:
            self._power_done[k] += self._power[k]
            self._power[k] = 0

    def power_report(self) -> dict:
        """Emulated ns per power state since the Pico was made, as of the last
        sync: ``run_ns`` (instructions at clk_sys), ``wait_ns`` (WFI/WFE, clocks
        on), ``dormant_ns`` (XOSC dormant), ``dormant_entries``; the OLED's
        ``oled_on_ns``, ``oled_off_ns``, ``oled_pump_ns``, ``oled_lit_pixel_ns``;
        ``world_ns``."""
        with self._cv:
            report = {k: self._power_done[k] + self._power[k] for k in _POWER_KEYS}
        report.update(self.oled.power_report())
        report["world_ns"] = self.emulated_ns()
        return report

    def _reply(self, cmds: list[dict]) -> None:
        body = json.dumps(cmds).encode()
        self._to_node.write(struct.pack("<I", len(body)) + body)


def uf2_blocks(data: bytes) -> list[tuple[int, bytes]] | None:
    """The (flash address, bytes) of each RP2040 block of a UF2 file, or
    None while the file is incomplete (not every block of it there yet).
    Blocks of other families are skipped, as the bootrom does."""
    blocks: dict[int, tuple[int, bytes]] = {}
    total = None
    for off in range(0, len(data) - 511, 512):
        m0, m1, flags, addr, size, no, count, family = struct.unpack_from("<8I", data, off)
        if m0 != 0x0A324655 or m1 != 0x9E5D5157 or struct.unpack_from("<I", data, off + 508)[0] != 0x0AB16F30:
            continue
        if flags & 1 or (flags & 0x2000 and family != UF2_FAMILY_RP2040):
            continue  # "not main flash", or for another chip
        total = count
        if XIP_BASE <= addr and addr + size <= XIP_BASE + FLASH_BYTES:
            blocks[no] = (addr, data[off + 32 : off + 32 + size])
    if total is None or len(blocks) < total:
        return None
    return [blocks[n] for n in sorted(blocks)]
