"""Accounts to import: phone-app exports and lists of otpauth:// URIs.

Google Authenticator's "Transfer accounts" QR codes hold
``otpauth-migration://offline?data=<base64>``, where the data is a protobuf
``MigrationPayload`` (``migration.proto``; ``migration_pb2.py`` is generated
from it, see the .proto for how). A large export is split over several QR
codes that share a ``batch_id`` and count ``batch_index`` of ``batch_size``;
all of them must be given. Plain text may also hold one ``otpauth://`` URI
per line.

An account the token cannot hold (MD5, a digit count other than 6 to 10, a
label that is too long) is kept as an `Entry` with a `problem`, so the list
can show it and say why it is skipped; malformed input is refused whole with
one sentence. Nothing here repeats a secret or the data it came in.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit, urlunsplit

from google.protobuf.message import DecodeError
from google.protobuf.unknown_fields import UnknownFieldSet

from . import qr
from .errors import InputError
from .migration_pb2 import MigrationPayload
from .uri import HOTP, TOTP, Account, parse_uri

_ALGORITHMS = {
    MigrationPayload.ALGORITHM_UNSPECIFIED: "sha1",  # the app's default
    MigrationPayload.ALGORITHM_SHA1: "sha1",
    MigrationPayload.ALGORITHM_SHA256: "sha256",
    MigrationPayload.ALGORITHM_SHA512: "sha512",
    MigrationPayload.ALGORITHM_MD5: "md5",
}
_DIGITS = {
    MigrationPayload.DIGIT_COUNT_UNSPECIFIED: 6,
    MigrationPayload.DIGIT_COUNT_SIX: 6,
    MigrationPayload.DIGIT_COUNT_EIGHT: 8,
}
_TYPES = {
    MigrationPayload.OTP_TYPE_UNSPECIFIED: TOTP,
    MigrationPayload.OTP_TYPE_HOTP: HOTP,
    MigrationPayload.OTP_TYPE_TOTP: TOTP,
}
MAX_ENTRIES = 1000  # far beyond any export; bounds what a hostile file can make us list
# A small hostile file can claim any number of parts (2**31 - 1 made us build
# a list of every missing one): no export is split over more than this ...
MAX_PARTS = 1000
# ... nor needs more input than this, all files together (a QR image is a few KB).
MAX_INPUT = 16 * 1024 * 1024


@dataclass
class Entry:
    """One account found in the input: loadable (`account`) or not (`problem`)."""

    label: str
    issuer: str
    type: str
    algorithm: str
    digits: int | None
    account: Account | None = field(default=None, repr=False)
    problem: str = ""  # why the token cannot take it, e.g. "it uses MD5, which the token does not support"


@dataclass
class _Part:
    batch_id: int
    index: int
    size: int
    entries: list[Entry]


def _bad_export(what: str) -> InputError:
    return InputError(
        f"The otpauth-migration:// data {what}; export the accounts from the phone app again and give the whole text or QR code."
    )


def decode_payload(uri: str) -> MigrationPayload:
    """The MigrationPayload of one ``otpauth-migration://offline?data=...`` URI."""
    parts = urlsplit(uri.strip())
    if parts.scheme.lower() != qr.EXPORT:
        raise InputError("A phone-app export must start with otpauth-migration://offline?data=.")
    values = parse_qs(parts.query, keep_blank_values=True).get("data", [])
    if len(values) != 1 or not values[0].strip():
        raise InputError("The otpauth-migration:// URI has no data= parameter; give the whole text the export holds.")
    # parse_qs already undid %-escapes (and read "+" as a space); the app
    # writes standard Base64, some tools the URL-safe alphabet.
    text = values[0].strip().replace(" ", "+").replace("-", "+").replace("_", "/")
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise _bad_export("is not valid Base64") from None
    payload = MigrationPayload()
    try:
        payload.ParseFromString(raw)
    except DecodeError:
        raise _bad_export("is cut short or damaged") from None
    # A protobuf of another shape often parses, its fields landing among the
    # unknown ones: refuse it rather than load half of it.
    if len(UnknownFieldSet(payload)) or any(len(UnknownFieldSet(p)) for p in payload.otp_parameters):
        raise _bad_export("is not a phone-app export (its fields are not the ones an export has)")
    if not payload.otp_parameters:
        raise _bad_export("holds no accounts")
    if len(payload.otp_parameters) > MAX_ENTRIES:
        raise _bad_export(f"holds more than {MAX_ENTRIES} accounts")
    if any(not p.secret for p in payload.otp_parameters):
        raise _bad_export("has an account without a secret")
    return payload


