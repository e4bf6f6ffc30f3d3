"""The remembered access key: the key derived from the token's access
password, kept in the OS keyring through the `keyring` package.

Only the derived key is stored, never the password (as ykman's `oath access
remember` does). Each entry is named after the token's access salt, which
the token chooses at random whenever a password is set: one entry per token
and per password, so a changed password never makes an old key be tried
(every wrong try doubles the token's delay). No CLI code here.
"""

from __future__ import annotations

import hashlib
import json

from .errors import OtpfobError

SERVICE = "otpfob"


class KeystoreError(OtpfobError):
    """The keyring cannot be used: no backend, or it refused."""


def token_id(salt: bytes) -> str:
    """The keyring entry's name for a token whose access salt is ``salt``."""
    return "token-" + hashlib.sha256(b"otpfob access salt " + salt).hexdigest()[:16]


def _backend():
    """The keyring backend, or KeystoreError in one sentence when none is usable."""
    try:
        import keyring
        from keyring.backends import fail
    except ImportError:
        raise KeystoreError(
            "The keyring package is not installed, so the access password cannot be remembered;"
            " install otpfob's dependencies, or give the password with --password-stdin or OTPFOB_PASSWORD."
        ) from None
    backend = keyring.get_keyring()
    if isinstance(backend, fail.Keyring) or getattr(backend, "priority", 1) <= 0:
        raise KeystoreError(
            "No usable keyring was found on this computer, so the access password cannot be remembered;"
            " give it with --password-stdin or OTPFOB_PASSWORD instead."
        )
    return backend


def check() -> None:
    """KeystoreError (one sentence) unless a usable keyring backend is there."""
    _backend()


def describe() -> tuple[str, str | None]:
    """The keyring backend's name (``keyrings.alt.file.PlaintextKeyring``) and,
    when it keeps what it stores unencrypted, where (its file, or "a file")."""
    backend = _backend()
    cls = type(backend)
    name = f"{cls.__module__}.{cls.__name__}"
    # keyrings.alt's file backends: PlaintextKeyring (base64, not encryption)
    # and the other "alt" stores; EncryptedKeyring asks for its own password.
    plain = "plaintext" in name.lower() or (name.startswith("keyrings.alt") and "encrypted" not in name.lower())
    if not plain:
        return name, None
    return name, str(getattr(backend, "file_path", "") or "a file")


def _refused(exc: Exception) -> KeystoreError:
    return KeystoreError(
        f"The keyring refused the request ({type(exc).__name__}); unlock your keyring, or give the password"
        " with --password-stdin or OTPFOB_PASSWORD instead."
    )


def save(salt: bytes, iterations: int, key: bytes) -> None:
    """Remember ``key`` (derived with ``salt`` and ``iterations``)."""
    backend = _backend()
    try:
        backend.set_password(SERVICE, token_id(salt), json.dumps({"v": 1, "key": key.hex(), "iterations": iterations}))
    except Exception as exc:  # keyring backends raise many kinds
        raise _refused(exc) from None


def load(salt: bytes, iterations: int) -> bytes | None:
    """The remembered key for this salt, or None (also when no keyring works:
    then the CLI asks for the password as before)."""
    try:
        raw = _backend().get_password(SERVICE, token_id(salt))
    except Exception:  # no backend, locked, broken: nothing remembered
        return None
    if not raw:
        return None
    try:
        data = json.loads(raw)
        key = bytes.fromhex(data["key"])
    except (ValueError, KeyError, TypeError):
        return None
    if data.get("iterations") != iterations:
        return None
    return key


def forget(salt: bytes) -> bool:
    """Remove the entry for this salt; False when there was none."""
    backend = _backend()
    try:
        if backend.get_password(SERVICE, token_id(salt)) is None:
            return False
        backend.delete_password(SERVICE, token_id(salt))
    except Exception as exc:
        raise _refused(exc) from None
    return True
