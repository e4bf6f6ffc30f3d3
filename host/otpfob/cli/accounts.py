"""`otpfob list`, `code`, `delete`, `rename`, `move` and `pin`: the accounts on the token.

QUERY matches as ykman does (`util.matching`); names from the token are
printed through `names.shown`, so no control character reaches the terminal.
"""

from __future__ import annotations

from typing import Any

import click

from fob import proto

from .. import screenfit
from ..errors import EXIT_CLOCK, EXIT_OK, CliError, InputError
from ..names import quoted, shown
from ..session import AccountInfo
from ..uri import HOTP, TOTP, check_label
from .context import token_options
from .util import (
    account_name,
    clock_warning,
    echo_two_codes,
    emit,
    json_option,
    matching,
    no_match,
    one_account,
    table,
    token_session,
)


def _account_json(a: AccountInfo) -> dict[str, Any]:
    return {
        "name": account_name(a),
        "label": a.label,
        "issuer": a.issuer,
        "type": a.type,
        "algorithm": a.algorithm,
        "digits": a.digits,
        "period": a.period if a.type == TOTP else None,
        "counter": a.counter if a.type == HOTP else None,
        "touch": a.touch,
    }


@click.command("list")
@click.argument("query", required=False)
@json_option
@token_options()
def list_(query: str | None, as_json: bool) -> None:
    """List the accounts on the token (never their secrets).

    QUERY keeps the accounts whose `issuer:label` holds it (any case), as
    `otpfob code` does.

    \b
    Examples:
      otpfob list
      otpfob list aws
      otpfob list --json
    """
    session = token_session()
    all_accounts = session.list_accounts()
    warning, _ = clock_warning(session)
    if warning:
        click.echo(warning, err=True)  # the list itself stands; its codes may not
    accounts = matching(all_accounts, query)
    if query and not accounts:
        raise no_match(all_accounts, query)
    if as_json:
        emit({"accounts": [_account_json(a) for a in accounts]})
        return
    if not accounts:
        click.echo("The token has no accounts; add one with `otpfob provision`.")
        return
    rows = [("LABEL", "ISSUER", "TYPE", "ALGORITHM", "DIGITS", "PERIOD", "TOUCH")]
    for a in accounts:
        rows.append(
            (
                shown(a.label),  # names from the token: no raw control or bidi character reaches the terminal
                shown(a.issuer) or "-",
                a.type,
                a.algorithm,
                str(a.digits),
                f"{a.period} s" if a.type == TOTP else "-",
                "yes" if a.touch else "no",
            )
        )
    table(rows)


@click.command()
@click.argument("query", required=False)
@click.option("--single", "-s", is_flag=True, help="Print only the code of the one matching account (for scripts).")
@click.option(
    "--two",
    is_flag=True,
    help="Print the one matching account's code, wait for the token's next period (a countdown), then print the"
    " next one: the two consecutive codes set-up pages such as AWS's ask for.",
)
@json_option
@token_options()
def code(query: str | None, single: bool, two: bool, as_json: bool) -> int:
    """Show codes, as the token computes them, with the seconds they stay valid.

    Without QUERY: every TOTP account's code. HOTP accounts (each code uses
    up a counter) and touch accounts (a press of the token's button releases
    the code) are listed but only computed when QUERY names just them.
    QUERY matches any part of `issuer:label`, ignoring case; an exact label
    picks that account. One match gives its code, several give the list.

    \b
    Examples:
      otpfob code
      otpfob code aws
      otpfob code -s github          # just the digits, for scripts
      otpfob code --json
      otpfob code aws --two          # this code and the next, for an MFA set-up page
    """
    if two and (single or as_json):
        given = " and ".join(name for name, on in (("--single", single), ("--json", as_json)) if on)
        raise InputError(f"--two prints two codes as they come; leave out {given}.")
    session = token_session()
    accounts = session.list_accounts()
    warning, untrusted = clock_warning(session)
    if warning:
        click.echo(warning, err=True)
    result = EXIT_CLOCK if warning else EXIT_OK  # 3: services would refuse these codes
    if two:
        if not query:
            raise CliError("--two needs a QUERY that names one account, e.g. `otpfob code aws --two`.")
        echo_two_codes(session, one_account(accounts, query))
        return result
    hits = matching(accounts, query)
    if query and not hits:
        raise no_match(accounts, query)
    if single:
        if not query and len(hits) != 1:
            raise CliError("--single needs a QUERY that names one account; see `otpfob list`.")
        hits = [one_account(accounts, query)] if query else hits
    if not hits:
        if as_json:
            emit({"accounts": []})
            return result
        click.echo("The token has no accounts; add one with `otpfob provision`.")
        return result
    named = len(hits) == 1 and bool(query)
    entries = []
    for a in hits:
        entry: dict[str, Any] = {
            "name": account_name(a),
            "label": a.label,
            "issuer": a.issuer,
            "type": a.type,
            "touch": a.touch,
            "code": None,
            "time": None,
            "seconds_left": None,
            "counter": None,
        }
        if a.type == TOTP and untrusted:
            pass  # the token refuses TOTP codes until its clock is set (the warning said so)
        elif a.type == TOTP and not a.touch or named or (single and len(hits) == 1):
            if a.touch:
                click.echo(f"Press the button on the token to release the code for {quoted(a.label)}.", err=True)
            try:
                got = session.code(a.label, a.issuer, touch=a.touch)
            except KeyboardInterrupt:
                if not a.touch:
                    raise
                raise CliError(
                    f"Interrupted: the token stopped waiting for the press and gave no code for"
                    f" {quoted(account_name(a))}; nothing changed."
                ) from None
            entry["code"] = got.code
            if a.type == TOTP and got.time is not None:
                entry["time"] = got.time
                entry["seconds_left"] = a.period - got.time % a.period
            entry["counter"] = got.counter
        entries.append(entry)
    if as_json:
        emit({"accounts": entries})
        return result
    if single:
        if entries[0]["code"] is not None:
            click.echo(entries[0]["code"])
        return result
    rows: list[tuple[str, ...]] = []
    for e in entries:
        if e["code"] is not None:
            left = f"{e['seconds_left']} s left" if e["seconds_left"] is not None else f"counter {e['counter']}"
            rows.append((shown(e["name"]), e["code"], left))
        elif e["type"] == HOTP:
            rows.append((shown(e["name"]), "[HOTP]", "name it to use a counter"))
        elif untrusted:
            rows.append((shown(e["name"]), "[no code]", "the token's clock is not set"))
        else:
            rows.append((shown(e["name"]), "[touch]", "name it, then press the button"))
    table(rows)
    return result


