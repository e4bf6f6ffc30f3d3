"""The parent side of simlink: serves the child's bus and pin requests.

One thread per child process reads request frames from a pipe, runs them
against the part models and writes the reply (see device/simlink.py for
the frame layout).  It ends when the child closes its end (exit or kill).
"""

from __future__ import annotations

import errno
import os
import struct
import threading
import time
from collections.abc import Callable

OP_SCAN = 0x53
OP_WRITE = 0x57
OP_WRITE_NOSTOP = 0x77
OP_READ = 0x52
OP_PIN_GET = 0x50
OP_PIN_SET = 0x70
OP_RTC_GET = 0x54
OP_RTC_SET = 0x74
OP_POWER = 0x56
OP_SLEEP = 0x5A
SLEEP_POLL_S = 0.005  # how often a sleeping child's wake sources are looked at


def _read_exact(fd: int, n: int) -> bytes | None:
    buf = bytearray()
    while len(buf) < n:
        try:
            chunk = os.read(fd, n - len(buf))
        except OSError:
            return None
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)


class LinkServer(threading.Thread):
    def __init__(
        self,
        req_fd: int,
        rep_fd: int,
        bus,
        pins: dict[int, int],
        on_request: Callable[[], None] | None = None,
        rtc=None,
        supply=None,
    ) -> None:
        super().__init__(name="otpfob-emu-link", daemon=True)
        self.req_fd = req_fd
        self.rep_fd = rep_fd
        self.bus = bus
        self.pins = pins
        self.on_request = on_request
        self.rtc = rtc  # the internal RTC model (emu/internal_rtc.py), or None
        self.supply = supply  # USB power and the battery (emu/token.py Supply), or None
        self.requests = 0

    def _reply(self, status: int, data: bytes = b"") -> None:
        frame = struct.pack("<BH", status, len(data)) + data
        while frame:
            n = os.write(self.rep_fd, frame)
            frame = frame[n:]

    def run(self) -> None:
        try:
            while True:
                hdr = _read_exact(self.req_fd, 5)
                if hdr is None:
                    return
                op, addr, memaddr, n = struct.unpack("<BBBH", hdr)
                payload = b""
                if op in (OP_WRITE, OP_WRITE_NOSTOP, OP_RTC_SET) and n:
                    data = _read_exact(self.req_fd, n)
                    if data is None:
                        return
                    payload = data
                self.requests += 1
                self._serve(op, addr, memaddr, n, payload)
                if self.on_request:
                    self.on_request()
        except (BrokenPipeError, OSError):
            return  # the child went away mid-reply (power cut)

    def _sleep(self, button: int) -> None:
        # The child waits for this reply as a dormant chip waits for a wake
        # source: the button down (pin low) or USB power; or a request on
        # its serial, which on this token stays open on battery too.
        supply = self.supply
        supply.sleeps.append([time.monotonic(), None])
        sent = supply.host_bytes()
        while self.pins.get(button, 1) and not supply.usb and supply.host_bytes() == sent and not supply.cut.is_set():
            supply.cut.wait(SLEEP_POLL_S)
        supply.sleeps[-1][1] = time.monotonic()

    def _serve(self, op: int, addr: int, memaddr: int, n: int, payload: bytes) -> None:
        status, data = 0, b""
        try:
            if op == OP_SCAN:
                data = bytes(self.bus.scan())
            elif op in (OP_WRITE, OP_WRITE_NOSTOP):
                self.bus.write(addr, payload, stop=op == OP_WRITE)
            elif op == OP_READ:
                data = self.bus.read(addr, n)
            elif op == OP_PIN_GET:
                data = bytes([self.pins.get(addr, 1) & 1])
            elif op == OP_PIN_SET:
                self.pins[addr] = memaddr & 1
            elif op == OP_RTC_GET and self.rtc is not None:
                data = struct.pack("<q", self.rtc.read())
            elif op == OP_RTC_SET and self.rtc is not None and len(payload) == 8:
                self.rtc.write(struct.unpack("<q", payload)[0])
            elif op == OP_POWER and self.supply is not None:
                mv = self.supply.battery_mv
                data = struct.pack("<BH", 1 if self.supply.usb else 0, 0xFFFF if mv is None else int(mv))
            elif op == OP_SLEEP and self.supply is not None:
                self._sleep(addr)
            else:
                status = errno.EINVAL
        except OSError as e:  # a NACK or an injected fault: the child raises it
            status, data = e.errno or errno.EIO, b""
        self._reply(status, data)
