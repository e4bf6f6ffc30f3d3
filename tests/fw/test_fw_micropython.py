"""The firmware under the real MicroPython Unix port, compared with CPython.

The same script runs in both interpreters; every line it prints must agree.
This checks the store, the protocol handler and the drivers on MicroPython's
own json/struct/binascii/framebuf, and checks the CPython framebuf stand-in
and fob.font against MicroPython's framebuf.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest  # noqa: E402

from support.fw import FIRMWARE, run_micropython

pytestmark = pytest.mark.upy

SERVER_SCRIPT = r"""
import json
from fob import proto, storage
from fob.clock import Clock
from fob.server import Server

class RTC:
    t = 1750000000
    lost = False
    def read(self):
        return self.t, self.lost
    def set_unix(self, t):
        self.t = t
        self.lost = False

ticks = [0]
rtc = RTC()
srv = Server(storage.Store(), Clock(rtc, ticks=lambda: ticks[0]), board="mp")
S = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
CHECK = "%06d" % 0  # filled in below from pyotp: h's code at counter 8
reqs = [
    '{"v":2,"id":1,"op":"info"}',
    '{"v":2,"id":2,"op":"add","label":"a","issuer":"I","secret":"' + S + '"}',
    '{"v":2,"id":3,"op":"add","label":"b","key":"3132333435363738393031323334353637383930","digits":8,"algorithm":"sha256","period":60}',
    '{"v":2,"id":4,"op":"add","label":"h","secret":"' + S + '","type":"hotp","counter":7}',
    '{"v":2,"id":5,"op":"add","label":"a","issuer":"I","secret":"' + S + '"}',
    '{"v":2,"id":6,"op":"code","label":"a","issuer":"I"}',
    '{"v":2,"id":7,"op":"code","label":"b"}',
    '{"v":2,"id":8,"op":"code","label":"h"}',
    '{"v":2,"id":9,"op":"list"}',
    '{"v":2,"id":10,"op":"rename","label":"b","new":"c","new_issuer":"X"}',
    '{"v":2,"id":11,"op":"delete","label":"a","issuer":"I"}',
    '{"v":2,"id":12,"op":"time_set","time":1800000000}',
    '{"v":2,"id":13,"op":"code","label":"c","issuer":"X"}',
    '{"v":2,"id":14,"op":"nope"}',
    '{"v":1,"id":15,"op":"info"}',  # version 1: refused
    '{"v":2,"id":16,"op":"add","label":"z","secret":"!!"}',
    '{"v":2,"id":17,"op":"add","label":"z","secret":"' + S + '","digits":11}',
    'garbage',
    '{"v":2,"id":18,"op":"code","label":"zz"}',
    '{"v":2,"id":19,"op":"check","label":"h","code":"' + CHECK + '"}',
    '[]',
]
for r in reqs:
    out = srv.handle_line(r.encode())
    print(json.dumps({"req": r, "reply": json.loads(out[len(proto.REPLY_TAG):])}))
print(json.dumps({"oversize": json.loads(srv.handle_line(b"x" * 600)[len(proto.REPLY_TAG):])}))
print(json.dumps({"bad_utf8": json.loads(srv.handle_line(b'{"v":2,"op":"\xff"}')[len(proto.REPLY_TAG):])}))
rtc.lost = True
print(json.dumps({"unset": json.loads(srv.handle_line(b'{"v":2,"op":"code","label":"c","issuer":"X"}')[len(proto.REPLY_TAG):])}))
f = open(storage.FILE, "rb")
data = f.read()
f.close()
print(json.dumps({"file": "".join("%02x" % b for b in data)}))
s2 = storage.Store()
print(json.dumps({"reload": [s2.label(i) for i in range(s2.count())], "state": s2.state}))
"""

DRIVER_SCRIPT = r"""
import json
import framebuf
from fob import font
from fob.drivers.ssd1306 import SSD1306_I2C
from fob.drivers.ds3231 import DS3231

class Bus:
    def __init__(self):
        self.log = []
        self.mem = bytearray(19)
    def writeto(self, a, b, stop=True):
        self.log.append("".join("%02x" % x for x in b))
    def writevto(self, a, v, stop=True):
        self.log.append("".join("".join("%02x" % x for x in bytes(p)) for p in v))
    def readfrom_mem_into(self, a, m, buf):
        for i in range(len(buf)):
            buf[i] = self.mem[m + i]
    def writeto_mem(self, a, m, buf):
        for i in range(len(buf)):
            self.mem[m + i] = buf[i]

bus = Bus()
oled = SSD1306_I2C(128, 64, bus)
oled.text("Hi 2/5", 8, 0, 1)
oled.fill_rect(0, 58, 77, 4, 1)
g = font.digit_glyph("large", 7)
oled.blit(framebuf.FrameBuffer(bytearray(g[2]), g[0], g[1], framebuf.MONO_VLSB), 30, 24)
oled.show()
print(json.dumps({"ssd1306": bus.log}))
rtc = DS3231(bus)
for t in (946684800, 1750000000, 4102444799, 951782400):
    rtc.set_unix(t)
    print(json.dumps({"ds3231": t, "regs": "".join("%02x" % x for x in bus.mem[0:7]), "back": rtc.unix()}))
"""

TEXT_SCRIPT = r"""
import json, framebuf
buf = bytearray(8)
fb = framebuf.FrameBuffer(buf, 8, 8, framebuf.MONO_VLSB)
out = {}
for c in range(32, 128):
    fb.fill(0)
    fb.text(chr(c), 0, 0, 1)
    out[str(c)] = "".join("%02x" % b for b in buf)
