"""`otpfob import`, and the QR image side of `otpfob provision --qr`: thin click code.

The decoding is in `qr.py` and `migration.py`, the loading in `importing.py`;
this module only reads files, shows lists and asks. Secrets are never shown:
the list has labels, issuers and types only.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from fob import proto

from .. import fleet
from ..errors import CliError, InputError
from ..files import read_user_file
from ..names import quoted, shown
from ..uri import HOTP, TOTP, Account, parse_uri
from .context import F, prompt_password, read_stdin_line, token_options
from .targets import backup_options, describe, open_backup, open_targets, save_backup, several_tokens_options
from .util import account_name, ask_touch

if TYPE_CHECKING:
    from ..codes import Check
    from ..migration import Entry

# qr, migration and importing load zxing-cpp, Pillow and protobuf: imported
# where used, so the other commands start as fast as before.

MAX_INPUT = 64 * 1024 * 1024


def keep_qr_option(help: str) -> Callable[[F], F]:
    """--keep-qr/--delete-qr: what to do with QR images, which hold secrets, once loaded."""
    return click.option("--keep-qr/--delete-qr", "keep_qr", default=None, help=help)


def read_input(name: str) -> bytes:
    """The bytes of FILE, or of standard input for `-`."""
    if name == "-":
        return sys.stdin.buffer.read(MAX_INPUT + 1)
    return read_user_file(
        Path(name),
        folder_hint="give the image or text file in it",
        limit=MAX_INPUT,
        too_big=f"{name} is over {MAX_INPUT // 2**20} MB; give a QR image or a text file of URIs.",
    )


def account_from_qr(name: str) -> Account:
    """The account in the QR code of the image FILE (`-`: stdin), for `provision --qr`."""
    from .. import qr

    found = qr.read_qr(read_input(name))
    if found.kind == qr.EXPORT:
        raise InputError(
            f"This QR code is a phone-app export, which may hold many accounts; load it with `otpfob import {name}`."
        )
    return parse_uri(found.text)


def offer_delete(name: str, keep: bool | None, *, ask: bool = True, missing: int = 0) -> None:
    """After a good provision: delete the QR image (it holds the secret), keep it,
    or ask (at a terminal, unless ``ask`` is False). ``missing``: how many of
    its accounts are not on the token; then keeping it is the default. Notes
    go to stderr, so --json output stays JSON."""
    if name == "-":
        return
    if keep is None:
        if not ask or not sys.stdin.isatty():
            click.echo(
                f"The image {name} still holds the secret; delete it once you no longer need it (or add --delete-qr).",
                err=True,
            )
            return
        if missing:
            question = (
                f"Delete {name}? It holds the secrets, and {missing} of its accounts are not on the token"
                " (keep it to load them later)"
            )
        else:
            question = f"Delete {name}? It holds the secret, which is now on the token"
        keep = not click.confirm(question, default=not missing, err=True)
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


def _pick(count: int, loadable: list[int]) -> list[int]:
    """Ask which of the ``count`` entries to load until the answer is good;
    "all" (the default) is every one not skipped."""
    question = "Load which accounts? Numbers like 1,3-5, or all"
    if len(loadable) < count:
        question += f" (all: the {len(loadable)} not skipped)"
    while True:
        answer = click.prompt(question, default="all", err=True)
        try:
            picked = parse_choice(answer, count)
        except InputError as exc:
            click.echo(exc.message, err=True)
            continue
        if answer.strip().lower() in ("all", "a", "*"):
            return loadable
        bad = [n for n in picked if n not in loadable]
        if not bad:
            return picked
        click.echo(f"Account {bad[0]} is skipped (see its NOTE) and cannot be loaded; pick others.", err=True)


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


def _loaded_line(acct: Account, check: Check, port: str = "") -> str:
    ref = "pyotp" if check.source == "pyotp" else "the RFC algorithm"
    kind = "HOTP" if acct.type == HOTP else f"TOTP {acct.period} s"
    issuer = f" ({shown(acct.issuer)})" if acct.issuer else ""
    on = f" on {port}" if port else ""
    return f"Loaded {quoted(acct.label)}{issuer}{on}, {kind}, {acct.algorithm}, {acct.digits} digits: its code matches {ref}."


def _pskc_entries(name: str, data: bytes, pskc_key: str | None, password_stdin: bool) -> list[Entry]:
    """The accounts of a PSKC file: an otpfob backup (its password asked, or
    a line of stdin), or a vendor's seed file, plain or under --pskc-key."""
    from .. import backup

    kind = backup.protection(data, name)
    password: str | None = None
    psk: bytes | None = None
    if kind == backup.PASSWORD:
        if password_stdin:
            password = read_stdin_line(f"the password of {name} (--pskc-password-stdin)")
        else:
            password = prompt_password(
                f"Password of {name}",
                missing=f"{name} is encrypted with a password; give it with --pskc-password-stdin, or run this at a"
                " terminal.",
            )
    elif kind == backup.PRESHARED and pskc_key is not None:
        psk = backup.parse_psk(pskc_key)
    elif pskc_key is not None:
        click.echo(f"Note: {name} is not encrypted with a pre-shared key, so --pskc-key was not used.", err=True)
    entries = backup.read(data, name, password=password, psk=psk).entries
    if kind == backup.PLAIN:
        click.echo(
            f"Note: {name} is not encrypted: anyone who can read it can read its secrets; delete it once loaded.",
            err=True,
        )
    return entries


