"""A small stand-in token on a real pty, for transport/session unit tests.

It answers the otpfob protocol lines from a thread on the pty master, and can
misbehave on purpose (noise, garbage, silence, slowness, vanishing). It is
NOT evidence that the host works with the firmware: the end-to-end tests run
against the emulated token (`otpfob.emu`). Codes come from `fob.otp`, so the
host's pyotp check is still independent of it.
"""

from __future__ import annotations

import json
import os
import select
import threading
import time
import tty

from fob import otp, proto


class FakeToken:
    def __init__(self, *, mode: str = "ok", offset: int = 0, delay: float = 0.0) -> None:
        self.mode = mode  # ok | noise | garbage | silent | vanish
        self.offset = offset  # token clock minus host clock, seconds
        self.delay = delay
        self.accounts: dict[str, dict] = {}
        self.clock = proto.CLOCK_OK
        self.sent = bytearray()  # everything the token wrote, for secret scans
        self.requests: list[dict] = []
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        self.port = os.ttyname(self._slave)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> "FakeToken":
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

    def __enter__(self) -> "FakeToken":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _write(self, data: bytes) -> None:
        self.sent += data
        os.write(self._master, data)

    def _run(self) -> None:
        buf = b""
        while not self._stop.is_set():
            r, _, _ = select.select([self._master], [], [], 0.05)
            if not r:
                continue
            try:
                chunk = os.read(self._master, 4096)
            except OSError:
                continue  # no slave open right now
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                self._handle(line)

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
            self._reply({"id": None, "ok": False, "err": proto.E_FRAME, "msg": "not JSON"})
            return
        self.requests.append({k: v for k, v in req.items() if k != "key"})
        if self.mode == "noise":
            self._write(b"boot banner\r\n#otpfob {broken\r\n")
            self._reply({"id": req.get("id", 0) + 1000, "ok": True})  # a stale reply first
        self._reply(self._answer(req))

    def _reply(self, obj: dict) -> None:
        obj = {"v": proto.VERSION, **obj}
        self._write((proto.REPLY_TAG + json.dumps(obj) + "\r\n").encode())

    def _answer(self, req: dict) -> dict:
        rid = req.get("id")
        op = req.get("op")
        now = int(time.time()) + self.offset

        def err(code: str, msg: str) -> dict:
            return {"id": rid, "ok": False, "err": code, "msg": msg}

        if op == proto.OP_INFO:
            return {"id": rid, "ok": True, "version": "0.1.0", "board": "fake", "clock": self.clock,
                    "accounts": len(self.accounts), "free": 12345}
        if op == proto.OP_ADD:
            if req["label"] in self.accounts:
                return err(proto.E_EXISTS, "exists")
            a = {k: req.get(k) for k in ("label", "issuer", "type", "algorithm", "digits", "period", "counter", "touch")}
            a["key"] = bytes.fromhex(req["key"])
            a["period"] = a["period"] or 30
            a["counter"] = a["counter"] or 0
            self.accounts[req["label"]] = a
            return {"id": rid, "ok": True}
        if op == proto.OP_LIST:
            start, limit = req.get("start", 0), req.get("limit", proto.MAX_ACCOUNTS)
            every = [{k: v for k, v in a.items() if k != "key"} for a in self.accounts.values()]
            return {"id": rid, "ok": True, "total": len(every), "accounts": every[start : start + limit]}
        if op == proto.OP_DELETE:
            if self.accounts.pop(req.get("label"), None) is None:
                return err(proto.E_NOT_FOUND, "no such account")
            return {"id": rid, "ok": True}
        if op == proto.OP_RENAME:
            if req.get("label") not in self.accounts:
                return err(proto.E_NOT_FOUND, "no such account")
            if req.get("new") in self.accounts:
                return err(proto.E_EXISTS, "exists")
            a = self.accounts.pop(req["label"])
            a["label"] = req["new"]
            self.accounts[req["new"]] = a
            return {"id": rid, "ok": True}
        if op == proto.OP_TIME_GET:
            return {"id": rid, "ok": True, "time": now, "clock": self.clock}
        if op == proto.OP_TIME_SET:
            self.offset = int(req["time"]) - int(time.time())
            self.clock = proto.CLOCK_OK
            return {"id": rid, "ok": True, "time": int(req["time"]), "clock": self.clock}
        if op == proto.OP_CODE:
            a = self.accounts.get(req.get("label"))
            if a is None:
                return err(proto.E_NOT_FOUND, "no such account")
            if self.clock != proto.CLOCK_OK:
                return err(proto.E_CLOCK, "clock")
            if a["type"] == "hotp":
                c = a["counter"]
                a["counter"] += 1
                return {"id": rid, "ok": True, "code": otp.hotp(a["key"], c, a["digits"], a["algorithm"]), "counter": c}
            return {"id": rid, "ok": True, "time": now,
                    "code": otp.totp(a["key"], now, a["digits"], a["period"], a["algorithm"])}
        if op == proto.OP_WIPE:
            self.accounts.clear()
            return {"id": rid, "ok": True}
        return err(proto.E_OP, "unknown op")
