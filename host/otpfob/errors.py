"""Errors raised by the otpfob host layers.

Every message is one whole sentence a person can act on. None of them ever
contains a secret: code that handles secrets says "the secret" instead.
"""

from __future__ import annotations


class OtpfobError(Exception):
    """Base class: the message is one sentence, shown as is by the CLI."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class CliError(OtpfobError):
    """A problem the command line reports and exits non-zero on (ykman's CliFail)."""


class InputError(OtpfobError):
    """Bad user input (a secret, a URI, an option), found before the port is opened."""


class TransportError(OtpfobError):
    """The serial port could not be opened, or the device on it did not answer."""

    def __init__(self, message: str, port: str | None = None) -> None:
        super().__init__(message)
        self.port = port


class NoTokenError(TransportError):
    """Something answered (or nothing did), but not otpfob firmware."""


class TokenError(OtpfobError):
    """The token answered a request with an error reply.

    `code` is one of the `fob.proto.E_*` strings, so callers can branch on it.
    """

    def __init__(self, code: str, message: str, **extra: object) -> None:
        super().__init__(message)
        self.code = code
        self.extra = extra