def _entry(p: MigrationPayload.OtpParameters) -> Entry:
    """One exported account as an Entry (with `problem` set when it cannot be loaded)."""
    issuer = p.issuer.strip()
    name = p.name.strip()
    if issuer and name.startswith(issuer + ":"):  # some apps write "Issuer:account" into name
        name = name[len(issuer) + 1 :].strip()
    elif not issuer and ":" in name:  # "Issuer:account" with no issuer field: as in an otpauth:// label
        head, tail = name.split(":", 1)
        if head.strip() and tail.strip():
            issuer, name = head.strip(), tail.strip()
    label = name or issuer
    kind = _TYPES.get(p.type, "")
    algorithm = _ALGORITHMS.get(p.algorithm, "")
    digits = _DIGITS.get(p.digits)
    entry = Entry(label=label, issuer=issuer, type=kind or "?", algorithm=algorithm or "?", digits=digits)
    if not kind:
        entry.problem = "its OTP type is neither TOTP nor HOTP"
    elif algorithm == "md5":
        entry.problem = "it uses MD5, which the token does not support"
    elif not algorithm:
        entry.problem = "its hash algorithm is not one the token supports"
    elif digits is None:
        entry.problem = "its digit count is not one the token supports"
    elif kind == HOTP and p.counter < 0:
        entry.problem = "its HOTP counter is negative"
    else:
        acct = Account(
            label=label,
            key=bytes(p.secret),
            issuer=issuer,
            type=kind,
            algorithm=algorithm,
            digits=digits,
            counter=p.counter if kind == HOTP else 0,
        )
        entry.problem = why_not_loadable(acct)
        if not entry.problem:
            entry.account = acct
    return entry


def why_not_loadable(acct: Account) -> str:
    """Why the token cannot hold ``acct`` as it is, or ""."""
    try:
        acct.check()
    except InputError as exc:
        text = exc.message.split(";")[0].rstrip(".")
        return text[0].lower() + text[1:]
    return ""


def _from_account_uri(text: str, line: int) -> Entry:
    query = parse_qs(urlsplit(text).query)
    if any(v.strip().lower() == "md5" for v in query.get("algorithm", [])):
        parts = urlsplit(text)
        rest = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k.strip().lower() != "algorithm"]
        try:  # parsed without its algorithm, for the label and type the list shows
            acct = parse_uri(urlunsplit(parts._replace(query=urlencode(rest))))
        except InputError as exc:
            raise _at(line, exc) from None
        return Entry(
            acct.label,
            acct.issuer,
            acct.type,
            "md5",
            acct.digits,
            None,
            "it uses MD5, which the token does not support",
        )
    try:
        acct = parse_uri(text)
    except InputError as exc:
        raise _at(line, exc) from None
    entry = Entry(acct.label, acct.issuer, acct.type, acct.algorithm, acct.digits)
    entry.problem = why_not_loadable(acct)
    if not entry.problem:
        entry.account = acct
    return entry


def _at(line: int, exc: InputError) -> InputError:
    """``exc`` naming its line, when the input had more than one."""
    return InputError(f"Line {line}: {exc.message}") if line else exc


def _scan(text: str, parts: list[_Part], entries: list[Entry]) -> None:
    """Collect the exports' parts and the accounts of one text, a URI a line."""
    lines = [(n, raw.strip()) for n, raw in enumerate(text.splitlines(), 1)]
    lines = [(n, line) for n, line in lines if line and not line.startswith("#")]
    for n, line in lines:
        where = n if len(lines) > 1 else 0
        scheme = line.split(":", 1)[0].lower() if ":" in line else ""
        if scheme == qr.EXPORT:
            parts.append(_part(line, where))
        elif scheme == qr.ACCOUNT:
            entries.append(_from_account_uri(line, where))
        elif len(lines) > 1:
            raise InputError(
                f"Line {n} is neither an otpauth:// URI nor an otpauth-migration:// export; give one URI per line."
            )
        else:
            raise InputError("The input is neither an otpauth:// URI nor an otpauth-migration:// export.")


