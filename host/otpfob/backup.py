"""Encrypted backup files and vendor seed files, both PSKC (RFC 6030), through python-pskc.

The token never gives a secret back, so a backup has to be taken on the
host at enrolment: `add` puts accounts into a backup file encrypted with a
password as RFC 6030 section 6.2 describes. PBKDF2-HMAC-SHA256
(`ITERATIONS` rounds, a fresh 16-byte salt at every write) derives an
AES-256 key; each secret is encrypted with AES-256-CBC under a random IV,
and a ValueMAC (HMAC-SHA256 over the ciphertext, with a random MAC key that
is itself encrypted under the derived key) authenticates it. Labels,
issuers and the OTP parameters stay in the clear, as PSKC has them
(docs/security.md says what follows from that). The file is written to a
temporary file of mode 0600 in the same folder, checked, and renamed over
the old one, so it is never in plaintext on disk and never half written.

`read` turns any PSKC file into `migration.Entry` items, the shape
`importing.plan` takes: our own backups (with the password), and files as
token vendors ship them, in plaintext or encrypted with a pre-shared key
(``psk``). Anything wrong with the file (a wrong password or key, a MAC
that does not match, a file cut short or changed, an algorithm other than
TOTP or HOTP, a secret longer than the token holds) raises `BackupError`
with one sentence, and nothing is returned. Messages never hold a secret.
"""

from __future__ import annotations

import hmac
import io
import os
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fob import proto

from .errors import InputError
from .files import read_user_file
from .migration import MAX_ENTRIES, Entry, why_not_loadable
from .uri import HOTP, TOTP, Account

if TYPE_CHECKING:
    from pskc import PSKC
    from pskc.key import Key

# PBKDF2-HMAC-SHA256 rounds for a backup's password: OWASP's 2023 figure for
# PBKDF2-HMAC-SHA256. A backup file can be copied and guessed at offline
# without limit, unlike the token, so it costs more than the access password.
ITERATIONS = 600_000
# What a file may ask for when it is read: enough for any vendor's files, and
# a bound so a hostile file cannot make the derivation run for hours.
MIN_ITERATIONS = 1_000
MAX_ITERATIONS = 10_000_000
MIN_PASSWORD = 8  # characters, for a new backup's password
SALT_LEN = 16
_CIPHER = "aes256-cbc"
_MAC = "hmac-sha256"
_PRF = "hmac-sha256"

_ALGORITHM_URI = {
    HOTP: "urn:ietf:params:xml:ns:keyprov:pskc:hotp",
    TOTP: "urn:ietf:params:xml:ns:keyprov:pskc:totp",
}
_SUITE = {"sha1": "HMAC-SHA1", "sha256": "HMAC-SHA256", "sha512": "HMAC-SHA512"}

# How a file is protected.
PLAIN = "plain"
PASSWORD = "password"  # noqa: S105 - a kind of protection, not a password
PRESHARED = "preshared"


class BackupError(InputError):
    """A PSKC file that cannot be read or written as asked (one sentence)."""


@dataclass
class Contents:
    """What a PSKC file holds: its entries, and how it was protected."""

    entries: list[Entry]
    protection: str  # PLAIN, PASSWORD or PRESHARED


# -- reading --------------------------------------------------------------


def looks_like_pskc(data: bytes) -> bool:
    """Does ``data`` look like a PSKC document (XML with a KeyContainer)?"""
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"<") and b"KeyContainer" in data[:65536]


def _parse(data: bytes, name: str) -> PSKC:
    from pskc import PSKC

    try:
        return PSKC(io.BytesIO(data))
    except Exception:  # ParseError, and the ValueError/TypeError python-pskc lets through on odd values
        raise BackupError(f"{name} is not a PSKC file, or it is cut short or damaged; nothing was loaded.") from None


def protection(data: bytes, name: str) -> str:
    """PLAIN, PASSWORD or PRESHARED: what ``read`` will need for this file."""
    return _protection(_parse(data, name))


