"""`otpfob config [get NAME | set NAME VALUE ...]`: the token's settings.

Names are the protocol's with `-` for `_` (`long-press`); values are checked
here with the token's own rules and sentences (`otpfob.settings`) before
anything is sent, and the token checks them again, all or nothing.
Reading the settings is never locked; changing them needs the unlocked link
when an access password is set.
"""

from __future__ import annotations

from typing import Any

import click

from fob import proto

from .. import settings
from ..errors import CliError, InputError, TokenError
from ..names import shown
from ..session import Settings
from .context import current, token_options
from .util import emit, json_option, token_session

WIDTH = max(len(settings.cli_name(n)) for n in settings.NAMES) + 2


def _shown(name: str, value: Any) -> str:
    """A setting's value for a person, with its unit and what it does."""
    if name == "timeout":
        return f"{value} s (the screen blanks after this long without a press)"
    if name == "flip":
        return "on (the screen is turned 180 degrees)" if value else "off (the screen is upright)"
    if name == "contrast":
        return f"{value} of 255"
    if name == "long_press":
        return f"{value} ms (a press this long counts as a long press)"
    if name == "touch_default":
        if value:
            return "on (a new account needs a button press for its codes, unless added with --no-touch)"
        return "off (a new account needs no press, unless added with --touch)"
    if name == "lock_screen":
        if value:
            return "on (after power-on the screen hides codes until `otpfob access unlock`)"
        return "off"
    if name == "wipe_after":
        if value:
            return f"{value} (that many wrong access passwords in a row erase every account)"
        return "off"
    if name == "layout":
        if value == "off":
            return "off (the token never types; its USB keyboard goes at the next power-on)"
        return f"{shown(str(value))} (a double press on a code types it, for this keyboard layout)"
    if name == "enter":
        return "on (Enter is typed after the code)" if value else "off (no Enter after a typed code)"
    return shown(str(value))  # a newer firmware's setting


def _line(name: str, value: Any) -> str:
    return f"{(settings.cli_name(name) + ':'):<{WIDTH}} {_shown(name, value)}"


def _json(s: Settings) -> dict[str, Any]:
    return {**s.values, "screen_locked": s.screen_locked}


def _read() -> Settings:
    state = current()
    session = state.session(unlock=False)  # reading the settings is never locked
    state.note_unused_password(session.info().access)
    return session.config_get()


@click.group("config", invoke_without_command=True)
@json_option
@token_options()
@click.pass_context
def config_group(ctx: click.Context, as_json: bool) -> None:
    """Show or change the token's settings.

    Without a subcommand: every setting, one a line. `set` changes some,
    all or none: each value is checked first, and a bad one changes
    nothing. With an access password set, changing a setting needs it.

    \b
    Settings:
      timeout        5 to 300 s without a press before the screen blanks
      flip           on: the screen turned 180 degrees (an OLED upside down)
      contrast       0 to 255
      long-press     300 to 3000 ms a press must last to count as long
      touch-default  on: new accounts need a press (provision --no-touch overrides)
      lock-screen    on: after power-on, no code is shown until `otpfob access unlock`
                     (needs an access password)
      wipe-after     off, or 5 to 50: that many wrong access passwords in a row
                     erase every account (needs an access password)

    \b
    Examples:
      otpfob config
      otpfob config --json
      otpfob config get timeout
      otpfob config set timeout 60 flip on
      otpfob config set lock-screen on wipe-after 10
    """
    if ctx.invoked_subcommand is not None:
        return
    s = _read()
    if as_json:
        emit(_json(s))
        return
    for name, value in s.values.items():
        click.echo(_line(name, value))
    if s.screen_locked:
        click.echo("The screen is locked now: it shows no codes until `otpfob access unlock`.")


@config_group.command("get")
@click.argument("name")
@json_option
@token_options()
def config_get(name: str, as_json: bool) -> None:
    """Show one setting (NAME as `otpfob config` lists it).

    \b
    Examples:
      otpfob config get timeout
      otpfob config get wipe-after --json
    """
    wire = settings.wire_name(name)
    s = _read()
    if wire not in s.values:
        raise CliError(f"The token reports no {settings.cli_name(wire)} setting; update it with `otpfob deploy`.")
    if as_json:
        emit({wire: s[wire]})
        return
    click.echo(_line(wire, s[wire]))


def _changes(pairs: tuple[str, ...]) -> dict[str, bool | int | str]:
    """NAME VALUE pairs as wire names and checked values; InputError, in
    the token's words, for the first bad one."""
    if not pairs:
        raise InputError("Name at least one setting to change, e.g. `otpfob config set timeout 60`.")
    if len(pairs) % 2:
        raise InputError(
            f"The setting {pairs[-1][:40]!r} has no value; give NAME VALUE pairs, e.g."
            " `otpfob config set timeout 60 flip on`."
        )
    changes: dict[str, bool | int | str] = {}
    for name, text in zip(pairs[::2], pairs[1::2], strict=True):
        wire = settings.wire_name(name)
        if wire in changes:
            raise InputError(f"{settings.cli_name(wire)} is given twice; give each setting once.")
        try:
            changes[wire] = settings.parse(wire, text)
        except InputError as exc:
            raise InputError(settings.for_people(exc.message)) from None
    return changes


@config_group.command("set", context_settings={"ignore_unknown_options": True})
@click.argument("pairs", nargs=-1, metavar="NAME VALUE [NAME VALUE]...")
@json_option
@token_options()
def config_set(pairs: tuple[str, ...], as_json: bool) -> None:
    """Change settings: NAME VALUE pairs, all or none.

    A switch takes on or off (yes/no, true/false); the rest a whole
    number (`wipe-after` also off). A bad value is refused before
    anything is sent, in one sentence, and nothing changes. lock-screen
    and wipe-after need an access password (`otpfob access set`);
    removing the password turns them off again.

    \b
    Examples:
      otpfob config set timeout 60
      otpfob config set flip on contrast 40
      otpfob config set touch-default yes
      otpfob config set long-press 1200
      otpfob config set lock-screen on
      otpfob config set wipe-after 10          # 10 wrong passwords in a row erase every account
      otpfob config set wipe-after off
    """
    changes = _changes(pairs)
    state = current()
    refused = settings.needs_password(changes)
    if refused and not state.session(unlock=False).info().access:
        raise CliError(settings.for_people(refused))
    session = token_session()  # unlocked first when a password is set
    try:
        after = session.config_set(**changes)
    except TokenError as exc:
        if exc.code != proto.E_ARG:
            raise
        raise TokenError(exc.code, settings.for_people(exc.message), **exc.extra) from None
    if as_json:
        emit(_json(after))
    else:
        for name in changes:
            if name in after.values:
                click.echo(_line(name, after[name]))
    wipe_after = after.values.get("wipe_after")
    if changes.get("wipe_after") and isinstance(wipe_after, int) and wipe_after:
        click.echo(
            f"Warning: {wipe_after} wrong access passwords in a row now erase every account on the token;"
            " keep the password safe and the accounts backed up (`otpfob provision --backup`).",
            err=True,
        )
    if changes.get("lock_screen") and after.values.get("lock_screen") is True:
        click.echo(
            "After each power-on the token shows no codes until it is unlocked: run `otpfob access unlock`.",
            err=True,
        )
