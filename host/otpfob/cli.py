"""The `otpfob` command line: a thin click layer over the session.

Every failure is an `OtpfobError` whose message is one sentence; the group's
`main()` prints it to stderr and exits with the error's code (`errors.EXIT_*`,
listed in docs/cli.md), never with a traceback. Secrets are read from an
option, standard input (`--secret -`) or a hidden prompt, checked before any
port is opened, and never printed. `--json` output has the stable keys
documented in docs/cli.md and never a secret.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import difflib
import json
import logging
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from fob import proto

from . import __version__, discover, screenfit
from .access_cli import access_group, factory_wipe
from .cli_aws import aws_group, echo_two_codes
from .cli_import import account_from_qr, import_command, offer_delete
from .cli_session import (
    CliState,
    current,
    interactive,
    password_option,
    password_source,
    password_stdin_option,
    token_options,
)
from .codes import Check
from .errors import EXIT_CLOCK, EXIT_OK, CliError, InputError, OtpfobError, TokenError
from .names import quoted, shown
from .session import AccountInfo, Session
from .uri import HOTP, TOTP, Account, check_algorithm, check_digits, check_label, check_period, decode_secret, parse_uri

LOG_LEVELS = ["debug", "info", "warning", "error"]
MAX_JUMP = 300  # seconds `time --set` may move a trusted clock without --force
MIN_SECRET_BITS = 128  # RFC 4226 asks for at least 128 bits; shorter is often a copy-paste cut
PYOTP_MIN_BITS = 112  # pyotp refuses shorter secrets
PYOTP_MAX_PERIOD = 120  # and longer periods
ACCEPT_DRIFT = 30  # seconds of drift a service checking +-1 step of 30 s always accepts


class _Group(click.Group):
    """A click group whose main() turns every failure into one sentence and its exit code."""

    def main(
        self,
        args: Any = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            rv = super().main(args, prog_name or "otpfob", complete_var, standalone_mode=False, **extra)
        except click.ClickException as exc:  # usage errors: shown the way click shows them (exit 2)
            exc.show()
            sys.exit(exc.exit_code)
        except (click.Abort, KeyboardInterrupt, EOFError):
            click.echo("Aborted.", err=True)
            sys.exit(1)
        except OtpfobError as exc:
            click.echo(exc.message, err=True)
            sys.exit(exc.exit_code)
        except Exception as exc:  # a bug: still one sentence; the message is not shown as it might hold input
            if os.environ.get("OTPFOB_DEBUG"):
                raise
            click.echo(
                f"otpfob failed unexpectedly ({type(exc).__name__}); run again with OTPFOB_DEBUG=1 for details and report it.",
                err=True,
            )
            sys.exit(1)
        sys.exit(rv if isinstance(rv, int) else EXIT_OK)


def setup_logging(level: str | None) -> None:
    """Send the otpfob loggers to stderr: at ``level``, else debug with
    OTPFOB_DEBUG set, else warnings only."""
    if level is None:
        level = "debug" if os.environ.get("OTPFOB_DEBUG") else "warning"
    logger = logging.getLogger("otpfob")
    logger.setLevel(level.upper())
    if not any(isinstance(h, _StderrHandler) for h in logger.handlers):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("otpfob: %(levelname)s: %(name)s: %(message)s"))
        logger.addHandler(handler)


class _StderrHandler(logging.StreamHandler):
    """Writes to sys.stderr as it is when a record comes (click's test runner swaps it)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


def _session() -> Session:
    return current().session()


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--port",
    "-p",
    envvar="OTPFOB_PORT",
    metavar="PORT",
    help="Serial port of the token (default: $OTPFOB_PORT, else the one found on USB or a running `otpfob sim`).",
)
@password_option
@password_stdin_option
@click.option(
    "--log-level",
    type=click.Choice(LOG_LEVELS, case_sensitive=False),
    default=None,
    help="Log the host library's work to stderr: debug shows one line per request, never a secret"
    " (default: warning; OTPFOB_DEBUG=1 means debug).",
)
@click.version_option(__version__, prog_name="otpfob")
@click.pass_context
def main(
    ctx: click.Context, port: str | None, password: str | None, password_stdin: bool, log_level: str | None
) -> None:
    """Provision and manage an otpfob TOTP/HOTP hardware token.

    Options such as --port and --password work before or after the command.
    Exit codes: 0 done, 1 refused or failed, 2 usage, 3 done but the token's
    clock would make services refuse its codes, 4 no token found.

    \b
    Examples:
      otpfob code
      otpfob code aws
      otpfob provision --uri 'otpauth://totp/ACME:alice?secret=...'
      otpfob list --port /dev/ttyACM0
      otpfob time --set
      pass show otpfob | otpfob code --password-stdin aws
    """
    setup_logging(log_level)
    state = CliState(port, password, password_from=password_source(ctx))
    ctx.obj = state
    ctx.call_on_close(state.close)
    if password_stdin:
        state.password_from_stdin()


