# A fine sync and the drift correction (docs/protocol.md "Clock history and
# drift"), apart from fob.clock so the code is loaded only when the host
# syncs, not on every boot: the heap is the store's.
#
# The host first asks for the clock's next second (edge), which places the
# token's seconds on its own clock; then for a set ``edge_ms`` after the
# token's following second.  At that instant the token knows its own offset
# to a few ms (its second began ``edge_ms`` ago), so with the last fine set
# on record it can tell its oscillator's rate.

from fob import clocklog, proto
from fob.args import Reject, integer
from fob.ticks import ticks_add, ticks_diff

EDGE_LIMIT_MS = 1100  # the longest wait for the next second
KINDS = {clocklog.SET: "set", clocklog.JUMP: "jump", clocklog.STOP: "stop"}
MAX_OFFSET_S = 1_000_000  # an offset is kept when smaller (small ints)


def _flag(args, name):
    v = args.get(name, False)
    if not isinstance(v, bool):
        raise Reject(proto.E_ARG, "%s must be true or false." % name)
    return v


def time_get(clock, args):
    """The time_get op: with ``edge``, answered just after the next second."""
    if _flag(args, "edge"):
        state, t, ms = edge(clock)
        return {"time": t, "clock": state, "ms": ms}
    state, t = clock.peek()
    return {"time": t, "clock": state}


def time_set(clock, args):
    """The time_set op: at once, or (``edge_ms``) a fine sync that may
    ``calibrate``."""
    from fob.clock import MAX_TIME, MIN_TIME

    t = integer(args, "time", MIN_TIME, MAX_TIME)
    edge_ms = args.get("edge_ms")
    if edge_ms is not None:
        edge_ms = integer(args, "edge_ms", 0, proto.MAX_EDGE_MS)
    calibrate = _flag(args, "calibrate")
    offset_ms = None
    calibrated = saturated = False
    if edge_ms is None:
        previous = clock.set(t)
    else:
        previous, offset_ms, calibrated, saturated = fine_set(clock, t, edge_ms, calibrate)
    state, now = clock.now()
    out = {
        "time": now,
        "clock": state,
        "previous": previous,
        "offset_ms": offset_ms,
        "calibrated": calibrated,
        "correction_ppb": clock.correction_ppb(),
    }
    log = clock.log
    if log is not None:
        out["rate_ppb"] = log.rate_ppb
        out["aging"] = log.aging if clock.has_aging else None
        out["saturated"] = saturated
    return out


def time_log(clock, items):
    """The time_log op: the history (``items`` streams the list, see
    fob.server) and the correction; reading it resets info's count."""
    log = clock.log
    if log is None:
        return {
            "events": [],
            "unread": 0,
            "next_seq": 0,
            "rate_ppb": 0,
            "correction_ppb": 0,
            "aging": None,
            "history": "none",
        }
    unread = log.unread
    try:
        log.rewrite(0, log.back)
    except OSError:
        pass  # still answered; info keeps counting
    return {
        "unread": unread,
        "next_seq": log.seq,
        "rate_ppb": log.rate_ppb,
        "correction_ppb": clock.correction_ppb(),
        "aging": log.aging if clock.has_aging else None,
        "history": "damaged" if log.damaged else "ok",
        "events": items(range(log.n), lambda i: describe(log, i)),
    }


def wait_edge(clock, limit_ms=EDGE_LIMIT_MS):
    """Wait for the RTC's next second; the ticks when it was seen (the last
    reading of the old second if it never came)."""
    rtc = clock.rtc
    second = getattr(rtc, "second", None)
    ticks = clock.ticks
    start = ticks()
    seen = None
    at = start
    while ticks_diff(ticks(), start) < limit_ms:
        try:
            s = second() if second is not None else rtc.read()[0]
        except (OSError, ValueError):
            break
        at = ticks()
        if seen is not None and s != seen:
            break
        seen = s
        clock.sleep(1)
    return at


def edge(clock):
    """(state, time, ms since that second began), just after the next second."""
    at = wait_edge(clock)
    state, t = clock.peek()
    return state, t, ticks_diff(clock.ticks(), at)


def fine_set(clock, t, edge_ms, calibrate):
    """Set ``t`` ``edge_ms`` after the clock's next second; learn the rate
    if ``calibrate`` and the history allows.  (previous, offset_ms,
    calibrated, saturated)."""
    if clock.rtc is None:
        raise OSError(19)
    at = ticks_add(wait_edge(clock), edge_ms)
    state, previous = clock.peek()  # the second that just began
    trusted = state == proto.CLOCK_OK
    offset_ms = None
    if previous is not None:
        d = previous - t
        if -MAX_OFFSET_S < d < MAX_OFFSET_S:
            offset_ms = d * 1000 + edge_ms
        previous += (edge_ms + 500) // 1000  # its reading at the write
    flags = clocklog.FINE
    rate = aging = None
    saturated = False
    if offset_ms is not None:
        flags |= clocklog.HAS_OFFSET
        if calibrate and trusted and clock.log is not None:
            rate = learn(clock, t, offset_ms)
    if rate is not None:
        flags |= clocklog.CALIBRATED
        aging = 0
        if clock.has_aging:
            from fob.drivers.ds3231 import AGING_MAX, PPB_PER_AGING

            half = PPB_PER_AGING // 2
            want = (rate + half) // PPB_PER_AGING if rate >= 0 else -((half - rate) // PPB_PER_AGING)
            aging = max(-AGING_MAX, min(AGING_MAX, want))
            saturated = aging != want
    clock.commit(t, previous, trusted, flags, offset_ms or 0, rate, aging, at)
    return previous, offset_ms, rate is not None, saturated


def learn(clock, t, offset_ms):
    """The oscillator's own rate (ppb, +: fast) from the offset now and the
    last set, or None: that set must be a fine one at least MIN_CALIBRATE_S
    ago with no move since (a jump or a stop makes the interval worthless)."""
    log = clock.log
    if not log.n or log.last_kind() != clocklog.SET:
        return None
    _, _, flags, _, since, _ = log.event(log.n - 1)
    elapsed = t - since
    if not flags & clocklog.FINE or elapsed < proto.MIN_CALIBRATE_S:
        return None
    # offset ms per elapsed s = 1e-3: ppb is offset_ms * 1e6 / elapsed
    # (a big int for a moment on 32-bit ports; this runs once per sync).
    observed = (offset_ms * 1_000_000 * 2 + elapsed) // (2 * elapsed)
    rate = observed + clock.correction_ppb()
    return max(-proto.MAX_RATE_PPB, min(proto.MAX_RATE_PPB, rate))


def describe(log, i):
    """History entry i as the time_log reply lists it."""
    seq, kind, flags, previous, new, offset_ms = log.event(i)
    d = {
        "seq": seq,
        "kind": KINDS.get(kind, "?"),
        "previous": previous or None,
        "new": new or None,
        "fine": bool(flags & clocklog.FINE),
        "calibrated": bool(flags & clocklog.CALIBRATED),
    }
    if flags & clocklog.HAS_OFFSET:
        d["offset_ms"] = offset_ms
    return d
