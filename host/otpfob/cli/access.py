"""`otpfob access set|clear|unlock|remember|forget` and the body of `otpfob wipe --factory`.

The session, and unlocking it, come from `context.current()` (the one
owner of unlocking in the CLI).
Passwords come from --password / --password-stdin / $OTPFOB_PASSWORD or a
hidden prompt; they are never printed. `remember` keeps only the derived
key, in the OS keyring (`otpfob.keystore`).
"""

from __future__ import annotations

import time

import click

from fob import proto

from .. import keystore
from ..errors import CliError, TokenError
from ..session import Session
from .context import current, prompt_password, read_stdin_line, token_options

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
    """Set, remove, remember or unlock with the token's access password.

    With a password set, the token refuses add, delete, rename, move, list,
    code, time --set, config set and wipe until the host proves it knows
    the password (challenge-response: the password never crosses the wire).
    A forgotten password can only be removed with `otpfob wipe --factory`,
    which also erases every account. With the lock-screen setting on, the
    token's screen shows codes only once a host unlocked it since power-on
    (`otpfob access unlock`).

    Once `otpfob access remember` has stored the key derived from the
    password in this computer's keyring, later commands unlock without asking.

    \b
    Examples:
      otpfob access set                           # a new password, asked twice (the old one first, if set)
      otpfob access set --password-stdin < new-password.txt
      otpfob access remember
      otpfob access unlock                        # a lock-screen token shows codes until power-off
      otpfob access clear
    """


def _forget_old(salt: bytes) -> bool:
    """Drop a remembered key that a new or removed password made useless."""
    try:
        return keystore.forget(salt)
    except keystore.KeystoreError:
        return False


@access_group.command("set")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the new password from stdin: its first line (its second line when the token already has a"
    " password and no other way gives the current one).",
)
@token_options(password_stdin=False)
def access_set(password_stdin: bool) -> None:
    """Set or change the access password (asked for twice, hidden).

    Changing a password needs the current one: --password, $OTPFOB_PASSWORD,
    the key remembered in the keyring, a prompt, or, with --password-stdin,
    the first line of stdin (the new one then on the second). Only a key
    derived from the password (PBKDF2-HMAC-SHA256, 200,000 rounds, random
    salt) is stored on the token. A key remembered for the old password is
    forgotten.

    \b
    Examples:
      otpfob access set
      pass show otpfob | otpfob access set --password-stdin
      printf '%s\\n%s\\n' "$OLD" "$NEW" | otpfob access set --password-stdin
      OTPFOB_PASSWORD='old one' otpfob access set
    """
    state = current()
    info = state.session(unlock=False).info()
    old_salt = None
    if info.access:
        old_salt, iterations = state.session(unlock=False).access_params()
        # The keyring is read only when its answer decides whether stdin's first line is the old password.
        if (
            password_stdin
            and state.password is None
            and not info.unlocked
            and keystore.load(old_salt, iterations) is None
        ):
            state.give_password(read_stdin_line("the current access password"), "--password-stdin")
    elif state.password is not None:
        state.note_unused_password(False)
    session = state.session()  # unlocked first when a password is set: changing it needs the old one
    state.relock_at_close()  # the setter's link stays unlocked otherwise
    if password_stdin:
        new = read_stdin_line("the new access password")
    else:
        new = prompt_password(
            "New access password",
            confirm=True,
            missing="There is no terminal to ask for the new access password on; pipe it in with --password-stdin.",
        )
    if not new:
        raise CliError("The new access password is empty; choose one with at least one character.")
    session.set_access(new)
    click.echo(
        "Access password set; the token now asks for it before add, delete, rename, move, list, code,"
        " time --set, config set and wipe."
    )
    if old_salt is not None and _forget_old(old_salt):
        click.echo("The key remembered for the old password was forgotten; run `otpfob access remember` again.")
    click.echo("Ctrl-C on its USB serial is off now; hold its button while powering it on to get it back.", err=True)


