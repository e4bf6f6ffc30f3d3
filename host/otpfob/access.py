"""The access password's key derivation and MACs (no token I/O here).

Modelled on YubiKey OATH's password: the password is stretched here with
PBKDF2-HMAC-SHA256; the token stores only the derived key; every unlock is
an HMAC-SHA256 challenge-response, so the password never crosses the wire
and a recorded unlock is worthless later. The token proves in turn that it
knows the key (mutual authentication), so a fake token learns nothing and
cannot pretend. docs/security.md gives the reasons and the numbers.

The exchanges themselves are `Session` methods (`unlock`, `lock`,
`set_access`, `clear_access`, `factory_wipe`), as in yubikit's OathSession:

    with Session(SerialTransport(port)) as s:
        s.unlock("correct horse")
        ...  # gated ops
        s.lock()
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata

from fob import proto

from .errors import InputError

ITERATIONS = 200_000  # PBKDF2 rounds (host-side cost only; see docs/security.md)
SALT_LEN = 16
HOST_CHALLENGE_LEN = 16


def derive_key(password: str, salt: bytes, iterations: int = ITERATIONS) -> bytes:
    """The 32-byte key the token stores: PBKDF2-HMAC-SHA256 of the password.

    The password is NFC-normalised first, so the same characters typed on
    another keyboard or system give the same key.
    """
    if not password:
        raise InputError("The access password must not be empty.")
    data = unicodedata.normalize("NFC", password).encode("utf-8")
    return hashlib.pbkdf2_hmac("sha256", data, salt, iterations, dklen=proto.ACCESS_KEY_LEN)


def mac(key: bytes, msg: bytes) -> bytes:
    """HMAC-SHA256: the answer to a challenge, and the token's proof."""
    return hmac.new(key, msg, hashlib.sha256).digest()


def proof_ok(key: bytes, host_challenge: bytes, proof: bytes) -> bool:
    """Does the token's proof show that it holds ``key``? (constant time)"""
    return hmac.compare_digest(proof, mac(key, host_challenge))