def _protection(doc: PSKC) -> str:
    from pskc.key import EncryptedValue

    if doc.encryption.derivation.algorithm:  # even with no encrypted value left in it: see _entry
        return PASSWORD
    if any(isinstance(getattr(k, "_secret", None), EncryptedValue) for k in doc.keys):
        return PRESHARED
    return PLAIN


def read(data: bytes, name: str, *, password: str | None = None, psk: bytes | None = None) -> Contents:
    """The accounts of a PSKC file, decrypted with ``password`` or ``psk`` as the file needs.

    Raises BackupError for anything wrong, before returning any account.
    """
    doc = _parse(data, name)
    kind = _protection(doc)
    keys = list(doc.keys)
    if not keys:
        raise BackupError(f"{name} holds no keys; nothing was loaded.")
    if len(keys) > MAX_ENTRIES:
        raise BackupError(f"{name} holds more than {MAX_ENTRIES} keys; nothing was loaded.")
    if kind == PASSWORD:
        if password is None:
            raise BackupError(f"{name} is encrypted with a password; give it when asked.")
        _derive(doc, password, name)
    elif kind == PRESHARED:
        if psk is None:
            raise BackupError(
                f"{name} is encrypted with a pre-shared key; give the key its vendor sent apart from the file"
                " with --pskc-key HEX."
            )
        _use_psk(doc, psk, name)
    _check_mac_key(doc, name, kind)
    entries = [_entry(doc, key, n, name, kind) for n, key in enumerate(keys, 1)]
    return Contents(entries=entries, protection=kind)


def _derive(doc: PSKC, password: str, name: str) -> None:
    from pskc.exceptions import PSKCError

    d = doc.encryption.derivation
    if not (d.algorithm or "").endswith("#pbkdf2"):
        raise BackupError(f"{name} uses a key derivation otpfob does not know (only PBKDF2); nothing was loaded.")
    if not isinstance(d.pbkdf2_iterations, int) or not MIN_ITERATIONS <= d.pbkdf2_iterations <= MAX_ITERATIONS:
        raise BackupError(
            f"{name} asks for a PBKDF2 iteration count outside {MIN_ITERATIONS:,} to {MAX_ITERATIONS:,}, so it is"
            " damaged or not a backup; nothing was loaded."
        )
    if not isinstance(d.pbkdf2_key_length, int) or not 16 <= d.pbkdf2_key_length <= 32:
        raise BackupError(f"{name} asks for a derived key length otpfob does not use; nothing was loaded.")
    if not password:
        raise BackupError("The backup password is empty; nothing was loaded.")
    try:
        doc.encryption.derive_key(unicodedata.normalize("NFC", password))
    except PSKCError:
        raise BackupError(f"{name}'s key derivation is damaged or not supported; nothing was loaded.") from None


def _use_psk(doc: PSKC, psk: bytes, name: str) -> None:
    from pskc.encryption import algorithm_key_lengths
    from pskc.exceptions import PSKCError

    try:
        lengths = list(algorithm_key_lengths(doc.encryption.algorithm))
    except PSKCError:
        raise BackupError(
            f"{name} is encrypted with an algorithm otpfob cannot decrypt (AES, Triple DES and Camellia are"
            " known); nothing was loaded."
        ) from None
    if len(psk) not in lengths:
        need = " or ".join(str(n) for n in lengths)
        raise BackupError(
            f"The pre-shared key is {len(psk)} bytes and {name}'s encryption needs {need} bytes"
            f" ({' or '.join(str(2 * n) for n in lengths)} hex digits); check the key; nothing was loaded."
        )
    doc.encryption.key = psk


def parse_psk(text: str) -> bytes:
    """A pre-shared key given as hex (spaces and colons allowed)."""
    cleaned = "".join(text.split()).replace(":", "")
    if cleaned.lower().startswith("0x"):
        cleaned = cleaned[2:]
    try:
        key = bytes.fromhex(cleaned)
    except ValueError:
        raise InputError("--pskc-key must be the key in hex, e.g. 32 hex digits for an AES-128 key.") from None
    if not key:
        raise InputError("--pskc-key is empty; give the key in hex.")
    return key