@access_group.command("clear")
@token_options()
def access_clear() -> None:
    """Remove the access password (needs the current one).

    A key remembered in the keyring for it is forgotten too.

    \b
    Examples:
      otpfob access clear
      OTPFOB_PASSWORD='old one' otpfob access clear
      pass show otpfob | otpfob access clear --password-stdin
    """
    state = current()
    info = state.session(unlock=False).info()
    if not info.access:
        state.note_unused_password(False)
        click.echo("The token has no access password.")
        return
    salt, _ = state.session(unlock=False).access_params()
    state.session().clear_access()
    _forget_old(salt)
    click.echo("Access password removed; the token no longer asks for it.")


@access_group.command("unlock")
@token_options()
def access_unlock() -> None:
    """Unlock the token with the access password, so its screen shows codes.

    With the lock-screen setting on (`otpfob config set lock-screen on`)
    the token shows no code after power-on until a host unlocks it; any
    command that unlocks it does, and this one does only that. The screen
    then stays unlocked until the token loses power. The password comes
    from --password-stdin, --password, $OTPFOB_PASSWORD, the key
    remembered in the keyring, or a hidden prompt.

    \b
    Examples:
      otpfob access unlock
      pass show otpfob | otpfob access unlock --password-stdin
    """
    state = current()
    info = state.session(unlock=False).info()
    if not info.access:
        state.note_unused_password(False)
        raise CliError(
            "The token has no access password, so there is nothing to unlock; its screen shows codes without one."
        )
    session = state.session()
    if session.info().screen_locked:
        raise CliError(
            "The token accepted the password but still reports its screen locked; restart it and run"
            " `otpfob access unlock` again."
        )
    if info.screen_locked:
        click.echo("Unlocked: the token's screen shows codes until it loses power.")
    else:
        click.echo(
            "Unlocked; the token's screen was not locked (its lock screen is off, or it was unlocked since"
            " power-on) and shows codes until it loses power."
        )


@access_group.command("remember")
@token_options()
def access_remember() -> None:
    """Keep the key derived from the access password in this computer's keyring.

    Later commands on this token then unlock without asking. The password
    itself is never stored: only the key the token also holds (PBKDF2 of the
    password), in the OS keyring (Secret Service, macOS Keychain, Windows
    Credential Locker) through the `keyring` package. The password is
    checked with the token first.

    \b
    Examples:
      otpfob access remember
      pass show otpfob | otpfob access remember --password-stdin
    """
    state = current()
    keystore.check()  # before anyone types a password for nothing
    info = state.session(unlock=False).info()
    if not info.access:
        state.note_unused_password(False)
        raise CliError(
            "The token has no access password, so there is nothing to remember; set one with `otpfob access set`."
        )
    password = state.password
    if password is None:
        password = prompt_password(
            missing="There is no terminal to ask for the access password on; give it with --password-stdin,"
            " --password or OTPFOB_PASSWORD."
        )
    got = state.unlock_with_password(password)
    keystore.save(got.salt, got.iterations, got.key)
    backend, plain = keystore.describe()
    click.echo(
        f"Remembered the token's access key in this computer's keyring ({backend}); commands now unlock it"
        " without asking."
    )
    if plain is not None:
        click.echo(
            f"Warning: this keyring is not encrypted: the key is readable in {plain} by anyone who can read your"
            " files; use an encrypted keyring, or `otpfob access forget` and give the password each time.",
            err=True,
        )


@access_group.command("forget")
@token_options(password_stdin=False)
def access_forget() -> None:
    """Remove the token's remembered access key from this computer's keyring.

    \b
    Example:
      otpfob access forget
    """
    state = current()
    keystore.check()
    session = state.session(unlock=False)
    if not session.info().access:
        click.echo("The token has no access password, so no key is remembered for it.")
        return
    salt, _ = session.access_params()
    if keystore.forget(salt):
        click.echo("Forgot the token's access key; commands will ask for the password again.")
    else:
        click.echo("No key was remembered for this token's password.")