def _finish(parts: list[_Part], entries: list[Entry]) -> list[Entry]:
    entries = _join(parts) + entries
    if not entries:
        raise InputError("The input holds no otpauth:// or otpauth-migration:// URI.")
    if len(entries) > MAX_ENTRIES:
        raise InputError(f"The input holds more than {MAX_ENTRIES} accounts; split it.")
    return entries


def read_text(text: str) -> list[Entry]:
    """Entries from text holding otpauth-migration:// and/or otpauth:// URIs, one a line.

    Blank lines and lines starting with # are skipped. The parts of a
    split export must all be there (a missing part is an error).
    """
    if len(text) > MAX_INPUT:
        raise _too_much()
    parts: list[_Part] = []
    entries: list[Entry] = []
    _scan(text, parts, entries)
    return _finish(parts, entries)


def _too_much() -> InputError:
    return InputError(
        f"The input is larger than {MAX_INPUT // (1024 * 1024)} MB, far more than any export or list of URIs;"
        " give only the export's QR codes or text."
    )


def _part(uri: str, line: int) -> _Part:
    try:
        payload = decode_payload(uri)
    except InputError as exc:
        raise _at(line, exc) from None
    size = max(payload.batch_size, 1)
    if size > MAX_PARTS:
        raise _at(line, _bad_export(f"says it has {size:,} parts, and an export has at most {MAX_PARTS:,}"))
    if not 0 <= payload.batch_index < size:
        raise _bad_export(f"says it is part {payload.batch_index + 1} of {size}")
    return _Part(payload.batch_id, payload.batch_index, size, [_entry(p) for p in payload.otp_parameters])


def _join(parts: list[_Part]) -> list[Entry]:
    """The entries of every export in order, once all parts of each are there."""
    exports: dict[int, dict[int, _Part]] = {}
    for part in parts:
        have = exports.setdefault(part.batch_id, {})
        if part.index in have:
            if _same(have[part.index], part):
                continue  # the same QR code given twice
            raise InputError(
                f"Two different QR codes both say they are part {part.index + 1} of an export; give each part once."
            )
        if have and next(iter(have.values())).size != part.size:
            raise InputError("The parts of one export disagree on how many parts it has; export again.")
        have[part.index] = part
    out: list[Entry] = []
    for have in exports.values():
        size = next(iter(have.values())).size
        missing = [i + 1 for i in range(size) if i not in have]
        if len(missing) > 10:
            raise InputError(
                f"The export is split over {size} QR codes and {len(missing)} of them are missing; give all of them."
            )
        if missing:
            names = ", ".join(str(i) for i in missing)
            raise InputError(
                f"The export is split over {size} QR codes and part{'s' if len(missing) > 1 else ''} {names}"
                f" {'are' if len(missing) > 1 else 'is'} missing; give all of them."
            )
        for i in range(size):
            out.extend(have[i].entries)
    return out


def _same(a: _Part, b: _Part) -> bool:
    return len(a.entries) == len(b.entries) and all(
        (x.label, x.issuer, x.account.key if x.account else None)
        == (y.label, y.issuer, y.account.key if y.account else None)
        for x, y in zip(a.entries, b.entries, strict=True)
    )


def read_sources(blobs: list[bytes]) -> list[Entry]:
    """Entries from files: each a QR image (PNG, JPEG, ...) or text. The parts
    of a split export may come in separate files, in any order."""
    if sum(len(b) for b in blobs) > MAX_INPUT:
        raise _too_much()
    parts: list[_Part] = []
    entries: list[Entry] = []
    for data in blobs:
        if qr.looks_like_image(data):
            _scan(qr.read_qr(data).text, parts, entries)  # an account or an export, else InputError
            continue
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InputError(
                "The input is neither an image nor UTF-8 text; give a QR image or a text file of URIs."
            ) from None
        _scan(text, parts, entries)
    return _finish(parts, entries)
