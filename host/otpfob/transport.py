"""Line transport to the token over a serial port (pyserial).

One JSON request per line out; replies come back as lines that start with
`proto.REPLY_TAG`. Anything else on the port (a boot banner, REPL echo, log
lines) is skipped, so the host resynchronises after noise. This module knows
nothing about the command line; it raises `TransportError` with one sentence.
"""

from __future__ import annotations

import errno
import json
import logging
import sys
import time
from typing import Any

import serial

from fob import proto

from .access import Seal
from .errors import NoTokenError, TransportError

try:
    import termios

    # pyserial lets termios.error (not an OSError) through from flush/tcdrain
    # when the device disappears.
    _PORT_ERRORS: tuple[type[BaseException], ...] = (serial.SerialException, OSError, termios.error)
except ImportError:  # Windows
    _PORT_ERRORS = (serial.SerialException, OSError)

log = logging.getLogger(__name__)

_OPEN_ERRORS: tuple[type[BaseException], ...] = (*_PORT_ERRORS, ValueError)

DEFAULT_TIMEOUT = 3.0  # seconds to wait for a reply; a token answers in milliseconds
_POLL = 0.02  # serial read timeout per poll, so the overall deadline stays accurate
_MAX_NOISE = 64 * 1024  # drop an unterminated line longer than this (garbage, not a reply)


def _no_firmware(port: str) -> NoTokenError:
    return NoTokenError(
        f"No otpfob firmware answered on {port}; install it with `otpfob deploy --board NAME`"
        " or choose the token's port with --port.",
        port,
    )


def _open_error(port: str, exc: BaseException) -> TransportError:
    """Turn pyserial's open failure into one sentence naming the port and what to do."""
    code = getattr(exc, "errno", None)
    text = str(exc)
    if code in (errno.ENOENT, errno.ENODEV, errno.ENXIO):
        return TransportError(
            f"There is no serial port {port}; check that the token is plugged in and that --port (or OTPFOB_PORT) names it.",
            port,
        )
    if code in (errno.EACCES, errno.EPERM):
        hint = (
            " add yourself to the `dialout` group (sudo usermod -aG dialout $USER, then log in again)"
            if sys.platform.startswith("linux")
            else " check the port's permissions"
        )
        return TransportError(f"Permission to open {port} was denied;{hint}.", port)
    if code in (errno.EBUSY, errno.EAGAIN, errno.EWOULDBLOCK) or "exclusively lock" in text:
        return TransportError(
            f"The port {port} is busy; close the other program using it (a terminal, mpremote, `otpfob sim` client) and try again.",
            port,
        )
    if "configure port" in text or code == errno.ENOTTY:
        return TransportError(f"{port} is not a serial port; give the token's port with --port.", port)
    return TransportError(f"Could not open {port}; check that the token is plugged in and try again.", port)


