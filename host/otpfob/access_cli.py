"""`otpfob access set|clear` and the body of `otpfob wipe --factory`.

The session, and unlocking it, come from `cli_session.current()` (the one
owner of unlocking in the CLI), so this module never imports cli.py.
Passwords come from --password / $OTPFOB_PASSWORD or a hidden prompt; they
are never printed.
"""

from __future__ import annotations

import sys
import time

import click

from fob import proto

from .cli_session import current, prompt_password
from .errors import CliError, TokenError
from .session import Session

FACTORY_WAIT = 10.0  # seconds `wipe --factory` waits for the button to be held


def factory_wipe(session: Session, *, yes: bool) -> None:
    """The body of `otpfob wipe --factory`: confirm, then wait for the held button."""
    if not yes:
        click.confirm(
            "Erase ALL accounts and the access password from the token? This cannot be undone", abort=True, err=True
        )
    click.echo(f"Hold the token's button down now (waiting up to {int(FACTORY_WAIT)} s)...", err=True)
    deadline = time.monotonic() + FACTORY_WAIT
    while True:
        try:
            session.factory_wipe()
            break
        except TokenError as exc:
            if exc.code != proto.E_BUTTON or time.monotonic() > deadline:
                raise
            time.sleep(0.3)
    click.echo("The token is erased: no accounts and no access password.")


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
    state = current()
    session = state.session()  # unlocked first when a password is set: changing it needs the old one
    state.relock_at_close()  # the setter's link stays unlocked otherwise
    if password_stdin:
        new = sys.stdin.readline().rstrip("\r\n")
    else:
        new = prompt_password("New access password", confirm=True)
    if not new:
        raise CliError("The new access password is empty; choose one with at least one character.")
    session.set_access(new)
    click.echo(
        "Access password set; the token now asks for it before add, delete, rename, list, code, time --set and wipe."
    )
    click.echo("Ctrl-C on its USB serial is off now; hold its button while powering it on to get it back.", err=True)


@access_group.command("clear")
def access_clear() -> None:
    """Remove the access password (needs the current one).

    \b
    Examples:
      otpfob access clear
      OTPFOB_PASSWORD='old one' otpfob access clear
    """
    state = current()
    if not state.session(unlock=False).info().access:
        click.echo("The token has no access password.")
        return
    state.session().clear_access()
    click.echo("Access password removed; the token no longer asks for it.")
