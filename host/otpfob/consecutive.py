"""Two consecutive codes, as AWS and others ask for when an MFA device is set up
or resynchronised.

The token computes both, each at its own time when asked: the first now, the
second once the token's clock has entered the next period. The host only
waits; it never asks the token for a code of a time that has not come (the
protocol has no way to, and a token that gave out future codes would hand an
attacker tomorrow's logins). The wait is measured from the time the token
reported with the first code, so a token whose clock is off from this
computer's still gives two codes of adjacent periods. For HOTP the two codes
are simply those of the next two counters.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from fob import proto

from .errors import TokenError
from .session import AccountInfo, Code, Session
from .uri import HOTP

MARGIN = 0.25  # seconds past the token's period boundary before asking again
ATTEMPTS = 4  # tries for the second code before giving up (a clock running slow, a stalled link)


@dataclass
class TwoCodes:
    first: Code
    second: Code


def _token_time(session: Session, code: Code) -> int:
    if code.time is not None:
        return code.time
    t = session.time_get().unix
    if t is None:
        raise TokenError(proto.E_CLOCK, "The token's clock is not set; set it with `otpfob time --set`.")
    return t


def two_codes(
    session: Session,
    account: AccountInfo,
    *,
    on_first: Callable[[Code], None] | None = None,
    on_wait: Callable[[int], None] | None = None,
    on_touch: Callable[[], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> TwoCodes:
    """The code of ``account`` now and the one of the next period (HOTP: counter).

    ``on_first(code)`` is called as soon as the first code is known,
    ``on_wait(seconds_left)`` about once a second while waiting, and
    ``on_touch()`` before each request for an account that needs a button press.
    """

    def ask() -> Code:
        if account.touch and on_touch is not None:
            on_touch()
        return session.code(account.label, account.issuer, touch=account.touch)

    first = ask()
    if on_first is not None:
        on_first(first)
    if account.type == HOTP:
        return TwoCodes(first, ask())
    period = account.period
    first_step = _token_time(session, first) // period
    latest, latest_at = first, clock()
    for _ in range(ATTEMPTS):
        # The token's clock read `latest.time` (whole seconds, rounded down)
        # at `latest_at` or a little before, so it reaches the boundary at
        # the latest this long after it.
        wait = (first_step + 1) * period - _token_time(session, latest) + MARGIN
        deadline = latest_at + wait
        while (left := deadline - clock()) > 0:
            if on_wait is not None:
                on_wait(max(1, math.ceil(left - MARGIN)))
            sleep(min(1.0, left))
        latest = ask()
        latest_at = clock()
        step = _token_time(session, latest) // period
        if step == first_step + 1:
            return TwoCodes(first, latest)
        if step > first_step + 1:
            # The wait overran a whole period (a stalled link, a slow button
            # press): the two are not adjacent; start again from this one.
            first, first_step = latest, step
            if on_first is not None:
                on_first(first)
    raise TokenError(
        proto.E_INTERNAL,
        "The token did not give codes of two consecutive periods; check its clock with `otpfob time` and try again.",
    )
