# The account store: one file on the board's flash, versioned and checksummed.
#
# File layout (all integers little-endian):
#   header  b"OTPF" | u8 version (1) | u8 0 | u16 record count
#   records  u8 kind | u16 length | body          (kind 1: account)
#   trailer  u32 CRC-32 of everything before it
# Account body:
#   u8 flags (bit 0 HOTP, bit 1 touch) | u8 algorithm index | u8 digits |
#   u16 period | u32 counter high | u32 counter low |
#   u8 n + label (UTF-8) | u8 n + issuer | u8 n + key
# Unknown record kinds are kept as they are, so a later firmware's records
# survive a rewrite by this one.
#
# Writes are crash-safe (fob.safefile): accounts.new, read back, renamed
# over accounts.dat; load() finishes or undoes a write a power cut left.
#
# RAM: the store keeps the file's bytes and a list of record offsets, never
# 100 decoded accounts; the app builds one OtpKey for the account on screen.
# Its one buffer is taken at boot by reserve() and handed to Store.

import os
import struct
from array import array

try:
    import gc
except ImportError:
    gc = None

from fob import proto
from fob.safefile import SafeFile, crc, exists, trailer_ok

FILE = "accounts.dat"
NEW = "accounts.new"
MAGIC = b"OTPF"
FORMAT = 1
KIND_ACCOUNT = 1
_HDR = "<4sBBH"
_HDR_LEN = struct.calcsize(_HDR)
_ACC = "<BBBHII"  # flags, alg, digits, period, counter hi, counter lo
_ACC_LEN = struct.calcsize(_ACC)
F_HOTP = 1
F_TOUCH = 2
# The largest account record (kind + length + body), and the buffer that
# holds a full store of them.
_MAX_RECORD = 3 + _ACC_LEN + 3 + proto.MAX_LABEL + proto.MAX_ISSUER + proto.MAX_KEY
CAPACITY = _HDR_LEN + 4 + proto.MAX_ACCOUNTS * _MAX_RECORD
_SLOTS = proto.MAX_ACCOUNTS + 8  # record offsets kept: the accounts and a few of a later kind


class StoreError(Exception):
    """A refused store operation; args[0] is a proto.E_* code."""


class Params:
    """An account's settings (everything but its label, issuer and key)."""

    def __init__(self, algorithm, digits, period, hotp, counter, touch):
        self.algorithm = algorithm
        self.digits = digits
        self.period = period
        self.hotp = hotp
        self.counter = counter
        self.touch = touch


def encode_account(label, issuer, key, algorithm, digits, period, hotp, counter, touch):
    lb = label.encode()
    ib = issuer.encode()
    flags = (F_HOTP if hotp else 0) | (F_TOUCH if touch else 0)
    head = struct.pack(
        _ACC,
        flags,
        proto.ALGORITHMS.index(algorithm),
        digits,
        period,
        (counter >> 32) & 0xFFFFFFFF,
        counter & 0xFFFFFFFF,
    )
    return head + bytes((len(lb),)) + lb + bytes((len(ib),)) + ib + bytes((len(key),)) + bytes(key)


def parse(data, offs):
    """Put the offsets of the records in a whole file's bytes into the list
    ``offs`` (appended to past its end) and return how many there are;
    ValueError if damaged."""
    if len(data) < _HDR_LEN + 4:
        raise ValueError("short")
    magic, version, _, count = struct.unpack_from(_HDR, data, 0)
    if magic != MAGIC:
        raise ValueError("magic")
    if version != FORMAT:
        raise ValueError("version")
    end = len(data) - 4
    if not trailer_ok(data):
        raise ValueError("checksum")
    p = _HDR_LEN
    for j in range(count):
        if p + 3 > end:
            raise ValueError("truncated")
        kind = data[p]
        n = data[p + 1] | (data[p + 2] << 8)
        if p + 3 + n > end:
            raise ValueError("truncated")
        if kind == KIND_ACCOUNT:
            _check_account(data, p + 3, n)
        if p > 0xFFFF:
            raise ValueError("too large")  # offsets are 16-bit (CAPACITY is far below)
        if j < len(offs):
            offs[j] = p
        else:
            offs.append(p)  # more records than slots: a later firmware's
        p += 3 + n
    if p != end:
        raise ValueError("trailing")
    return count


def _check_account(data, p, n):
    # A checksum collision is unlikely, but a record that decodes outside
    # the protocol's ranges must never reach the code generator.
    if n < _ACC_LEN + 3:
        raise ValueError("record")
    flags, alg, digits, period, _, _ = struct.unpack_from(_ACC, data, p)
    if alg >= len(proto.ALGORITHMS) or not proto.MIN_DIGITS <= digits <= proto.MAX_DIGITS:
        raise ValueError("record")
    if not proto.MIN_PERIOD <= period <= proto.MAX_PERIOD or flags & ~3:
        raise ValueError("record")
    q = p + _ACC_LEN
    for limit in (proto.MAX_LABEL, proto.MAX_ISSUER, proto.MAX_KEY):
        if q >= p + n:
            raise ValueError("record")
        m = data[q]
        if m > limit:
            raise ValueError("record")
        q += 1 + m
    if q != p + n:
        raise ValueError("record")


