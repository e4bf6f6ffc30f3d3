"""Accounts as services hand them out: Base32 secrets and otpauth:// URIs.

Follows Google's Key URI format (otpauth://TYPE/LABEL?PARAMS) the way pyotp
parses it, and tolerates what is seen in the wild: lowercase algorithm names,
padding as `%3D` or extra `=`, spaces in the secret, a trailing newline, an
issuer prefix encoded as `%3A`. Everything is checked against the token's
limits here, before any port is opened, so bad input never reaches the token.
Error messages never contain the secret.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote, urlsplit

from fob import otp, proto

from .errors import InputError

TOTP = "totp"
HOTP = "hotp"


@dataclass
class Account:
    """One account to put on the token. `key` is the raw secret (never shown)."""

    label: str
    key: bytes = field(repr=False)
    issuer: str = ""
    type: str = TOTP
    algorithm: str = "sha1"
    digits: int = 6
    period: int = 30
    counter: int = 0
    # A press releases its codes: True or False as the person (or a backup)
    # said, None for the token's own default (its touch_default setting).
    touch: bool | None = None

    def check(self) -> Account:
        """Raise InputError unless the token can hold this account as it is."""
        check_label(self.label)
        check_issuer(self.issuer)
        if self.type not in (TOTP, HOTP):
            raise InputError(f"The type must be totp or hotp, not {self.type!r}.")
        check_algorithm(self.algorithm)
        check_digits(self.digits)
        if self.type == TOTP:
            check_period(self.period)
        if not 0 <= self.counter <= proto.MAX_COUNTER:
            raise InputError(f"The HOTP counter must be a whole number from 0 to {proto.MAX_COUNTER} (2**63-1).")
        if not 1 <= len(self.key) <= proto.MAX_KEY:
            raise InputError(f"The secret decodes to {len(self.key)} bytes; the token holds 1 to {proto.MAX_KEY}.")
        return self


def check_label(label: str) -> str:
    """The token's rule for labels (fob.proto): 1-32 bytes, not blank, no
    control, line-separator, bidi control or Default_Ignorable character."""
    if proto.blank(label):
        raise InputError("The account has no label; give one with --label.")
    if len(label.encode()) > proto.MAX_LABEL:
        raise InputError(
            f"The label is {len(label.encode())} bytes long and the token holds at most "
            f"{proto.MAX_LABEL}; shorten it with --label."
        )
    _check_chars("label", label)
    return label


def check_issuer(issuer: str) -> str:
    """The same rule for issuers, which may be empty (but not blank)."""
    if len(issuer.encode()) > proto.MAX_ISSUER:
        raise InputError(
            f"The issuer is {len(issuer.encode())} bytes long and the token holds at most "
            f"{proto.MAX_ISSUER}; shorten it with --issuer."
        )
    if issuer and proto.blank(issuer):
        raise InputError("The issuer is only spaces; give a name with --issuer or leave it out.")
    _check_chars("issuer", issuer)
    return issuer


def _check_chars(what: str, name: str) -> None:
    c = proto.refused_char(name)
    if c is not None:
        raise InputError(
            f"The {what} contains the invisible character U+{c:04X} (a control, line-separator, bidi"
            f" control or other ignorable character); use printable text."
        )


def check_algorithm(name: str) -> str:
    norm = name.lower().replace("-", "")
    if norm not in proto.ALGORITHMS:
        raise InputError(f"The algorithm must be sha1, sha256 or sha512, not {name!r}.")
    return norm


def check_digits(digits: int) -> int:
    if not proto.MIN_DIGITS <= digits <= proto.MAX_DIGITS:
        raise InputError(f"The number of digits must be from {proto.MIN_DIGITS} to {proto.MAX_DIGITS}, not {digits}.")
    return digits


def check_period(period: int) -> int:
    if not proto.MIN_PERIOD <= period <= proto.MAX_PERIOD:
        raise InputError(f"The period must be from {proto.MIN_PERIOD} to {proto.MAX_PERIOD} seconds, not {period}.")
    return period


def decode_secret(text: str) -> bytes:
    """Base32 secret -> key bytes, with the firmware core's tolerant decoder.

    Raises InputError with a message that describes the problem but never
    repeats the secret.
    """
    try:
        key = otp.b32decode(text.strip())
    except ValueError as exc:
        reason = str(exc)
        if reason.startswith("secret "):
            reason = reason[len("secret ") :]
        if reason == "is empty":
            raise InputError("The secret is empty; give the Base32 text the service showed.") from None
        if reason.startswith("is not Base32: "):
            reason = reason[len("is not Base32: ") :]
        else:
            reason = "it " + reason
        raise InputError(f"The secret is not valid Base32: {reason.rstrip('.')}.") from None
    if len(key) > proto.MAX_KEY:
        raise InputError(f"The secret decodes to {len(key)} bytes; the token holds at most {proto.MAX_KEY}.")
    return key


def _int_param(name: str, value: str) -> int:
    try:
        return int(value.strip(), 10)
    except ValueError:
        raise InputError(f"The URI's {name} must be a whole number, not {value!r}.") from None


def parse_uri(text: str) -> Account:
    """Parse an otpauth://totp/... or otpauth://hotp/... URI into an Account.

    The label may come back empty (a URI without one); call `Account.check()`
    after applying any --label override to check the token's limits.
    """
    uri = text.strip()
    try:
        parts = urlsplit(uri)
    except ValueError:
        raise InputError(
            "The URI could not be parsed; it should look like otpauth://totp/Issuer:account?secret=..."
        ) from None
    if parts.scheme.lower() != "otpauth":
        raise InputError("The URI must start with otpauth://, e.g. otpauth://totp/Issuer:account?secret=...")
    kind = parts.netloc.lower()
    if kind not in (TOTP, HOTP):
        raise InputError(f"The URI's type must be totp or hotp, not {parts.netloc!r}.")

    params: dict[str, str] = {}
    for raw_name, value in parse_qsl(parts.query, keep_blank_values=True):
        name = raw_name.strip().lower()
        if name in params:
            raise InputError(f"The URI gives {name} more than once.")
        params[name] = value

    # Label "issuer:account" (the Key URI format): the prefix before the
    # first colon, literal or encoded as %3A, is the issuer, and spaces after
    # the colon are dropped. The spec's own example,
    # otpauth://totp/Big%20Corporation%3A%20alice%40bigco.com, is issuer "Big
    # Corporation", account "alice@bigco.com". A literal colon splits before
    # unquoting (an encoded %3A after it stays part of the account name); an
    # encoded one splits unless issuer= names another issuer, in which case
    # the colon is part of the account's name.
    raw_label = parts.path[1:] if parts.path.startswith("/") else parts.path
    issuer_param = params.get("issuer", "").strip()
    label_issuer = ""
    if ":" in raw_label:
        head, tail = raw_label.split(":", 1)
        label_issuer, account = unquote(head).strip(), unquote(tail).strip()
    else:
        account = unquote(raw_label).strip()
        head, colon, tail = account.partition(":")
        if colon and head.strip() and (not issuer_param or head.strip() == issuer_param):
            label_issuer, account = head.strip(), tail.strip()
    if label_issuer and issuer_param and label_issuer != issuer_param:
        raise InputError("The URI names one issuer in its label and another in issuer=; they must be the same.")
    issuer = issuer_param or label_issuer

    if "secret" not in params or not params["secret"].strip():
        raise InputError("The URI has no secret= parameter.")
    key = decode_secret(params["secret"])

    acct = Account(label=account or issuer, key=key, issuer=issuer, type=kind)
    if "algorithm" in params:
        acct.algorithm = check_algorithm(params["algorithm"].strip())
    if params.get("digits", "").strip():
        acct.digits = _int_param("digits", params["digits"])
    if kind == TOTP and params.get("period", "").strip():
        acct.period = _int_param("period", params["period"])
    if kind == HOTP:
        if not params.get("counter", "").strip():
            raise InputError("An hotp URI needs a counter= parameter.")
        acct.counter = _int_param("counter", params["counter"])
    return acct
