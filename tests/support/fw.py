"""Shared helpers for the firmware tests (tests/test_fw_*.py).

CPython has no framebuf; FrameBuffer here is a small MONO_VLSB stand-in with
the methods the firmware uses, checked against MicroPython's real framebuf by
test_fw_micropython.py.  Also: a recording I2C bus and a way to run a script
under the MicroPython Unix port.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
import types
from pathlib import Path

from conftest import SEED

# Random bytes from the run's seed, so OTPFOB_SEED replays them.
_RNG = random.Random(f"{SEED}:{__name__}")

ROOT = Path(__file__).resolve().parents[2]
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

    p = subprocess.run([require_micropython(), "-c", script], cwd=cwd, env=e, capture_output=True, timeout=timeout)
    assert p.returncode == 0, p.stderr.decode(errors="replace")[-2000:]
    return [json.loads(line) for line in p.stdout.decode().splitlines() if line.strip()]


# -- harnesses: the protocol handler and the app loop, in CPython ------------------
REPLY_TAG = b"#otpfob "


def flash_files() -> dict:
    """The store, the access record and the settings in the current folder (None: absent)."""
    from fob import access, settings, storage

    out = {}
    for name in (storage.FILE, access.FILE, settings.FILE):
        try:
            with open(name, "rb") as f:
                out[name] = f.read()
        except OSError:
            out[name] = None
    return out


class ServerRig:
    """A `fob.server.Server` over a real Store in the current folder, that
    remembers every reply. `ms` is the clock's millisecond ticks (set by the
    test); `own_ticks`: the server (its throttle, the idle re-lock) uses them
    too, else the real ones. `button`: the server can ask whether the button
    is held (`held`), as the app's does; else it has no button to ask."""

    def __init__(self, touch=None, ms=0, own_ticks=False, button=False):
        from fob import proto, storage
        from fob.clock import Clock
        from fob.server import Server

        assert proto.REPLY_TAG.encode() == REPLY_TAG
        self.ms = ms
        self.held = False
        self.rtc = FakeRTC()
        self.clock = Clock(self.rtc, ticks=lambda: self.ms)
        self.store = storage.Store()
        kw = {}
        if own_ticks:
            kw["ticks"] = lambda: self.ms
        if button:
            kw["button_held"] = lambda: self.held
        self.server = Server(self.store, self.clock, board="test", touch=touch, **kw)
        self.sent: list[bytes] = []
        self.largest_piece = 0  # the longest single write of any reply
        self.n = 0
        self.seal: RequestSeal | None = None  # set by a test that unlocked: calls are sealed

    def raw(self, line: bytes) -> dict:
        # The link's path: the reply written piece by piece (Server.respond).
        pieces: list[bytes] = []
        assert self.server.respond(line, pieces.append) is True
        assert pieces and all(isinstance(p, bytes) for p in pieces)
        self.largest_piece = max(self.largest_piece, max(len(p) for p in pieces))
        out = b"".join(pieces)
        self.sent.append(out)
        assert out.startswith(REPLY_TAG) and out.endswith(b"\n") and out.count(b"\n") == 1
        return json.loads(out[len(REPLY_TAG) :])

    def call(self, op, **args) -> dict:
        from fob import proto

        self.n += 1
        req = {"v": proto.VERSION, "id": self.n, "op": op}
        req.update(args)
        line = json.dumps(req).encode()
        if self.seal is not None:
            line = self.seal.line(req)
        r = self.raw(line)
        self._follow_session(op, args, r)
        assert r["id"] == self.n and r["v"] == proto.VERSION
        return r

    def _follow_session(self, op, args, r) -> None:
        # Seal the calls of an unlocked session as a host does: the session
        # key comes from the unlock exchange and the token's stored key.
        if r.get("ok") and op == "unlock":
            if "response" in args:
                self.seal = RequestSeal(self.server.access.key, *self._unlocking)
            else:
                self._unlocking = (bytes.fromhex(r["challenge"]), bytes.fromhex(args.get("host_challenge", "")))
        elif r.get("ok") and op in ("lock", "access_set", "access_clear") or r.get("access") is False:
            self.seal = None
        elif r.get("err") == "locked":
            self.seal = None  # the token ended the session

    def ok(self, op, **args) -> dict:
        r = self.call(op, **args)
        assert r["ok"] is True, r
        return r

    def err(self, op, code, **args) -> dict:
        before = flash_files()
        r = self.call(op, **args)
        assert r["ok"] is False and r["err"] == code, r
        assert isinstance(r["msg"], str) and r["msg"]
        assert flash_files() == before  # a refused request changes nothing on flash
        return r

    def flash(self):
        """The store file's bytes, or None."""
        from fob import storage

        return flash_files()[storage.FILE]