def _check_mac_key(doc: PSKC, name: str, kind: str) -> None:
    """Tell a wrong password or key apart from a damaged file.

    The MAC key is encrypted under the file's key: with the wrong key it
    almost never decrypts to valid padding, and (in our backups, whose MAC
    key is as long as HMAC-SHA256's output) never to the right length.
    """
    from pskc.exceptions import PSKCError
    from pskc.key import EncryptedValue

    if kind == PLAIN:
        return
    stored = getattr(doc.mac, "_key", None)
    if kind == PASSWORD and not isinstance(stored, EncryptedValue):
        raise BackupError(f"{name} has no encrypted MAC key, so it was changed or damaged; nothing was loaded.")
    if not isinstance(stored, EncryptedValue):
        return  # a vendor file may MAC with the encryption key itself
    try:
        mac_key = stored.get_value(doc)
        expected = doc.mac.algorithm_key_length
    except PSKCError:
        mac_key, expected = b"", -1
    if not mac_key or (kind == PASSWORD and len(mac_key) != expected):
        if kind == PASSWORD:
            raise BackupError(f"The password for {name} is wrong; nothing was loaded.")
        raise BackupError(f"The pre-shared key does not decrypt {name} (wrong key); nothing was loaded.")


def _algorithm_name(value: str | None) -> str:
    text = (value or "none").strip()
    return repr(text if len(text) <= 60 else text[:57] + "...")


def _otp_type(key: Key) -> str | None:
    uri = (key.algorithm or "").strip().lower()
    for kind in (HOTP, TOTP):
        if uri.endswith((":" + kind, "#" + kind, "/" + kind)) or uri == kind:
            return kind
    return None


def _hash(suite: str | None) -> str | None:
    if not suite:
        return "sha1"  # RFC 4226 and 6238's default
    norm = suite.strip().lower().replace("-", "").replace("_", "")
    if norm.startswith("hmac"):
        norm = norm[4:]
    return norm if norm in _SUITE else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _entry(doc: PSKC, key: Key, n: int, name: str, kind: str) -> Entry:
    from pskc.exceptions import PSKCError
    from pskc.key import EncryptedValue

    where = f"Key {n} of {name}"
    if kind == PASSWORD and not isinstance(getattr(key, "_secret", None), EncryptedValue):
        raise BackupError(
            f"{where} holds its secret in the clear in a password-protected backup, so the file was changed; nothing was loaded."
        )
    secret_value = getattr(key, "_secret", None)
    if isinstance(secret_value, EncryptedValue) and not secret_value.mac_value and kind == PASSWORD:
        raise BackupError(f"{where} has no MAC, so the file was changed or damaged; nothing was loaded.")
    try:
        secret = key.secret
        counter = key.counter
        period = key.time_interval
    except PSKCError:
        raise BackupError(
            f"{where} fails its MAC check or does not decrypt, so the file was changed or damaged"
            + (" (or --pskc-key is not its key)" if kind == PRESHARED else "")
            + "; nothing was loaded."
        ) from None
    except Exception:
        raise BackupError(f"{where} is damaged; nothing was loaded.") from None
    kind_otp = _otp_type(key)
    algorithm = _hash(key.algorithm_suite)
    if kind_otp is None or algorithm is None:
        raise BackupError(
            f"{where} uses the algorithm {_algorithm_name(key.algorithm if kind_otp is None else key.algorithm_suite)},"
            " which otpfob cannot load (TOTP or HOTP, with SHA-1, SHA-256 or SHA-512); nothing was loaded."
        )
    if key.response_encoding and key.response_encoding.strip().upper() != "DECIMAL":
        raise BackupError(
            f"{where} gives {key.response_encoding.strip()[:20]!r} codes; the token shows decimal codes only;"
            " nothing was loaded."
        )
    if not isinstance(secret, bytes) or not secret:
        raise BackupError(f"{where} has no secret; nothing was loaded.")
    if len(secret) > proto.MAX_KEY:
        raise BackupError(
            f"{where} has a {len(secret)}-byte secret and the token holds at most {proto.MAX_KEY} bytes;"
            " nothing was loaded."
        )
    label = (key.userid or key.friendly_name or key.id or key.serial or "").strip()
    issuer = (key.issuer or "").strip()
    digits = _int(key.response_length) if key.response_length is not None else 6
    if digits is None:
        raise BackupError(f"{where} gives its code length in a form otpfob cannot read; nothing was loaded.")
    entry = Entry(label=label, issuer=issuer, type=kind_otp, algorithm=algorithm, digits=digits)
    acct = Account(label=label, key=secret, issuer=issuer, type=kind_otp, algorithm=algorithm, digits=digits)
    if kind_otp == HOTP:
        if counter is not None and _int(counter) is None:
            raise BackupError(f"{where} has a counter otpfob cannot read; nothing was loaded.")
        acct.counter = counter or 0
    elif period is not None:
        if _int(period) is None:
            raise BackupError(f"{where} has a time step otpfob cannot read; nothing was loaded.")
        acct.period = period
    entry.problem = why_not_loadable(acct)
    if not entry.problem:
        entry.account = acct
    return entry


