"""What the emulated Pico's firmware does on the chip itself, asked through
mpremote (which stops the app: restart the Pico afterwards)."""

from __future__ import annotations

import subprocess
import sys

# One code per HMAC path and algorithm, timed in the chip's microseconds
# (emulated time: the same on any host), and the path fob.otp chooses.
_HMAC_PATHS = (
    # fob from where main.py takes it: the first complete deploy folder.
    "import os, sys\n"
    "for d in ('/otp', '/otp.new', '/otp.old'):\n"
    "    try:\n"
    "        os.stat(d + '/complete'); sys.path.insert(0, d); break\n"
    "    except OSError:\n"
    "        pass\n"
    "import gc, time, fob.otp as o\n"
    "o.load_fast()\n"
    "k = bytes(range(20))\n"
    "for a in o.ALGORITHMS:\n"
    "    r = [a, o.path_for(a)]\n"
    "    for p in ('fast', 'c', 'py'):\n"
    "        if p in o.PATHS and a in o.PATHS[p]:\n"
    "            o.use_path(p); key = o.OtpKey(k, a); key.totp(1790000000)\n"
    "            best = None\n"
    "            for _ in range(5):  # the quickest of 5: interrupts and collections are not the path's\n"
    "                gc.collect()\n"
    "                t = time.ticks_us(); key.totp(1790000000); t = time.ticks_diff(time.ticks_us(), t)\n"
    "                best = t if best is None or t < best else best\n"
    "            r.append('%s=%d' % (p, best))\n"
    "    o.use_path(None)\n"
    "    print('PATH', ' '.join(r))\n"
)


def hmac_paths(port: str, timeout: float = 300) -> tuple[dict[str, tuple[str, dict[str, int]]], str]:
    """{algorithm: (chosen path, {path: microseconds per code})}, and mpremote's output."""
    done = subprocess.run(
        # `resume`: a soft reset would take the token's USB keyboard off the
        # bus, and the serial with it (fob/keyboard.py).
        [sys.executable, "-m", "mpremote", "connect", port, "resume", "exec", _HMAC_PATHS],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    result = {}
    for line in done.stdout.splitlines():
        if line.startswith("PATH "):
            alg, chosen, *times = line.split()[1:]
            result[alg] = (chosen, {k: int(v) for k, v in (t.split("=") for t in times)})
    return result, done.stdout + done.stderr