class RequestSeal:
    """The host's side of an unlocked session (docs/protocol.md "Sessions"),
    written here with hashlib/hmac, independently of both the firmware and
    otpfob.access: the session key from the unlock exchange, a counter, and
    each request's MAC as its last member."""

    def __init__(self, key: bytes, challenge: bytes, host_challenge: bytes):
        import hashlib
        import hmac

        self._hmac = lambda k, m: hmac.new(k, m, hashlib.sha256).digest()
        self.key = self._hmac(key, b"otpfob-session" + challenge + host_challenge)
        self.n = 0

    def line(self, req: dict, *, n: int | None = None, key: bytes | None = None) -> bytes:
        """The request sealed: ``n`` (default: the next counter) added, the MAC last."""
        if n is None:
            self.n += 1
            n = self.n
        body = json.dumps(dict(req, n=n), separators=(",", ":")).encode()
        mac = self._hmac(key or self.key, body[:-1])[:16]
        return body[:-1] + b',"mac":"' + mac.hex().encode() + b'"}'


def token_proof(key: bytes, host_challenge: bytes, challenge: bytes) -> bytes:
    """What a real token proves at unlock step 1 (hashlib, not the firmware)."""
    import hashlib
    import hmac

    return hmac.new(key, b"otpfob-proof" + host_challenge + challenge, hashlib.sha256).digest()


class _Pin:
    def __init__(self, level=1):
        self.level = level

    def value(self):
        return self.level


class _Bus:
    """The display's I2C bus; `fail` makes every transfer a bus error."""

    def __init__(self):
        self.fail = False

    def writeto(self, addr, buf, stop=True):
        if self.fail:
            raise OSError(5)

    def writevto(self, addr, vec, stop=True):
        if self.fail:
            raise OSError(5)


class VirtualTicks:
    """Millisecond ticks that move only when a test says so, installed into
    the firmware modules that read ticks while an AppRig runs (conftest puts
    real ticks back after each test).  Loop turns then take no wall time:
    a loaded CI machine cannot stretch a 60 ms press into a long one."""

    MODULES = ("fob.app", "fob.screen", "fob.link", "fob.server", "fob.access", "fob.clock", "fob.drivers.button")

    def __init__(self) -> None:
        self.active = False
        self.now = 0
        self._real = None

    def ticks_ms(self) -> int:
        return self.now & ((1 << 30) - 1) if self.active else self._real()

    def sleep_ms(self, ms: int) -> None:
        if self.active:
            self.now += ms
        else:
            time.sleep(ms / 1000)

    def install(self) -> None:
        import importlib

        from fob import ticks

        self._real = ticks.ticks_ms
        for name in self.MODULES:
            mod = importlib.import_module(name)
            if hasattr(mod, "ticks_ms"):
                mod.ticks_ms = self.ticks_ms
            if hasattr(mod, "sleep_ms"):
                mod.sleep_ms = self.sleep_ms
        self.now = self._real()
        self.active = True


VIRTUAL_TICKS = VirtualTicks()