# -- helpers ---------------------------------------------------------------

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON (keys in docs/cli.md) instead of text.")


def _emit(data: dict[str, Any]) -> None:
    """JSON on stdout: ASCII only, so no name from the token can act on the terminal."""
    click.echo(json.dumps(data, indent=2, ensure_ascii=True))


def _read_secret(value: str | None) -> tuple[str, bool]:
    """The secret text from --secret, `-` (stdin) or a hidden prompt, and
    whether it came from a terminal (so a question can be asked there)."""
    if value == "-":
        return sys.stdin.read(), False
    if value is not None:
        return value, interactive()
    if sys.stdin is None or not sys.stdin.isatty():
        # No terminal to hide the input on: read the piped line as is (getpass would warn).
        return sys.stdin.readline() if sys.stdin is not None else "", False
    return click.prompt("Secret (Base32, input hidden)", hide_input=True, prompt_suffix=": ", err=True), True


def _utc(unix: int | None) -> str:
    if unix is None:
        return "not set"
    return _dt.datetime.fromtimestamp(unix, tz=_dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _skew_text(seconds: int) -> str:
    if seconds == 0:
        return "in step with this computer"
    return f"{abs(seconds)} s {'ahead of' if seconds > 0 else 'behind'} this computer"


def _name(a: AccountInfo | Account) -> str:
    """The ykman-style name: `issuer:label`, or the label alone."""
    return f"{a.issuer}:{a.label}" if a.issuer else a.label


def _match(accounts: list[AccountInfo], query: str | None) -> list[AccountInfo]:
    """Accounts QUERY names, as ykman matches: an exact label or `issuer:label`
    is that account; else every account whose `issuer:label` holds QUERY,
    ignoring case."""
    if not query:
        return list(accounts)
    for a in accounts:
        if query in (a.label, _name(a)):
            return [a]
    q = query.lower()
    return [a for a in accounts if q in _name(a).lower()]


def _no_match(accounts: list[AccountInfo], query: str) -> CliError:
    if not accounts:
        return CliError("The token has no accounts; add one with `otpfob provision`.")
    # Close to a whole name, a label, or a word of one ("alcie" finds "ACME:alice@example.com").
    by_key: dict[str, str] = {}
    for a in accounts:
        for key in [_name(a), a.label, *re.split(r"[:@.\s_-]+", _name(a))]:
            if key:
                by_key.setdefault(key.lower(), _name(a))
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


def _one(accounts: list[AccountInfo], query: str) -> AccountInfo:
    """The one account QUERY names, or one sentence saying why not."""
    hits = _match(accounts, query)
    if len(hits) == 1:
        return hits[0]
    if not hits:
        raise _no_match(accounts, query)
    listed = ", ".join(quoted(_name(a)) for a in hits[:5]) + (", ..." if len(hits) > 5 else "")
    raise CliError(f"{len(hits)} accounts match {quoted(query)} ({listed}); name one exactly.")


def _ask_touch() -> None:
    click.echo("Press the button on the token to release the code for the check.", err=True)


def _reference(acct: Account, result: Check) -> str:
    if result.source == "pyotp":
        return "matches pyotp"
    why = (
        f"secrets under {PYOTP_MIN_BITS} bits"
        if len(acct.key) * 8 < PYOTP_MIN_BITS
        else f"periods over {PYOTP_MAX_PERIOD} s"
    )
    return f"matches the RFC algorithm, computed here because pyotp refuses {why}"


def _clock_fix(skew: int) -> str:
    """The command that sets a trusted token clock that is ``skew`` seconds off."""
    if abs(skew) > MAX_JUMP:
        return "`otpfob time --set --force` (if this computer's clock is right: the move is over 5 minutes)"
    return "`otpfob time --set`"


def _report(acct: Account, result: Check, mismatch: str, *, quiet: bool = False) -> tuple[int, dict[str, Any]]:
    """Say how the check went; (exit code, the check as JSON keys)."""
    if not result.matches:
        raise CliError(mismatch)
    ref = _reference(acct, result)
    data: dict[str, Any] = {
        "matches": True,
        "reference": result.source,
        "skew_seconds": result.skew_seconds,
        "skew_steps": result.skew_steps,
        "services_accept": True,
        "counter": result.counter,
    }
    say = (lambda *a, **k: None) if quiet else click.echo
    if acct.type == HOTP:
        used = (
            ""
            if result.counter is None
            else f" (the check used counter {result.counter}; the token's next code is for {result.counter + 1})"
        )
        say(f"Checked: the token's code for {quoted(acct.label)} {ref}{used}.")
        return EXIT_OK, data
    assert result.skew_seconds is not None and result.skew_steps is not None
    steps = result.skew_steps
    where = (
        f"{steps:+d} step{'s' if abs(steps) != 1 else ''} of {acct.period} s" if steps else f"same {acct.period} s step"
    )
    if abs(steps) > 1 or not result.host_window:
        data["services_accept"] = False
        say(
            f"Checked: the token computes the right codes for {quoted(acct.label)} ({ref} at the token's own time),"
            f" but its clock is {_skew_text(result.skew_seconds)} ({where})."
        )
        click.echo(
            f"Warning: services will refuse its codes until the token's clock is set: run {_clock_fix(result.skew_seconds)}.",
            err=True,
        )
        return EXIT_CLOCK, data
    say(
        f"Checked: the token's code for {quoted(acct.label)} {ref}; its clock is"
        f" {_skew_text(result.skew_seconds)} ({where})."
    )
    return EXIT_OK, data


def _next_steps(acct: Account) -> None:
    name = f"{acct.issuer} {acct.label}".lower()
    if acct.type == HOTP:
        click.echo(
            'Next: on the token, go to this account and hold the button (its screen says "Hold the button for a new'
            f' code") to show the next code, or get it with `otpfob code {_quote(acct.label)}`; type it where the'
            " service asks."
        )
    elif "amazon" in name or "aws" in name:
        click.echo(
            "Next: in the AWS console, type two consecutive codes from the token's screen: the one shown now,"
            " then wait for it to change and type the next one."
        )
    else:
        click.echo("Next: type the code shown on the token's screen where the service asks for it, to finish set-up.")


def _quote(text: str) -> str:
    """A name as the user would type it in a shell."""
    import shlex

    return shlex.quote(shown(text))


def _set_clock(session: Session) -> int:
    """Set the token's clock to this computer's UTC; the new token time."""
    # Send the time just after a second boundary so the token is right to within milliseconds.
    frac = time.time() % 1
    if frac > 0.02:
        time.sleep(1 - frac)
    new = session.time_set(int(time.time()))
    return new.unix if new.unix is not None else int(time.time())


def _short_secret(acct: Account, force: bool, can_ask: bool) -> None:
    """Refuse (or, at a terminal, ask about) a secret under 128 bits."""
    bits = len(acct.key) * 8
    if bits >= MIN_SECRET_BITS or force:
        return
    chars = -(-bits // 5)
    why = (
        f"The secret is only {bits} bits ({chars} Base32 characters); RFC 4226 asks for at least {MIN_SECRET_BITS},"
        " and a short one is often a copy-paste cut short"
    )
    if can_ask:
        click.echo(f"Warning: {why}.", err=True)
        if click.confirm("Add it anyway? (check it against the service's page first)", default=False, err=True):
            return
        raise CliError("Nothing was added; copy the whole secret from the service and provision again.")
    raise InputError(f"{why}; check it, and add --force if the service really gave this one.")


# -- commands --------------------------------------------------------------


@main.command()
@click.option("--secret", "-s", metavar="BASE32", help="Base32 secret; `-` reads it from stdin; omit to be prompted.")
@click.option(
    "--uri", "-u", metavar="URI", help="otpauth://totp/... or otpauth://hotp/... URI; `-` reads it from stdin."
)
@click.option("--label", "-l", help="Account name on the token (default: from the URI).")
@click.option("--issuer", "-i", help="Who issued the secret, e.g. AWS.")
@click.option("--digits", "-d", type=int, help="Code length, 6 to 10 (default 6).")
@click.option("--period", type=int, help="TOTP step in seconds (default 30).")
@click.option("--algorithm", "-a", help="sha1, sha256 or sha512 (default sha1).")
@click.option(
    "--type", "otp_type", type=click.Choice([TOTP, HOTP], case_sensitive=False), help="totp (default) or hotp."
)
@click.option("--counter", type=int, help="HOTP start counter (default 0).")
@click.option("--touch", is_flag=True, help="Release codes over USB only after a button press on the token.")
@click.option(
    "--force",
    "-f",
    is_flag=True,
    help="Replace an account with the same label, and accept a secret shorter than 128 bits.",
)
@click.option("--qr", "qr_file", metavar="FILE", help="A PNG or JPEG of the service's QR code; `-` reads stdin.")
@click.option(
    "--keep-qr/--delete-qr",
    "keep_qr",
    default=None,
    help="After a good provision keep or delete the --qr image, which holds the secret (default: ask at a terminal).",
)
@json_option
@token_options()
def provision(
    secret: str | None,
    uri: str | None,
    label: str | None,
    issuer: str | None,
    digits: int | None,
    period: int | None,
    algorithm: str | None,
    otp_type: str | None,
    counter: int | None,
    touch: bool,
    force: bool,
    qr_file: str | None,
    keep_qr: bool | None,
    as_json: bool,
) -> int:
    """Add an account to the token, then check it against pyotp.

    The secret is never echoed. Give it with --secret, pipe it with
    `--secret -`, or leave it out to be prompted with hidden input (with
    --password-stdin, the password is the first line of stdin and the
    secret follows). A secret under 128 bits is refused without --force
    (asked about at a terminal). Exit code 3: added and checked, but the
    token's clock is off so far that services will refuse its codes.

    \b
    Examples:
      otpfob provision --label alice@example.com --issuer ACME
      otpfob provision --uri 'otpauth://totp/AWS:root@123456789012?secret=...&issuer=AWS'
      pass show aws-mfa | otpfob provision --secret - --label aws --issuer AWS
      otpfob provision --secret JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP --label bank --digits 8 --algorithm sha256
      otpfob provision --uri 'otpauth://hotp/Lab:door?secret=...&counter=0'
      otpfob provision --uri "$URI" --force      # replace the account with the same label
      otpfob provision --qr QRCode.png --issuer AWS --delete-qr
    """
    if uri is not None and secret is not None:
        raise InputError("Give either --secret or --uri, not both.")
    if qr_file is not None and (uri is not None or secret is not None):
        raise InputError("Give --qr alone, without --secret or --uri.")
    if qr_file is not None:
        acct = account_from_qr(qr_file)
        can_ask = qr_file != "-" and interactive()
    elif uri is not None:
        acct = parse_uri(sys.stdin.read() if uri == "-" else uri)
        can_ask = uri != "-" and interactive()
    else:
        text, can_ask = _read_secret(secret)
        key = decode_secret(text)
        acct = Account(label=label or "", key=key)
    if label is not None:
        acct.label = label
    if issuer is not None:
        acct.issuer = issuer
    if otp_type is not None:
        acct.type = otp_type.lower()
    if algorithm is not None:
        acct.algorithm = check_algorithm(algorithm)
    if digits is not None:
        acct.digits = check_digits(digits)
    if period is not None:
        acct.period = check_period(period)
    if counter is not None:
        if acct.type != HOTP:
            raise InputError("--counter is for HOTP accounts; add --type hotp.")
        acct.counter = counter
    acct.touch = touch
    acct.check()
    _short_secret(acct, force, can_ask)

    session = _session()
    info = session.handshake()
    if acct.type == TOTP and info.clock != proto.CLOCK_OK:
        # Without a trusted clock the new account could not be checked; add nothing.
        raise CliError(
            "The token's clock is not set or not trusted, so the account could not be checked;"
            " run `otpfob time --set` first, then provision again."
        )
    replaced = False
    try:
        session.add(acct)
    except TokenError as exc:
        if exc.code != proto.E_EXISTS:
            raise
        if not force:
            raise CliError(
                f"The token already has an account labelled {quoted(acct.label)}; add --force to replace it,"
                " or choose another --label."
            ) from None
        session.delete(acct.label)
        session.add(acct)
        replaced = True
    warnings = screenfit.notes(acct.label, acct.issuer, info.accounts + (0 if replaced else 1))
    for w in warnings:
        click.echo(w, err=True)
    out: dict[str, Any] = {
        "added": True,
        "replaced": replaced,
        "name": _name(acct),
        "label": acct.label,
        "issuer": acct.issuer,
        "type": acct.type,
        "touch": acct.touch,
        "checked": False,
        "warnings": warnings,
    }
    if not as_json:
        click.echo(
            f"{'Replaced' if replaced else 'Added'} {quoted(acct.label)}"
            + (f" ({shown(acct.issuer)})" if acct.issuer else "")
            + (" on the token." if replaced else " to the token.")
        )
    try:
        result = session.verify(acct, on_touch=_ask_touch)
    except TokenError as exc:
        if exc.code != proto.E_TOUCH:
            raise
        click.echo(
            f"Added {quoted(acct.label)}, but it is not checked yet: no button press came to release a code;"
            f" run `otpfob verify {_quote(acct.label)} --secret -` and press the button when asked.",
            err=True,
        )
        if as_json:
            _emit(out)
        return EXIT_OK
    code, check = _report(
        acct,
        result,
        f"The token's code for {quoted(acct.label)} does not match the secret, so the account was stored wrongly;"
        f" delete it with `otpfob delete` and provision it again.",
        quiet=as_json,
    )
    out.update(check, checked=True)
    if code == EXIT_CLOCK and interactive() and not as_json:
        skew = result.skew_seconds or 0
        if click.confirm(
            f"Set the token's clock to this computer's UTC now (a move of {abs(skew)} s)?", default=False, err=True
        ):
            click.echo(f"Set the token's clock to {_utc(_set_clock(session))}.")
            code = EXIT_OK
            out["services_accept"] = True
    if as_json:
        _emit(out)
    elif code == EXIT_OK:
        _next_steps(acct)
    if qr_file is not None:
        offer_delete(qr_file, keep_qr, ask=not as_json)
    return code


def _account_json(a: AccountInfo) -> dict[str, Any]:
    return {
        "name": _name(a),
        "label": a.label,
        "issuer": a.issuer,
        "type": a.type,
        "algorithm": a.algorithm,
        "digits": a.digits,
        "period": a.period if a.type == TOTP else None,
        "counter": a.counter if a.type == HOTP else None,
        "touch": a.touch,
    }


@main.command("list")
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
    all_accounts = _session().list_accounts()
    accounts = _match(all_accounts, query)
    if query and not accounts:
        raise _no_match(all_accounts, query)
    if as_json:
        _emit({"accounts": [_account_json(a) for a in accounts]})
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
    _table(rows)


def _table(rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip())


@main.command()
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
def code(query: str | None, single: bool, two: bool, as_json: bool) -> None:
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
        raise InputError("--two prints two codes as they come; leave out --single and --json.")
    session = _session()
    accounts = session.list_accounts()
    if two:
        if not query:
            raise CliError("--two needs a QUERY that names one account, e.g. `otpfob code aws --two`.")
        echo_two_codes(session, _one(accounts, query))
        return
    hits = _match(accounts, query)
    if query and not hits:
        raise _no_match(accounts, query)
    if single:
        if not query and len(hits) != 1:
            raise CliError("--single needs a QUERY that names one account; see `otpfob list`.")
        hits = [_one(accounts, query)] if query else hits
    if not hits:
        if as_json:
            _emit({"accounts": []})
            return
        click.echo("The token has no accounts; add one with `otpfob provision`.")
        return
    named = len(hits) == 1 and bool(query)
    entries = []
    for a in hits:
        entry: dict[str, Any] = {
            "name": _name(a),
            "label": a.label,
            "issuer": a.issuer,
            "type": a.type,
            "touch": a.touch,
            "code": None,
            "time": None,
            "seconds_left": None,
            "counter": None,
        }
        if a.type == TOTP and not a.touch or named or (single and len(hits) == 1):
            if a.touch:
                click.echo(f"Press the button on the token to release the code for {quoted(a.label)}.", err=True)
            got = session.code(a.label, touch=a.touch)
            entry["code"] = got.code
            if a.type == TOTP and got.time is not None:
                entry["time"] = got.time
                entry["seconds_left"] = a.period - got.time % a.period
            entry["counter"] = got.counter
        entries.append(entry)
    if as_json:
        _emit({"accounts": entries})
        return
    if single:
        click.echo(entries[0]["code"])
        return
    rows: list[tuple[str, ...]] = []
    for e in entries:
        if e["code"] is not None:
            left = f"{e['seconds_left']} s left" if e["seconds_left"] is not None else f"counter {e['counter']}"
            rows.append((shown(e["name"]), e["code"], left))
        elif e["type"] == HOTP:
            rows.append((shown(e["name"]), "[HOTP]", "name it to use a counter"))
        else:
            rows.append((shown(e["name"]), "[touch]", "name it, then press the button"))
    _table(rows)


@main.command()
@click.argument("query")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@token_options()
def delete(query: str, yes: bool) -> None:
    """Delete the account QUERY names (its label, or part of `issuer:label`).

    \b
    Examples:
      otpfob delete alice@example.com --yes
      otpfob delete ACME:alice
    """
    session = _session()
    a = _one(session.list_accounts(), query)
    if not yes:
        click.confirm(f"Delete {quoted(_name(a))} from the token? Its codes cannot be recovered", abort=True, err=True)
    session.delete(a.label)
    click.echo(f"Deleted {quoted(_name(a))}.")


@main.command()
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
    session = _session()
    accounts = session.list_accounts()
    a = _one(accounts, query)
    for w in screenfit.notes(label, a.issuer if issuer is None else issuer, len(accounts)):
        click.echo(w, err=True)
    session.rename(a.label, label, issuer=issuer)
    after = f"{issuer}:{label}" if issuer else (label if issuer is not None or not a.issuer else f"{a.issuer}:{label}")
    click.echo(f"Renamed {quoted(_name(a))} to {quoted(after)}.")


@main.command("time")
@click.option("--set", "set_", is_flag=True, help="Set the token's clock to this computer's UTC.")
@click.option("--force", is_flag=True, help="Allow --set to move a set clock by more than 5 minutes.")
@json_option
@token_options()
def time_(set_: bool, force: bool, as_json: bool) -> int:
    """Show the token's clock, this computer's UTC and the drift; --set corrects it.

    --set refuses to move a token clock that was set before by more than 5
    minutes unless --force is given, so a computer with a wrong clock cannot
    silently break the token. A clock the token does not trust (never set,
    battery lost, or jumped) is set without --force. Without --set, exit
    code 3 says the clock is unset or over 30 s off, so services would
    refuse the token's codes.

    \b
    Examples:
      otpfob time
      otpfob time --set
      otpfob time --set --force
    """
    session = current().session(unlock=set_)  # reading the clock is never locked
    tok = session.time_get()
    host = int(time.time())
    trusted = tok.clock == proto.CLOCK_OK and tok.unix is not None
    drift = tok.unix - host if trusted and tok.unix is not None else None
    accept = drift is not None and abs(drift) <= ACCEPT_DRIFT
    out: dict[str, Any] = {
        "token_time": tok.unix if trusted else None,
        "clock": tok.clock,
        "host_time": host,
        "drift": drift,
        "services_accept": accept,
        "set": False,
        "new_time": None,
    }
    if not as_json:
        if trusted:
            click.echo(f"Token clock: {_utc(tok.unix)}")
        else:
            state = {
                proto.CLOCK_UNSET: "not set",
                proto.CLOCK_JUMPED: "jumped, not trusted",
                proto.CLOCK_MISSING: "no RTC answers",
            }.get(tok.clock, f"not trusted ({tok.clock})")
            click.echo(f"Token clock: {state}; the token shows no codes until it is set")
        click.echo(f"Host clock:  {_utc(host)}")
        if drift is not None:
            click.echo(f"Drift:       token is {_skew_text(drift)}")
    if not set_:
        if not as_json:
            if not trusted:
                click.echo("Set it with `otpfob time --set`.")
            elif not accept:
                assert drift is not None
                click.echo(f"Services would refuse the token's codes; set its clock with {_clock_fix(drift)}.")
        else:
            _emit(out)
        return EXIT_OK if accept else EXIT_CLOCK
    # Only a trusted clock has a time worth protecting: an unset or jumped one
    # is known wrong (the token says "run otpfob time --set").
    if drift is not None and abs(drift) > MAX_JUMP and not force:
        raise CliError(
            f"Setting the clock would move it by {abs(drift)} s, more than {MAX_JUMP // 60} minutes; check this"
            f" computer's clock and add --force if it is right."
        )
    new = _set_clock(session)
    out.update({"set": True, "new_time": new, "services_accept": True})
    if as_json:
        _emit(out)
    else:
        click.echo(f"Set the token's clock to {_utc(new)}.")
    return EXIT_OK


@main.command()
@click.argument("query", required=False)
@click.option(
    "--secret", "-s", metavar="BASE32", help="The account's Base32 secret; `-` reads stdin; omit to be prompted."
)
@click.option("--uri", "-u", metavar="URI", help="The account's otpauth:// URI; `-` reads stdin.")
@click.option("--label", "-l", "label_option", hidden=True, help="The account (same as QUERY).")
@json_option
@token_options()
def verify(query: str | None, secret: str | None, uri: str | None, label_option: str | None, as_json: bool) -> int:
    """Check the account QUERY names against pyotp, e.g. after a battery change or a failed login.

    QUERY is matched as in `otpfob code`; left out, the URI's label or the
    token's only account is used. The token's code is compared with the one
    computed here from the secret, and the clock skew is reported. Exit
    code 3: the codes are right, but the token's clock is off so far that
    services refuse them.

    \b
    Examples:
      otpfob verify aws --secret -
      otpfob verify --uri 'otpauth://totp/ACME:alice?secret=...'
    """
    if uri is not None and secret is not None:
        raise InputError("Give either --secret or --uri, not both.")
    query = query or label_option
    from_uri: Account | None = None
    if uri is not None:
        from_uri = parse_uri(sys.stdin.read() if uri == "-" else uri)
        key = from_uri.key
    else:
        key = decode_secret(_read_secret(secret)[0])
    session = _session()
    accounts = session.list_accounts()
    if query is not None:
        info = _one(accounts, query)
    elif from_uri is not None and from_uri.label:
        info = _one(accounts, from_uri.label)
    elif len(accounts) == 1:
        info = accounts[0]
    else:
        raise InputError("Name the account to check, e.g. `otpfob verify aws --secret -`; see `otpfob list`.")
    acct = Account(
        label=info.label,
        key=key,
        issuer=info.issuer,
        type=info.type,
        algorithm=info.algorithm,
        digits=info.digits,
        period=info.period,
        counter=info.counter or 0,
        touch=info.touch,
    )
    if from_uri is not None and (from_uri.type, from_uri.algorithm, from_uri.digits) != (
        info.type,
        info.algorithm,
        info.digits,
    ):
        click.echo("Warning: the URI's type, algorithm or digits differ from the token's account.", err=True)
    exit_code, check = _report(
        acct,
        session.verify(acct, on_touch=_ask_touch),
        f"The token's code for {quoted(acct.label)} does not match this secret at the token's time or at this"
        f" computer's; check the secret, or delete the account and provision it again.",
        quiet=as_json,
    )
    if as_json:
        _emit({"name": _name(acct), "label": acct.label, "issuer": acct.issuer, "type": acct.type, **check})
    return exit_code


@main.command()
@json_option
@token_options()
def info(as_json: bool) -> None:
    """Show the token's firmware version, board, clock, accounts and free memory.

    \b
    Examples:
      otpfob info
      otpfob info --port /dev/ttyACM0 --json
    """
    state = current()
    session = state.session(unlock=False)  # info is never locked
    i = session.info()
    state.note_unused_password(i.access)
    if as_json:
        _emit({"port": session.transport.port, **dataclasses.asdict(i)})
        return
    click.echo(f"Port:        {session.transport.port}")
    click.echo(f"Firmware:    {i.version} (protocol {i.protocol})")
    click.echo(f"Board:       {i.board}")
    if i.exposure:
        click.echo(f"Exposure:    {shown(i.exposure)} (docs/security.md)")
    clock = i.clock
    if i.clock == proto.CLOCK_OK:
        clock = f"ok, {_utc(i.time)}"
    elif i.clock == proto.CLOCK_JUMPED:
        clock = f"jumped by {i.clock_jump:+d} s, codes withheld; check it and run `otpfob time --set`"
    elif i.clock == proto.CLOCK_UNSET:
        clock = "not set, codes withheld; run `otpfob time --set`"
    elif i.clock == proto.CLOCK_MISSING:
        clock = "no RTC answers; check its wiring"
    click.echo(f"Clock:       {clock}")
    click.echo(
        f"Accounts:    {i.accounts} of {i.capacity}" + ("" if i.store == proto.STORE_OK else f" (store {i.store})")
    )
    click.echo(f"Free memory: {'unknown' if i.free is None else f'{i.free} bytes'}")
    if i.access:
        state_text = "unlocked" if i.unlocked else "locked"
        click.echo(f"Access:      password set ({state_text} for this connection)")
    else:
        click.echo("Access:      no password")
    if i.maintenance:
        click.echo("Maintenance: powered on with the button held; Ctrl-C on its USB serial is on")
    for k, v in sorted(i.extra.items()):
        click.echo(f"{(k.replace('_', ' ').capitalize() + ':'):<12} {shown(str(v))}")


@main.command()
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.option(
    "--factory",
    is_flag=True,
    help="Also remove the access password (for a forgotten one); hold the token's button down.",
)
@token_options()
def wipe(yes: bool, factory: bool) -> None:
    """Remove every account from the token.

    --factory also removes the access password and needs no password, but
    the token's button must be held down while it runs.

    \b
    Examples:
      otpfob wipe --yes
      otpfob wipe --factory
    """
    if factory:
        factory_wipe(current().session(unlock=False), yes=yes)
        return
    session = _session()
    n = session.info().accounts
    if not yes and n:
        what = "the token's only account" if n == 1 else f"all {n} accounts from the token"
        click.confirm(f"Remove {what}? This cannot be undone", abort=True, err=True)
    session.wipe()
    click.echo(f"Removed {n} account{'s' if n != 1 else ''}; the token is empty.")


@main.command()
@click.option(
    "--board",
    "-b",
    metavar="NAME",
    help="pico, pico_w, esp32_devkitc or esp32s3_devkitc; left out, the board's own description decides.",
)
@click.option(
    "--build-only",
    is_flag=True,
    help="Compile into otpfob's cache folder (~/.cache/otpfob/deploy/NAME on Linux) and stop.",
)
@click.option(
    "--image",
    metavar="[PATH]",
    is_flag=False,
    flag_value="",
    default=None,
    help="Pico only: flash the otpfob firmware image (fob frozen in; default"
    " build/firmware-pico/otpfob-pico.uf2 from `make firmware-pico`) instead of copying .mpy files.",
)
@click.option(
    "--drive",
    metavar="DIR",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="OTPFOB_DRIVE",
    help="Where the Pico's RPI-RP2 drive is (or will be) mounted, for --image; found by its INFO_UF2.TXT when left out.",
)
@token_options(password=False)
def deploy(board: str | None, build_only: bool, image: str | None, drive: Path | None) -> None:
    """Put otpfob on a board running MicroPython, or flash a Pico with the otpfob image.

    The board is asked first what it runs (MicroPython version, .mpy
    format, chip, free flash); deploy refuses, changing nothing, when the
    build cannot run there. Then the firmware is compiled with mpy-cross and
    copied with mpremote (with --image: the image is flashed through the
    Pico's RPI-RP2 drive and only board.py and main.py are copied). The
    board file goes to the device as /board.py. The token is then reset and
    must answer `info` with this release's firmware version.

    \b
    Examples:
      otpfob deploy --board pico
      otpfob deploy --board pico --image
      otpfob --port /dev/ttyUSB0 deploy --board esp32_devkitc
      otpfob deploy --board esp32s3_devkitc --build-only
    """
    from . import deploy as _deploy

    if build_only:
        if not board:
            raise CliError("Name the board to build for with --board (pico, pico_w, esp32_devkitc or esp32s3_devkitc).")
        out = _deploy.build(board, progress=click.echo)
        click.echo(f"Built {len(out.files)} files for {board} ({out.arch}) in {out.root}.")
        return
    # Each deploy builds in a folder of its own: two at once (two boards)
    # must not delete each other's files mid-copy.
    work = Path(tempfile.mkdtemp(prefix="otpfob-deploy-"))
    try:
        if board is not None and board not in _deploy.ARCH:
            _deploy.build(board)  # its one-sentence refusal, before any port is touched
        state = current()
        if image is not None:
            uf2 = Path(image) if image else _deploy.IMAGE
            _deploy.image_build(board or "pico", work)  # refuses other boards before anything is touched
            port = _deploy.flash_image(
                uf2, port=state.port, drive=drive, find_port=discover.find_port, progress=click.echo
            )
            info = _deploy.probe(port)
            if not board:
                board = _deploy.board_from(info) or "pico"
                click.echo(f"The board says it is a {info.description}: deploying --board {board}.")
            out = _deploy.image_build(board, work)
            _deploy.check_board(info, board, port, files=[p for p, _ in out.files], mpy=False)
        else:
            port = state.find_port()  # the board first: nothing is compiled for a missing one
            _refuse_running_otpfob(port)
            info = _deploy.probe(port)
            if not board:
                board = _deploy.board_from(info)
                if not board:
                    raise CliError(
                        f"The board on {port} describes itself as {info.description!r}, which does not settle the board"
                        " file; name it with --board (pico, pico_w, esp32_devkitc or esp32s3_devkitc)."
                    )
                click.echo(f"The board says it is a {info.description}: deploying --board {board}.")
            if board not in _deploy.ARCH:  # the one-sentence refusal of build()
                _deploy.build(board)
            _deploy.check_board(info, board, port, files=None)  # chip and .mpy before compiling
            out = _deploy.build(board, out_dir=work, progress=click.echo)
            click.echo(f"Built {len(out.files)} files for {board} ({out.arch}).")
            _deploy.check_board(info, board, port, files=[p for p, _ in out.files])
        _copy_with_bar(_deploy, out, port)
        version = _deploy.reset_and_check(port, progress=click.echo)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    click.echo(f"The token on {port} runs otpfob {version}.")


def _refuse_running_otpfob(port: str) -> None:
    """Refuse at once, instead of waiting for a REPL that never answers, a
    port where otpfob answers but mpremote cannot get in: the emulated token,
    or a token locked by its access password."""
    from .transport import SerialTransport

    try:
        with Session(SerialTransport(port, timeout=1.0)) as s:
            i = s.info()
    except OtpfobError:  # not otpfob (a bare MicroPython REPL, say): the probe decides
        return
    if i.board == "sim":
        raise CliError(
            f"{port} is the emulated token (`otpfob sim`), which runs the firmware from otpfob itself and has no"
            " MicroPython REPL to copy to; deploy to a board, or to the emulated Pico (`otpfob sim --board pico`)."
        )
    if i.access and not i.maintenance:
        raise CliError(
            f"otpfob on {port} has an access password, so its REPL is closed and nothing was copied; power it on"
            " with the button held (maintenance boot) and deploy again."
        )


def _copy_with_bar(_deploy: Any, out: Any, port: str) -> None:
    """deploy.copy with a progress bar of files and bytes (plain lines when not on a terminal)."""
    total = sum(local.stat().st_size for local, _ in out.files)
    n = len(out.files)
    if not sys.stdout.isatty():
        _deploy.copy(
            out, port, progress=click.echo, copied=lambda i, b, dev: click.echo(f"[{i}/{n}] {b}/{total} bytes {dev}")
        )
        return
    count = {"files": 0}
    progress: Any = click.progressbar(
        length=total,
        label=f"Copying {n} files ({total // 1024} KB) to {port}",
        item_show_func=lambda _: f"{count['files']}/{n} files",
        show_pos=True,
    )
    with progress as bar:

        def copied(files: int, done: int, _dev: str) -> None:
            count["files"] = files
            bar.update(done - bar.pos)

        _deploy.copy(out, port, copied=copied)


main.add_command(access_group)
main.add_command(import_command)
main.add_command(aws_group)

try:  # the emulated token's command lives with the emulator
    from otpfob.emu.cli import sim_command

    main.add_command(sim_command, "sim")
except Exception:  # an emulator that is missing or broken must not break the rest of the CLI
    if os.environ.get("OTPFOB_DEBUG"):
        raise


if __name__ == "__main__":
    main()