@click.command()
@click.argument("query")
@click.option("--yes", "-y", "--force", "-f", is_flag=True, help="Do not ask for confirmation.")
@token_options()
def delete(query: str, yes: bool) -> None:
    """Delete the account QUERY names (its label, or part of `issuer:label`).
    `otpfob remove` is the same command (ykman's name).

    \b
    Examples:
      otpfob delete alice@example.com --yes
      otpfob delete ACME:alice
      otpfob remove GitHub:alice -f
    """
    session = token_session()
    a = one_account(session.list_accounts(), query)
    if not yes:
        click.confirm(
            f"Delete {quoted(account_name(a))} from the token? Its codes cannot be recovered", abort=True, err=True
        )
    session.delete(a.label, a.issuer)
    click.echo(f"Deleted {quoted(account_name(a))}.")


@click.command()
@click.argument("query")
@click.argument("new")
@token_options()
def rename(query: str, new: str) -> None:
    """Rename the account QUERY names to NEW: `issuer:label`, or a label alone.

    With a colon, NEW sets the issuer too (`:label` removes it); without
    one, the issuer stays, as `ykman oath accounts rename` does.

    \b
    Examples:
      otpfob rename alice@example.com alice
      otpfob rename alice 'ACME:alice@example.com'
    """
    issuer: str | None = None
    label = new
    if ":" in new:
        issuer, label = (part.strip() for part in new.split(":", 1))
    try:
        check_label(label)
    except InputError as exc:
        raise InputError(
            exc.message.replace("give one with --label", "give NEW as LABEL or ISSUER:LABEL").replace(
                "shorten it with --label", "choose a shorter NEW"
            )
        ) from None
    if issuer is not None and len(issuer.encode()) > proto.MAX_ISSUER:
        raise InputError(
            f"The issuer is {len(issuer.encode())} bytes long and the token holds at most {proto.MAX_ISSUER};"
            " choose a shorter one in NEW."
        )
    session = token_session()
    accounts = session.list_accounts()
    a = one_account(accounts, query)
    for w in screenfit.notes(label, a.issuer if issuer is None else issuer, len(accounts)):
        click.echo(w, err=True)
    session.rename(a.label, label, issuer=a.issuer, new_issuer=issuer)
    after = f"{issuer}:{label}" if issuer else (label if issuer is not None or not a.issuer else f"{a.issuer}:{label}")
    click.echo(f"Renamed {quoted(account_name(a))} to {quoted(after)}.")


def _position(text: str, count: int) -> int:
    """N as a person counts (1 = the top, as the token's screen shows "1/5"),
    checked against the ``count`` accounts; the 0-based index."""
    n = text.strip()
    if not n.isascii() or not n.isdigit() or not 1 <= int(n) <= count:
        raise InputError(
            f"N must be a position from 1 to {count}, as `otpfob list` counts"
            f" ({count} account{'s' if count != 1 else ''} on the token)."
        )
    return int(n) - 1


def _moved_line(a: AccountInfo, index: int, count: int) -> str:
    where = "the top" if index == 0 else ("the bottom" if index == count - 1 else "")
    return f"Moved {quoted(account_name(a))} to position {index + 1} of {count}" + (f" ({where})." if where else ".")


@click.command(context_settings={"ignore_unknown_options": True})
@click.argument("query")
@click.argument("n", metavar="N")
@token_options()
def move(query: str, n: str) -> None:
    """Move the account QUERY names to position N of the token's order.

    N counts from 1 at the top, as the token's screen shows it ("2/5") and
    `otpfob list` lists it; the other accounts keep their order. The
    token's screen and `otpfob list` follow the new order, across restarts.

    \b
    Examples:
      otpfob move github 1          # to the top (as `otpfob pin github`)
      otpfob move ACME:alice 3
    """
    session = token_session()
    accounts = session.list_accounts()
    a = one_account(accounts, query)
    to = _position(n, len(accounts))
    done = session.move(a.label, a.issuer, to)
    click.echo(_moved_line(a, done.index, done.accounts))


@click.command()
@click.argument("query")
@token_options()
def pin(query: str) -> None:
    """Pin the account QUERY names at the top of the token's order (position 1).

    It is then first on the token's screen ("1/N") and in `otpfob list`;
    the rest keep their order. `otpfob move QUERY N` puts it anywhere else.

    \b
    Examples:
      otpfob pin aws
      otpfob pin GitHub:alice
    """
    session = token_session()
    a = one_account(session.list_accounts(), query)
    done = session.move(a.label, a.issuer, 0)
    click.echo(_moved_line(a, done.index, done.accounts))