# -- writing --------------------------------------------------------------


def check_new_password(password: str) -> str:
    """A new backup's password, or InputError saying why it will not do."""
    if len(password) < MIN_PASSWORD:
        raise InputError(
            f"The backup password must have at least {MIN_PASSWORD} characters: a backup file can be guessed at"
            " offline without limit (docs/security.md)."
        )
    return password


def encode(accounts: list[Account], password: str, *, iterations: int = ITERATIONS) -> bytes:
    """A password-encrypted PSKC document holding ``accounts``."""
    from pskc import PSKC

    doc = PSKC()
    for acct in accounts:
        key = doc.add_key(
            algorithm=_ALGORITHM_URI[acct.type],
            secret=acct.key,
            issuer=acct.issuer or None,
            key_userid=acct.label,
            algorithm_suite=_SUITE[acct.algorithm],
            response_encoding="DECIMAL",
            response_length=acct.digits,
        )
        if acct.type == HOTP:
            key.counter = acct.counter
        else:
            key.time_interval = acct.period
    doc.mac.setup(algorithm=_MAC)  # first, so its random key has HMAC-SHA256's length
    doc.encryption.setup_pbkdf2(
        unicodedata.normalize("NFC", password),
        algorithm=_CIPHER,
        iterations=iterations,
        salt_length=SALT_LEN,
        prf=_PRF,
    )
    out = io.BytesIO()
    doc.write(out)
    data = _prf_as_attribute(out.getvalue())
    _self_check(data, doc.encryption.key, accounts)
    return data


def _prf_as_attribute(data: bytes) -> bytes:
    """python-pskc 1.4 writes PBKDF2's PRF as element text but reads it (as
    XML Encryption 1.1 and PKCS #5 write it) from an Algorithm attribute, so
    its own file would be read back with the default HMAC-SHA1. Write the
    attribute; `_self_check` checks the result reads back as HMAC-SHA256."""
    uri = _prf_uri().encode()
    text = b"<PRF>" + uri + b"</PRF>"
    if data.count(text) != 1:
        raise BackupError("The backup could not be written correctly (python-pskc wrote no PRF); nothing was changed.")
    return data.replace(text, b'<PRF Algorithm="' + uri + b'"/>')


def _prf_uri() -> str:
    from pskc.algorithms import normalise_algorithm

    return normalise_algorithm(_PRF) or _PRF


