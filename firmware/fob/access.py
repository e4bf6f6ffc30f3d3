# Access control (docs/security.md): the stored access key and the
# wrong-answer throttle, in their own small file so that counting a failure
# rewrites 70 bytes, not the whole account store.
#
# access.dat (integers little-endian):
#   b"OTPA" | u8 version (1) | u8 key length | u8 salt length | u8 0 |
#   u32 iterations | u32 failures | u32 epoch | key | salt | u32 CRC-32
# "failures" counts consecutive wrong answers; "epoch" is only used where
# the port has no os.urandom (see challenge()).
# Crash-safe like the account store (fob.safefile): access.new, read back,
# renamed over access.dat; load() finishes or undoes a write a cut left.
# A record that fails its checks fails closed: the token stays locked
# (unlock answers store_damaged) until a factory wipe.

import os
import struct

from fob import otp, proto
from fob.safefile import SafeFile, crc, trailer_ok
from fob.ticks import ticks_diff, ticks_ms

FILE = "access.dat"
NEW = "access.new"
MAGIC = b"OTPA"
FORMAT = 1
_HDR = "<4sBBBBIII"
_HDR_LEN = struct.calcsize(_HDR)
_MAX_FAILURES = 0xFFFF  # the delay stops growing long before this

_urandom = getattr(os, "urandom", None)


def equal(a, b):
    """Constant-time comparison of two byte strings.

    Every byte is looked at whatever the first difference, so the time taken
    does not tell an attacker how much of a guess was right.  Only the
    lengths (public: 32-byte MACs) may end it early.
    """
    if len(a) != len(b):
        return False
    acc = 0
    for i in range(len(a)):
        acc |= a[i] ^ b[i]
    return acc == 0


def hmac_sha256(key, msg):
    """HMAC-SHA256 through fob.otp's engines (the fastest one this port has)."""
    engine = otp.PATHS[otp.path_for("sha256")]["sha256"](key)
    return bytes(engine.mac(msg))  # bytes(): the fast engine reuses its buffer


# Domain labels: a proof or a session key is never the answer to a challenge.
_PROOF = b"otpfob-proof"
_SESSION = b"otpfob-session"
_SUFFIX = len(proto.MAC_MEMBER) + 2 * proto.MAC_LEN + 2  # ,"mac":"<hex>"}


def proof(key, host_challenge, challenge):
    """The token's proof that it holds the key, sent before the host answers."""
    return hmac_sha256(key, _PROOF + host_challenge + challenge)


def session_key(key, challenge, host_challenge):
    """The key that seals every request of one unlocked session."""
    return hmac_sha256(key, _SESSION + challenge + host_challenge)


def seal_of(line):
    """(sealed part, the MAC as lowercase hex bytes) of a request line
    ending in ,"mac":"<hex>"}, or None when it does not end that way."""
    end = len(line)
    while end and line[end - 1] in (9, 13, 32):  # what the frame check allows after "}"
        end -= 1
    start = end - _SUFFIX
    if start < 1 or line[start : start + len(proto.MAC_MEMBER)] != proto.MAC_MEMBER.encode():
        return None
    if line[end - 2 : end] != b'"}':
        return None
    return line[:start], bytes(line[end - 2 - 2 * proto.MAC_LEN : end - 2])


def delay_ms(failures):
    """How long after the last of `failures` wrong answers the next is checked."""
    if failures <= 0:
        return 0
    if failures > 12:  # 2**12 s > an hour; and no big shifts on 31-bit ints
        return proto.THROTTLE_MAX_S * 1000
    return min(1 << (failures - 1), proto.THROTTLE_MAX_S) * 1000


def parse(data):
    """(key, salt, iterations, failures, epoch) of a whole file; ValueError if damaged."""
    if len(data) < _HDR_LEN + 4:
        raise ValueError("short")
    magic, version, nk, ns, _, iters, fails, epoch = struct.unpack_from(_HDR, data, 0)
    if magic != MAGIC or version != FORMAT:
        raise ValueError("magic")
    end = len(data) - 4
    if not trailer_ok(data):
        raise ValueError("checksum")
    if nk != proto.ACCESS_KEY_LEN or not proto.MIN_SALT <= ns <= proto.MAX_SALT:
        raise ValueError("record")
    if _HDR_LEN + nk + ns != end:
        raise ValueError("record")
    if not proto.MIN_ITERATIONS <= iters <= proto.MAX_ITERATIONS:
        raise ValueError("record")
    key = bytes(data[_HDR_LEN : _HDR_LEN + nk])
    salt = bytes(data[_HDR_LEN + nk : end])
    return key, salt, iters, fails, epoch


