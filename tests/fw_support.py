"""Shared helpers for the firmware tests (tests/test_fw_*.py).

CPython has no framebuf; FrameBuffer here is a small MONO_VLSB stand-in with
the methods the firmware uses, checked against MicroPython's real framebuf by
test_fw_micropython.py.  Also: a recording I2C bus and a way to run a script
under the MicroPython Unix port.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIRMWARE = ROOT / "firmware"
if str(FIRMWARE) not in sys.path:
    sys.path.insert(0, str(FIRMWARE))


MONO_VLSB = 0


class FrameBuffer:
    def __init__(self, buf, width, height, fmt, stride=None):
        assert fmt == MONO_VLSB
        self.buf = buf
        self.fb_w = width
        self.fb_h = height

    def pixel(self, x, y, c=None):
        if not (0 <= x < self.fb_w and 0 <= y < self.fb_h):
            return None if c is None else None
        i = (y >> 3) * self.fb_w + x
        bit = 1 << (y & 7)
        if c is None:
            return 1 if self.buf[i] & bit else 0
        if c:
            self.buf[i] |= bit
        else:
            self.buf[i] &= ~bit & 0xFF

    def fill(self, c):
        v = 0xFF if c else 0
        for i in range(len(self.buf)):
            self.buf[i] = v

    def fill_rect(self, x, y, w, h, c):
        for yy in range(y, y + h):
            for xx in range(x, x + w):
                self.pixel(xx, yy, c)

    def hline(self, x, y, w, c):
        self.fill_rect(x, y, w, 1, c)

    def vline(self, x, y, h, c):
        self.fill_rect(x, y, 1, h, c)

    def rect(self, x, y, w, h, c, f=False):
        if f:
            self.fill_rect(x, y, w, h, c)
        else:
            self.hline(x, y, w, c)
            self.hline(x, y + h - 1, w, c)
            self.vline(x, y, h, c)
            self.vline(x + w - 1, y, h, c)

    def text(self, s, x, y, c=1):
        from fob import font

        for ch in s.encode():  # framebuf draws UTF-8 bytes
            col = font.small_glyph(chr(ch)) if 32 <= ch <= 127 else font.small_glyph("\x7f")
            for j in range(8):
                v = col[j]
                for k in range(8):
                    if v >> k & 1:
                        self.pixel(x + j, y + k, c)
            x += 8

    def blit(self, src, x, y, key=-1):
        for sy in range(src.fb_h):
            for sx in range(src.fb_w):
                v = src.pixel(sx, sy)
                if v != key:
                    self.pixel(x + sx, y + sy, v)


def install_framebuf() -> None:
    """Make `import framebuf` work in CPython (once, before importing drivers)."""
    if "framebuf" not in sys.modules:
        mod = types.ModuleType("framebuf")
        mod.FrameBuffer = FrameBuffer
        mod.MONO_VLSB = MONO_VLSB
        sys.modules["framebuf"] = mod


class FakeRTC:
    """The RTC driver's interface (read() -> (unix, lost), set_unix()) for
    CPython tests of the clock and server logic; the register-level DS3231
    model is host/otpfob/emu/ds3231.py."""

    def __init__(self, t=1_750_000_000, lost=False):
        self.t = t
        self.lost = lost
        self.fail = 0  # fail the next n reads with a bus error
        self.dead = False  # the part does not answer at all
        self.reads = 0

    def read(self):
        self.reads += 1
        if self.dead:
            raise OSError(19)
        if self.fail:
            self.fail -= 1
            raise OSError(5)
        return self.t, self.lost

    def set_unix(self, t):
        if self.dead:
            raise OSError(19)
        self.t = t
        self.lost = False


class RecordingI2C:
    """Records every transfer as (kind, addr, bytes); can simulate a dead bus."""

    def __init__(self, fail: bool = False):
        self.log: list[tuple[str, int, bytes]] = []
        self.fail = fail

    def _check(self):
        if self.fail:
            raise OSError(19)

    def writeto(self, addr, buf, stop=True):
        self._check()
        self.log.append(("w", addr, bytes(buf)))

    def writevto(self, addr, vector, stop=True):
        self._check()
        self.log.append(("w", addr, b"".join(bytes(v) for v in vector)))


def run_micropython(script: str, cwd: str | os.PathLike, env: dict | None = None, timeout: float = 60):
    """Run a script under the Unix port with firmware/ on its path; return stdout lines as JSON."""
    e = dict(os.environ)
    e["MICROPYPATH"] = f"{FIRMWARE}:.frozen"
    if env:
        e.update(env)
    from conftest import require_micropython

    p = subprocess.run(
        [require_micropython(), "-c", script], cwd=cwd, env=e, capture_output=True, timeout=timeout
    )
    assert p.returncode == 0, p.stderr.decode(errors="replace")[-2000:]
    return [json.loads(line) for line in p.stdout.decode().splitlines() if line.strip()]
