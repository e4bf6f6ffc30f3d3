"""The command line's one session per invocation, and its access password.

This is the only place in the CLI that unlocks and relocks the token:
`CliState.session()` opens the port lazily and, unless told not to, unlocks
a token that says it is locked (with --password / $OTPFOB_PASSWORD, else a
hidden prompt), and `close()` locks the link again when the command ends.
Both cli.py and access_cli.py reach it through `current()`, so neither
imports the other. Passwords are never printed.
"""

from __future__ import annotations

import sys

import click

from . import discover
from .errors import CliError, OtpfobError
from .session import Session
from .transport import SerialTransport

PASSWORD_ENV = "OTPFOB_PASSWORD"
THROTTLE_WAIT = 10.0  # a token slowing down wrong passwords is waited for up to this long

password_option = click.option(
    "--password",
    envvar=PASSWORD_ENV,
    metavar="PASSWORD",
    default=None,
    help="The token's access password (default: $OTPFOB_PASSWORD; asked for, hidden, when the token is locked).",
)


def _interactive() -> bool:
    return sys.stdin is not None and sys.stdin.isatty()


def prompt_password(text: str = "Access password", *, confirm: bool = False) -> str:
    """A hidden prompt on stderr (twice with `confirm`)."""
    if not _interactive():
        raise CliError(f"The token is locked; give its access password with --password or {PASSWORD_ENV}.")
    return click.prompt(
        f"{text} (input hidden)", hide_input=True, confirmation_prompt=confirm, prompt_suffix=": ", err=True
    )


class CliState:
    """Per-invocation state: the port option, the password and a lazily opened session."""

    def __init__(self, port: str | None, password: str | None = None) -> None:
        self.port = port
        self.password = password  # --password / $OTPFOB_PASSWORD; None: prompt when locked
        self._session: Session | None = None
        self._access_checked = False
        self._relock = False

    def session(self, *, unlock: bool = True) -> Session:
        """The session; unless unlock=False, unlocked first if the token has a password."""
        if self._session is None:
            port = self.port or discover.find_port()
            self._session = Session(SerialTransport(port))
        if unlock:
            self.unlock()
        return self._session

    def unlock(self) -> None:
        """Unlock the token once per command if it says it is locked."""
        session = self.session(unlock=False)
        if self._access_checked:
            return
        self._access_checked = True
        if session.info().unlocked:
            return
        password = self.password if self.password is not None else prompt_password()
        session.unlock(
            password,
            wait=THROTTLE_WAIT,
            on_wait=lambda s: click.echo(f"Waiting {s:.0f} s: the token slows down wrong passwords.", err=True),
        )
        self._relock = True

    def relock_at_close(self) -> None:
        """Lock the link when the command ends, even if this command did not unlock it
        (`access set` leaves the setter's link unlocked)."""
        self._relock = True

    def close(self) -> None:
        if self._session is not None:
            if self._relock:
                try:
                    self._session.lock()  # best effort: the token also locks by itself after 60 s idle
                except OtpfobError:
                    pass
            self._session.close()
            self._session = None


def current() -> CliState:
    """The invocation's state, from the root click context."""
    obj = click.get_current_context().find_root().obj
    assert isinstance(obj, CliState)
    return obj
