"""The same change on several tokens, one token after the other, and what to say when one fails.

A backup token only helps if it holds exactly what the first one holds, so
`on_each` runs one step (add and check an account, load a batch) on each
token in turn. When a token fails (an error reply, a mismatch, a token
pulled out), what was done on the tokens before it is undone where that is
possible (``undo``), and the error names every token and what it holds:
undone, still holding it, failed, or not tried. The tokens are opened,
unlocked and asked for their state before anything is written, so a token
that is missing at the start changes nothing anywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from .errors import OtpfobError, TransportError
from .session import Session

T = TypeVar("T")


@dataclass
class Target:
    """One token of several: its port (for messages) and its session."""

    port: str
    session: Session


@dataclass
class Done(Generic[T]):
    target: Target
    result: T


class FleetError(OtpfobError):
    """A step failed on one token; the message says what every token holds."""

    def __init__(self, message: str, holding: list[str], failed: str, untouched: list[str]) -> None:
        super().__init__(message)
        self.holding = holding  # ports that hold the change
        self.failed = failed  # the port it failed on
        self.untouched = untouched  # ports not tried, or where it was undone


def _ports(ports: Sequence[str]) -> str:
    if len(ports) <= 1:
        return "".join(ports)
    return ", ".join(ports[:-1]) + " and " + ports[-1]


def why(exc: BaseException) -> str:
    """An error as a clause, for "stopped at PORT (why)"."""
    if isinstance(exc, OtpfobError):
        return exc.message.rstrip(".")
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    return f"failed unexpectedly ({type(exc).__name__})"


def default_holds(target: Target, exc: BaseException, what: str) -> str:
    """What the failing token holds: not the change after an error reply; not
    known when the link to it broke (the request may have reached it)."""
    if isinstance(exc, TransportError):
        return f"whether it took {what} is not known (see `otpfob list --port {target.port}` once it is back)"
    return f"{what} is not on it"


def on_each(
    targets: Sequence[Target],
    step: Callable[[Target], T],
    *,
    what: str,
    undo: Callable[[Target, T], None] | None = None,
    failed_holds: Callable[[Target, BaseException], str] | None = None,
) -> list[Done[T]]:
    """Run ``step`` on each target in order; the results, in order.

    On a failure, ``undo`` (if given) is run on each target done so far,
    last first, and FleetError says, for ``what`` (e.g. "the account
    'alice'"), which tokens hold it and which do not. ``failed_holds(target,
    exc)`` says what the failing token holds (default: `default_holds`).
    """
    done: list[Done[T]] = []
    for n, target in enumerate(targets):
        try:
            done.append(Done(target, step(target)))
        except (OtpfobError, KeyboardInterrupt) as exc:
            if len(targets) == 1:
                raise
            raise _failed(exc, target, done, list(targets[n + 1 :]), what, undo, failed_holds) from None
    return done


def _failed(
    exc: BaseException,
    target: Target,
    done: list[Done[T]],
    rest: list[Target],
    what: str,
    undo: Callable[[Target, T], None] | None,
    failed_holds: Callable[[Target, BaseException], str] | None,
) -> FleetError:
    holding: list[str] = []
    undone: list[str] = []
    for d in reversed(done):
        if undo is None:
            holding.insert(0, d.target.port)
            continue
        try:
            undo(d.target, d.result)
            undone.insert(0, d.target.port)
        except (OtpfobError, KeyboardInterrupt):
            holding.insert(0, d.target.port)
    unknown = isinstance(exc, TransportError)
    at = failed_holds(target, exc) if failed_holds is not None else default_holds(target, exc, what)
    if not done:  # nothing was changed before it: the token's own error says it all
        parts = [why(exc)]
    else:
        parts = [f"Stopped at {target.port} ({why(exc)})" + (f": {at}" if at else "")]
    if undone:
        parts.append(f"{what} was removed again from {_ports(undone)}")
    if holding:
        parts.append(f"{_ports(holding)} {'holds' if len(holding) == 1 else 'hold'} {what}")
    if rest:
        parts.append(f"{_ports([t.port for t in rest])} {'was' if len(rest) == 1 else 'were'} not changed")
    if done and not holding:
        parts.append("so no other token holds it" if unknown else "so no token holds it")
    return FleetError("; ".join(parts) + ".", holding, target.port, undone + [t.port for t in rest])
