"""Find the token's serial port when none was named.

Boards that run otpfob show up as a handful of known USB serial devices, and
a running `otpfob sim` announces its pty in a small file in the per-user
runtime folder (`advertise`). Exactly one candidate is used; none or several
is an error that says what to do (the CLI asks which one on a terminal).
`--port` / `OTPFOB_PORT` always win over discovery.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import platformdirs
from serial.tools import list_ports

from .errors import NoTokenFoundError, SeveralTokensError, TransportError

# (vid, pid or None for "any pid of this vendor", what it is)
KNOWN_USB: tuple[tuple[int, int | None, str], ...] = (
    (0x2E8A, 0x0005, "Raspberry Pi RP2040/RP2350 MicroPython"),
    (0x303A, None, "Espressif native USB"),
    (0x10C4, 0xEA60, "Silicon Labs CP210x"),
    (0x1A86, 0x7523, "WCH CH340"),
    (0x1A86, 0x7522, "WCH CH340K"),
    (0x1A86, 0x55D4, "WCH CH9102"),
    (0x1A86, 0x55D3, "WCH CH343"),
)


@dataclass(frozen=True)
class Candidate:
    device: str
    kind: str

    def __str__(self) -> str:
        return f"{self.device} ({self.kind})"


def kind_of(vid: int | None, pid: int | None) -> str | None:
    """What a USB VID:PID is, or None when it is not a board otpfob runs on."""
    if vid is None:
        return None
    for k_vid, k_pid, kind in KNOWN_USB:
        if vid == k_vid and (k_pid is None or pid == k_pid):
            return kind
    return None


def candidates(ports: Iterable[object] | None = None, *, sims: bool | None = None) -> list[Candidate]:
    """Serial ports that look like an otpfob board, sorted by device name,
    then the running emulated tokens (`sims`; by default only when `ports`
    is not given, so a given list is looked at alone).

    `ports` defaults to pyserial's `list_ports.comports()`; anything with
    `.device`, `.vid` and `.pid` attributes works.
    """
    if sims is None:
        sims = ports is None
    if ports is None:
        ports = list_ports.comports()
    found = []
    for p in ports:
        kind = kind_of(getattr(p, "vid", None), getattr(p, "pid", None))
        if kind is not None:
            found.append(Candidate(p.device, kind))  # type: ignore[attr-defined]
    found.sort(key=lambda c: c.device)
    return found + (running_sims() if sims else [])


def find_port(ports: Iterable[object] | None = None, *, sims: bool | None = None) -> str:
    """The one candidate's device path; NoTokenFoundError for none,
    SeveralTokensError (with the choices) for several."""
    found = candidates(ports, sims=sims)
    if len(found) == 1:
        return found[0].device
    if not found:
        raise NoTokenFoundError(
            "No otpfob token was found (none on USB, no `otpfob sim` running); plug it in,"
            " or name its port with --port or OTPFOB_PORT."
        )
    listed = ", ".join(str(c) for c in found)
    raise SeveralTokensError(
        f"Several boards could be the token ({listed}); choose one with --port.",
        [c.device for c in found],
        [str(c) for c in found],
    )


# -- the emulated tokens' announcements ------------------------------------------

RUNTIME_ENV = "OTPFOB_RUNTIME_DIR"


def runtime_dir() -> Path:
    """Where a running `otpfob sim` announces its port: $OTPFOB_RUNTIME_DIR,
    else the per-user runtime folder ($XDG_RUNTIME_DIR/otpfob), else a
    private folder in the temp dir."""
    if os.environ.get(RUNTIME_ENV):
        return Path(os.environ[RUNTIME_ENV])
    private = Path(tempfile.gettempdir()) / f"otpfob-{os.getuid() if hasattr(os, 'getuid') else 'user'}"
    # Without $XDG_RUNTIME_DIR platformdirs warns on stderr and guesses; a
    # private temp folder is the quiet, equally per-user answer.
    if os.name == "posix" and not os.environ.get("XDG_RUNTIME_DIR"):
        return private
    base = Path(platformdirs.user_runtime_dir("otpfob"))
    return base if base.parent.is_dir() else private  # no /run/user/UID (containers, some CI)


def private_folder(folder: Path) -> Path:
    """``folder`` if only this user can use it (a real folder, ours, mode
    0700 or stricter), else TransportError in one sentence: an announcement
    planted in a shared folder could point otpfob, and the secrets it sends,
    at another program's pty."""
    if os.name != "posix":
        return folder
    try:
        st = os.lstat(folder)
    except FileNotFoundError:
        return folder
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077:
        raise TransportError(
            f"The folder {folder}, where `otpfob sim` announces its port, is not private to you (owned by another"
            " user, open to others or not a folder); remove it, or set OTPFOB_RUNTIME_DIR to a folder only you"
            " can use (mode 0700)."
        )
    return folder


def advertise(port: str, board: str = "sim") -> Path:
    """Announce a running emulated token's port; returns the file to `withdraw`."""
    folder = runtime_dir()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    private_folder(folder)
    path = folder / f"sim-{os.getpid()}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"port": port, "pid": os.getpid(), "board": board}))
    os.replace(tmp, path)  # a reader never sees half a file
    return path


def withdraw(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive, but not ours to use
        return True
    return True


def running_sims() -> list[Candidate]:
    """The emulated tokens announced by running `otpfob sim` processes.

    An announcement whose process is gone (killed before it could clean up)
    is removed here. A folder others could write to is refused."""
    folder = private_folder(runtime_dir())
    found = []
    for path in sorted(folder.glob("sim-*.json")) if folder.is_dir() else []:
        try:
            data = json.loads(path.read_text())
            port, pid = str(data["port"]), int(data["pid"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if not _alive(pid) or not os.path.exists(port):
            withdraw(path)
            continue
        found.append(Candidate(port, f"otpfob sim --board {data.get('board', 'sim')}, process {pid}"))
    return found