class AppRig:
    """`fob.app.App` in CPython on the real SSD1306 driver (a recording bus),
    the real button driver on a fake pin (`held`: down at power-on), a
    FakeRTC and pipes for its USB serial; board values from `board`. Loop
    turns run in virtual time (`run`: 5 ms a turn), so the results do not
    depend on the machine's load. Needs install_framebuf() first."""

    def __init__(self, height=64, held=False, power=None, **board):
        """``power``: fob.hw's power sense (usb(), vsys_mv(), sleep() for a
        board with SLEEP = "sim"), or None: nothing sensed, as on USB."""
        VIRTUAL_TICKS.install()
        from fob.app import App
        from fob.drivers.button import Button
        from fob.drivers.ssd1306 import SSD1306_I2C
        from fob.hw import Hardware

        self.bus = _Bus()
        self.rtc = FakeRTC()
        self.pin = _Pin(0 if held else 1)
        hw = Hardware()
        hw.name = "test"
        hw.display = SSD1306_I2C(128, height, self.bus)
        hw.rtc = self.rtc
        hw.button = Button(self.pin, debounce_ms=10, long_ms=300)
        hw.power = power
        self.oled = hw.display
        self.in_r, self.in_w = os.pipe()
        self.out_r, self.out_w = os.pipe()
        os.set_blocking(self.out_r, False)
        b = types.SimpleNamespace(NAME="test", BLANK_MS=60_000, CLOCK_JUMP_MS=600_000)
        b.__dict__.update(board)
        self.app = App(b, hw=hw, stdin=open(self.in_r, "rb", buffering=0), stdout=open(self.out_w, "wb", buffering=0))
        self.n = 0
        self.seal: RequestSeal | None = None  # set by unlock(): requests are sealed

    def run(self, seconds=0.05):
        for _ in range(max(1, int(seconds * 1000) // 5)):
            self.app.step()
            VIRTUAL_TICKS.now += 5

    @property
    def now_ms(self) -> int:
        """The virtual time, in ms."""
        return VIRTUAL_TICKS.now

    def send_raw(self, data: bytes):
        os.write(self.in_w, data)
        self.run(0.05)

    def send(self, **req) -> int:
        """One request line (v and an id filled in); returns its id."""
        from fob import proto

        req.setdefault("v", proto.VERSION)
        if "id" not in req:
            self.n += 1
            req["id"] = self.n
        line = json.dumps(req).encode() if self.seal is None else self.seal.line(req)
        self.send_raw(line + b"\n")
        return req["id"]

    def unlock(self, key: bytes) -> None:
        """Unlock as a host does (proof first); later requests are sealed."""
        import hashlib
        import hmac

        hc = _RNG.randbytes(16)
        ch = self.call(op="unlock", host_challenge=hc.hex())
        challenge = bytes.fromhex(ch["challenge"])
        assert bytes.fromhex(ch["proof"]) == token_proof(key, hc, challenge)
        r = self.call(op="unlock", response=hmac.new(key, challenge, hashlib.sha256).hexdigest())
        assert r["ok"], r
        self.seal = RequestSeal(key, challenge, hc)

    def replies(self) -> list[dict]:
        try:
            data = os.read(self.out_r, 1 << 20)
        except BlockingIOError:
            return []
        return [json.loads(x[len(REPLY_TAG) :]) for x in data.splitlines()]

    def call(self, **req) -> dict:
        rid = self.send(**req)
        (r,) = self.replies()
        assert r["id"] == rid
        return r

    def text(self) -> list[str]:
        """Each page row's small text, decoded cell by cell (emu.glyphs)."""
        from otpfob.emu import glyphs

        return [glyphs.page_text(self.oled.buffer, 128, p) for p in range(self.oled.height // 8)]

    def code(self):
        """The code's digits as grouped on screen ("123 456"), decoded."""
        from otpfob.emu import glyphs

        return glyphs.page_code(self.oled.buffer, 128, 1 if self.oled.height == 32 else 3)

    def press(self, ms=60):
        self.pin.level = 0
        self.run(ms / 1000)
        self.pin.level = 1
        self.run(0.05)
