"""A process-wide registry for the secret scan of the test suite.

Every emulated token's serial (``SerialPty``) registers itself here when it
is created: what the firmware wrote (stdout and stderr) is scanned, and
what the host sent is searched for provisioned keys (``add`` requests'
``secret``/``key``, ``access_set``'s ``key``), so every secret that reached
any emulated token is checked without the tests having to declare it.
Tests may also declare secrets with ``add_secret`` (``random_secret()`` in
``otpfob.emu.testing`` does).

``scan()`` looks for each secret in every byte any token sent, raw, as hex
(either case) and as Base32 (either case, with and without padding).  It is
run once per pytest process at the end of the session (tests/conftest.py).

The search indexes every 5-byte slice of every form once and probes the
output only at every 5th position, so a few megabytes of output against a
few thousand secrets take well under a second.  Secrets shorter than
MIN_SECRET bytes are not scanned: a short raw key would match output by
chance (the fuzzer sends such keys on purpose; no real account has one).
"""

from __future__ import annotations

import base64
import json
import os
import threading
from collections.abc import Iterable
from typing import Protocol

MIN_SECRET = 10  # bytes: the shortest secret services issue (16 Base32 characters)
_K = 5  # probe width; every form is at least 2 * _K - 1 bytes long
_MAX_INPUT = 64 * 1024 * 1024  # bytes of host->token traffic kept per process

_lock = threading.Lock()
_serials: list[_Logged] = []
_secrets: set[bytes] = set()


class _Logged(Protocol):
    output: bytearray
    stderr: bytearray
    input: bytearray
    lock: threading.Lock


def register_serial(serial: _Logged) -> None:
    """Called by SerialPty: its logs are scanned at the end of the run."""
    with _lock:
        _serials.append(serial)


def add_secret(key: bytes | str) -> None:
    """Declare a secret (raw bytes, or Base32 text) the run provisioned."""
    if isinstance(key, str):
        text = key.strip().replace(" ", "").upper()
        key = base64.b32decode(text + "=" * (-len(text) % 8))
    with _lock:
        _secrets.add(bytes(key))


def forms(key: bytes) -> list[bytes]:
    """What a leak of ``key`` could look like on the wire."""
    b32 = base64.b32encode(key)
    hx = key.hex().encode()
    out = {key, hx, hx.upper(), b32, b32.rstrip(b"="), b32.lower(), b32.lower().rstrip(b"=")}
    return sorted(out)


def _decode_key(req: dict, name: str) -> bytes | None:
    v = req.get(name)
    if not isinstance(v, str):
        return None
    try:
        if name == "secret":
            t = v.strip().replace(" ", "").replace("-", "").upper().rstrip("=")
            return base64.b32decode(t + "=" * (-len(t) % 8))
        return bytes.fromhex(v)
    except (ValueError, TypeError):
        return None


def _named_forms(key: bytes) -> list[tuple[str, bytes]]:
    b32 = base64.b32encode(key)
    return [
        ("raw bytes", key),
        ("hex", key.hex().encode()),
        ("HEX", key.hex().upper().encode()),
        ("Base32", b32),
        ("base32", b32.lower()),
    ]


def secrets_in_requests(data: bytes) -> set[bytes]:
    """Keys in the add / access_set requests found in host->token traffic."""
    found: set[bytes] = set()
    for line in data.split(b"\n"):
        if b'"add"' not in line and b'"access_set"' not in line:
            continue
        try:
            req = json.loads(line)
        except ValueError:
            continue
        if not isinstance(req, dict):
            continue
        for name in ("secret", "key"):
            key = _decode_key(req, name)
            if key:
                found.add(key)
    return found


def _printable(key: bytes) -> bool:
    return all(32 <= b < 127 for b in key)


def _index(secrets: Iterable[bytes]) -> dict[bytes, list[tuple[bytes, int, bytes]]]:
    idx: dict[bytes, list[tuple[bytes, int, bytes]]] = {}
    for key in secrets:
        for form in forms(key):
            if form == key and _printable(key):
                # A made-up test key such as b"x" * 20 or RFC 4226's
                # "12345678901234567890" is also a label or a counter some
                # test uses; such keys are searched as hex and Base32 only.
                # (Random keys are never all printable: (95/256)**10.)
                continue
            for off in range(len(form) - _K + 1):
                idx.setdefault(form[off : off + _K], []).append((form, off, key))
    return idx


def find(blob: bytes, secrets: Iterable[bytes], idx=None) -> list[tuple[bytes, int]]:
    """(secret, position) of every form of every secret found in ``blob``.
    ``idx`` is ``_index(secrets)``, built once when scanning many blobs."""
    if idx is None:
        idx = _index([s for s in secrets if len(s) >= MIN_SECRET])
    hits: set[tuple[bytes, int]] = set()
    get = idx.get
    # Any occurrence of a form (>= 2*_K-1 bytes) covers a position p % _K == 0
    # with a whole _K-byte slice of the form at offset `off`.
    for p in range(0, len(blob) - _K + 1, _K):
        cands = get(blob[p : p + _K])
        if not cands:
            continue
        for form, off, key in cands:
            start = p - off
            if start >= 0 and blob[start : start + len(form)] == form:
                hits.add((key, start))
    return sorted(hits)


def snapshot() -> tuple[list[bytes], set[bytes]]:
    """(what every token sent, every secret known) in this process so far."""
    with _lock:
        serials = list(_serials)
        secrets = set(_secrets)
    sent: list[bytes] = []
    for s in serials:
        with s.lock:
            sent.append(bytes(s.output))
            sent.append(bytes(s.stderr))
            secrets |= secrets_in_requests(bytes(s.input))
    return sent, {k for k in secrets if len(k) >= MIN_SECRET}


def scan() -> tuple[int, int, list[str]]:
    """(bytes scanned, secrets checked, one line per leak found)."""
    sent, secrets = snapshot()
    # Outputs are scanned one by one: a form never spans two tokens.
    leaks = []
    total = 0
    idx = _index(secrets)
    for blob in sent:
        total += len(blob)
        for key, pos in find(blob, secrets, idx):
            kind = next((name for name, f in _named_forms(key) if blob[pos : pos + len(f)] == f), "?")
            where = ""
            if os.environ.get("OTPFOB_LEAK_CONTEXT"):  # debugging: what came just before it
                where = f", after {bytes(blob[max(0, pos - 48) : pos])!r}"
            leaks.append(
                f"a provisioned secret ({len(key)} bytes) appears as {kind} in a token's output"
                f" at byte {pos} of {len(blob)}{where}"
            )
    return total, len(secrets), leaks


def record_input(serial: _Logged, data: bytes) -> None:
    """Keep host->token bytes, up to a cap (floods of fuzz bytes carry no keys)."""
    if len(serial.input) < _MAX_INPUT:
        serial.input += data
