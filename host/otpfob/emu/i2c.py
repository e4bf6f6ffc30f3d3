"""A model of an I2C bus: devices by 7-bit address, NACKs, injected faults.

Transactions arrive from the child's ``simlink`` module one at a time.  An
address that no device answers is NACKed (``ENODEV``, as MicroPython's esp32
port reports it; rp2 reports ``EIO``: the firmware treats any OSError as a bus
fault).  ``inject_faults(n)`` makes the next ``n`` transactions fail with
``EIO`` as a glitching bus would.
"""

from __future__ import annotations

import errno
import threading
from typing import Protocol


class I2CDevice(Protocol):
    """What a part model implements to sit on the bus."""

    def i2c_write(self, data: bytes, stop: bool) -> None:
        """A write transaction (address byte already matched)."""

    def i2c_read(self, n: int) -> bytes:
        """A read transaction of ``n`` bytes."""


class BusError(OSError):
    pass


class I2CBus:
    def __init__(self) -> None:
        self.devices: dict[int, I2CDevice] = {}
        self.lock = threading.RLock()
        self._faults = 0
        self._fault_addr: int | None = None
        self._fault_errno = errno.EIO
        self.transactions = 0  # count, for tests and benchmarks

    def attach(self, addr: int, device: I2CDevice) -> None:
        with self.lock:
            self.devices[addr] = device

    def detach(self, addr: int) -> I2CDevice | None:
        with self.lock:
            return self.devices.pop(addr, None)

    def inject_faults(self, n: int, addr: int | None = None, err: int = errno.EIO) -> None:
        """Fail the next ``n`` transactions (to ``addr`` only, if given)."""
        with self.lock:
            self._faults = n
            self._fault_addr = addr
            self._fault_errno = err

    @property
    def pending_faults(self) -> int:
        return self._faults

    def _target(self, addr: int) -> I2CDevice:
        self.transactions += 1
        if self._faults and (self._fault_addr is None or self._fault_addr == addr):
            self._faults -= 1
            raise BusError(self._fault_errno, "injected bus fault")
        dev = self.devices.get(addr)
        if dev is None:
            raise BusError(errno.ENODEV, "no ACK from 0x%02x" % addr)
        return dev

    def scan(self) -> list[int]:
        with self.lock:
            return sorted(self.devices)

    def write(self, addr: int, data: bytes, stop: bool = True) -> None:
        with self.lock:
            self._target(addr).i2c_write(bytes(data), stop)

    def read(self, addr: int, n: int) -> bytes:
        with self.lock:
            out = self._target(addr).i2c_read(n)
            assert len(out) == n
            return out

    # -- byte by byte, as a real controller moves them (the emulated Pico) --
    def ack(self, addr: int) -> bool:
        """The address phase of a transaction: does a device ACK ``addr``?"""
        with self.lock:
            try:
                self._target(addr)
            except BusError:
                return False
            return True

    def write_acked(self, addr: int, data: bytes, stop: bool = True) -> None:
        """The data of a write whose address was ACKed (see ``ack``)."""
        with self.lock:
            dev = self.devices.get(addr)
            if dev is not None:
                dev.i2c_write(bytes(data), stop)

    def read_byte(self, addr: int, first: bool) -> int:
        """One byte of a read whose address was ACKed; ``first`` after START."""
        with self.lock:
            dev = self.devices.get(addr)
            if dev is None:
                return 0xFF  # nobody drives SDA: the pull-up reads 1s
            by_byte = getattr(dev, "i2c_read_byte", None)
            if by_byte is not None:
                return by_byte(first)
            return dev.i2c_read(1)[0]