def _body(key, salt, iterations, failures, epoch):
    # The file's bytes before its CRC-32 trailer (SafeFile.write adds it).
    return struct.pack(_HDR, MAGIC, FORMAT, len(key), len(salt), 0, iterations, failures, epoch) + key + salt


def build(key, salt, iterations, failures, epoch=0):
    """A whole access.dat (tests and tools)."""
    data = _body(key, salt, iterations, failures, epoch)
    return data + struct.pack("<I", crc(data))


def _check(path):
    with open(path, "rb") as f:
        parse(f.read())


class Access:
    """The access key (or none) and the throttle, as kept on flash."""

    def __init__(self, directory="", ticks=ticks_ms, urandom=None):
        self.path = directory + FILE
        self._file = SafeFile(self.path, _check, bytearray(32))
        self.new_path = self._file.new_path
        self._ticks = ticks
        self._urandom = urandom if urandom is not None else _urandom
        self.key = None
        self.salt = b""
        self.iterations = 0
        self.failures = 0
        self.epoch = 0
        self.damaged = False
        self._fail_at = None  # ticks of the last failure; None: waited long enough
        self._n = 0  # challenges made this boot (fallback only)
        self._epoch_used = False
        self.load()
        if self.failures:
            # After a restart the whole delay starts again from boot: cutting
            # the power never shortens it (ticks restart at boot).
            self._fail_at = ticks()

    # ---- flash ---------------------------------------------------------------
    def load(self):
        self.key = None
        self.damaged = False
        data = self._file.read()
        if data is None:
            return  # no password set
        try:
            self.key, self.salt, self.iterations, self.failures, self.epoch = parse(data)
        except ValueError:
            self.damaged = True

    def _save(self, key, salt, iterations, failures, epoch):
        try:
            self._file.write((_body(key, salt, iterations, failures, epoch),))
        except ValueError:
            raise OSError(5)  # read back wrong: a flash fault (E_HW), nothing adopted
        self.key, self.salt, self.iterations = key, salt, iterations
        self.failures, self.epoch = failures, epoch
        self.damaged = False

    @property
    def is_set(self):
        """A password is set (a damaged record counts: fail closed)."""
        return self.key is not None or self.damaged

    def set(self, key, salt, iterations):
        self._save(bytes(key), bytes(salt), iterations, 0, self.epoch)
        self._fail_at = None

    def clear(self):
        """Forget the password and the failure count."""
        self._file.remove()
        self.key = None
        self.salt = b""
        self.iterations = 0
        self.failures = 0
        self.damaged = False
        self._fail_at = None

    # ---- throttle ------------------------------------------------------------
    def tick(self, now=None):
        """Called often (the app loop): forget a delay that has run out, so a
        ticks wrap (after days) can never bring it back."""
        if self._fail_at is None:
            return
        if now is None:
            now = self._ticks()
        if ticks_diff(now, self._fail_at) >= delay_ms(self.failures):
            self._fail_at = None

    def retry_ms(self):
        """Milliseconds until an answer will be checked (0: now)."""
        self.tick()
        if self._fail_at is None:
            return 0
        left = delay_ms(self.failures) - ticks_diff(self._ticks(), self._fail_at)
        return left if left > 0 else 0

    def count_failure(self):
        """Count an answer as wrong, on flash, BEFORE it is checked: a power
        cut during the check or the reply cannot lose the count."""
        f = self.failures + 1 if self.failures < _MAX_FAILURES else _MAX_FAILURES
        self._save(self.key, self.salt, self.iterations, f, self.epoch)
        self._fail_at = self._ticks()

    def succeeded(self):
        self._save(self.key, self.salt, self.iterations, 0, self.epoch)
        self._fail_at = None

    # ---- challenges ----------------------------------------------------------
    def challenge(self):
        """CHALLENGE_LEN fresh bytes for unlock step 1."""
        if self._urandom is not None:
            return bytes(self._urandom(proto.CHALLENGE_LEN))
        # Ports without os.urandom: HMAC of a value that never repeats.  The
        # epoch (on flash, bumped once per boot before its first use) and a
        # counter make it unique, so a recorded answer never fits again; the
        # key makes it unpredictable to anyone without the password.
        if not self._epoch_used:
            self._save(self.key, self.salt, self.iterations, self.failures, (self.epoch + 1) & 0xFFFFFFFF)
            self._epoch_used = True
        self._n += 1
        msg = b"otpfob-challenge" + struct.pack("<II", self.epoch, self._n)
        return hmac_sha256(self.key, msg)[: proto.CHALLENGE_LEN]
