"""Access password operations on a token (session level, no CLI code).

Modelled on YubiKey OATH's password: the password is stretched here with
PBKDF2-HMAC-SHA256; the token stores only the derived key; every unlock is
an HMAC-SHA256 challenge-response, so the password never crosses the wire
and a recorded unlock is worthless later. The token proves in turn that it
knows the key (mutual authentication), so a fake token learns nothing and
cannot pretend. docs/security.md gives the reasons and the numbers.

    from otpfob.access import unlock, lock
    unlock(session, "correct horse")
    ...  # gated ops
    lock(session)
"""

from __future__ import annotations

import hashlib
import hmac
import os
import time
import unicodedata
from dataclasses import dataclass
from typing import Any, Callable

from fob import proto

from .errors import InputError, TokenError
from .session import Session

ITERATIONS = 200_000  # PBKDF2 rounds (host-side cost only; see docs/security.md)
SALT_LEN = 16
HOST_CHALLENGE_LEN = 16
UNLOCK_TIMEOUT = 5.0  # the token writes its failure counter to flash before it answers


@dataclass
class AccessState:
    """What `info` says about the token's access control."""

    password_set: bool
    unlocked: bool  # this link may use the gated ops now (True when no password is set)
    maintenance: bool = False  # the token was powered on with the button held (Ctrl-C on)


def derive_key(password: str, salt: bytes, iterations: int = ITERATIONS) -> bytes:
    """The 32-byte key the token stores: PBKDF2-HMAC-SHA256 of the password.

    The password is NFC-normalised first, so the same characters typed on
    another keyboard or system give the same key.
    """
    if not password:
        raise InputError("The access password must not be empty.")
    data = unicodedata.normalize("NFC", password).encode("utf-8")
    return hashlib.pbkdf2_hmac("sha256", data, salt, iterations, dklen=proto.ACCESS_KEY_LEN)


def _mac(key: bytes, msg: bytes) -> bytes:
    return hmac.new(key, msg, hashlib.sha256).digest()


def _hex(reply: dict[str, Any], name: str, lo: int, hi: int) -> bytes:
    """A hex field of a reply, checked, or a one-sentence error."""
    try:
        value = bytes.fromhex(str(reply[name]))
    except (KeyError, ValueError):
        value = b""
    if not lo <= len(value) <= hi:
        raise TokenError(proto.E_INTERNAL, f"The token's unlock reply has no valid {name}; update its firmware.")
    return value


def _wait_sentence(ms: int) -> str:
    seconds = max(1, (int(ms) + 999) // 1000)
    return (f"Too many wrong access passwords were tried; the token accepts the next try in {seconds} s"
            " (the wait doubles with each wrong one).")


def state(session: Session) -> AccessState:
    """Is a password set, and is this link unlocked? (info is never gated.)"""
    info = session.info()
    # The fields may be Info attributes or left in Info.extra (older session.py).
    raw = dict(info.extra)
    for name in ("access", "unlocked", "maintenance"):
        if hasattr(info, name):
            raw[name] = getattr(info, name)
    password_set = bool(raw.get("access", False))
    return AccessState(
        password_set=password_set,
        unlocked=bool(raw.get("unlocked", not password_set)),
        maintenance=bool(raw.get("maintenance", False)),
    )


def unlock(session: Session, password: str, *, wait: float = 0, on_wait: Callable[[float], None] | None = None) -> None:
    """Unlock the token's gated operations for this link.

    Step 1 fetches the token's one-time challenge (with the salt and the
    iteration count); step 2 answers it with HMAC(key, challenge) and sends
    a challenge of our own, whose answer the token must prove. A token
    that throttles for at most ``wait`` seconds is waited for (after
    ``on_wait(seconds)``) instead of refused.
    Raises TokenError: E_AUTH (wrong password), E_THROTTLED (with
    ``extra["retry_ms"]``), or E_AUTH when the token fails its proof.
    """
    r = session._call(proto.OP_UNLOCK)
    challenge = _hex(r, "challenge", 8, 64)
    salt = _hex(r, "salt", proto.MIN_SALT, proto.MAX_SALT)
    iterations = r.get("iterations")
    if not isinstance(iterations, int) or not proto.MIN_ITERATIONS <= iterations <= proto.MAX_ITERATIONS:
        raise TokenError(proto.E_INTERNAL, "The token's unlock reply has no valid iteration count; update its firmware.")
    key = derive_key(password, salt, iterations)  # the slow part, done while the token's delay runs
    retry = r.get("retry_ms", 0)
    if isinstance(retry, int) and retry > 0:
        if retry > wait * 1000:
            raise TokenError(proto.E_THROTTLED, _wait_sentence(retry), retry_ms=retry)
        if on_wait is not None:
            on_wait(retry / 1000)
        time.sleep(retry / 1000)
    host_challenge = os.urandom(HOST_CHALLENGE_LEN)
    try:
        r = session._call(
            proto.OP_UNLOCK,
            {"response": _mac(key, challenge).hex(), "host_challenge": host_challenge.hex()},
            timeout=UNLOCK_TIMEOUT,
        )
    except TokenError as exc:
        if exc.code == proto.E_THROTTLED:
            raise TokenError(exc.code, _wait_sentence(int(exc.extra.get("retry_ms", 1000))), **exc.extra) from None
        if exc.code == proto.E_AUTH:
            raise TokenError(exc.code, "The access password is wrong.", **exc.extra) from None
        raise
    proof = _hex(r, "proof", proto.ACCESS_KEY_LEN, proto.ACCESS_KEY_LEN)
    if not hmac.compare_digest(proof, _mac(key, host_challenge)):
        raise TokenError(proto.E_AUTH, "The token could not prove that it knows the access password, so it is not"
                         " the token you set it on; nothing was sent to it.")


def set_access(session: Session, password: str, *, iterations: int = ITERATIONS) -> None:
    """Set (or, on an unlocked link, change) the access password.

    The derived key crosses the wire this once, like YubiKey's SET CODE;
    the password itself never does. The link stays unlocked until `lock`.
    """
    salt = os.urandom(SALT_LEN)
    key = derive_key(password, salt, iterations)
    session.handshake()  # never send a key to something that is not otpfob firmware
    session._call(proto.OP_ACCESS_SET, {"key": key.hex(), "salt": salt.hex(), "iterations": iterations})


def clear_access(session: Session) -> None:
    """Remove the access password (the link must be unlocked)."""
    session._call(proto.OP_ACCESS_CLEAR)


def lock(session: Session) -> None:
    """End this link's unlocked state (the token also locks after 60 s idle)."""
    session._call(proto.OP_LOCK)


def factory_wipe(session: Session) -> None:
    """Erase every account AND the access password; needs the token's button held down."""
    try:
        session._call(proto.OP_WIPE, {"factory": True})
    except TokenError as exc:
        if exc.code == proto.E_TOUCH:
            raise TokenError(exc.code, "The token's button was not held down; hold it while you run"
                             " `otpfob wipe --factory` again.") from None
        raise
