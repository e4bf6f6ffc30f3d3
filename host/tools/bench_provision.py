"""Wall time of `otpfob provision` (add + verification) against the emulated token.

Each run is a fresh `otpfob` process, as a person would run it, so Python
start-up and imports count. The token is the real firmware under the
MicroPython Unix port on a pty (otpfob.emu). Prints the median of N runs.

    .venv/bin/python host/tools/bench_provision.py [-n 15]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import statistics
import subprocess
import sys
import tempfile
import time

from otpfob.emu.token import EmulatedToken
from otpfob.session import Session
from otpfob.transport import SerialTransport


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=15, help="number of runs (default 15)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as flash, EmulatedToken(flash, rtc_set=True) as tok:
        tok.wait_ready()  # the firmware has booted and answers
        times = []
        for i in range(args.n):
            key = hashlib.sha1(b"bench %d" % i).digest() * 2  # 40 bytes, as AWS hands out
            b32 = base64.b32encode(key).decode()
            cmd = [
                sys.executable,
                "-m",
                "otpfob",
                "--port",
                tok.port,
                "provision",
                "--secret",
                "-",
                "--label",
                f"bench{i}",
                "--issuer",
                "AWS",
            ]
            t0 = time.perf_counter()
            p = subprocess.run(cmd, input=b32 + "\n", capture_output=True, text=True)
            times.append(time.perf_counter() - t0)
            if p.returncode != 0 or "matches pyotp" not in p.stdout:
                sys.exit(f"run {i} failed: {p.stderr.strip()}")
        with Session(SerialTransport(tok.port)) as s:
            s.wipe()
    print(f"otpfob provision (add + verify, 40-byte SHA-1 key), {args.n} runs against the emulated token:")
    print(f"  median {statistics.median(times):.3f} s  min {min(times):.3f} s  max {max(times):.3f} s")


if __name__ == "__main__":
    main()
