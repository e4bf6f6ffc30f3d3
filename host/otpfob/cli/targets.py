"""Which tokens an enrolling command writes to (--to PORT, --all-tokens), and
the encrypted backup it adds the account to (--backup FILE).

`provision`, `import` and `aws enable-mfa` share these. Every token is
opened, unlocked and asked for its state before anything is written to any
of them, and the backup's password is checked against the file first, so a
missing token or a wrong password changes nothing. The first token is the
invocation's own session (`context.CliState`); the others get a state of
their own with the same password options, and are locked and closed when
the command ends.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from .. import discover
from ..backup import BackupFile
from ..errors import CliError, InputError, OtpfobError
from ..fleet import Target
from ..uri import Account
from .context import CliState, current, interactive, prompt_password, read_stdin_line

F = TypeVar("F", bound=Callable[..., Any])


def several_tokens_options(f: F) -> F:
    """--to PORT (repeatable) and --all-tokens, as ``to`` and ``all_tokens``."""
    f = click.option(
        "--all-tokens",
        is_flag=True,
        help="Write to every token found (on USB, and running `otpfob sim`s), the same account on each.",
    )(f)
    return click.option(
        "--to",
        "to",
        multiple=True,
        metavar="PORT",
        help="A token's port to write to; give it once per token to enrol several at once (the first one's codes"
        " are used where codes are needed).",
    )(f)


def backup_options(f: F) -> F:
    """--backup FILE and --backup-password-stdin, as ``backup_path`` and ``backup_password_stdin``."""
    f = click.option(
        "--backup-password-stdin",
        is_flag=True,
        help="Read the backup's password from a line of standard input (after the access password's line when"
        " --password-stdin is given too).",
    )(f)
    return click.option(
        "--backup",
        "backup_path",
        metavar="FILE",
        help="Also add the account to this password-encrypted backup file (PSKC; made if missing); restore it with"
        " `otpfob import FILE`.",
    )(f)


def _same_port(a: str, b: str) -> bool:
    return os.path.realpath(a) == os.path.realpath(b)


def target_ports(to: tuple[str, ...], all_tokens: bool) -> list[str] | None:
    """The ports --to or --all-tokens name (None: neither, the usual one token)."""
    if to and all_tokens:
        raise InputError("Give --to PORT for each token, or --all-tokens, not both.")
    if all_tokens:
        ports = [c.device for c in discover.candidates()]
        if not ports:
            raise CliError(
                "No otpfob token was found for --all-tokens (none on USB, no `otpfob sim` running); plug them in."
            )
    elif to:
        ports = list(to)
    else:
        return None
    unique: list[str] = []
    for port in ports:
        if any(_same_port(port, seen) for seen in unique):
            raise InputError(f"The port {port} is named twice; give each token once.")
        unique.append(port)
    return unique


def open_targets(to: tuple[str, ...], all_tokens: bool) -> list[Target]:
    """The tokens to write to, each opened, unlocked and its state read."""
    state = current()
    ports = target_ports(to, all_tokens)
    if ports is None:
        session = state.session()
        session.handshake()
        return [Target(state.find_port(), session)]
    state.port = ports[0]
    targets = [Target(ports[0], state.session())]
    ctx = click.get_current_context()
    for port in ports[1:]:
        other = CliState(port, state.password, password_from=state.password_from)
        ctx.call_on_close(other.close)
        targets.append(Target(port, other.session()))
    for t in targets:
        t.session.handshake()
    return targets


def open_backup(path: str | None, from_stdin: bool) -> BackupFile | None:
    """The --backup file, its password asked (twice for a new file) or read
    from stdin, and checked against the file before any token is touched."""
    if path is None:
        if from_stdin:
            raise InputError("--backup-password-stdin is for --backup FILE; give the file too.")
        return None
    where = Path(path)
    new = not (where.exists() or where.is_symlink())
    if from_stdin:
        password = read_stdin_line("the backup password (--backup-password-stdin)")
    else:
        if new and interactive():
            click.echo(
                f"{path} is a new backup: choose a password for it (not the token's access password, unless you"
                " mean to), at least 8 characters.",
                err=True,
            )
        password = prompt_password(
            f"Backup password for {path}",
            confirm=new,
            missing=f"Give the password for the backup {path} with --backup-password-stdin, or run this at a terminal.",
        )
    return BackupFile.open(where, password)


def describe(targets: list[Target]) -> str:
    ports = [t.port for t in targets]
    return ports[0] if len(ports) == 1 else ", ".join(ports[:-1]) + " and " + ports[-1]


def add_to_backup(saved: BackupFile, accounts: list[Account]) -> None:
    """Add ``accounts`` to the backup and say so; CliError in one sentence if it cannot be written."""
    try:
        count = saved.add(accounts)
    except OtpfobError as exc:
        raise CliError(f"The backup {saved.path} was not updated ({exc.message.rstrip('.')}).") from None
    click.echo(
        f"Added {len(accounts)} account{'s' if len(accounts) != 1 else ''} to the encrypted backup {saved.path}"
        f" ({count} in it now).",
        err=True,
    )


def save_backup(saved: BackupFile | None, accounts: list[Account], *, on_tokens: str, again: str) -> None:
    """Add ``accounts`` to the backup once the tokens hold them and checked
    them; ``again`` is the command that writes both after a failure here."""
    if saved is None or not accounts:
        return
    try:
        add_to_backup(saved, accounts)
    except CliError as exc:
        raise CliError(
            f"{on_tokens} now hold{'s' if ' and ' not in on_tokens else ''} the account"
            f"{'s' if len(accounts) != 1 else ''}, but {exc.message[0].lower()}{exc.message[1:].rstrip('.')};"
            f" fix that and run {again} to write both."
        ) from None