class SerialTransport:
    """A lazily opened serial connection that exchanges protocol lines."""

    def __init__(self, port: str, *, timeout: float = DEFAULT_TIMEOUT, baudrate: int = 115200) -> None:
        self.port = port
        self.timeout = timeout
        self.baudrate = baudrate
        self._serial: serial.Serial | None = None
        self._next_id = 1
        self._buf = bytearray()
        self._first_id = self._next_id
        # Set by Session.unlock: every request of the unlocked session is sealed.
        self.seal: Seal | None = None

    # -- connection -------------------------------------------------------

    def ensure_connected(self) -> None:
        """Open the port if it is not open yet (exclusive, so a busy port is detected)."""
        if self._serial is not None:
            return
        ser = serial.Serial()
        ser.port = self.port
        ser.baudrate = self.baudrate
        ser.timeout = _POLL
        ser.write_timeout = self.timeout
        ser.exclusive = True
        try:
            ser.open()
        except _OPEN_ERRORS as exc:
            raise _open_error(self.port, exc) from None
        _exclusive(ser)
        self._serial = ser

    def close(self) -> None:
        if self._serial is not None:
            try:
                self._serial.close()
            except _PORT_ERRORS:
                pass  # the device may already be gone; nothing left to release
            self._serial = None

    def __enter__(self) -> SerialTransport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- exchange ---------------------------------------------------------

    def call(self, op: str, args: dict[str, Any] | None = None, *, timeout: float | None = None) -> dict[str, Any]:
        """Send one request and return the matching reply object (ok or not).

        Raises TransportError when the port fails and NoTokenError when no
        tagged reply with our id arrives before the timeout.
        """
        self.ensure_connected()
        assert self._serial is not None
        req_id = self._next_id
        self._next_id += 1
        message: dict[str, Any] = {"v": proto.VERSION, "id": req_id, "op": op}
        if args:
            message.update(args)
        if self.seal is not None:
            message["n"] = self.seal.next_counter()
            line = self.seal.line(json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode())
        else:
            line = json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"
        if len(line) > proto.MAX_LINE:
            # The token would refuse it; say so here without echoing the line (it may hold a secret).
            raise TransportError(
                f"The {op} request is too long for the token's {proto.MAX_LINE}-byte line limit.", self.port
            )
        # Names only, never values: the arguments may hold a key or a password's MAC.
        log.debug(
            "%s: request %d %s (%s; %d bytes)",
            self.port,
            req_id,
            op,
            ",".join(sorted(args)) if args else "no arguments",
            len(line),
        )
        started = time.monotonic()
        try:
            # Replies to earlier, abandoned requests and boot noise are stale now.
            self._serial.reset_input_buffer()
            self._buf.clear()
            if req_id == self._first_id:
                # End whatever partial line another program left in the
                # token's line buffer (mpremote's Ctrl-C, a terminal): that
                # garbage gets its own bad_frame reply, not ours.
                self._serial.write(b"\n")
            self._serial.write(line)
            self._serial.flush()
        except _PORT_ERRORS:
            self.close()
            raise self._gone() from None
        reply = self._read_reply(req_id, self.timeout if timeout is None else timeout)
        log.debug(
            "%s: reply %d %s in %.0f ms",
            self.port,
            req_id,
            "ok" if reply.get("ok") else "error %s" % reply.get("err"),
            (time.monotonic() - started) * 1000,
        )
        return reply

    def end_line(self) -> None:
        """End a request line left half sent (a signal arrived mid-write), so
        the next request is read on a line of its own; best effort."""
        if self._serial is None:
            return
        try:
            self._serial.write(b"\n")
        except _PORT_ERRORS:
            pass

    def _gone(self) -> TransportError:
        return TransportError(
            f"The device on {self.port} went away during the command; reconnect it and try again.", self.port
        )

    def _read_reply(self, req_id: int, timeout: float) -> dict[str, Any]:
        assert self._serial is not None
        deadline = time.monotonic() + timeout
        tag = proto.REPLY_TAG.encode()
        while True:
            nl = self._buf.find(b"\n")
            if nl >= 0:
                raw = bytes(self._buf[:nl]).rstrip(b"\r")
                del self._buf[: nl + 1]
                reply = self._parse(raw, tag)
                if reply is not None and reply.get("id") == req_id:
                    return reply
                continue
            if len(self._buf) > _MAX_NOISE:
                self._buf.clear()
            if time.monotonic() >= deadline:
                log.debug("%s: no reply %d within %.1f s", self.port, req_id, timeout)
                raise _no_firmware(self.port)
            try:
                waiting = self._serial.in_waiting
                chunk = self._serial.read(waiting or 1)
            except _PORT_ERRORS:
                self.close()
                raise self._gone() from None
            if chunk:
                self._buf += chunk

    @staticmethod
    def _parse(raw: bytes, tag: bytes) -> dict[str, Any] | None:
        # The tag may follow noise on the same line (e.g. a REPL prompt), so search for it.
        at = raw.find(tag)
        if at < 0:
            return None
        try:
            obj = json.loads(raw[at + len(tag) :].decode("utf-8"), object_pairs_hook=_unique_names)
        except (UnicodeDecodeError, ValueError):
            return None
        return obj if isinstance(obj, dict) else None


def _exclusive(ser: serial.Serial) -> None:
    """Ask the OS to refuse every other open of the port (TIOCEXCL) while
    this one is open: pyserial's own lock (flock) binds only programs that
    ask for it. Where the OS has no such call, the session's seal still
    keeps another program's requests out (docs/security.md)."""
    request = getattr(termios, "TIOCEXCL", None) if "termios" in globals() else None
    if request is None:
        return
    try:
        import fcntl

        fcntl.ioctl(ser.fileno(), request)
    except (ImportError, OSError, ValueError):
        pass  # not a tty (a socket:// URL in tests), or refused: the seal remains


def _unique_names(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A reply with a repeated name is not a reply (docs/protocol.md): the
    same rule the token applies to requests, where CPython keeps the last."""
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise ValueError("repeated name in a reply")
    return obj
