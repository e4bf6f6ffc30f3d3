"""`otpfob access set|clear`, and the password plumbing cli.py wires in.

The command group finds the session through the root context's object
(cli.py's `_State`: anything with `.session()` and an optional `.password`),
so this module never imports cli.py. Passwords come from --password /
$OTPFOB_PASSWORD or a hidden prompt; they are never printed.
"""

from __future__ import annotations

import os
import sys
import time

import click

from fob import proto

from . import access
from .errors import CliError, OtpfobError, TokenError
from .session import Session

PASSWORD_ENV = "OTPFOB_PASSWORD"
FACTORY_WAIT = 10.0  # seconds `wipe --factory` waits for the button to be held
THROTTLE_WAIT = 10.0  # a token slowing down wrong passwords is waited for up to this long

password_option = click.option(
    "--password", envvar=PASSWORD_ENV, metavar="PASSWORD", default=None,
    help="The token's access password (default: $OTPFOB_PASSWORD; asked for, hidden, when the token is locked).",
)


def _interactive() -> bool:
    return sys.stdin is not None and sys.stdin.isatty()


def prompt_password(text: str = "Access password", *, confirm: bool = False) -> str:
    """A hidden prompt on stderr (twice with `confirm`)."""
    if not _interactive():
        raise CliError(f"The token is locked; give its access password with --password or {PASSWORD_ENV}.")
    return click.prompt(f"{text} (input hidden)", hide_input=True, confirmation_prompt=confirm,
                        prompt_suffix=": ", err=True)


def root_password() -> str | None:
    """--password of the root command (cli.py's `_State.password`), else $OTPFOB_PASSWORD."""
    ctx = click.get_current_context(silent=True)
    obj = ctx.find_root().obj if ctx is not None else None
    value = getattr(obj, "password", None)
    return value if value is not None else os.environ.get(PASSWORD_ENV)


def ensure_unlocked(session: Session, password: str | None = None) -> bool:
    """Unlock the token if it says it is locked; True if this call unlocked it.

    The password is asked for (hidden) only when the token needs it and none
    was given. Call `relock(session)` when the command ends if this returned True.
    """
    st = access.state(session)
    if st.unlocked:
        return False
    access.unlock(session, password if password is not None else prompt_password(), wait=THROTTLE_WAIT,
                  on_wait=lambda s: click.echo(f"Waiting {s:.0f} s: the token slows down wrong passwords.", err=True))
    return True


def relock(session: Session) -> None:
    """Lock the link again at the end of a command (best effort: the token
    also locks by itself after 60 s idle)."""
    try:
        access.lock(session)
    except OtpfobError:
        pass


def factory_wipe(session: Session, *, yes: bool) -> None:
    """The body of `otpfob wipe --factory`: confirm, then wait for the held button."""
    if not yes:
        click.confirm("Erase ALL accounts and the access password from the token? This cannot be undone",
                      abort=True, err=True)
    click.echo(f"Hold the token's button down now (waiting up to {int(FACTORY_WAIT)} s)...", err=True)
    deadline = time.monotonic() + FACTORY_WAIT
    while True:
        try:
            access.factory_wipe(session)
            break
        except TokenError as exc:
            if exc.code != proto.E_TOUCH or time.monotonic() > deadline:
                raise
            time.sleep(0.3)
    click.echo("The token is erased: no accounts and no access password.")


def _session() -> Session:
    obj = click.get_current_context().find_root().obj
    return obj.session()


@click.group("access")
def access_group() -> None:
    """Set or remove the token's access password.

    With a password set, the token refuses add, delete, rename, list, code,
    time --set and wipe until the host proves it knows the password
    (challenge-response: the password never crosses the wire). A forgotten
    password can only be removed with `otpfob wipe --factory`, which also
    erases every account.

    \b
    Examples:
      otpfob access set
      otpfob --password 'old one' access set
      otpfob access clear
    """


@access_group.command("set")
@click.option("--password-stdin", is_flag=True, help="Read the new password from the first line of stdin.")
def access_set(password_stdin: bool) -> None:
    """Set or change the access password (asked for twice, hidden).

    Changing a password needs the current one: --password, $OTPFOB_PASSWORD
    or a prompt. Only a key derived from the password (PBKDF2-HMAC-SHA256,
    200,000 rounds, random salt) is stored on the token.

    \b
    Examples:
      otpfob access set
      pass show otpfob | otpfob access set --password-stdin
      OTPFOB_PASSWORD='old one' otpfob access set
    """
    session = _session()
    ensure_unlocked(session, root_password())
    if password_stdin:
        new = sys.stdin.readline().rstrip("\r\n")
    else:
        new = prompt_password("New access password", confirm=True)
    if not new:
        raise CliError("The new access password is empty; choose one with at least one character.")
    try:
        access.set_access(session, new)
    finally:
        relock(session)
    click.echo("Access password set; the token now asks for it before add, delete, rename, list, code, "
               "time --set and wipe.")
    click.echo("Ctrl-C on its USB serial is off now; hold its button while powering it on to get it back.",
               err=True)


@access_group.command("clear")
def access_clear() -> None:
    """Remove the access password (needs the current one).

    \b
    Examples:
      otpfob access clear
      OTPFOB_PASSWORD='old one' otpfob access clear
    """
    session = _session()
    if not access.state(session).password_set:
        click.echo("The token has no access password.")
        return
    ensure_unlocked(session, root_password())
    access.clear_access(session)
    click.echo("Access password removed; the token no longer asks for it.")
