"""The command line's one session per invocation, and its access password.

This is the only place in the CLI that unlocks and relocks the token:
`CliState.session()` finds the port (asking which one when several could be
the token), opens it lazily and, unless told not to, unlocks a token that
says it is locked, and `close()` locks the link again when the command ends.
The key comes from --password / --password-stdin / $OTPFOB_PASSWORD, else
the key remembered in the OS keyring (`otpfob access remember`), else a
hidden prompt. Every command module reaches the state through `current()`.
Passwords are never printed.

`token_options` puts --port, --password and --password-stdin on every
command too, so `otpfob list --port X` works as `otpfob --port X list` does.
"""

from __future__ import annotations

import logging
import signal
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click
from click.core import ParameterSource

from fob import proto

from .. import discover, floors, keystore
from ..access import derive_key
from ..errors import CliError, OtpfobError, SeveralTokensError, TokenError
from ..session import Session
from ..transport import SerialTransport

PASSWORD_ENV = "OTPFOB_PASSWORD"  # noqa: S105 - the variable\'s name
THROTTLE_WAIT = 10.0  # a token slowing down wrong passwords is waited for up to this long
LOCKED = "The token is locked; give its access password with --password, --password-stdin or OTPFOB_PASSWORD, or remember it with `otpfob access remember`."

F = TypeVar("F", bound=Callable[..., Any])


def describe_token(device: str, found_as: str) -> str:
    """One candidate for the "several boards" question: its port, board,
    account count and token id, as its firmware tells (info needs no unlock),
    so two tokens can be told apart; ``found_as`` when nothing answers."""
    try:
        with Session(SerialTransport(device, timeout=1.5)) as s:
            i = s.info()
    except OtpfobError:
        return f"{found_as}: no otpfob firmware answered"
    n = f"{i.accounts} account{'s' if i.accounts != 1 else ''}"
    return f"{device}: {i.board}, {n}, id {i.token_id or 'none'}"


def interactive() -> bool:
    """Is there a person at a terminal to ask (stdin and stderr are terminals)?"""
    return sys.stdin is not None and sys.stdin.isatty() and sys.stderr is not None and sys.stderr.isatty()


def prompt_password(text: str = "Access password", *, confirm: bool = False, missing: str = LOCKED) -> str:
    """A hidden prompt on stderr (twice with `confirm`); `missing` is the
    sentence to fail with when there is no terminal to ask on."""
    if not interactive():
        raise CliError(missing)
    return click.prompt(
        f"{text} (input hidden)", hide_input=True, confirmation_prompt=confirm, prompt_suffix=": ", err=True
    )


def read_stdin_line(what: str) -> str:
    """One line of stdin without its line ending; CliError when stdin is empty."""
    line = sys.stdin.readline() if sys.stdin is not None else ""
    if not line:
        raise CliError(f"Standard input ended before {what}; pipe it in, one line.")
    return line.rstrip("\r\n")


class CliState:
    """Per-invocation state: the port, the password and a lazily opened session."""

    def __init__(
        self,
        port: str | None,
        password: str | None = None,
        *,
        password_from: str = "--password",  # noqa: S107 - where it came from, for messages
    ) -> None:
        self.port = port
        self.password = password  # given by the user; None: keyring, then prompt when locked
        self.password_from = password_from  # how it was given, for messages
        self._session: Session | None = None
        self._access_checked = False
        self._relock = False
        self._old_handlers: dict[int, Any] = {}

    # -- what the options set ---------------------------------------------------

    def give_password(self, password: str, source: str) -> None:
        self.password = password
        self.password_from = source

    def password_from_stdin(self) -> None:
        self.give_password(read_stdin_line("the access password (--password-stdin)"), "--password-stdin")

    # -- the session --------------------------------------------------------------

    def find_port(self) -> str:
        """--port, else the one token found; with several, ask which on a terminal."""
        if self.port:
            return self.port
        try:
            self.port = discover.find_port()
        except SeveralTokensError as exc:
            described = [describe_token(device, kind) for device, kind in zip(exc.choices, exc.described, strict=True)]
            if not interactive():
                raise SeveralTokensError(
                    f"Several boards could be the token ({'; '.join(described)}); choose one with --port.",
                    exc.choices,
                    described,
                ) from None
            click.echo("Several boards could be the token:", err=True)
            for i, choice in enumerate(described, 1):
                click.echo(f"  {i}. {choice}", err=True)
            n = click.prompt("Which one", type=click.IntRange(1, len(exc.choices)), err=True)
            self.port = exc.choices[n - 1]
        return self.port

    def session(self, *, unlock: bool = True) -> Session:
        """The session; unless unlock=False, unlocked first if the token has a password."""
        if self._session is None:
            self._session = Session(SerialTransport(self.find_port()), floors=floors.default())
        if unlock:
            self.unlock()
        return self._session

    def note_unused_password(self, has_password: bool) -> None:
        """Say so when a password was given to a token that has none."""
        if self.password is not None and not has_password:
            self.password = None  # said once
            click.echo(
                f"Note: the token has no access password, so the password from {self.password_from} was not used.",
                err=True,
            )

    def unlock(self) -> None:
        """Unlock the token once per command if it says it is locked."""
        session = self.session(unlock=False)
        if self._access_checked:
            return
        self._access_checked = True
        info = session.info()
        self.note_unused_password(info.access)
        if info.wiped:  # said now: the unlock below clears the token's note
            click.echo(
                f"Warning: the token erased every account after {info.wipe_after or 'too many'} wrong access"
                " passwords in a row (its wipe-after setting).",
                err=True,
            )
        if not info.access or info.unlocked:
            return
        remembered = None
        if self.password is None:  # a password given now wins over the keyring
            salt, iterations = session.access_params()
            remembered = keystore.load(salt, iterations)
        if remembered is not None:
            key = remembered
            try:
                self._unlock_with(session, lambda _salt, _iterations: key)
            except TokenError as exc:
                if exc.code != proto.E_AUTH:
                    raise
                raise CliError(
                    "The token refused the access key remembered in the keyring; run `otpfob access forget`,"
                    " then `otpfob access remember` with the right password."
                ) from None
            return
        password = self.password if self.password is not None else prompt_password()
        self._unlock_with(session, lambda salt, iterations: derive_key(password, salt, iterations))

    def unlock_with_password(self, password: str):
        """Unlock with this password (never the keyring); returns the AccessKey."""
        session = self.session(unlock=False)
        self._access_checked = True
        return self._unlock_with(session, lambda salt, iterations: derive_key(password, salt, iterations))

    def _unlock_with(self, session: Session, key_for: Callable[[bytes, int], bytes]):
        got = session.unlock_with(
            key_for,
            wait=THROTTLE_WAIT,
            on_wait=lambda s: click.echo(f"Waiting {s:.0f} s: the token slows down wrong passwords.", err=True),
        )
        self._relock = True
        self._lock_on_signals()
        return got

    def _lock_on_signals(self) -> None:
        """Send `lock` before dying of SIGTERM, SIGHUP (a closed terminal) or
        SIGINT, so a killed command leaves no session open even for the 60 s
        the token would wait (the seal already keeps others out of it)."""
        if self._old_handlers:
            return
        for signum in (signal.SIGINT, getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None)):
            if signum is None:
                continue
            try:
                self._old_handlers[signum] = signal.signal(signum, self._on_signal)
            except ValueError:  # not the main thread (a library caller): close() still locks
                return

    def _on_signal(self, signum: int, _frame: object) -> None:
        self._restore_signals()
        if self._session is not None:
            try:
                self._session.lock(urgent=True)
            except Exception:  # noqa: S110 - dying anyway; the token locks itself after 60 s
                pass
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        raise SystemExit(128 + signum)

    def _restore_signals(self) -> None:
        for signum, handler in self._old_handlers.items():
            signal.signal(signum, handler)
        self._old_handlers = {}

    def relock_at_close(self) -> None:
        """Lock the link when the command ends, even if this command did not unlock it
        (`access set` leaves the setter's link unlocked)."""
        self._relock = True

    def close(self) -> None:
        self._restore_signals()
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
    return _state(click.get_current_context())


