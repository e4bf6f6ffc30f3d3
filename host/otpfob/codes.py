"""Reference codes on the host, to check what the token computes.

pyotp is the reference. Where pyotp refuses valid RFC input (secrets under
112 bits, which many sites hand out, and periods over 120 s) the RFC 4226 /
6238 algorithm is computed here with the standard library's hmac instead.
The firmware's own `fob.otp` is deliberately not used: checking the token's
code with the token's code would prove nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

import pyotp

from .uri import HOTP, Account

_DIGESTS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256, "sha512": hashlib.sha512}


def rfc_hotp(key: bytes, counter: int, digits: int, algorithm: str) -> str:
    mac = hmac.new(key, counter.to_bytes(8, "big"), _DIGESTS[algorithm]).digest()
    o = mac[-1] & 0x0F
    value = int.from_bytes(mac[o : o + 4], "big") & 0x7FFFFFFF
    return str(value % 10**digits).zfill(digits)


def _pyotp_secret(key: bytes) -> str:
    return base64.b32encode(key).decode().rstrip("=")


def reference_hotp(acct: Account, counter: int) -> tuple[str, str]:
    """(code, source) where source is "pyotp" or "rfc" (stdlib hmac)."""
    try:
        ref = pyotp.HOTP(_pyotp_secret(acct.key), digits=acct.digits, digest=_DIGESTS[acct.algorithm])
        return ref.at(counter), "pyotp"
    except ValueError:  # pyotp refuses short secrets
        return rfc_hotp(acct.key, counter, acct.digits, acct.algorithm), "rfc"


def reference_totp(acct: Account, unix_time: int) -> tuple[str, str]:
    """(code, source) for a TOTP account at `unix_time` (int seconds)."""
    try:
        ref = pyotp.TOTP(
            _pyotp_secret(acct.key), digits=acct.digits, digest=_DIGESTS[acct.algorithm], interval=acct.period
        )
        return ref.at(unix_time), "pyotp"
    except ValueError:  # short secret or long period
        return rfc_hotp(acct.key, unix_time // acct.period, acct.digits, acct.algorithm), "rfc"


@dataclass
class Check:
    """Outcome of comparing the token's code with the reference."""

    matches: bool  # the token's code is right for the token's own time (or counter)
    source: str  # "pyotp" or "rfc"
    skew_steps: int | None = None  # token step minus host step (TOTP only)
    skew_seconds: int | None = None  # token time minus host time (TOTP only)
    host_window: bool = False  # accepted by a server using the host clock within +-1 step
    counter: int | None = None  # the HOTP counter the code was checked at
    counter_used: bool = True  # HOTP: that counter was used up (a `code`), not only compared (a `check`)


def check_totp(acct: Account, code: str, token_time: int, host_time: int) -> Check:
    """Compare a TOTP code the token gave at `token_time` with the reference.

    The code must equal the reference at the token's own time (allowing one
    step either side, since the time was read in a separate request and may
    cross a boundary). Separately, report whether a server with the host's
    clock would accept it (+-1 step) and the skew between the two clocks.
    """
    source = "pyotp"
    own = False
    for d in (0, -1, 1):
        t = token_time + d * acct.period
        if t < 0:
            continue
        ref, source = reference_totp(acct, t)
        if hmac.compare_digest(ref, code):
            own = True
            break
    host_ok = False
    for d in (0, -1, 1):
        t = host_time + d * acct.period
        if t >= 0 and hmac.compare_digest(reference_totp(acct, t)[0], code):
            host_ok = True
            break
    return Check(
        matches=own or host_ok,
        source=source,
        skew_steps=token_time // acct.period - host_time // acct.period,
        skew_seconds=token_time - host_time,
        host_window=host_ok,
    )


def check_hotp(acct: Account, code: str, counter: int) -> Check:
    ref, source = reference_hotp(acct, counter)
    return Check(matches=hmac.compare_digest(ref, code), source=source, counter=counter)


def check_code(acct: Account, code: str, *, token_time: int, host_time: int, counter: int | None = None) -> Check:
    if acct.type == HOTP:
        return check_hotp(acct, code, acct.counter if counter is None else counter)
    return check_totp(acct, code, token_time, host_time)
