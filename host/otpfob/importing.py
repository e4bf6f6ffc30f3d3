"""Loading many accounts at once (`otpfob import`): what to load, then loading it.

`plan()` decides, before anything is sent, which entries go on the token,
which replace an account already there (``force``) and which are skipped and
why (the token cannot hold it, an account of the same issuer and label
already on the token or twice in the input, no room left). `load()` then adds and checks one account at a time:
each is either on the token and checked against pyotp (or the RFC), or not
on it at all, and a failure stops the batch with `BatchError`, which names
the accounts that are on the token and those that are not. A replacement is
added under a temporary label and checked before the old account is
removed, so a failure never costs the account that was there.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from fob import proto

from .codes import Check
from .errors import OtpfobError, TokenError
from .migration import Entry
from .session import AccountInfo, Session, full_name
from .uri import TOTP, Account


@dataclass
class Plan:
    load: list[Account] = field(default_factory=list)  # in input order
    # `issuer:label` names in `load` that replace an account on the token
    replace: set[str] = field(default_factory=set)
    skipped: list[tuple[Entry, str]] = field(default_factory=list)  # entry, why


def plan(entries: list[Entry], on_token: list[AccountInfo], *, force: bool, capacity: int) -> Plan:
    """What to do with ``entries`` given what the token holds."""
    out = Plan()
    # An account is named by its issuer and label together: GitHub's and
    # Dropbox's alice@example.com are two accounts.
    there = {full_name(a.label, a.issuer) for a in on_token}
    seen: set[str] = set()
    room = capacity - len(on_token)
    for entry in entries:
        acct = entry.account
        if acct is None:
            out.skipped.append((entry, entry.problem))
            continue
        name = full_name(acct.label, acct.issuer)
        if name in seen:
            out.skipped.append((entry, "another account in the input has the same issuer and label"))
            continue
        seen.add(name)
        if name in there:
            if not force:
                out.skipped.append(
                    (entry, "an account with this issuer and label is on the token already (--force replaces it)")
                )
                continue
            if room < 1:  # the new one is added beside the old one while it is checked
                out.skipped.append(
                    (entry, "the token is full, and a replacement needs one free place while it is checked")
                )
                continue
            out.replace.add(name)
        else:
            if room < 1:
                out.skipped.append((entry, f"the token is full ({capacity} accounts)"))
                continue
            room -= 1
        out.load.append(acct)
    return out


class BatchError(OtpfobError):
    """Loading stopped part-way; the message says what is on the token and what is not."""

    def __init__(self, message: str, loaded: list[str], not_loaded: list[str]) -> None:
        super().__init__(message)
        self.loaded = loaded
        self.not_loaded = not_loaded


def _names(names: list[str]) -> str:
    return ", ".join(repr(x) for x in names) if names else "none"


def _name(acct: Account) -> str:
    return full_name(acct.label, acct.issuer)


def load(
    session: Session,
    todo: Plan,
    *,
    on_loaded: Callable[[Account, Check], None] | None = None,
    on_touch: Callable[[], None] | None = None,
) -> list[Account]:
    """Add and check each account of ``todo``; the accounts loaded, in order.

    An account that carries no touch choice (`Account.touch` None) gets the
    token's `touch_default`; ``on_touch()`` is called before the check of
    one that needs a press (to ask for it).

    Raises BatchError at the first failure (a mismatch, a token error, a
    lost connection), after undoing that one account.
    """
    if any(a.type == TOTP for a in todo.load) and session.handshake().clock != proto.CLOCK_OK:
        raise TokenError(
            proto.E_CLOCK,
            "The token's clock is not set or not trusted, so no account could be checked; nothing was loaded;"
            " run `otpfob time --set` first.",
        )
    done: list[Account] = []
    for n, acct in enumerate(todo.load):
        try:
            check = _load_one(session, acct, replacing=_name(acct) in todo.replace, on_touch=on_touch)
        except (OtpfobError, KeyboardInterrupt) as exc:
            why = exc.message.rstrip(".") if isinstance(exc, OtpfobError) else "interrupted"
            rest = [_name(a) for a in todo.load[n:]]
            raise BatchError(
                f"Loading stopped at {_name(acct)!r} ({why}); on the token now:"
                f" {_names([_name(a) for a in done])}; not loaded: {_names(rest)}.",
                [_name(a) for a in done],
                rest,
            ) from None
        done.append(acct)
        if on_loaded is not None:
            on_loaded(acct, check)
    return done


def _temp_label() -> str:
    return "otpfob-import-" + secrets.token_hex(4)


def _load_one(session: Session, acct: Account, *, replacing: bool, on_touch: Callable[[], None] | None = None) -> Check:
    target = replace(acct, label=_temp_label()) if replacing else acct
    touch = session.add(target)
    try:
        check = session.verify(replace(target, touch=touch), on_touch=on_touch)
        if not check.matches:
            raise OtpfobError("the token's code does not match the secret, so it was removed again")
        if replacing:
            session.delete(acct.label, acct.issuer)
    except BaseException as exc:
        try:
            session.delete(target.label, target.issuer)
        except Exception:  # the link is gone (a cut, an unplug): say what may be left
            if not replacing:
                raise
            why = exc.message.rstrip(".") if isinstance(exc, OtpfobError) else "interrupted"
            raise OtpfobError(
                f"{why}; its unchecked new copy may be left on the token as {_name(target)!r} beside the old"
                f" one: once the token answers, delete it with `otpfob delete {target.label}`"
            ) from None
        raise
    if replacing:
        try:
            session.rename(target.label, acct.label, issuer=acct.issuer)
        except OtpfobError:
            raise OtpfobError(
                f"the new account is on the token as {_name(target)!r} and the old one is gone; rename it with"
                f" `otpfob rename {_name(target)} {acct.label}`"
            ) from None
    return check
