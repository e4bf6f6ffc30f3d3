"""What the commands share: the session, account matching, JSON output,
times and clock sentences, tables, and the two-codes printer.

Command modules import from here and from `context`, never from each other
or from the package root, so imports stay one-way: `cli/__init__.py` imports
the commands and registers them.
"""

from __future__ import annotations

import datetime as _dt
import difflib
import json
import re
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import click

from ..consecutive import two_codes
from ..errors import CliError
from ..names import quoted, shown
from ..session import AccountInfo, Code, Session, full_name
from ..uri import Account
from .context import current, interactive

MAX_JUMP = 300  # seconds `time --set` may move a trusted clock without --force
CLOCK_STEP = 30  # seconds off past which `code` and `list` warn: a service accepts about one step


def token_session() -> Session:
    """The invocation's session, unlocked (`context.CliState.session`)."""
    return current().session()


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON (keys in docs/cli.md) instead of text.")


def emit(data: dict[str, Any]) -> None:
    """JSON on stdout: ASCII only, so no name from the token can act on the terminal."""
    click.echo(json.dumps(data, indent=2, ensure_ascii=True))


def read_secret(value: str | None) -> tuple[str, bool]:
    """The secret text from --secret, `-` (stdin) or a hidden prompt, and
    whether it came from a terminal (so a question can be asked there)."""
    if value == "-":
        if sys.stdin is not None and sys.stdin.isatty():
            # A person pastes it: hidden, and Enter ends it (not Ctrl-D).
            return click.prompt("Secret (Base32, input hidden)", hide_input=True, prompt_suffix=": ", err=True), True
        return sys.stdin.read(), False
    if value is not None:
        return value, interactive()
    if sys.stdin is None or not sys.stdin.isatty():
        # No terminal to hide the input on: read the piped line as is (getpass would warn).
        return sys.stdin.readline() if sys.stdin is not None else "", False
    return click.prompt("Secret (Base32, input hidden)", hide_input=True, prompt_suffix=": ", err=True), True


