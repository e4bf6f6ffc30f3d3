"""Errors raised by the otpfob host layers.

Every message is one whole sentence a person can act on. None of them ever
contains a secret: code that handles secrets says "the secret" instead.
"""

from __future__ import annotations

# The command line's exit codes, defined once (docs/cli.md lists them).
EXIT_OK = 0  # done
EXIT_FAILED = 1  # refused or failed
EXIT_USAGE = 2  # the command line itself was wrong (click's own code)
EXIT_CLOCK = 3  # done, but the token's clock would make services refuse its codes
EXIT_NO_TOKEN = 4  # no token was found to talk to


class OtpfobError(Exception):
    """Base class: the message is one sentence, shown as is by the CLI."""

    exit_code = EXIT_FAILED

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class CliError(OtpfobError):
    """A problem the command line reports and exits non-zero on (ykman's CliFail).
    Raised by the CLI package only; library modules raise the neutral errors below."""


class DeployError(OtpfobError):
    """A deploy refused or failed (`otpfob.deploy`): the board, the build or the copy."""


class AwsError(OtpfobError):
    """A failed AWS IAM step (`otpfob.aws`), or boto3 missing."""


class InputError(OtpfobError):
    """Bad user input (a secret, a URI, an option), found before the port is opened."""


class TransportError(OtpfobError):
    """The serial port could not be opened, or the device on it did not answer."""

    def __init__(self, message: str, port: str | None = None) -> None:
        super().__init__(message)
        self.port = port


class NoTokenError(TransportError):
    """Something answered (or nothing did), but not otpfob firmware."""


class NoTokenFoundError(TransportError):
    """No port was named and none looks like a token (no USB board, no running `otpfob sim`)."""

    exit_code = EXIT_NO_TOKEN


class SeveralTokensError(TransportError):
    """No port was named and more than one could be the token; `choices` lists them."""

    def __init__(self, message: str, choices: list[str], described: list[str] | None = None) -> None:
        super().__init__(message)
        self.choices = choices  # device paths
        self.described = described or choices  # "path (what it is)", for a person to choose from


class TokenError(OtpfobError):
    """The token answered a request with an error reply.

    `code` is one of the `fob.proto.E_*` strings, so callers can branch on it.
    """

    def __init__(self, code: str, message: str, **extra: object) -> None:
        super().__init__(message)
        self.code = code
        self.extra = extra
