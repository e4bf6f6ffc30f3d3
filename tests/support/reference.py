"""Reference OTP values: pyotp where it accepts the input, else RFC 4226/6238
computed here with the standard library's hmac (pyotp 2.12 refuses secrets
under 112 bits and periods over 120 s, and its TOTP.at() goes through
datetime, which ends at year 9999)."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pyotp

DIGESTS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256, "sha512": hashlib.sha512}
_MAX_DATETIME = 253402300799  # 9999-12-31T23:59:59Z


def rfc_hotp(key: bytes, counter: int, digits: int, algorithm: str) -> str:
    mac = hmac.new(key, counter.to_bytes(8, "big"), DIGESTS[algorithm]).digest()
    o = mac[-1] & 0x0F
    value = int.from_bytes(mac[o : o + 4], "big") & 0x7FFFFFFF
    return str(value % 10**digits).zfill(digits)


def expected_hotp(key: bytes, counter: int, digits: int, algorithm: str) -> tuple[str, str]:
    secret = base64.b32encode(key).decode()
    try:
        return pyotp.HOTP(secret, digits=digits, digest=DIGESTS[algorithm]).at(counter), "pyotp"
    except ValueError:
        return rfc_hotp(key, counter, digits, algorithm), "rfc"


def expected(secret: str | bytes, t: int, digits: int = 6, period: int = 30, algorithm: str = "sha1") -> str:
    """The TOTP code at ``t``: pyotp's, or RFC 6238's where pyotp refuses.
    ``secret``: Base32 text (any case, padding optional) or the key bytes."""
    if isinstance(secret, str):
        secret = base64.b32decode(secret + "=" * (-len(secret) % 8), casefold=True)
    return expected_totp(secret, int(t), digits, period, algorithm)[0]


def expected_totp(key: bytes, t: int, digits: int, period: int, algorithm: str) -> tuple[str, str]:
    secret = base64.b32encode(key).decode()
    if t <= _MAX_DATETIME:
        try:
            otp = pyotp.TOTP(secret, digits=digits, digest=DIGESTS[algorithm], interval=period)
            return otp.at(t), "pyotp"
        except ValueError:
            pass
    return rfc_hotp(key, t // period, digits, algorithm), "rfc"