def utc(unix: int | None) -> str:
    if unix is None:
        return "not set"
    return _dt.datetime.fromtimestamp(unix, tz=_dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def skew_text(seconds: int) -> str:
    if seconds == 0:
        return "in step with this computer"
    return f"{abs(seconds)} s {'ahead of' if seconds > 0 else 'behind'} this computer"


def account_name(a: AccountInfo | Account) -> str:
    """The ykman-style name: `issuer:label`, or the label alone."""
    return full_name(a.label, a.issuer)


def matching(accounts: list[AccountInfo], query: str | None) -> list[AccountInfo]:
    """Accounts QUERY names, as ykman matches: an exact `issuer:label` is that
    account; else an exact label is every account of that label (two
    issuers may both have one); else every account whose `issuer:label`
    holds QUERY, ignoring case."""
    if not query:
        return list(accounts)
    for a in accounts:
        if query == account_name(a):
            return [a]
    same_label = [a for a in accounts if a.label == query]
    if same_label:
        return same_label
    q = query.lower()
    return [a for a in accounts if q in account_name(a).lower()]


def no_match(accounts: list[AccountInfo], query: str) -> CliError:
    if not accounts:
        return CliError("The token has no accounts; add one with `otpfob provision`.")
    # Close to a whole name, a label, or a word of one ("alcie" finds "ACME:alice@example.com").
    by_key: dict[str, str] = {}
    for a in accounts:
        for key in [account_name(a), a.label, *re.split(r"[:@.\s_-]+", account_name(a))]:
            if key:
                by_key.setdefault(key.lower(), account_name(a))
    close: list[str] = []
    for key in difflib.get_close_matches(query.lower(), list(by_key), n=6, cutoff=0.6):
        if by_key[key] not in close:
            close.append(by_key[key])
    if close:
        return CliError(
            f"There is no account matching {quoted(query)} on the token; did you mean"
            f" {' or '.join(quoted(c) for c in close[:3])}?"
        )
    return CliError(f"There is no account matching {quoted(query)} on the token; see `otpfob list`.")


def one_account(accounts: list[AccountInfo], query: str) -> AccountInfo:
    """The one account QUERY names, or one sentence saying why not."""
    hits = matching(accounts, query)
    if len(hits) == 1:
        return hits[0]
    if not hits:
        raise no_match(accounts, query)
    listed = ", ".join(quoted(account_name(a)) for a in hits[:5]) + (", ..." if len(hits) > 5 else "")
    raise CliError(f"{len(hits)} accounts match {quoted(query)} ({listed}); name one exactly.")


def ask_touch() -> None:
    click.echo("Press the button on the token to release the code for the check.", err=True)


def clock_fix(skew: int) -> str:
    """The command that sets a trusted token clock that is ``skew`` seconds off."""
    if abs(skew) > MAX_JUMP:
        return "`otpfob time --set --force` (if this computer's clock is right: the move is over 5 minutes)"
    return "`otpfob time --set`"


def set_clock(session: Session) -> int:
    """Set the token's clock to this computer's UTC; the new token time."""
    # Send the time just after a second boundary so the token is right to within milliseconds.
    frac = time.time() % 1
    if frac > 0.02:
        time.sleep(1 - frac)
    new = session.time_set(int(time.time()))
    return new.unix if new.unix is not None else int(time.time())


def clock_warning(session: Session) -> tuple[str | None, bool]:
    """(one line for stderr, or None when the token's clock is in step;
    whether its clock is untrusted, so it gives no TOTP codes at all).
    `code` and `list` print it; `code` then exits with EXIT_CLOCK."""
    from fob import proto

    tok = session.time_get()
    if tok.clock != proto.CLOCK_OK or tok.unix is None:
        state = {
            proto.CLOCK_UNSET: "not set",
            proto.CLOCK_JUMPED: "jumped and not trusted",
            proto.CLOCK_MISSING: "not answering",
        }.get(tok.clock, "not trusted")
        return (
            f"Warning: the token's clock is {state}, so it gives no TOTP codes; set it with `otpfob time --set`.",
            True,
        )
    drift = tok.unix - int(time.time())
    if abs(drift) > CLOCK_STEP:
        return (
            f"Warning: the token's clock is {skew_text(drift)}, so services may refuse its codes; set it with"
            f" {clock_fix(drift)}.",
            False,
        )
    return None, False


def shell_quote(text: str) -> str:
    """A name as the user would type it in a shell."""
    return shlex.quote(shown(text))


def table(rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip())


class Countdown:
    """Shows the wait for the next period on stderr: one line that counts down
    on a terminal, a single line otherwise."""

    def __init__(self) -> None:
        self.shown = False
        self.tty = sys.stderr.isatty()

    def __call__(self, seconds: int) -> None:
        if self.tty:
            click.echo(f"\rNext code in {seconds:2d} s ", nl=False, err=True)
        elif not self.shown and seconds > 0:
            click.echo(f"Waiting {seconds} s for the token's next period...", err=True)
        self.shown = True

    def done(self) -> None:
        if self.tty and self.shown:
            click.echo("\r" + " " * 20 + "\r", nl=False, err=True)
        self.shown = False


def first_printer(countdown: Countdown, what: str = "Code 1") -> Callable[[Code], None]:
    calls: list[Code] = []

    def show(code: Code) -> None:
        countdown.done()
        if calls:
            click.echo("The wait ran past a whole period, so start again with this code.", err=True)
        calls.append(code)
        click.echo(f"{what}: {code.code}")

    return show


def echo_two_codes(session: Session, account: AccountInfo) -> None:
    """`otpfob code LABEL --two`: the current code, a countdown, then the next one."""
    countdown = Countdown()
    codes = two_codes(
        session,
        account,
        on_first=first_printer(countdown),
        on_wait=countdown,
        on_touch=lambda: click.echo("Press the button on the token to release the code.", err=True),
    )
    countdown.done()
    click.echo(f"Code 2: {codes.second.code}")