def _self_check(data: bytes, key: bytes | None, accounts: list[Account]) -> None:
    """Read what is about to be written with the key just derived (no second
    PBKDF2), so a file that would not restore is never written."""
    from pskc import PSKC

    doc = PSKC(io.BytesIO(data))
    d = doc.encryption.derivation
    doc.encryption.key = key
    back = [k.secret for k in doc.keys]
    if (
        d.pbkdf2_prf != _prf_uri()
        or len(back) != len(accounts)
        or not all(isinstance(b, bytes) and hmac.compare_digest(b, a.key) for b, a in zip(back, accounts, strict=True))
    ):
        raise BackupError("The backup could not be written correctly (it did not read back); nothing was changed.")


def write_file(path: Path, data: bytes) -> None:
    """Put ``data`` at ``path``: a temporary file of mode 0600 beside it, synced, then renamed over it."""
    folder = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)  # mode 0600
    except OSError as exc:
        raise BackupError(f"The backup cannot be written in {folder} ({exc.strerror or type(exc).__name__}).") from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except OSError as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise BackupError(f"The backup {path} could not be written ({exc.strerror or type(exc).__name__}).") from None
    try:  # the rename itself survives a power cut only once the folder is synced
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass


def _accounts(data: bytes, path: Path, password: str) -> list[Account]:
    got = read(data, str(path), password=password)
    if got.protection != PASSWORD:
        raise BackupError(f"{path} is not a password-protected backup; give another file for --backup.")
    bad = [n for n, e in enumerate(got.entries, 1) if e.account is None]
    if bad:
        raise BackupError(f"Key {bad[0]} of {path} cannot be put on a token, so it is not an otpfob backup.")
    return [e.account for e in got.entries if e.account is not None]


def read_bytes(path: Path) -> bytes:
    return read_user_file(path, folder_hint="give a backup file", error=BackupError)


def identity(acct: Account) -> tuple[str, str]:
    """What makes two backed-up accounts the same one: issuer and label."""
    return (acct.issuer, acct.label)


def merged(existing: list[Account], new: list[Account]) -> list[Account]:
    """``existing`` with ``new`` added; an account of the same issuer and label is replaced in place."""
    out = list(existing)
    for acct in new:
        same = [i for i, a in enumerate(out) if identity(a) == identity(acct)]
        if same:
            out[same[0]] = acct
        else:
            out.append(acct)
    return out


class BackupFile:
    """A backup opened (and its password checked) before any token is touched, written after.

    ``BackupFile.open(path, password)`` reads an existing backup, so a wrong
    password stops a command before it changes anything; a missing file is
    made by the first `add`.
    """

    def __init__(self, path: Path, password: str, accounts: list[Account], data: bytes | None) -> None:
        self.path = path
        self._password = password
        self.accounts = accounts
        self._data = data  # the bytes read, to notice another program's write in between

    @property
    def is_new(self) -> bool:
        return self._data is None

    def __repr__(self) -> str:
        return f"BackupFile({str(self.path)!r}, {len(self.accounts)} accounts)"

    @classmethod
    def open(cls, path: Path, password: str) -> BackupFile:
        if path.exists() or path.is_symlink():
            data = read_bytes(path)
            return cls(path, password, _accounts(data, path, password), data)
        if not path.parent.is_dir():
            raise BackupError(f"The folder of {path} does not exist; make it first or give another path.")
        check_new_password(password)
        if not os.access(path.parent, os.W_OK):
            raise BackupError(f"The backup {path} cannot be made: its folder is not writable.")
        return cls(path, password, [], None)

    def add(self, accounts: list[Account], *, iterations: int = ITERATIONS) -> int:
        """Add ``accounts`` and write the file; the number of accounts it holds now."""
        try:
            now: bytes | None = self.path.read_bytes()
        except FileNotFoundError:
            now = None
        if now != self._data:  # written by another otpfob meanwhile: keep what it added
            self.accounts = _accounts(now, self.path, self._password) if now is not None else []
        everything = merged(self.accounts, accounts)
        data = encode(everything, self._password, iterations=iterations)
        write_file(self.path, data)
        self.accounts, self._data = everything, data
        return len(everything)
