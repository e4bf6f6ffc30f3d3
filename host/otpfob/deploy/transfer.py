"""Copying a build to a board with mpremote, and the reset after it.

`copy` is the one copy step, and it never opens a door (docs/security.md
"Updates"): nothing the running firmware needs is removed or overwritten
until the new firmware is complete on the board, and the switch is made of
atomic renames, so wherever it stops (a power cut between or inside files,
Ctrl-C, mpremote giving up) the next boot runs the old firmware or the new
one, and `main.py`, the boot guard, keeps the REPL closed while an access
password is set. In one chained mpremote command:

1. `PREPARE`: finish or undo what an earlier cut left (the first complete
   folder of /otp, /otp.new, /otp.old becomes /otp), then remove the others;
2. stage `fob` into /otp.new and write /otp.new/complete last;
3. copy board.py and main.py as /board.new and /main.new;
4. `SWITCH`: rename /board.new and /main.new over the live files, then
   /otp -> /otp.old, /otp.new -> /otp, and remove /otp.old and what older
   deploys left at the root (/fob, /main.mpy). An image deploy (fob frozen
   in) stages nothing and removes every /otp folder instead.

A folder is removed marker first, so half of one is never taken for
complete. The account store at the root is left alone. A watchdog stops
mpremote when no file is done for COPY_STALL seconds.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import fob

from ..errors import DeployError, TransportError
from ..session import Session
from ..transport import SerialTransport
from .mpy import Build, Progress, quiet


def mpremote_cmd() -> list[str]:
    """mpremote beside this Python (the venv's), else on PATH, else as a module."""
    mpremote = shutil.which(
        "mpremote", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    )
    return [mpremote] if mpremote else [sys.executable, "-m", "mpremote"]


# The device side of the switch (see the module docstring).  Written for
# MicroPython's os: stat, listdir, remove, rmdir, rename.
_DEVICE_HELPERS = """
import os
def _ex(p):
    try:
        os.stat(p)
        return True
    except OSError:
        return False
def _rm(p):
    if not _ex(p):
        return
    if os.stat(p)[0] & 0x4000:
        if _ex(p + '/complete'):
            os.remove(p + '/complete')
        for n in os.listdir(p):
            _rm(p + '/' + n)
        os.rmdir(p)
    else:
        os.remove(p)
"""

PREPARE = (
    _DEVICE_HELPERS
    + """
if not _ex('/otp/complete'):
    for _d in ('/otp.new', '/otp.old'):
        if _ex(_d + '/complete'):
            _rm('/otp')
            os.rename(_d, '/otp')
            break
for _p in ('/otp.new', '/otp.old', '/board.new', '/main.new'):
    _rm(_p)
"""
)


def _switch(staged: bool) -> str:
    """The renames that put a copied build live (``staged``: fob is in
    /otp.new; else an image deploy, whose fob is frozen in). Short, and it
    reuses PREPARE's helpers (one raw REPL session keeps them): it is
    compiled on the board when the new files already fill its memory."""
    code = "import gc\ngc.collect()\nos.rename('/board.new', '/board.py')\nos.rename('/main.new', '/main.py')\n"
    if staged:
        code += "if _ex('/otp'):\n    os.rename('/otp', '/otp.old')\nos.rename('/otp.new', '/otp')\n"
    else:
        code += "_rm('/otp')\n"
    return code + "for _p in ('/otp.old', '/otp.new', '/fob', '/main.mpy'):\n    _rm(_p)\n"


STAGE = "/otp.new"
MARKER = STAGE + "/complete"


def device_path(dev: str) -> str:
    """Where a build's file is copied: fob into the staging folder, the
    entry files beside the live ones, to be renamed over them."""
    if dev.startswith("fob/"):
        return f"{STAGE}/{dev}"
    return f"/{dev[:-3]}.new" if dev in ("board.py", "main.py") else f"/{dev}"


def mpremote_args(out: Build, port: str) -> list[str]:
    """One chained mpremote command line: prepare, stage, mark, switch."""
    # `resume`: no soft reset before the first command.  A reset is pointless
    # here (the board is hard-reset once the copy is done) and would wipe a
    # RAM filesystem like the emulated M0's.
    staged = any(dev.startswith("fob/") for _, dev in out.files)
    args = ["connect", port, "resume", "exec", PREPARE]
    if staged:
        dirs = sorted({str(Path(dev).parent.as_posix()) for _, dev in out.files if dev.startswith("fob/")})
        for d in [STAGE] + [f"{STAGE}/{d}" for d in dirs]:
            args += ["+", "fs", "mkdir", f":{d}"]
    fob_files = [(local, dev) for local, dev in out.files if dev.startswith("fob/")]
    entry = [(local, dev) for local, dev in out.files if not dev.startswith("fob/")]
    for local, dev in fob_files:
        args += ["+", "fs", "cp", str(local), f":{device_path(dev)}"]
    if staged:
        args += ["+", "exec", f"import gc\ngc.collect()\nopen({MARKER!r}, 'wb').write({fob.VERSION.encode()!r})"]
    for local, dev in entry:
        args += ["+", "fs", "cp", str(local), f":{device_path(dev)}"]
    args += ["+", "exec", _switch(staged)]
    return args


COPY_STALL = 30.0  # seconds without a copied file after which mpremote is given up on


def copy(
    out: Build,
    port: str,
    *,
    progress: Progress = quiet,
    copied: Callable[[int, int, str], None] | None = None,
    stall: float = COPY_STALL,
) -> None:
    """Copy a build to the board on `port` with mpremote, showing each file.

    ``copied(files_done, bytes_done, device_path)`` follows the copy (for a
    progress bar; `progress` gets one line per file when it is not given).
    mpremote is stopped, and the copy refused in one sentence, when no file
    is done for ``stall`` seconds: a port that is not a MicroPython REPL
    (the emulated Unix-port token, a locked otpfob) never answers it."""
    cmd = mpremote_cmd()
    progress(f"Copying {len(out.files)} files to {port} with mpremote...")
    proc = subprocess.Popen(cmd + mpremote_args(out, port), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    sizes = {device_path(dev): local.stat().st_size for local, dev in out.files}
    names = {device_path(dev): dev for _, dev in out.files}
    done = 0
    done_bytes = 0
    tail: list[str] = []
    last = [time.monotonic()]
    stalled = threading.Event()

    def watch() -> None:
        while proc.poll() is None:
            if time.monotonic() - last[0] > stall:
                stalled.set()
                proc.kill()
                return
            time.sleep(0.2)

    threading.Thread(target=watch, daemon=True).start()
    for line in proc.stdout:
        line = line.rstrip()
        if line.startswith("cp "):
            last[0] = time.monotonic()
            done += 1
            dev = line.split(":", 1)[-1] if ":" in line else line
            done_bytes += sizes.get(dev, 0)
            dev = names.get(dev, dev)  # shown as the build names it: fob/app.mpy
            if copied is not None:
                copied(done, done_bytes, dev)
            else:
                progress(f"[{done}/{len(out.files)}] {dev}")
        elif line:
            tail = (tail + [line])[-3:]
    if stalled.is_set():
        proc.wait()
        raise TransportError(
            f"The board on {port} stopped answering mpremote ({done} of {len(out.files)} files copied, nothing for"
            f" {stall:.0f} s), so the copy was stopped; check that it runs MicroPython with its REPL free, and deploy"
            " again.",
            port,
        )
    if proc.wait() != 0 or done != len(out.files):
        detail = tail[-1] if tail else "no output"
        raise TransportError(
            f"mpremote could not copy the firmware to {port} ({detail.rstrip('.')}); check that the board runs"
            f" MicroPython and that no other program uses the port.",
            port,
        )


def reset_and_check(port: str, *, timeout: float = 60.0, progress: Progress = quiet) -> str:
    """Hard-reset the board, wait for the app, and check it reports this release's VERSION.
    A board answers within seconds; the wait is long for an emulated one on a busy host."""
    progress(f"Resetting the token on {port}...")
    cmd = mpremote_cmd()
    try:
        # `resume`: no soft reset first.  A token with its USB keyboard
        # (fob/keyboard.py) leaves the bus at a soft reset and comes back
        # with the serial alone: the port goes away under mpremote.
        subprocess.run(cmd + ["connect", port, "resume", "reset"], capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:  # then the token is asked below, and gives the sentence
        pass
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        time.sleep(0.5)  # USB re-enumerates after a hard reset; the port comes back
        try:
            with Session(SerialTransport(port, timeout=2.0)) as s:
                version = s.info().version
        except TransportError as exc:
            last = exc
            continue
        if version != fob.VERSION:
            raise DeployError(
                f"The token answered with firmware {version}, not {fob.VERSION}; run `otpfob deploy` again."
            )
        return version
    raise TransportError(
        f"The token on {port} did not answer after the reset; unplug it, plug it in again and run `otpfob info`.",
        port,
    ) from last
