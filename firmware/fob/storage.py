# The account store: one file on the board's flash, versioned and checksummed.
#
# File layout (all integers little-endian):
#   header  b"OTPF" | u8 version (1) | u8 0 | u16 record count
#   records  u8 kind | u16 length | body          (kind 1: account, 2: access key)
#   trailer  u32 CRC-32 of everything before it
# Account body:
#   u8 flags (bit 0 HOTP, bit 1 touch) | u8 algorithm index | u8 digits |
#   u16 period | u32 counter high | u32 counter low |
#   u8 n + label (UTF-8) | u8 n + issuer | u8 n + key
# Unknown record kinds are kept as they are, so a later firmware's records
# survive a rewrite by this one.
#
# Writes are atomic: the new content goes to accounts.new, then replaces
# accounts.dat by rename.  Where rename cannot replace an existing file the
# old one is removed first; load() then finds only accounts.new and adopts it
# if it is complete and its checksum holds.  A cut at any point leaves the
# old state or the new one.
#
# RAM: the store keeps the file's bytes and a list of record offsets, never
# 100 decoded accounts; the app builds one OtpKey for the account on screen.

import os
import struct

from fob import proto

try:
    from binascii import crc32
except ImportError:  # ports built without binascii.crc32
    crc32 = None

FILE = "accounts.dat"
NEW = "accounts.new"
MAGIC = b"OTPF"
FORMAT = 1
KIND_ACCOUNT = 1
KIND_ACCESS = 2
_HDR = "<4sBBH"
_HDR_LEN = 8
_ACC = "<BBBHII"  # flags, alg, digits, period, counter hi, counter lo
_ACC_LEN = 13
F_HOTP = 1
F_TOUCH = 2


def _crc(data):
    if crc32 is not None:
        return crc32(data) & 0xFFFFFFFF
    c = 0xFFFFFFFF  # the same CRC-32 (IEEE 802.3), bit by bit
    for b in data:
        c ^= b
        for _ in range(8):
            c = (c >> 1) ^ (0xEDB88320 if c & 1 else 0)
    return c ^ 0xFFFFFFFF


class StoreError(Exception):
    """A refused store operation; args[0] is a proto.E_* code."""


def _exists(path):
    try:
        os.stat(path)
        return True
    except OSError:
        return False


def _remove(path):
    try:
        os.remove(path)
    except OSError:
        pass


def encode_account(label, issuer, key, algorithm, digits, period, hotp, counter, touch):
    lb = label.encode()
    ib = issuer.encode()
    flags = (F_HOTP if hotp else 0) | (F_TOUCH if touch else 0)
    head = struct.pack(
        _ACC, flags, proto.ALGORITHMS.index(algorithm), digits, period,
        (counter >> 32) & 0xFFFFFFFF, counter & 0xFFFFFFFF,
    )
    return head + bytes((len(lb),)) + lb + bytes((len(ib),)) + ib + bytes((len(key),)) + bytes(key)


def parse(data):
    """Offsets of the records in a whole file's bytes; ValueError if damaged."""
    if len(data) < _HDR_LEN + 4:
        raise ValueError("short")
    magic, version, _, count = struct.unpack_from(_HDR, data, 0)
    if magic != MAGIC:
        raise ValueError("magic")
    if version != FORMAT:
        raise ValueError("version")
    end = len(data) - 4
    if struct.unpack_from("<I", data, end)[0] != _crc(memoryview(data)[:end]):
        raise ValueError("checksum")
    offs = []
    p = _HDR_LEN
    for _ in range(count):
        if p + 3 > end:
            raise ValueError("truncated")
        kind = data[p]
        n = data[p + 1] | (data[p + 2] << 8)
        if p + 3 + n > end:
            raise ValueError("truncated")
        if kind == KIND_ACCOUNT:
            _check_account(data, p + 3, n)
        offs.append(p)
        p += 3 + n
    if p != end:
        raise ValueError("trailing")
    return offs


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


