"""A minimal client of the token's serial protocol, over real pyserial, for
tests and the demo.  (The host tool's session layer is the real client;
this one stays independent so the emulator can test the firmware alone.)"""

from __future__ import annotations

import json
import time

import serial

from fob import proto


class ProtocolClient:
    def __init__(self, port: str, timeout: float = 5.0) -> None:
        self.ser = serial.Serial(port, 115200, timeout=0.2)
        self.timeout = timeout
        self._id = 0
        self.noise: list[bytes] = []  # lines that were not replies

    def close(self) -> None:
        self.ser.close()

    def __enter__(self) -> ProtocolClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def raw(self, line: bytes) -> dict:
        """Send one line as is; return the next reply (untagged lines are kept as noise)."""
        self.ser.write(line)
        return self.reply()

    def reply(self) -> dict:
        deadline = time.monotonic() + self.timeout
        buf = b""
        while time.monotonic() < deadline:
            buf += self.ser.readline()
            if not buf.endswith(b"\n"):
                continue
            line, buf = buf, b""
            tag = proto.REPLY_TAG.encode()
            if line.startswith(tag):
                return json.loads(line[len(tag) :])
            self.noise.append(line)
        raise TimeoutError("no reply from the token")

    def request(self, op: str, **args) -> dict:
        self._id += 1
        msg = {"v": proto.VERSION, "id": self._id, "op": op, **args}
        self.ser.write(json.dumps(msg).encode() + b"\n")
        while True:
            reply = self.reply()
            # A late reply to an earlier request that timed out: skip it.
            if isinstance(reply.get("id"), int) and reply["id"] < self._id:
                continue
            assert reply.get("id") == self._id, reply
            return reply

    def call(self, op: str, **args) -> dict:
        """Like request, but an error reply raises."""
        reply = self.request(op, **args)
        if not reply.get("ok"):
            raise RuntimeError("%s failed: %s %s" % (op, reply.get("err"), reply.get("msg")))
        return reply

    def wait_ready(self, timeout: float = 10.0) -> dict:
        """Ask for info until the firmware has booted and answers."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                old, self.timeout = self.timeout, 1.0
                try:
                    return self.call(proto.OP_INFO)
                finally:
                    self.timeout = old
            except (TimeoutError, AssertionError):
                if time.monotonic() > deadline:
                    raise


def random_secret(nbytes: int = 20) -> str:
    """A fresh Base32 secret (never printed by the tests)."""
    import base64
    import os

    from . import leakscan

    key = os.urandom(nbytes)
    leakscan.add_secret(key)  # the suite's secret scan looks for it
    return base64.b32encode(key).decode().rstrip("=")


# How a code of each length reads on the token: groups of three, a last
# group of four, and 8 digits as 4 + 4 (issue 13).  Written out here, apart
# from the firmware's fob.font.gap_before, so the tests check the firmware.
GROUPS = {6: (3, 3), 7: (3, 4), 8: (4, 4), 9: (3, 3, 3), 10: (3, 3, 4)}


def grouped(code: str) -> str:
    """How the token groups a code on screen: "123 456", "1234 5678", "123 456 7890"."""
    out, i = [], 0
    for n in GROUPS[len(code)]:
        out.append(code[i : i + n])
        i += n
    return " ".join(out)


def screen_code(text: str) -> str | None:
    """The code line of a decoded screen (digits and one space), if any."""
    for line in text.splitlines():
        digits = line.replace(" ", "")
        if len(digits) >= 6 and digits.isdigit():
            return line
    return None
