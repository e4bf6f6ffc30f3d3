"""A stand-in token on a real pty, for transport/session unit tests.

It answers from a thread on the pty master with the firmware's own protocol
handler, `fob.server.Server`, over a real `Store` in a temporary folder and a
clock on the host's time (plus `offset`), so its replies cannot drift from
the token's. Around that it can misbehave on purpose (noise, garbage,
silence, slowness, vanishing). It is NOT evidence that the host works with
the firmware's main loop: the end-to-end tests run against the emulated
token (`otpfob.emu`). The host's pyotp check stays independent of it.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import tempfile
import threading
import time
import tty

from fob import proto
from fob.access import Access
from fob.clock import Clock
from fob.link import LineReader, blank_line
from fob.server import Server
from fob.settings import Settings
from fob.storage import Store


class HostRTC:
    """The RTC driver interface on the host's clock, `offset` seconds off."""

    def __init__(self, offset: int = 0) -> None:
        self.offset = offset

    def read(self) -> tuple[int, bool]:
        return int(time.time()) + self.offset, False

    def set_unix(self, t: int) -> None:
        self.offset = t - int(time.time())


class FakeToken:
    def __init__(self, *, mode: str = "ok", offset: int = 0, delay: float = 0.0) -> None:
        self.mode = mode  # ok | noise | repeated | garbage | silent | vanish | v1 | before_settings
        self.delay = delay
        self.flash = tempfile.mkdtemp(prefix="otpfob-fake-")
        folder = self.flash + "/"
        self.rtc = HostRTC(offset)
        self.store = Store(folder)
        self.server = Server(
            self.store, Clock(self.rtc), board="fake", access=Access(folder), settings=Settings(directory=folder)
        )
        self.sent = bytearray()  # everything the token wrote, for secret scans
        self.requests: list[dict] = []
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        self.port = os.ttyname(self._slave)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> FakeToken:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)
        for fd in (self._master, self._slave):
            try:
                os.close(fd)
            except OSError:
                pass
        shutil.rmtree(self.flash, ignore_errors=True)

    def __enter__(self) -> FakeToken:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _write(self, data: bytes) -> None:
        self.sent += data
        os.write(self._master, data)

    def _run(self) -> None:
        # As the token's loop does (fob.app, fob.link): bounded lines, blank
        # ones ignored, an overlong one answered once; the idle re-lock.
        reader = LineReader()
        while not self._stop.is_set():
            self.server.tick()
            r, _, _ = select.select([self._master], [], [], 0.05)
            if not r:
                continue
            try:
                chunk = os.read(self._master, 4096)
            except OSError:
                continue  # no slave open right now
            for b in chunk:
                line = reader.feed(b)
                if line is True:
                    self._write(self.server.too_long())
                elif line is not None and not blank_line(line):
                    self._handle(line)
                if self._stop.is_set():
                    return

    def _handle(self, line: bytes) -> None:
        if self.delay:
            time.sleep(self.delay)
        if self.mode == "silent":
            return
        if self.mode == "garbage":
            self._write(b">>> " + line[:20] + b"\r\nTraceback (most recent call last):\r\nSyntaxError\r\n>>> ")
            return
        if self.mode == "vanish":
            os.close(self._master)  # the device goes away mid-command
            self._stop.set()
            return
        try:
            req = json.loads(line)
        except ValueError:
            req = None
        if isinstance(req, dict):
            self.requests.append({k: v for k, v in req.items() if k != "key"})
            if self.mode == "v1":  # what protocol-1 firmware answers a newer request (its own v, bad_version)
                old = {
                    "v": 1,
                    "id": req.get("id"),
                    "ok": False,
                    "err": proto.E_VERSION,
                    "msg": "The request's protocol version is not 1.",
                }
                self._write((proto.REPLY_TAG + json.dumps(old) + "\r\n").encode())
                return
            if self.mode == "noise":
                self._write(b"boot banner\r\n#otpfob {broken\r\n")
                stale = {"v": proto.VERSION, "id": (req.get("id") or 0) + 1000, "ok": True}
                self._write((proto.REPLY_TAG + json.dumps(stale) + "\r\n").encode())  # a stale reply first
            if self.mode == "repeated":  # a reply with this id whose names repeat: not a reply
                forged = '{"v": %d, "id": %d, "ok": true, "ok": false, "err": "internal"}' % (
                    proto.VERSION,
                    req.get("id") or 0,
                )
                self._write((proto.REPLY_TAG + forged + "\r\n").encode())
        if self.mode == "before_settings" and isinstance(req, dict):
            out = self._before_settings(req, line)
        else:
            out = self.server.handle_line(line)
        if out is not None:  # None: a touch account waits for a press (the fake has no button)
            self._write(out)

    def _before_settings(self, req: dict, line: bytes) -> bytes | None:
        """Protocol-2 firmware from before settings (issue 26): no config_get,
        config_set or move (unknown_op), and an info without their fields."""
        if req.get("op") in (proto.OP_CONFIG_GET, proto.OP_CONFIG_SET, proto.OP_MOVE):
            old = {"v": proto.VERSION, "id": req.get("id"), "ok": False, "err": proto.E_OP, "msg": "Unknown operation."}
            return (proto.REPLY_TAG + json.dumps(old) + "\r\n").encode()
        out = self.server.handle_line(line)
        if out is None or req.get("op") != proto.OP_INFO:
            return out
        reply = json.loads(out[len(proto.REPLY_TAG) :])
        for newer in ("screen_locked", "wipe_after", "wiped"):
            reply.pop(newer, None)
        return (proto.REPLY_TAG + json.dumps(reply) + "\r\n").encode()
