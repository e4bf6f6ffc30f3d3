"""The token's clock seen from the host: a fine sync, the clock history,
the drift correction and what to expect from it.

Library code (no click, no printing), on a `Session`.  A fine sync sets
the token's RTC on an instant both sides know (docs/protocol.md "Clock
history"): the host first asks for the token's next second (``time_get``
with ``edge``), which places the token's seconds on the host's clock to a
few ms, then asks it to write the time ``edge_ms`` after its following
second begins, choosing ``edge_ms`` so that the write falls on one of the
host's whole seconds.  The DS3231 starts counting that second at the write,
so the sync is good to the reply's transit time, not to a whole second.
With ``calibrate`` the token learns its oscillator's rate from the offset
it sees at the write and its last fine sync, and corrects it (its DS3231's
aging register, or in firmware) - see firmware/fob/clockfine.py.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fob import proto

from .session import Session

STEP_S = 30  # a TOTP step: a service accepts about one step of skew
LEAD_S = 0.3  # room for the token's history write between its second and the write
EDGE_TIMEOUT = 8.0  # the token waits up to 1.1 s for its second, and up to 2 s more in a set
EDGE_SAMPLES = 3  # seconds watched to place the token's second on the host's clock
SYNC_PRECISION_S = 0.05  # what a fine sync is good to (docs/reliability.md "Clock")


@dataclass
class ClockEvent:
    seq: int
    kind: str  # set | jump | stop
    previous: int | None  # the token's time before the move (None: unknown)
    new: int | None  # its time after (None: unknown, a stop)
    fine: bool = False  # a set on an agreed instant
    calibrated: bool = False  # the set learnt a new rate
    offset_ms: int | None = None  # the token's offset at a fine set (+: it was ahead)

    @property
    def moved(self) -> int | None:
        """Seconds the clock moved (+: forward), when both ends are known."""
        if self.previous is None or self.new is None:
            return None
        return self.new - self.previous


@dataclass
class ClockHistory:
    events: list[ClockEvent]
    unread: int  # moves since the history was last read (reading it resets this)
    next_seq: int
    rate_ppb: int  # the oscillator's learnt rate error (+: runs fast), 0: none learnt
    correction_ppb: int  # the correction in effect
    aging: int | None  # the DS3231's aging offset, None without one
    state: str = "ok"  # ok | damaged | none (firmware without a history)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def lost(self) -> int:
        """Events that fell out of the ring before the oldest one shown."""
        return self.events[0].seq if self.events else self.next_seq

    def taken_back(self) -> list[tuple[ClockEvent, ClockEvent]]:
        """Each set that moved the clock forward by more than a step,
        paired with a later set that moved it back by more than a step:
        the trace of someone reading codes of the future."""
        pairs = []
        for i, fwd in enumerate(self.events):
            if fwd.kind != "set" or (fwd.moved or 0) <= STEP_S:
                continue
            for back in self.events[i + 1 :]:
                if back.kind == "set" and (back.moved or 0) < -STEP_S:
                    pairs.append((fwd, back))
                    break
        return pairs

    def expected_error_s(self, days: float) -> float | None:
        """Expected error after ``days`` from a fine sync: what is left of
        the rate after the correction (the DS3231's 0.1 ppm steps, or a
        rate beyond its range), plus the sync's own precision.  None before
        a rate was learnt."""
        if not self.rate_ppb and not any(e.calibrated for e in self.events):
            return None
        residual = abs(self.rate_ppb - self.correction_ppb)
        return residual * 1e-9 * days * 86400 + SYNC_PRECISION_S


@dataclass
class SyncResult:
    unix: int  # the time the token was set to
    clock: str
    previous: int | None
    offset_ms: int | None  # the token's offset just before (+: it was ahead)
    calibrated: bool
    rate_ppb: int | None
    correction_ppb: int
    aging: int | None
    saturated: bool
    fine: bool


def read_history(session: Session) -> ClockHistory:
    """The token's clock history (and it counts as read: `info` starts
    counting moves again from zero)."""
    r = session.request(proto.OP_TIME_LOG)
    events = []
    for e in r.get("events") or []:
        off = e.get("offset_ms")
        events.append(
            ClockEvent(
                seq=int(e["seq"]),
                kind=str(e.get("kind", "?")),
                previous=e.get("previous"),
                new=e.get("new"),
                fine=bool(e.get("fine")),
                calibrated=bool(e.get("calibrated")),
                offset_ms=int(off) if off is not None else None,
            )
        )
    known = ("v", "id", "ok", "events", "unread", "next_seq", "rate_ppb", "correction_ppb", "aging", "history")
    return ClockHistory(
        events=events,
        unread=int(r.get("unread") or 0),
        next_seq=int(r.get("next_seq") or 0),
        rate_ppb=int(r.get("rate_ppb") or 0),
        correction_ppb=int(r.get("correction_ppb") or 0),
        aging=r.get("aging"),
        state=str(r.get("history", "ok")),
        extra={k: v for k, v in r.items() if k not in known},
    )


def measure_offset(
    session: Session,
    now: Callable[[], float] = time.time,
    samples: int = EDGE_SAMPLES,
    timeout: float = EDGE_TIMEOUT,
) -> tuple[str, float | None, float]:
    """(clock state, the token's offset in s (+: ahead) or None, the host
    time at which its last seen second began), from the instants its next
    seconds begin.  A reply can only come late, never early, so of several
    samples the one that makes the token furthest ahead is the truest."""
    best: float | None = None
    state = "?"
    last_t: int | None = None
    for _ in range(max(1, samples)):
        r = session.request(proto.OP_TIME_GET, {"edge": True}, timeout=timeout)
        edge = now() - int(r.get("ms") or 0) / 1000
        state = str(r.get("clock", "?"))
        t = r.get("time")
        if not isinstance(t, int):
            return state, None, edge
        last_t = t
        if best is None or t - edge > best:
            best = t - edge
    assert best is not None and last_t is not None
    return state, best, last_t - best


def sync(
    session: Session,
    *,
    now: Callable[[], float] = time.time,
    calibrate: bool = True,
    timeout: float = EDGE_TIMEOUT,
) -> SyncResult:
    """Set the token's clock to this computer's on an agreed instant
    (module docstring); the token learns its rate when it can.  ``timeout``:
    per request (an emulated token under load runs slower than a board)."""
    _, _, edge = measure_offset(session, now, timeout=timeout)
    # The token reads the request well within the second after that edge,
    # so the next one it waits for begins at edge + 1 on this clock.
    after = edge + 1.0
    target = math.ceil(after + LEAD_S)
    edge_ms = round((target - after) * 1000)
    r = session.request(
        proto.OP_TIME_SET,
        {"time": int(target), "edge_ms": edge_ms, "calibrate": calibrate},
        timeout=timeout,
    )
    return _result(r, target, fine=True)


def set_coarse(session: Session, unix: int) -> SyncResult:
    """Set the token's clock at once to ``unix`` (a chosen time, not a sync)."""
    r = session.request(proto.OP_TIME_SET, {"time": int(unix)})
    return _result(r, unix, fine=False)


def _result(r: dict[str, Any], target: int, *, fine: bool) -> SyncResult:
    t = r.get("time", target)
    off = r.get("offset_ms")
    rate = r.get("rate_ppb")
    return SyncResult(
        unix=int(t) if t is not None else int(target),
        clock=str(r.get("clock", proto.CLOCK_OK)),
        previous=r.get("previous"),
        offset_ms=int(off) if off is not None else None,
        calibrated=bool(r.get("calibrated")),
        rate_ppb=int(rate) if rate is not None else None,
        correction_ppb=int(r.get("correction_ppb") or 0),
        aging=r.get("aging"),
        saturated=bool(r.get("saturated")),
        fine=fine,
    )
