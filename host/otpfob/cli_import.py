"""`otpfob import`, and the QR image side of `otpfob provision --qr`: thin click code.

The decoding is in `qr.py` and `migration.py`, the loading in `importing.py`;
this module only reads files, shows lists and asks. Secrets are never shown:
the list has labels, issuers and types only.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from .cli_session import current, token_options
from .errors import CliError, InputError
from .names import quoted, shown
from .uri import HOTP, Account, parse_uri

if TYPE_CHECKING:
    from .codes import Check
    from .migration import Entry

# qr, migration and importing load zxing-cpp, Pillow and protobuf: imported
# where used, so the other commands start as fast as before.

MAX_INPUT = 64 * 1024 * 1024


def read_input(name: str) -> bytes:
    """The bytes of FILE, or of standard input for `-`."""
    if name == "-":
        return sys.stdin.buffer.read(MAX_INPUT + 1)
    path = Path(name)
    try:
        if path.stat().st_size > MAX_INPUT:
            raise InputError(f"{name} is over {MAX_INPUT // 2**20} MB; give a QR image or a text file of URIs.")
        return path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"There is no file {name}; check the path.") from None
    except IsADirectoryError:
        raise InputError(f"{name} is a folder; give the image or text file in it.") from None
    except PermissionError:
        raise InputError(f"{name} cannot be read (permission denied).") from None
    except OSError as exc:
        raise InputError(f"{name} cannot be read ({exc.strerror or type(exc).__name__}).") from None


def account_from_qr(name: str) -> Account:
    """The account in the QR code of the image FILE (`-`: stdin), for `provision --qr`."""
    from . import qr

    found = qr.read_qr(read_input(name))
    if found.kind == qr.EXPORT:
        raise InputError(
            f"This QR code is a phone-app export, which may hold many accounts; load it with `otpfob import {name}`."
        )
    return parse_uri(found.text)


def offer_delete(name: str, keep: bool | None, *, ask: bool = True) -> None:
    """After a good provision: delete the QR image (it holds the secret), keep it,
    or ask (at a terminal, unless ``ask`` is False). Notes go to stderr, so
    --json output stays JSON."""
    if name == "-":
        return
    if keep is None:
        if not ask or not sys.stdin.isatty():
            click.echo(
                f"The image {name} still holds the secret; delete it once you no longer need it (or add --delete-qr).",
                err=True,
            )
            return
        keep = not click.confirm(
            f"Delete {name}? It holds the secret, which is now on the token", default=True, err=True
        )
    if keep:
        click.echo(f"Kept {name}; it holds the secret, so keep it somewhere safe or delete it.", err=True)
        return
    try:
        os.remove(name)
    except OSError as exc:
        raise CliError(
            f"The account is on the token, but {name} could not be deleted ({exc.strerror or type(exc).__name__});"
            " delete it yourself."
        ) from None
    click.echo(f"Deleted {name}.", err=True)


def _table(entries: list[Entry], notes: dict[int, str]) -> None:
    rows = [("#", "LABEL", "ISSUER", "TYPE", "ALGORITHM", "DIGITS", "NOTE")]
    for n, e in enumerate(entries, 1):
        rows.append(
            (
                str(n),
                shown(e.label) or "-",
                shown(e.issuer) or "-",
                e.type,
                e.algorithm,
                str(e.digits or "?"),
                notes.get(n, ""),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip())


def parse_choice(text: str, count: int) -> list[int]:
    """1-based numbers from "1,3-5" or "all"; InputError on anything else."""
    text = text.strip().lower()
    if text in ("all", "a", "*"):
        return list(range(1, count + 1))
    chosen: list[int] = []
    for part in text.replace(" ", ",").split(","):
        if not part:
            continue
        lo, sep, hi = part.partition("-")
        try:
            a = int(lo)
            b = int(hi) if sep else a
        except ValueError:
            raise InputError("Give numbers from the list, like 1,3-5, or all.") from None
        if not 1 <= a <= b <= count:
            raise InputError(f"Give numbers from 1 to {count}.")
        chosen.extend(i for i in range(a, b + 1) if i not in chosen)
    return chosen


def _loaded_line(acct: Account, check: Check) -> str:
    ref = "pyotp" if check.source == "pyotp" else "the RFC algorithm"
    kind = "HOTP" if acct.type == HOTP else f"TOTP {acct.period} s"
    issuer = f" ({shown(acct.issuer)})" if acct.issuer else ""
    return (
        f"Loaded {quoted(acct.label)}{issuer}, {kind}, {acct.algorithm}, {acct.digits} digits: its code matches {ref}."
    )


@click.command("import")
@click.argument("sources", metavar="FILE|-", nargs=-1, required=True)
@click.option("--all", "load_all", is_flag=True, help="Load every account listed, without asking.")
@click.option("--force", is_flag=True, help="Replace accounts of the same label already on the token.")
@click.option(
    "--keep-qr/--delete-qr",
    "keep_qr",
    default=None,
    help="After loading, keep or delete the image files (default: ask in a terminal).",
)
@token_options()
def import_command(sources: tuple[str, ...], load_all: bool, force: bool, keep_qr: bool | None) -> None:
    """Load accounts from a phone-app export QR code or a list of otpauth:// URIs.

    FILE is a QR image (PNG, JPEG) or a text file; `-` reads standard input.
    Google Authenticator's "Transfer accounts" QR codes
    (otpauth-migration://offline?data=...) are read, and so is text with
    one otpauth:// URI (or otpauth-migration:// export) per line. An export
    split over several QR codes needs all of them: give every file.

    The accounts are listed first (labels, issuers and types; never
    secrets). Then the ones chosen, or all with --all, are loaded and each
    is checked against pyotp. Accounts the token cannot hold (MD5, unusual
    digit counts), labels already on the token (unless --force) and those
    past a full token are skipped, with the reason.

    \b
    Examples:
      otpfob import export.png
      otpfob import export-1.png export-2.png export-3.png --all
      otpfob import accounts.txt --all --force
      otpfob import - --all < uris.txt     # one otpauth:// URI a line
    """
    from . import importing, migration, qr

    if sources.count("-") > 1:
        raise InputError("Standard input can be read only once; give `-` once.")
    blobs = [read_input(s) for s in sources]
    images = [s for s, b in zip(sources, blobs, strict=True) if s != "-" and qr.looks_like_image(b)]
    entries = migration.read_sources(blobs)
    session = current().session()
    info = session.handshake()
    on_token = session.list_accounts()
    todo = importing.plan(entries, on_token, force=force, capacity=info.capacity)

    skipped = {id(e): why for e, why in todo.skipped}
    notes = {n: "skipped: " + skipped[id(e)] for n, e in enumerate(entries, 1) if id(e) in skipped}
    for n, e in enumerate(entries, 1):
        if e.account is not None and e.account.label in todo.replace and id(e) not in skipped:
            notes[n] = "replaces the token's account"
    click.echo(f"Found {len(entries)} account{'s' if len(entries) != 1 else ''} (secrets are never shown):")
    _table(entries, notes)
    loadable = [n for n, e in enumerate(entries, 1) if id(e) not in skipped]
    if not loadable:
        raise CliError("None of the accounts can be loaded (see the NOTE column); nothing was changed.")

    if not load_all:
        if "-" in sources or not sys.stdin.isatty():
            raise CliError("Add --all to load the accounts listed, or run this in a terminal to pick them.")
        picked = parse_choice(
            click.prompt("Load which accounts? Numbers like 1,3-5, or all", default="all", err=True), len(entries)
        )
        bad = [n for n in picked if n not in loadable]
        if bad:
            raise InputError(f"Account {bad[0]} is skipped (see its NOTE) and cannot be loaded; pick others.")
        keep = {id(entries[n - 1].account) for n in picked}
        todo.load = [a for a in todo.load if id(a) in keep]
        if not todo.load:
            raise CliError("No account was picked; nothing was changed.")

    loaded = importing.load(session, todo, on_loaded=lambda a, c: click.echo(_loaded_line(a, c)))
    not_picked = len(loadable) - len(loaded)
    click.echo(
        f"Loaded {len(loaded)} account{'s' if len(loaded) != 1 else ''}"
        + (f"; skipped {len(todo.skipped)} (see the NOTE column)" if todo.skipped else "")
        + (f"; {not_picked} not picked" if not_picked else "")
        + "."
    )
    for name in images:
        offer_delete(name, keep_qr)