def reserve():
    """The store's buffer: main.py takes it before the other imports and
    hands it to the app, which gives it to Store."""
    return bytearray(CAPACITY)


class Store:
    def __init__(self, directory="", buf=None):
        # Relative paths: the board's root, or the emulator's flash folder.
        self.path = directory + FILE
        # One buffer for the whole store, sized for MAX_ACCOUNTS records of
        # the largest kind and taken at boot while the heap is still whole
        # (reserve()): a fragmented microcontroller heap may have 70 KB free
        # and no 5 KB block, so the store never asks for a large block later.
        self._buf = buf if buf is not None else bytearray(CAPACITY)
        self._file = SafeFile(self.path, self._fill, bytearray(256))
        self.new_path = self._file.new_path
        self._data = memoryview(self._buf)[:0]
        # Offsets of the records (the first _n), and indexes into them of
        # the accounts, in order (the first _na): taken once, like the
        # buffer, so a change never needs a new block on a fragmented heap.
        self._offs = array("H", bytes(2 * _SLOTS))  # 16-bit: half a list's heap
        self._acc = array("H", bytes(2 * _SLOTS))
        self._n = 0
        self._na = 0
        self.state = proto.STORE_OK
        self.generation = 0  # bumped on every change, so views can refresh
        self.load()

    # ---- loading and saving -------------------------------------------
    def _fill(self, path):
        """Read a store file into the buffer and parse it (OSError/ValueError)."""
        self._clear(self.state)  # the buffer is about to change under the old offsets
        n = os.stat(path)[6]
        if n > len(self._buf):
            # Only a file with records from a later firmware gets here.
            self._data = memoryview(self._buf)[:0]
            self._buf = None
            if gc is not None:
                gc.collect()
            self._buf = bytearray(n)
        mv = memoryview(self._buf)[:n]
        with open(path, "rb") as f:
            got = f.readinto(mv)
        if got != n:
            raise OSError(5)
        self._set(mv)

    def _clear(self, state):
        self._data = memoryview(self._buf)[:0]
        self._n = 0
        self._na = 0
        self.state = state

    def load(self):
        self.generation += 1
        self._file.recover()
        if not exists(self.path):
            self._empty()
            return
        try:
            self._fill(self.path)
            self.state = proto.STORE_OK
        except (OSError, ValueError):
            # Present but unreadable or failing its checks: never guess.
            self._clear(proto.STORE_DAMAGED)

    def _empty(self):
        hdr = struct.pack(_HDR, MAGIC, FORMAT, 0, 0)
        n = len(hdr)
        self._buf[:n] = hdr
        self._buf[n : n + 4] = struct.pack("<I", crc(hdr))
        self._set(memoryview(self._buf)[: n + 4])
        self.state = proto.STORE_OK

    def _set(self, data):
        offs = self._offs
        acc = self._acc
        count = parse(data, offs)
        n = 0
        for i in range(count):
            if data[offs[i]] == KIND_ACCOUNT:
                if n < len(acc):
                    acc[n] = i
                else:
                    acc.append(i)
                n += 1
        self._data = data
        self._n = count
        self._na = n

    def _commit(self, count, skip=-1, replace=-1, body=None, src=-1, dst=-1):
        # Stream the records through the crash-safe file straight from the
        # buffer (record `skip` left out, record `replace` -- or a new one
        # at the end -- as account `body`), never as a list: a full store
        # then needs no large block (docs/benchmarks.md, "Memory").  Only
        # then read the file back into the buffer.
        if body is not None:
            _check_account(body, 0, len(body))  # never write what we'd refuse to read
        try:
            self._file.write(self._pieces(count, skip, replace, body, src, dst))
        except ValueError:
            raise StoreError(proto.E_INTERNAL)  # read back wrong: not adopted
        for attempt in (0, 1):
            try:
                self._fill(self.path)
                break
            except MemoryError:
                # The file is written: RAM must follow it, so collect once
                # and read it again rather than keep the old records.
                if attempt or gc is None:
                    raise
                gc.collect()
            except (OSError, ValueError):
                self._clear(proto.STORE_DAMAGED)
                break
        self.generation += 1

    def _pieces(self, count, skip, replace, body, src=-1, dst=-1):
        # Record ``src`` moves to place ``dst``; those between shift by one.
        yield struct.pack(_HDR, MAGIC, FORMAT, 0, count)
        mv = self._data
        for k in range(self._n):
            j = k
            if src < dst and src <= k <= dst:
                j = src if k == dst else k + 1
            elif dst < src and dst <= k <= src:
                j = src if k == dst else k - 1
            if j == skip:
                continue
            if j == replace:
                yield struct.pack("<BH", KIND_ACCOUNT, len(body))
                yield body
                continue
            p = self._offs[j]
            n = mv[p + 1] | (mv[p + 2] << 8)
            yield mv[p : p + 3 + n]  # its kind and length too, as stored
        if body is not None and replace < 0:
            yield struct.pack("<BH", KIND_ACCOUNT, len(body))
            yield body

    def _writable(self):
        if self.state != proto.STORE_OK:
            raise StoreError(proto.E_STORE)

    # ---- reading ----------------------------------------------------------
    def count(self):
        return self._na

    def _body(self, i):
        p = self._offs[self._acc[i]]
        return p + 3

    def _strings(self, i):
        # (label_start, label_end, issuer_start, issuer_end, key_start, key_end)
        d = self._data
        q = self._body(i) + _ACC_LEN
        n = d[q]
        ls, le = q + 1, q + 1 + n
        n = d[le]
        is_, ie = le + 1, le + 1 + n
        n = d[ie]
        return ls, le, is_, ie, ie + 1, ie + 1 + n

    def label(self, i):
        ls, le, _, _, _, _ = self._strings(i)
        return str(bytes(self._data[ls:le]), "utf-8")

    def issuer(self, i):
        _, _, is_, ie, _, _ = self._strings(i)
        return str(bytes(self._data[is_:ie]), "utf-8")

    def names_utf8(self, i):
        """(issuer, label) of account i as views of their UTF-8 bytes, for
        the screen: no str is made (on a port, each new str is looked up
        among all the interned strings, most of a ms with .mpy files)."""
        ls, le, is_, ie, _, _ = self._strings(i)
        d = self._data
        return d[is_:ie], d[ls:le]

    def params(self, i):
        """The Params of account i."""
        flags, alg, digits, period, hi, lo = struct.unpack_from(_ACC, self._data, self._body(i))
        return Params(
            proto.ALGORITHMS[alg], digits, period, bool(flags & F_HOTP), (hi << 32) | lo, bool(flags & F_TOUCH)
        )

    def key(self, i):
        _, _, _, _, ks, ke = self._strings(i)
        return bytes(self._data[ks:ke])

    def find(self, label, issuer=""):
        """The index of the account named ``issuer``:``label``, or -1.

        An account is named by its issuer and label together, as services
        and the Key URI format name it: GitLab's and GitHub's
        alice@example.com are two accounts."""
        lb = label.encode() if isinstance(label, str) else label
        ib = issuer.encode() if isinstance(issuer, str) else issuer
        d = self._data
        for i in range(self._na):
            ls, le, is_, ie, _, _ = self._strings(i)
            if le - ls == len(lb) and ie - is_ == len(ib) and bytes(d[ls:le]) == lb and bytes(d[is_:ie]) == ib:
                return i
        return -1

    # ---- changing ---------------------------------------------------------
    def add(self, label, issuer, key, algorithm="sha1", digits=6, period=30, hotp=False, counter=0, touch=False):
        self._writable()
        if self.find(label, issuer) >= 0:
            raise StoreError(proto.E_EXISTS)
        if self.count() >= proto.MAX_ACCOUNTS:
            raise StoreError(proto.E_FULL)
        body = encode_account(label, issuer, key, algorithm, digits, period, hotp, counter, touch)
        self._commit(self._n + 1, body=body)
        return self.count() - 1

    def delete(self, i):
        self._writable()
        self._commit(self._n - 1, skip=self._acc[i])

    def move(self, i, to):
        """Put account i at place ``to`` of the order (0: the top); the
        accounts between shift by one.  The screen and list follow it."""
        self._writable()
        if i != to:
            self._commit(self._n, src=self._acc[i], dst=self._acc[to])

    def _rewrite(self, i, label=None, issuer=None, counter=None):
        self._writable()
        p = self.params(i)
        body = encode_account(
            self.label(i) if label is None else label,
            self.issuer(i) if issuer is None else issuer,
            self.key(i),
            p.algorithm,
            p.digits,
            p.period,
            p.hotp,
            p.counter if counter is None else counter,
            p.touch,
        )
        self._commit(self._n, replace=self._acc[i], body=body)

    def rename(self, i, label, issuer=None):
        j = self.find(label, self.issuer(i) if issuer is None else issuer)
        if j >= 0 and j != i:
            raise StoreError(proto.E_EXISTS)
        self._rewrite(i, label=label, issuer=issuer)

    def set_counter(self, i, counter):
        self._rewrite(i, counter=counter)

    def wipe(self):
        """Erase every account.  Also repairs a damaged store."""
        self.state = proto.STORE_OK
        try:
            self._n = 0  # write no record
            self._commit(0)
        except Exception:
            self.load()
            raise