print(json.dumps(out))
"""


def run_cpython(script, cwd):
    env = dict(os.environ, PYTHONPATH=f"{FIRMWARE}:{Path(__file__).parents[1]}")
    pre = "from support import fw; fw.install_framebuf()\n"
    p = subprocess.run([sys.executable, "-c", pre + script], cwd=cwd, env=env, capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr.decode()[-2000:]
    return [json.loads(x) for x in p.stdout.decode().splitlines() if x.strip()]


def strip_free(rows, flash=None):
    """Drop what differs by port: free memory, and the token id (checked
    here: the Unix port's id names its flash folder, fob/tokenid.py)."""
    import zlib

    for r in rows:
        rep = r.get("reply")
        if rep and "free" in rep:
            rep["free"] = None
        if rep and "token_id" in rep and flash is not None:
            want = "%08x" % zlib.crc32(b"otpfob token id " + str(flash).encode())
            assert rep["token_id"] == want
            rep["token_id"] = None
    return rows


def test_store_and_server_agree(tmp_path):
    (tmp_path / "mp").mkdir()
    (tmp_path / "cp").mkdir()
    import pyotp

    # h's code at counter 8 (its counter after the code at 7), for the check request.
    script = SERVER_SCRIPT.replace(
        'CHECK = "%06d" % 0', 'CHECK = "%s"' % pyotp.HOTP("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ").at(8)
    )
    mp = strip_free(run_micropython(script, tmp_path / "mp"), tmp_path / "mp")
    cp = strip_free(run_cpython(script, tmp_path / "cp"), tmp_path / "cp")
    assert mp == cp
    # The on-flash bytes are identical: a store written by the token reads in CPython and back.
    assert (tmp_path / "mp" / "accounts.dat").read_bytes() == (tmp_path / "cp" / "accounts.dat").read_bytes()
    codes = [r["reply"].get("code") for r in mp if "req" in r and '"op":"code"' in r["req"]]
    import pyotp

    S = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
    assert codes[0] == pyotp.TOTP(S).at(1750000000)
    assert codes[2] == pyotp.HOTP(S).at(7)
    assert codes[3] == pyotp.TOTP(S, digits=8, digest="sha256", interval=60).at(1800000000)
    errs = [r["reply"].get("err") for r in mp if "req" in r]
    for code in ("exists", "unknown_op", "bad_version", "bad_arg", "bad_frame", "not_found"):
        assert code in errs
    checked = [r["reply"] for r in mp if "req" in r and '"op":"check"' in r["req"]]
    assert [(c["match"], c["counter"]) for c in checked] == [(True, 8)]  # and the counter stays (reload below)
    tail = {k: v for r in mp for k, v in r.items() if k in ("oversize", "bad_utf8", "unset", "reload")}
    assert tail["oversize"]["err"] == "too_long"
    assert tail["bad_utf8"]["err"] == "bad_frame"
    assert tail["unset"]["err"] == "clock_untrusted"
    assert tail["reload"] == ["c", "h"]  # rename keeps the place
    replies_text = json.dumps([r.get("reply") for r in mp]).lower()
    assert S.lower() not in replies_text and b"1234567890".hex() not in replies_text


def test_drivers_agree(tmp_path):
    mp = run_micropython(DRIVER_SCRIPT, tmp_path)
    cp = run_cpython(DRIVER_SCRIPT, tmp_path)
    assert mp == cp
    assert len(mp) == 5


def test_font_small_is_framebuf_text(tmp_path):
    (mp,) = run_micropython(TEXT_SCRIPT, tmp_path)
    sys.path.insert(0, str(FIRMWARE))
    from fob import font

    for c in range(32, 128):
        assert bytes.fromhex(mp[str(c)]) == bytes(font.small_glyph(chr(c))), chr(c)


def test_app_modules_import_and_compile(tmp_path):
    # Every firmware module imports under the Unix port (no CPython-only syntax),
    # and compiles with mpy-cross for the boards' architectures.
    script = "import fob.app, fob.hw, fob.ui, fob.font, fob.drivers.rtc_internal\nprint('{}')"
    assert run_micropython(script, tmp_path) == [{}]
    from otpfob.devtools.qemu import compile_mpy

    # fast*.py is owned and checked by the fast-core tests.
    files = [f for f in sorted((FIRMWARE / "fob").rglob("*.py")) if not f.name.startswith("fast")]
    for arch in ("armv6m", "xtensawin"):
        assert len(compile_mpy(FIRMWARE, files, tmp_path / arch, march=arch)) == len(files)


def test_rtc_internal_epoch_detection(tmp_path):
    script = r"""
import json, time
from fob.drivers import rtc_internal
class FakeRTC:
    def __init__(self): self.dt = (2000, 1, 1, 5, 0, 0, 0, 0)
    def datetime(self, v=None):
        if v is None: return self.dt
        self.dt = v
r = rtc_internal.InternalRTC(FakeRTC())
first = r.read()
r.set_unix(1750000000)
print(json.dumps({"offset": rtc_internal.epoch_offset(), "gm0": time.gmtime(0)[0], "first": first, "after": r.read(), "dt": r.rtc.dt}))
"""
    (mp,) = run_micropython(script, tmp_path)
    assert mp["gm0"] == 1970 and mp["offset"] == 0  # the Unix port counts from 1970
    assert mp["first"] == [946684800, True]  # 2000-01-01: never set
    assert mp["after"] == [1750000000, False]
    import datetime as dt

    d = dt.datetime.fromtimestamp(1750000000, dt.timezone.utc)
    assert mp["dt"] == [d.year, d.month, d.day, d.weekday(), d.hour, d.minute, d.second, 0]