class Store:
    def __init__(self, directory=""):
        # Relative paths: the board's root, or the emulator's flash folder.
        self.path = directory + FILE if directory else FILE
        self.new_path = directory + NEW if directory else NEW
        self._data = b""
        self._offs = []  # offsets of every record
        self._acc = []  # indexes into _offs of account records, in order
        self.state = proto.STORE_OK
        self.generation = 0  # bumped on every change, so views can refresh
        self.load()

    # ---- loading and saving -------------------------------------------
    def _read(self, path):
        with open(path, "rb") as f:
            return f.read()

    def load(self):
        if _exists(self.new_path):
            try:
                data = self._read(self.new_path)
                parse(data)
            except (OSError, ValueError):
                # Cut while writing the new file: the old file still holds.
                _remove(self.new_path)
            else:
                # Cut after the new file was complete: finish the rename.
                try:
                    self._replace()
                except OSError:
                    pass
        try:
            data = self._read(self.path)
        except OSError:
            data = None
        self.generation += 1
        if data is None:
            self._set(self._empty())
            self.state = proto.STORE_OK
            return
        try:
            self._set(data)
            self.state = proto.STORE_OK
        except ValueError:
            self._data = b""
            self._offs = []
            self._acc = []
            self.state = proto.STORE_DAMAGED

    def _empty(self):
        return self._build([])

    def _set(self, data):
        offs = parse(data)
        self._data = data
        self._offs = offs
        self._acc = [i for i in range(len(offs)) if data[offs[i]] == KIND_ACCOUNT]

    def _build(self, records):
        # records: list of (kind, body bytes)
        parts = [struct.pack(_HDR, MAGIC, FORMAT, 0, len(records))]
        for kind, body in records:
            parts.append(struct.pack("<BH", kind, len(body)))
            parts.append(body)
        data = b"".join(parts)
        return data + struct.pack("<I", _crc(data))

    def _replace(self):
        try:
            os.rename(self.new_path, self.path)
        except OSError:
            # Filesystems where rename does not replace: remove, then rename.
            # load() recovers a cut between the two from accounts.new.
            _remove(self.path)
            os.rename(self.new_path, self.path)

    def _commit(self, records):
        data = self._build(records)
        parse(data)  # never write something we could not read back
        with open(self.new_path, "wb") as f:
            f.write(data)
        self._replace()
        self._set(data)
        self.generation += 1

    def _records(self):
        d = self._data
        out = []
        for p in self._offs:
            n = d[p + 1] | (d[p + 2] << 8)
            out.append((d[p], d[p + 3:p + 3 + n]))
        return out

    def _writable(self):
        if self.state != proto.STORE_OK:
            raise StoreError(proto.E_STORE)

    # ---- reading ----------------------------------------------------------
    def count(self):
        return len(self._acc)

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
        return str(self._data[ls:le], "utf-8")

    def issuer(self, i):
        _, _, is_, ie, _, _ = self._strings(i)
        return str(self._data[is_:ie], "utf-8")

    def params(self, i):
        """(algorithm, digits, period, hotp, counter, touch) of account i."""
        flags, alg, digits, period, hi, lo = struct.unpack_from(_ACC, self._data, self._body(i))
        return (proto.ALGORITHMS[alg], digits, period, bool(flags & F_HOTP),
                (hi << 32) | lo, bool(flags & F_TOUCH))

    def key(self, i):
        _, _, _, _, ks, ke = self._strings(i)
        return self._data[ks:ke]

    def find(self, label):
        lb = label.encode() if isinstance(label, str) else label
        d = self._data
        for i in range(len(self._acc)):
            ls, le, _, _, _, _ = self._strings(i)
            if le - ls == len(lb) and d[ls:le] == lb:
                return i
        return -1

    def access_record(self):
        """The access-key record's body (issue: access control), or None."""
        for p in self._offs:
            if self._data[p] == KIND_ACCESS:
                n = self._data[p + 1] | (self._data[p + 2] << 8)
                return self._data[p + 3:p + 3 + n]
        return None

    # ---- changing ---------------------------------------------------------
    def add(self, label, issuer, key, algorithm="sha1", digits=6, period=30,
            hotp=False, counter=0, touch=False):
        self._writable()
        if self.find(label) >= 0:
            raise StoreError(proto.E_EXISTS)
        if self.count() >= proto.MAX_ACCOUNTS:
            raise StoreError(proto.E_FULL)
        recs = self._records()
        recs.append((KIND_ACCOUNT, encode_account(
            label, issuer, key, algorithm, digits, period, hotp, counter, touch)))
        self._commit(recs)
        return self.count() - 1

    def delete(self, i):
        self._writable()
        recs = self._records()
        del recs[self._acc[i]]
        self._commit(recs)

    def _rewrite(self, i, label=None, issuer=None, counter=None):
        self._writable()
        alg, digits, period, hotp, c, touch = self.params(i)
        body = encode_account(
            self.label(i) if label is None else label,
            self.issuer(i) if issuer is None else issuer,
            self.key(i), alg, digits, period, hotp,
            c if counter is None else counter, touch)
        recs = self._records()
        recs[self._acc[i]] = (KIND_ACCOUNT, body)
        self._commit(recs)

    def rename(self, i, label, issuer=None):
        j = self.find(label)
        if j >= 0 and j != i:
            raise StoreError(proto.E_EXISTS)
        self._rewrite(i, label=label, issuer=issuer)

    def set_counter(self, i, counter):
        self._rewrite(i, counter=counter)

    def set_access_record(self, body):
        """Store (or with None remove) the access-key record."""
        self._writable()
        recs = [r for r in self._records() if r[0] != KIND_ACCESS]
        if body is not None:
            recs.append((KIND_ACCESS, bytes(body)))
        self._commit(recs)

    def wipe(self, keep_access=False):
        """Erase every account.  Also repairs a damaged store."""
        recs = []
        if keep_access and self.state == proto.STORE_OK:
            recs = [r for r in self._records() if r[0] == KIND_ACCESS]
        self.state = proto.STORE_OK
        try:
            self._commit(recs)
        except Exception:
            self.load()
            raise
