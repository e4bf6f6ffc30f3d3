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
# What the host accepts from a token's unlock reply: never fewer rounds than
# it sets itself (a fake token asking for 1,000 would make each offline guess
# 200 times cheaper), nor so many that deriving stalls (100,000,000: ~30 s).
MIN_ITERATIONS = ITERATIONS
MAX_ITERATIONS = 10 * ITERATIONS
SALT_LEN = 16
HOST_CHALLENGE_LEN = 16
_PROOF = b"otpfob-proof"
_SESSION = b"otpfob-session"


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


def proof_ok(key: bytes, host_challenge: bytes, challenge: bytes, proof: bytes) -> bool:
    """Does the token's proof (sent before the host answers anything) show
    that it holds ``key``? (constant time)"""
    return hmac.compare_digest(proof, mac(key, _PROOF + host_challenge + challenge))


def session_key(key: bytes, challenge: bytes, host_challenge: bytes) -> bytes:
    """The key that seals every request of the session an unlock opens."""
    return mac(key, _SESSION + challenge + host_challenge)


class Seal:
    """Seals an unlocked session's requests (docs/protocol.md "Sessions"):
    a counter ``n`` that only goes up, and as the line's last member a MAC
    of everything before it under the session key. Another program on the
    port has neither, and the token ends the session at a wrong one."""

    def __init__(self, key: bytes) -> None:
        self._key = key
        self._n = 0

    def __repr__(self) -> str:
        return f"Seal(n={self._n})"  # never the key

    def next_counter(self) -> int:
        self._n += 1
        return self._n

    def line(self, body: bytes) -> bytes:
        """The request line for ``body`` (a JSON object holding ``n``), sealed."""
        assert body.endswith(b"}")
        head = body[:-1]
        tag = hmac.new(self._key, head, hashlib.sha256).digest()[: proto.MAC_LEN]
        return head + proto.MAC_MEMBER.encode() + tag.hex().encode() + b'"}\n'
