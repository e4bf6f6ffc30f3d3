# simlink: the emulated token's machine.I2C and machine.Pin.
#
# Runs inside the MicroPython Unix port, never on a board.  fob/hw.py imports
# it for boards with BUS = "sim".  Every bus transaction is sent over an
# inherited pipe to the CPython parent (otpfob.emu.token), which owns the
# register-level part models, and blocks until the parent replies.
#
# Frame child -> parent:  op(1) addr(1) memaddr(1) n(2, LE) payload(n for writes)
# Frame parent -> child:  status(1, 0 or an errno) n(2, LE) data(n)
# Buffers are allocated once so that a display refresh does not allocate.
import os

from micropython import const

_OP_SCAN = const(0x53)  # "S"
_OP_WRITE = const(0x57)  # "W"  writeto: payload goes to addr
_OP_WRITE_NOSTOP = const(0x77)  # "w"  writeto without STOP (repeated start follows)
_OP_READ = const(0x52)  # "R"  readfrom: n bytes from addr
_OP_PIN_GET = const(0x50)  # "P"  pin level, addr = pin number
_OP_PIN_SET = const(0x70)  # "p"  drive a pin, memaddr = level
_OP_RTC_GET = const(0x54)  # "T"  the internal RTC's time: 8 bytes, Unix seconds (LE)
_OP_RTC_SET = const(0x74)  # "t"  set it: payload 8 bytes, Unix seconds (LE)
# 0x56 "V" and 0x5A "Z" (power and sleep): simpower.py, loaded only on the supply model

_req = None
_rep = None
_hdr = bytearray(5)
_rhdr = bytearray(3)
_rbuf = bytearray(256)


def _open():
    global _req, _rep
    if _req is None:
        fds = os.getenv("OTPFOB_SIMLINK")
        if not fds:
            raise OSError(19)  # ENODEV: not started by the emulator
        w, r = fds.split(",")
        _req = open("/dev/fd/" + w, "wb")
        _rep = open("/dev/fd/" + r, "rb")


def _send(op, addr, memaddr, n):
    _open()
    h = _hdr
    h[0] = op
    h[1] = addr
    h[2] = memaddr
    h[3] = n & 0xFF
    h[4] = n >> 8
    _req.write(h)


def _reply(into=None):
    # Reads the reply header, then its data into `into` (or the shared buffer).
    if _rep.readinto(_rhdr) != 3:
        raise OSError(5)
    st = _rhdr[0]
    n = _rhdr[1] | (_rhdr[2] << 8)
    if n:
        if into is None:
            into = memoryview(_rbuf)
        if len(into) < n:
            raise OSError(5)
        _rep.readinto(memoryview(into)[:n])
    if st:
        raise OSError(st)
    return n


class I2C:
    """The machine.I2C subset the drivers use, served by the emulator."""

    def __init__(self, *args, **kwargs):
        pass

    def scan(self):
        _send(_OP_SCAN, 0, 0, 0)
        n = _reply()
        return [_rbuf[i] for i in range(n)]

    def writeto(self, addr, buf, stop=True):
        _send(_OP_WRITE if stop else _OP_WRITE_NOSTOP, addr, 0, len(buf))
        _req.write(buf)
        _reply()
        return len(buf)  # every byte ACKed

    def writevto(self, addr, vector, stop=True):
        n = 0
        for b in vector:
            n += len(b)
        _send(_OP_WRITE if stop else _OP_WRITE_NOSTOP, addr, 0, n)
        for b in vector:
            _req.write(b)
        _reply()
        return n

    def readfrom_into(self, addr, buf, stop=True):
        _send(_OP_READ, addr, 0, len(buf))
        _reply(buf)

    def readfrom(self, addr, nbytes, stop=True):
        buf = bytearray(nbytes)
        self.readfrom_into(addr, buf)
        return buf

    def writeto_mem(self, addr, memaddr, buf, addrsize=8):
        # One write transaction: register address then data.
        n = len(buf)
        _send(_OP_WRITE, addr, 0, n + 1)
        _hdr[0] = memaddr
        _req.write(memoryview(_hdr)[:1])
        _req.write(buf)
        _reply()

    def readfrom_mem_into(self, addr, memaddr, buf, addrsize=8):
        # Write the register address without STOP, then a repeated-start read.
        _send(_OP_WRITE_NOSTOP, addr, 0, 1)
        _hdr[0] = memaddr
        _req.write(memoryview(_hdr)[:1])
        _reply()
        self.readfrom_into(addr, buf)

    def readfrom_mem(self, addr, memaddr, nbytes, addrsize=8):
        buf = bytearray(nbytes)
        self.readfrom_mem_into(addr, memaddr, buf)
        return buf


class Pin:
    """A GPIO of the emulated board (the button is one, active low)."""

    IN = 0
    OUT = 1
    PULL_UP = 1
    PULL_DOWN = 2

    def __init__(self, pin, mode=-1, pull=-1, value=None):
        self._n = pin
        if value is not None:
            self.value(value)

    def init(self, *args, **kwargs):
        pass

    def value(self, v=None):
        if v is None:
            _send(_OP_PIN_GET, self._n, 0, 0)
            _reply()
            return _rbuf[0]
        _send(_OP_PIN_SET, self._n, 1 if v else 0, 0)
        _reply()

    def __call__(self, v=None):
        return self.value(v)

    def on(self):
        self.value(1)

    def off(self):
        self.value(0)


class RTC:
    """machine.RTC for boards with RTC = "internal": the emulator's model
    (otpfob/emu/internal_rtc.py), which has a rate error and loses its time
    at a power cut, as the chip's own RTC does."""

    def __init__(self, *args):
        pass

    def datetime(self, dt=None):
        from fob import timeutil

        if dt is None:
            _send(_OP_RTC_GET, 0, 0, 8)
            _reply()
            t = 0
            for i in range(8):
                t |= _rbuf[i] << (8 * i)
            y, mo, d, h, mi, s, wd = timeutil.from_unix(t)
            return (y, mo, d, wd, h, mi, s, 0)
        t = timeutil.to_unix(dt[0], dt[1], dt[2], dt[4], dt[5], dt[6])
        _send(_OP_RTC_SET, 0, 0, 8)
        for i in range(8):
            _hdr[0] = (t >> (8 * i)) & 0xFF
            _req.write(memoryview(_hdr)[:1])
        _reply()


# Sim-only test hook: a board file with SIM_FLASH_WRITE_MS makes flash writes
# slow (device/slowflash.py), so power-cut tests can cut inside one.
try:
    import board as _board

    if getattr(_board, "SIM_FLASH_WRITE_MS", 0):
        import slowflash

        slowflash.install(_board.SIM_FLASH_WRITE_MS)
except ImportError:
    pass