# -- the options, on the group and on every command -------------------------------------

PORT_HELP = "Serial port of the token (default: $OTPFOB_PORT, else the one found on USB or a running `otpfob sim`)."
# Help texts, not passwords.
PASSWORD_HELP = "The token's access password (default: $OTPFOB_PASSWORD, else the key remembered by `otpfob access remember`, else asked for, hidden, when the token is locked)."  # noqa: S105
PASSWORD_STDIN_HELP = "Read the access password from the first line of standard input."  # noqa: S105


def _state(ctx: click.Context) -> CliState:
    obj = ctx.find_root().obj
    assert isinstance(obj, CliState)
    return obj


def _set_port(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value is not None:
        _state(ctx).port = value


def _set_password(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    # The command's --password has no envvar: $OTPFOB_PASSWORD is the group's.
    if value is not None:
        _state(ctx).give_password(value, "--password")


def _set_password_stdin(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        _state(ctx).password_from_stdin()


def password_source(ctx: click.Context, name: str = "password") -> str:
    """How the group's --password was given: the option or the environment."""
    return PASSWORD_ENV if ctx.get_parameter_source(name) == ParameterSource.ENVIRONMENT else "--password"


password_option = click.option("--password", envvar=PASSWORD_ENV, metavar="PASSWORD", default=None, help=PASSWORD_HELP)
password_stdin_option = click.option("--password-stdin", is_flag=True, help=PASSWORD_STDIN_HELP)


LOG_LEVELS = ["debug", "info", "warning", "error"]


def _set_log_level(_ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    # `otpfob` itself has put the stderr handler on the "otpfob" logger;
    # after the command only its level changes.
    if value is not None:
        logging.getLogger("otpfob").setLevel(value.upper())


log_level_option = click.option(
    "--log-level",
    type=click.Choice(LOG_LEVELS, case_sensitive=False),
    default=None,
    expose_value=False,
    callback=_set_log_level,
    help="Log the host library's work to stderr (as `otpfob --log-level`).",
)


def token_options(*, password: bool = True, password_stdin: bool = True) -> Callable[[F], F]:
    """--port, --password (and --password-stdin) and --log-level on a
    command, the same as on `otpfob` itself."""

    def wrap(f: F) -> F:
        opts = [
            click.option("--port", "-p", metavar="PORT", expose_value=False, callback=_set_port, help=PORT_HELP),
            log_level_option,
        ]
        if password:
            opts.append(
                click.option(
                    "--password",
                    metavar="PASSWORD",
                    expose_value=False,
                    callback=_set_password,
                    help="The token's access password (as `otpfob --password`).",
                )
            )
        if password and password_stdin:
            opts.append(
                click.option(
                    "--password-stdin",
                    is_flag=True,
                    expose_value=False,
                    callback=_set_password_stdin,
                    help=PASSWORD_STDIN_HELP,
                )
            )
        for opt in reversed(opts):
            f = opt(f)
        return f

    return wrap
