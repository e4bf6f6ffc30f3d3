"""Every string a token sends is printed escaped (issue 22): a fake token's
info fields, error text, extra fields and list fields carrying an OSC 52
clipboard write, a window-title sequence, a C1 CSI or a bidi override never
reach the terminal raw. `otpfob` runs as a real process on a real pty."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from fob import proto
from otpfob import paths
from support.fake_token import FakeToken

OSC52 = "\x1b]52;c;ZWNobyBwd25lZA==\x07"  # put "echo pwned" on the clipboard
TITLE = "\x1b]0;owned\x07"
CSI = "\x9b2J"
RLO = "\u202e"
RAW = ("\x1b", "\x07", "\x9b", RLO)


class EvilToken(FakeToken):
    """Answers every op with terminal escapes in every string it can."""

    def _handle(self, line: bytes) -> None:
        req = json.loads(line)
        op, rid = req.get("op"), req.get("id")
        base = {"v": proto.VERSION, "id": rid}
        if op == "info":
            reply = {
                **base,
                "ok": True,
                "version": "1.0" + OSC52,
                "proto": proto.VERSION,
                "board": TITLE + "pico",
                "clock": "ok" + CSI,
                "accounts": 1,
                "capacity": 100,
                "free": 1,
                "store": "ok" + RLO,
                "access": False,
                "unlocked": True,
                "maintenance": False,
                "exposure": "all" + OSC52,
                "time": 1_750_000_000,
                "clock_jump": 0,
                "note" + TITLE: "x" + OSC52,
            }
        elif op == "list":
            reply = {
                **base,
                "ok": True,
                "total": 1,
                "start": 0,
                "accounts": [
                    {
                        "label": "a" + TITLE,
                        "issuer": "i" + OSC52,
                        "type": "totp" + CSI,
                        "algorithm": "sha1" + OSC52,
                        "digits": 6,
                        "period": 30,
                        "touch": False,
                    }
                ],
            }
        elif op == "code":
            reply = {**base, "ok": True, "code": "123" + OSC52, "time": 1_750_000_000, "period": 30}
        else:
            reply = {**base, "ok": False, "err": "weird" + TITLE, "msg": "Broken" + OSC52 + CSI}
        self._write((proto.REPLY_TAG + json.dumps(reply) + "\n").encode())


def otpfob(port: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "otpfob", "--port", port, *args], capture_output=True, timeout=60, cwd=paths.REPO
    )


@pytest.mark.parametrize(
    "args",
    [("info",), ("info", "--json"), ("list",), ("list", "--json"), ("code", "a"), ("delete", "a", "--yes"), ("time",)],
)
def test_no_escape_from_a_token_reaches_the_terminal(args):
    with EvilToken() as evil:
        p = otpfob(evil.port, *args)
    out = p.stdout.decode() + p.stderr.decode()
    assert "Traceback" not in out, out
    for raw in RAW:
        assert raw not in out, (args, p.returncode, out)


def test_info_shows_what_the_token_sent_visibly():
    with EvilToken() as evil:
        p = otpfob(evil.port, "info")
    out = p.stdout.decode()
    assert p.returncode == 0, p.stderr
    assert "1.0\\x1b]52;c;ZWNobyBwd25lZA==\\x07" in out
    assert "\\x1b]0;owned\\x07pico" in out
