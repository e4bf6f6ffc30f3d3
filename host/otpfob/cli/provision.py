"""`otpfob provision` and `otpfob verify`: add an account, and check one
against the host's reference codes (pyotp, or the RFC where pyotp refuses).

Secrets are read from an option, standard input (`--secret -`) or a hidden
prompt, checked before any port is opened, and never printed.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, replace
from typing import Any

import click

from fob import proto

from .. import fleet, screenfit
from ..codes import Check
from ..errors import EXIT_CLOCK, EXIT_OK, CliError, InputError, TokenError
from ..fleet import Target
from ..names import quoted, shown
from ..uri import HOTP, TOTP, Account, check_algorithm, check_digits, check_period, decode_secret, parse_uri
from .context import interactive, token_options
from .import_ import account_from_qr, keep_qr_option, offer_delete
from .targets import backup_options, describe, open_backup, open_targets, save_backup, several_tokens_options
from .util import (
    account_name,
    ask_touch,
    clock_fix,
    emit,
    json_option,
    one_account,
    read_secret,
    set_clock,
    shell_quote,
    skew_text,
    token_session,
    utc,
)

RFC_SECRET_BITS = 128  # RFC 4226 asks for at least 128 bits
# Many services still issue 80-bit secrets (16 Base32 characters); shorter is
# most often a copy-paste cut short.
MIN_SECRET_BITS = 80
PYOTP_MIN_BITS = 112  # pyotp refuses shorter secrets
PYOTP_MAX_PERIOD = 120  # and longer periods


def _reference(acct: Account, result: Check) -> str:
    if result.source == "pyotp":
        return "matches pyotp"
    why = (
        f"secrets under {PYOTP_MIN_BITS} bits"
        if len(acct.key) * 8 < PYOTP_MIN_BITS
        else f"periods over {PYOTP_MAX_PERIOD} s"
    )
    return f"matches the RFC algorithm, computed here because pyotp refuses {why}"


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
        if result.counter is None:
            used = ""
        elif result.counter_used:
            used = f" (the check used counter {result.counter}; the token's next code is for {result.counter + 1})"
        else:
            used = f" at counter {result.counter}, compared on the token without using it up"
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
            f" but its clock is {skew_text(result.skew_seconds)} ({where})."
        )
        click.echo(
            f"Warning: services will refuse its codes until the token's clock is set: run {clock_fix(result.skew_seconds)}.",
            err=True,
        )
        return EXIT_CLOCK, data
    say(
        f"Checked: the token's code for {quoted(acct.label)} {ref}; its clock is"
        f" {skew_text(result.skew_seconds)} ({where})."
    )
    return EXIT_OK, data


def _next_steps(acct: Account) -> None:
    name = f"{acct.issuer} {acct.label}".lower()
    if acct.type == HOTP:
        click.echo(
            'Next: on the token, go to this account and hold the button (its screen says "Hold the button for a new'
            f' code") to show the next code, or get it with `otpfob code {shell_quote(acct.label)}`; type it where the'
            " service asks."
        )
    elif "amazon" in name or "aws" in name:
        click.echo(
            "Next: in the AWS console, type two consecutive codes from the token's screen: the one shown now,"
            " then wait for it to change and type the next one."
        )
    else:
        click.echo("Next: type the code shown on the token's screen where the service asks for it, to finish set-up.")


def _short_secret(acct: Account, force: bool, can_ask: bool) -> None:
    """A one-line note for a secret of 80 to 127 bits; refuse (or, at a
    terminal, ask about) a shorter one."""
    bits = len(acct.key) * 8
    chars = -(-bits // 5)
    if bits >= RFC_SECRET_BITS:
        return
    if bits >= MIN_SECRET_BITS:
        click.echo(
            f"Note: the secret is {bits} bits ({chars} Base32 characters), less than the {RFC_SECRET_BITS}"
            " RFC 4226 asks for; many services still issue such secrets.",
            err=True,
        )
        return
    if force:
        return
    why = (
        f"The secret is only {bits} bits ({chars} Base32 characters); services issue at least {MIN_SECRET_BITS},"
        " and a short one is often a copy-paste cut short"
    )
    if can_ask:
        click.echo(f"Warning: {why}.", err=True)
        if click.confirm("Add it anyway? (check it against the service's page first)", default=False, err=True):
            return
        raise CliError("Nothing was added; copy the whole secret from the service and provision again.")
    raise InputError(f"{why}; check it, and add --force if the service really gave this one.")


@dataclass
class _Provisioned:
    replaced: bool
    code: int
    out: dict[str, Any]  # the JSON keys for this token


def _provision_on(t: Target, acct: Account, *, force: bool, as_json: bool, several: bool) -> _Provisioned:
    """Add ``acct`` to one token and check it; what happened, for the report."""
    session = t.session
    info = session.handshake()
    on = f" on {t.port}" if several else ""
    replaced = False
    try:
        touch = session.add(acct)
    except TokenError as exc:
        if exc.code != proto.E_EXISTS:
            raise
        if not force:
            raise CliError(
                f"The token{on} already has an account named {quoted(account_name(acct))}; add --force to replace"
                " it, or choose another --label or --issuer."
            ) from None
        session.delete(acct.label, acct.issuer)  # only this issuer's account of that label
        touch = session.add(acct)
        replaced = True
    # Without --touch/--no-touch this token's touch_default decided.
    acct = replace(acct, touch=touch)
    warnings = screenfit.notes(acct.label, acct.issuer, info.accounts + (0 if replaced else 1))
    for w in warnings:
        click.echo(w, err=True)
    out: dict[str, Any] = {
        "added": True,
        "replaced": replaced,
        "name": account_name(acct),
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
            + (f" on the token{on}." if replaced else f" to the token{on}.")
        )
    try:
        result = session.verify(acct, on_touch=ask_touch)
    except KeyboardInterrupt:
        name = account_name(acct)
        raise CliError(
            f"Interrupted: {quoted(name)} is on the token{on} but not checked (the token stopped waiting for the"
            f" press); check it with `otpfob verify {shell_quote(name)} --secret -`."
        ) from None
    except TokenError as exc:
        if exc.code != proto.E_TOUCH:
            raise
        click.echo(
            f"Added {quoted(acct.label)}, but it is not checked yet: no button press came to release a code;"
            f" run `otpfob verify {shell_quote(acct.label)} --secret -` and press the button when asked.",
            err=True,
        )
        return _Provisioned(replaced, EXIT_OK, out)
    if several and not result.matches and not replaced:
        # Another token may hold it already: take this wrong copy off, and let the others be undone.
        session.delete(acct.label, acct.issuer)
        raise CliError(f"its code for {quoted(acct.label)} does not match the secret, so it was removed again")
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
            click.echo(f"Set the token's clock to {utc(set_clock(session))}.")
            code = EXIT_OK
            out["services_accept"] = True
    return _Provisioned(replaced, code, out)


def _undo_add(t: Target, acct: Account, done: _Provisioned) -> None:
    """Take the account off a token that took it, when another token failed."""
    if done.replaced:
        raise CliError("its old account of the same issuer and label was replaced")
    t.session.delete(acct.label, acct.issuer)


# -- commands --------------------------------------------------------------


@click.command()
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
@click.option(
    "--touch/--no-touch",
    default=None,
    help="Release codes over USB only after a button press on the token, or without one"
    " (default: the token's touch-default setting, `otpfob config`).",
)
@click.option(
    "--force",
    "-f",
    is_flag=True,
    help="Replace the account with the same issuer and label, and accept a secret shorter than 80 bits.",
)
@click.option("--qr", "qr_file", metavar="FILE", help="A PNG or JPEG of the service's QR code; `-` reads stdin.")
@keep_qr_option(
    "After a good provision keep or delete the --qr image, which holds the secret (default: ask at a terminal)."
)
@several_tokens_options
@backup_options
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
    touch: bool | None,
    force: bool,
    qr_file: str | None,
    keep_qr: bool | None,
    to: tuple[str, ...],
    all_tokens: bool,
    backup_path: str | None,
    backup_password_stdin: bool,
    as_json: bool,
) -> int:
    """Add an account to the token, then check it against pyotp.

    The secret is never echoed. Give it with --secret, pipe it with
    `--secret -`, or leave it out to be prompted with hidden input (with
    --password-stdin, the password is the first line of stdin and the
    secret follows; with --backup-password-stdin too, the backup's password
    is the next line). At a terminal a missing label is asked first, then
    the secret, hidden, ended by Enter. A secret of 80 to 127 bits (16 Base32
    characters, as many services issue) gets a note; a shorter one is
    refused without --force (asked about at a terminal). `otpfob add` is the
    same command (ykman's name). Exit code 3: added and checked, but the
    token's clock is off so far that services will refuse its codes.

    With --to PORT for each token (or --all-tokens) the same account goes
    on every token and is checked on each; if one fails, the account is
    taken off the others again, or the error says which token holds it.
    --backup FILE also adds it to a password-encrypted backup (PSKC), asking
    for the backup's password (twice for a new file).

    \b
    Examples:
      otpfob provision --label alice@example.com --issuer ACME
      pass show aws-mfa-uri | otpfob provision --uri -
      pass show aws-mfa | otpfob provision --secret - --label aws --issuer AWS
      otpfob provision --label bank --digits 8 --algorithm sha256   # asks for the secret, hidden
      otpfob provision --uri - < door-uri.txt
      otpfob provision --uri - --force < uri.txt   # replace the account with the same issuer:label
      otpfob provision --qr QRCode.png --issuer AWS --delete-qr
      otpfob provision --label bank --touch        # codes over USB only after a press
      otpfob provision --uri - --to /dev/ttyACM0 --to /dev/ttyACM1 --backup ~/otp-backup.pskc < uri.txt
    """
    if uri is not None and secret is not None:
        raise InputError("Give either --secret or --uri, not both.")
    if qr_file is not None and (uri is not None or secret is not None):
        raise InputError("Give --qr alone, without --secret or --uri.")
    # Before the secret: its password may be a line of stdin that comes before a piped secret.
    saved = open_backup(backup_path, backup_password_stdin)
    if qr_file is not None:
        acct = account_from_qr(qr_file)
        can_ask = qr_file != "-" and interactive()
    elif uri is not None:
        acct = parse_uri(sys.stdin.read() if uri == "-" else uri)
        can_ask = uri != "-" and interactive()
    else:
        # What is missing is asked first, then the secret (hidden, ended by Enter).
        if label is None:
            if not interactive():
                raise InputError("The account has no label; give one with --label.")
            label = click.prompt("Label (the account's name, e.g. alice@example.com)", err=True).strip()
        text, can_ask = read_secret(secret)
        key = decode_secret(text)
        acct = Account(label=label, key=key)
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

    targets = open_targets(to, all_tokens)
    several = len(targets) > 1
    for t in targets:
        if (
            several
            and not force
            and any((a.label, a.issuer) == (acct.label, acct.issuer) for a in t.session.list_accounts())
        ):
            raise CliError(
                f"The token on {t.port} already has an account named {quoted(account_name(acct))}; add --force to"
                " replace it, or choose another --label; no token was changed."
            )
        if acct.type == TOTP and t.session.handshake().clock != proto.CLOCK_OK:
            # Without a trusted clock the new account could not be checked; add nothing.
            raise CliError(
                f"The token{f' on {t.port}' if several else ''}'s clock is not set or not trusted, so the account"
                " could not be checked; run `otpfob time --set` first, then provision again."
            )
    done = fleet.on_each(
        targets,
        lambda t: _provision_on(t, acct, force=force, as_json=as_json, several=several),
        what=f"the account {quoted(acct.label)}",
        undo=lambda t, r: _undo_add(t, acct, r),
    )
    save_backup(
        saved, [acct], on_tokens=describe(targets), again="`otpfob provision` again with --force and the same secret"
    )
    code = EXIT_CLOCK if any(d.result.code == EXIT_CLOCK for d in done) else EXIT_OK
    if as_json:
        out = dict(done[0].result.out)
        out["tokens"] = [
            {
                "port": d.target.port,
                "replaced": d.result.replaced,
                "checked": d.result.out["checked"],
                "services_accept": d.result.out.get("services_accept"),
            }
            for d in done
        ]
        out["backup"] = str(saved.path) if saved is not None else None
        emit(out)
    elif code == EXIT_OK and all(d.result.out["checked"] for d in done):
        _next_steps(acct)
    if qr_file is not None:
        offer_delete(qr_file, keep_qr, ask=not as_json)
    return code


@click.command()
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
      otpfob verify --uri - < uri.txt
    """
    if uri is not None and secret is not None:
        raise InputError("Give either --secret or --uri, not both.")
    query = query or label_option
    from_uri: Account | None = None
    if uri is not None:
        from_uri = parse_uri(sys.stdin.read() if uri == "-" else uri)
        key = from_uri.key
    else:
        key = decode_secret(read_secret(secret)[0])
    session = token_session()
    accounts = session.list_accounts()
    if query is not None:
        info = one_account(accounts, query)
    elif from_uri is not None and from_uri.label:
        info = one_account(accounts, from_uri.label)
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
        session.verify(acct, on_touch=ask_touch),
        f"The token's code for {quoted(acct.label)} does not match this secret at the token's time or at this"
        f" computer's; check the secret, or delete the account and provision it again.",
        quiet=as_json,
    )
    if as_json:
        emit({"name": account_name(acct), "label": acct.label, "issuer": acct.issuer, "type": acct.type, **check})
    return exit_code