def _entries(sources: tuple[str, ...], blobs: list[bytes], pskc_key: str | None, password_stdin: bool) -> list[Entry]:
    from .. import backup, migration

    pskc = [(s, b) for s, b in zip(sources, blobs, strict=True) if backup.looks_like_pskc(b)]
    if len(pskc) > 1 and password_stdin:
        raise InputError("--pskc-password-stdin reads one password; import one PSKC file at a time.")
    entries: list[Entry] = []
    for name, data in pskc:
        entries += _pskc_entries("standard input" if name == "-" else name, data, pskc_key, password_stdin)
    rest = [b for b in blobs if not backup.looks_like_pskc(b)]
    return entries + (migration.read_sources(rest) if rest else [])


@click.command("import")
@click.argument("sources", metavar="FILE|-", nargs=-1, required=True)
@click.option("--all", "load_all", is_flag=True, help="Load every account listed, without asking.")
@click.option("--force", is_flag=True, help="Replace accounts of the same issuer and label already on the token.")
@click.option(
    "--pskc-key",
    metavar="HEX",
    help="The pre-shared key (hex) of a vendor's PSKC file encrypted with one; the vendor sends it apart from the file.",
)
@click.option(
    "--pskc-password-stdin",
    is_flag=True,
    help="Read the password of a password-protected PSKC file (an otpfob backup) from a line of standard input (after the access and backup passwords' lines, when those are read from it too).",
)
@keep_qr_option("After loading, keep or delete the image files (default: ask in a terminal).")
@several_tokens_options
@backup_options
@token_options()
def import_command(
    sources: tuple[str, ...],
    load_all: bool,
    force: bool,
    pskc_key: str | None,
    pskc_password_stdin: bool,
    keep_qr: bool | None,
    to: tuple[str, ...],
    all_tokens: bool,
    backup_path: str | None,
    backup_password_stdin: bool,
) -> None:
    """Load accounts from a phone-app export QR code, a list of otpauth:// URIs, or a PSKC file.

    FILE is a QR image (PNG, JPEG), a text file or a PSKC file (RFC 6030);
    `-` reads standard input. Google Authenticator's "Transfer accounts"
    QR codes (otpauth-migration://offline?data=...) are read, and so is
    text with one otpauth:// URI (or otpauth-migration:// export) per line.
    An export split over several QR codes needs all of them: give every
    file.

    PSKC files are otpfob's own encrypted backups (`--backup FILE`; the
    password is asked for) and the seed files hardware-token vendors ship,
    in plaintext or encrypted with a pre-shared key given as --pskc-key
    HEX. A wrong password or key, a file that was changed or cut short, an
    algorithm other than TOTP or HOTP, or a secret longer than the token
    holds loads nothing.

    The accounts are listed first (labels, issuers and types; never
    secrets). Then the ones chosen, or all with --all, are loaded and each
    is checked against pyotp. Accounts the token cannot hold (MD5, unusual
    digit counts), labels already on the token (unless --force) and those
    past a full token are skipped, with the reason. With --to PORT for each
    token (or --all-tokens) the same accounts are loaded on every token.

    \b
    Examples:
      otpfob import export.png
      otpfob import export-1.png export-2.png export-3.png --all
      otpfob import accounts.txt --all --force
      otpfob import - --all < uris.txt     # one otpauth:// URI a line
      otpfob import ~/otp-backup.pskc --all     # restore a backup (asks its password)
      otpfob import tokens.pskc --pskc-key 12345678901234567890123456789012 --all
      otpfob import export.png --all --to /dev/ttyACM0 --to /dev/ttyACM1 --backup ~/otp-backup.pskc
    """
    from .. import importing, qr

    if sources.count("-") > 1:
        raise InputError("Standard input can be read only once; give `-` once.")
    saved = open_backup(backup_path, backup_password_stdin)
    blobs = [read_input(s) for s in sources]
    images = [s for s, b in zip(sources, blobs, strict=True) if s != "-" and qr.looks_like_image(b)]
    entries = _entries(sources, blobs, pskc_key, pskc_password_stdin)
    targets = open_targets(to, all_tokens)
    several = len(targets) > 1
    plans = [
        importing.plan(entries, t.session.list_accounts(), force=force, capacity=t.session.handshake().capacity)
        for t in targets
    ]
    # The same accounts go on every token: what any token skips is skipped on all.
    skipped: dict[int, str] = {}
    for t, todo in zip(targets, plans, strict=True):
        for e, why in todo.skipped:
            skipped.setdefault(id(e), why if not several or not e.account else f"{why} ({t.port})")
    notes = {n: "skipped: " + skipped[id(e)] for n, e in enumerate(entries, 1) if id(e) in skipped}
    for n, e in enumerate(entries, 1):
        if e.account is not None and id(e) not in skipped:
            name = account_name(e.account)
            replacing = [t.port for t, todo in zip(targets, plans, strict=True) if name in todo.replace]
            if replacing:
                notes[n] = "replaces the token's account" + (f" ({', '.join(replacing)})" if several else "")
    click.echo(f"Found {len(entries)} account{'s' if len(entries) != 1 else ''} (secrets are never shown):")
    _table(entries, notes)
    loadable = [n for n, e in enumerate(entries, 1) if id(e) not in skipped]
    if not loadable:
        raise CliError("None of the accounts can be loaded (see the NOTE column); nothing was changed.")
    keep = {id(entries[n - 1].account) for n in loadable}

    if not load_all:
        if "-" in sources or not sys.stdin.isatty():
            raise CliError("Add --all to load the accounts listed, or run this in a terminal to pick them.")
        picked = _pick(len(entries), loadable)
        keep = {id(entries[n - 1].account) for n in picked}
        if not keep:
            raise CliError("No account was picked; nothing was changed.")
    for todo in plans:
        todo.load = [a for a in todo.load if id(a) in keep]
    by_port = dict(zip((t.port for t in targets), plans, strict=True))
    if several and any(a.type == TOTP for a in plans[0].load):
        for t in targets:  # before any token is written: a token that cannot check them stops the whole import
            if t.session.handshake().clock != proto.CLOCK_OK:
                raise CliError(
                    f"The token on {t.port}'s clock is not set or not trusted, so no account could be checked on it;"
                    f" run `otpfob time --set --port {t.port}` first; no token was changed."
                )

    done = fleet.on_each(
        targets,
        lambda t: importing.load(
            t.session,
            by_port[t.port],
            on_loaded=lambda a, c: click.echo(_loaded_line(a, c, t.port if several else "")),
            on_touch=ask_touch,  # the token's touch_default made it a touch account
        ),
        what=f"the {len(keep)} account{'s' if len(keep) != 1 else ''} loaded",
        failed_holds=lambda _t, _exc: "",  # importing.load's own message says what that token holds
    )
    loaded = done[0].result
    save_backup(saved, loaded, on_tokens=describe(targets), again="this import again with --force")
    not_picked = len(loadable) - len(loaded)
    click.echo(
        f"Loaded {len(loaded)} account{'s' if len(loaded) != 1 else ''}"
        + (f" on each of {describe(targets)}" if several else "")
        + (f"; skipped {len(skipped)} (see the NOTE column)" if skipped else "")
        + (f"; {not_picked} not picked" if not_picked else "")
        + "."
    )
    for name in images:
        offer_delete(name, keep_qr, missing=len(entries) - len(loaded))
