"""Find the token's serial port when none was named.

Boards that run otpfob show up as a handful of known USB serial devices.
Exactly one candidate is used; none or several is an error that says what
to do. `--port` / `OTPFOB_PORT` always win over discovery.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from serial.tools import list_ports

from .errors import TransportError

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


def candidates(ports: Iterable[object] | None = None) -> list[Candidate]:
    """Serial ports that look like an otpfob board, sorted by device name.

    `ports` defaults to pyserial's `list_ports.comports()`; anything with
    `.device`, `.vid` and `.pid` attributes works.
    """
    if ports is None:
        ports = list_ports.comports()
    found = []
    for p in ports:
        kind = kind_of(getattr(p, "vid", None), getattr(p, "pid", None))
        if kind is not None:
            found.append(Candidate(p.device, kind))  # type: ignore[attr-defined]
    return sorted(found, key=lambda c: c.device)


def find_port(ports: Iterable[object] | None = None) -> str:
    """The one candidate's device path; TransportError for none or several."""
    found = candidates(ports)
    if len(found) == 1:
        return found[0].device
    if not found:
        raise TransportError(
            "No otpfob token was found on USB; plug it in, or name its port with --port or OTPFOB_PORT."
        )
    listed = ", ".join(str(c) for c in found)
    raise TransportError(f"Several boards could be the token ({listed}); choose one with --port.")
