# The clock's history on flash (clocklog.dat): the last MAX_EVENTS moves of
# the clock, and the drift correction learnt from two syncs.
#
# Every time_set, every jump the clock detects and every oscillator stop is
# appended (fob.clock), so a clock moved forward to harvest future codes and
# moved back again stays visible (docs/protocol.md "Clock history").  Events
# are numbered (seq) from the token's first event on; a reader sees no number
# twice and can tell how many fell out of the ring.  The file is written whole
# through fob.safefile, like the store: a power cut leaves the old history or
# the new one.  No file means an empty history; a damaged one reads as empty
# (``damaged``) and the next event starts a new one, its numbers going on
# from the highest the token can still know (0).
#
# Layout: header _HEAD, then ``n`` entries _ENTRY, oldest first; the CRC-32
# trailer is safefile's.

import struct

from fob.safefile import SafeFile, trailer_ok

FILE = "clocklog.dat"
MAX_EVENTS = 16
MAX_UNREAD = 255

SET = 1  # time_set over the serial link
JUMP = 2  # the clock moved against the ticks while running (fob.clock)
STOP = 3  # the oscillator stopped (DS3231 OSF) or the time was never set

# Entry flags
FINE = 0x01  # a set on an agreed instant (docs/protocol.md): good to ~50 ms
HAS_OFFSET = 0x02  # offset_ms holds the host's measured offset before the set
CALIBRATED = 0x04  # the set applied a new drift correction

_MAGIC = b"CL"
_VERSION = 1
# magic, version, entries, unread, next seq, rate_ppb (learnt), aging
# register (DS3231), back (seconds the clock was last set back by, for the
# screen's notice; 0: none), anchor (the time the firmware correction counts from)
_HEAD = "<2sBBBIibII"
_HEAD_LEN = struct.calcsize(_HEAD)
# seq, kind, flags, previous time (0: unknown), new time (0: unknown), offset_ms
_ENTRY = "<IBBIIi"
ENTRY_LEN = struct.calcsize(_ENTRY)


def _check(path):
    with open(path, "rb") as f:
        data = f.read()
    _parse(data)


def _parse(data):
    if not trailer_ok(data) or len(data) < _HEAD_LEN + 4:
        raise ValueError("clocklog")
    head = struct.unpack_from(_HEAD, data, 0)
    if head[0] != _MAGIC or head[1] != _VERSION or head[2] > MAX_EVENTS:
        raise ValueError("clocklog")
    if len(data) != _HEAD_LEN + head[2] * ENTRY_LEN + 4:
        raise ValueError("clocklog")
    return head


class ClockLog:
    """The history ring and the calibration, as kept on flash."""

    def __init__(self, directory=""):
        self.path = directory + FILE
        self._file = SafeFile(self.path, _check, bytearray(64))
        self._ring = bytearray(MAX_EVENTS * ENTRY_LEN)
        self.n = 0
        self.unread = 0
        self.seq = 0  # the next event's number
        self.rate_ppb = 0  # the oscillator's learnt rate error (+: runs fast)
        self.aging = 0  # DS3231 aging offset applied (LSB ~0.1 ppm, +: slower)
        self.back = 0  # last move back (s) not yet shown on screen; 0: none
        self.anchor = 0  # time of the last set: the firmware correction counts from it
        self.damaged = False
        self.load()

    def load(self):
        self.n = 0
        self.damaged = False
        data = self._file.read()
        if data is None:
            return  # no history yet
        try:
            head = _parse(data)
        except ValueError:
            self.damaged = True
            return
        _, _, self.n, self.unread, self.seq, self.rate_ppb, self.aging, self.back, self.anchor = head
        self._ring[: self.n * ENTRY_LEN] = memoryview(data)[_HEAD_LEN : _HEAD_LEN + self.n * ENTRY_LEN]

    def _save(self, n, unread, seq, rate_ppb, aging, back, anchor, ring):
        head = struct.pack(_HEAD, _MAGIC, _VERSION, n, unread, seq, rate_ppb, aging, back, anchor)
        try:
            self._file.write((head, memoryview(ring)[: n * ENTRY_LEN]))
        except ValueError:
            raise OSError(5)  # read back wrong: a flash fault, nothing adopted
        if ring is not self._ring:
            self._ring[: n * ENTRY_LEN] = memoryview(ring)[: n * ENTRY_LEN]
        self.n, self.unread, self.seq = n, unread, seq
        self.rate_ppb, self.aging, self.back, self.anchor = rate_ppb, aging, back, anchor
        self.damaged = False

    # ---- reading -------------------------------------------------------------
    def last_kind(self):
        if not self.n:
            return 0
        return self._ring[(self.n - 1) * ENTRY_LEN + 4]

    def event(self, i):
        """(seq, kind, flags, previous, new, offset_ms) of entry i, oldest first."""
        return struct.unpack_from(_ENTRY, self._ring, i * ENTRY_LEN)

    # ---- writing (each one flash write) -------------------------------------
    def append(self, kind, previous, new, flags=0, offset_ms=0, rate_ppb=None, aging=None, back=None, anchor=None):
        """Add an event (dropping the oldest past MAX_EVENTS) and, given,
        the new calibration and notice, in one crash-safe write.
        OSError: the flash failed and nothing changed."""
        ring = bytearray(self._ring)  # the RAM copy changes only once written
        n = self.n
        if n == MAX_EVENTS:
            ring[: (n - 1) * ENTRY_LEN] = memoryview(self._ring)[ENTRY_LEN : n * ENTRY_LEN]
            n -= 1
        struct.pack_into(_ENTRY, ring, n * ENTRY_LEN, self.seq, kind, flags, previous or 0, new or 0, offset_ms)
        self._save(
            n + 1,
            min(self.unread + 1, MAX_UNREAD),
            self.seq + 1,
            self.rate_ppb if rate_ppb is None else rate_ppb,
            self.aging if aging is None else aging,
            self.back if back is None else back,
            self.anchor if anchor is None else anchor,
            ring,
        )

    def rewrite(self, unread, back):
        """The same history with a new unread count (0: the host read it)
        and notice (0: the screen showed it); no write when unchanged."""
        if unread != self.unread or back != self.back:
            self._save(self.n, unread, self.seq, self.rate_ppb, self.aging, back, self.anchor, self._ring)
