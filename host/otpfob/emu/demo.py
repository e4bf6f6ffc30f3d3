"""``make demo``: the emulated token, provisioned by the real host tool,
beside the code pyotp computes for the token's time.  Ctrl-C ends it.

    python -m otpfob.emu.demo

The demo secret is random, made here, handed to ``otpfob provision`` on its
standard input (so it is not on a command line) and never printed.
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pyotp

from .. import discover
from . import ui
from .testing import ProtocolClient, grouped, screen_code
from .token import EmulatedToken, EmulatorError

LABEL = "demo@otpfob"
ISSUER = "Demo"


def otpfob_command() -> list[str]:
    """The installed ``otpfob`` script, else the CLI through this Python."""
    script = Path(sys.executable).parent / "otpfob"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from otpfob.cli import main; main()"]


def provision(port: str, secret: str) -> str:
    """Run the real CLI; returns what it printed (secret redacted, in case)."""
    cmd = otpfob_command() + ["--port", port, "provision", "--secret", "-", "--label", LABEL, "--issuer", ISSUER]
    env = dict(os.environ, OTPFOB_PORT=port)
    proc = subprocess.run(cmd, input=secret + "\n", capture_output=True, text=True, env=env, timeout=60)
    out = (proc.stdout + proc.stderr).replace(secret, "<secret>").strip()
    if proc.returncode != 0:
        raise EmulatorError("otpfob provision failed: " + out)
    return out


def _otpfob_command() -> str:
    """How to run otpfob from another terminal: `otpfob` when it is on PATH,
    else the script beside this Python (`.venv/bin/otpfob` in a clone after
    `make venv`), as a path relative to here when it is below here."""
    if shutil.which("otpfob"):
        return "otpfob"
    script = Path(sys.executable).parent / "otpfob"
    if not script.exists():
        return f"{sys.executable} -m otpfob"
    try:
        return str(script.relative_to(Path.cwd()))
    except ValueError:
        return str(script)


def main() -> int:
    secret = base64.b32encode(os.urandom(20)).decode().rstrip("=")
    totp = pyotp.TOTP(secret)
    with tempfile.TemporaryDirectory(prefix="otpfob-demo-") as flash:
        # A token whose RTC kept its battery since it was set: clock trusted.
        token = EmulatedToken(flash, rtc_set=True)
        token.start()
        announced = None
        try:
            print("otpfob demo: emulated token on %s" % token.port, flush=True)
            with ProtocolClient(token.port) as client:
                client.wait_ready()
            # Announced like `otpfob sim`, so `otpfob list` in another terminal finds it.
            announced = discover.advertise(token.port)
            header = provision(token.port, secret).splitlines()
            cmd = _otpfob_command()
            header.append(f"Try `{cmd} list` or `{cmd} code` in another terminal: they find this token without --port.")
            cache: dict[str, Any] = {"at": 0.0, "read": None}

            def side() -> list[str]:
                # Short lines (at most 12 characters), so they fit beside the
                # screen in an 80-column terminal.
                now = token.time()
                want = grouped(totp.at(int(now)))
                if time.monotonic() - cache["at"] > 0.25:
                    cache["at"] = time.monotonic()
                    cache["read"] = screen_code(token.screen_text())
                read = cache["read"]
                verdict = (
                    ["off: press", "a key"]
                    if not token.display_on
                    else ["match"]
                    if read == want
                    else ["shows", " %s" % read]
                )
                return [
                    " pyotp says:",
                    "",
                    "  %s" % want,
                    "",
                    " %2d s left" % (30 - int(now) % 30),
                    " %s" % time.strftime("%H:%M:%S", time.gmtime(now)),
                    " UTC",
                    "",
                    " screen:",
                ] + [" " + v for v in verdict]

            footer = "port %s | any key: button (hold: long press) | q or Ctrl-C: quit" % token.port
            ui.run(token, headless=False, snapshot=None, side=side, footer=footer, header=header)
        finally:
            if announced is not None:
                discover.withdraw(announced)
            token.stop()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except EmulatorError as e:
        print("otpfob demo: %s" % e, file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(0)
