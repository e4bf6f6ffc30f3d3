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

try:
    import gc
except ImportError:
    gc = None

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
# The largest account record (kind + length + body), and the buffer that
# holds a full store of them plus room for the access record.
_MAX_RECORD = 3 + _ACC_LEN + 3 + proto.MAX_LABEL + proto.MAX_ISSUER + proto.MAX_KEY
CAPACITY = _HDR_LEN + 4 + proto.MAX_ACCOUNTS * _MAX_RECORD + 256


def _crc(data, crc=0):
    """CRC-32 (IEEE 802.3); pass the previous value to continue a running one."""
    if crc32 is not None:
        return crc32(data, crc) & 0xFFFFFFFF
    c = crc ^ 0xFFFFFFFF  # the same CRC, bit by bit
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


def replace(new_path, path):
    """Rename new_path over path.  Where rename cannot replace a file, remove
    then rename: the loader adopts a complete new_path found alone."""
    try:
        os.rename(new_path, path)
    except OSError:
        _remove(path)
        os.rename(new_path, path)


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


_reserved = None


def reserve():
    """Take the store's buffer now; main.py calls this before other imports."""
    global _reserved
    if _reserved is None:
        _reserved = bytearray(CAPACITY)


class Store:
    def __init__(self, directory=""):
        # Relative paths: the board's root, or the emulator's flash folder.
        self.path = directory + FILE if directory else FILE
        self.new_path = directory + NEW if directory else NEW
        # One buffer for the whole store, sized for MAX_ACCOUNTS records of
        # the largest kind and taken at boot while the heap is still whole:
        # a fragmented microcontroller heap may have 70 KB free and no 5 KB
        # block, so the store never asks for a large block later.
        global _reserved
        if _reserved is not None:
            self._buf, _reserved = _reserved, None
        else:
            self._buf = bytearray(CAPACITY)
        self._chunk = bytearray(256)
        self._data = memoryview(self._buf)[:0]
        self._offs = []  # offsets of every record
        self._acc = []  # indexes into _offs of account records, in order
        self.state = proto.STORE_OK
        self.generation = 0  # bumped on every change, so views can refresh
        self.load()

    # ---- loading and saving -------------------------------------------
    def _fill(self, path):
        """Read a store file into the buffer and parse it (OSError/ValueError)."""
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
        self._offs = []
        self._acc = []
        self.state = state

    def load(self):
        self.generation += 1
        if _exists(self.new_path):
            try:
                self._fill(self.new_path)
            except (OSError, ValueError):
                # Cut while writing the new file: the old file still holds.
                _remove(self.new_path)
            else:
                # Cut after the new file was complete: finish the rename.
                try:
                    self._replace()
                except OSError:
                    pass
        if not _exists(self.path):
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
        self._buf[n:n + 4] = struct.pack("<I", _crc(hdr))
        self._set(memoryview(self._buf)[:n + 4])
        self.state = proto.STORE_OK

    def _set(self, data):
        offs = parse(data)
        self._data = data
        self._offs = offs
        self._acc = [i for i in range(len(offs)) if data[offs[i]] == KIND_ACCOUNT]

    def _verify(self, path, size, crc):
        # Read the written file back in small pieces: its CRC must be the one
        # computed while writing, and its trailer must hold it.
        if os.stat(path)[6] != size:
            raise ValueError("size")
        body = size - 4
        c = 0
        pos = 0
        chunk = self._chunk
        tail = bytearray(4)
        with open(path, "rb") as f:
            while pos < size:
                got = f.readinto(chunk)
                if not got:
                    raise ValueError("short")
                mv = memoryview(chunk)[:got]
                if pos < body:
                    c = _crc(mv[:min(got, body - pos)], c)
                for k in range(max(body - pos, 0), got):
                    tail[pos + k - body] = chunk[k]
                pos += got
        if c != crc or struct.unpack("<I", tail)[0] != crc:
            raise ValueError("checksum")

    def _replace(self):
        replace(self.new_path, self.path)

    def _commit(self, records):
        # Stream the records (views into the buffer, or new bodies) to
        # accounts.new with a running CRC, check what landed on flash, and
        # only then rename it over accounts.dat and read it into the buffer.
        for kind, body in records:
            if kind == KIND_ACCOUNT:
                _check_account(body, 0, len(body))  # never write what we'd refuse to read
        size = _HDR_LEN + 4
        try:
            with open(self.new_path, "wb") as f:
                hdr = struct.pack(_HDR, MAGIC, FORMAT, 0, len(records))
                f.write(hdr)
                c = _crc(hdr)
                for kind, body in records:
                    head = struct.pack("<BH", kind, len(body))
                    f.write(head)
                    f.write(body)
                    c = _crc(body, _crc(head, c))
                    size += 3 + len(body)
                f.write(struct.pack("<I", c))
            self._verify(self.new_path, size, c)
        except OSError:
            _remove(self.new_path)  # e.g. flash full: the old file stands
            raise
        except ValueError:
            _remove(self.new_path)  # read back wrong: never adopt it
            raise StoreError(proto.E_INTERNAL)
        self._replace()
        try:
            self._fill(self.path)
        except (OSError, ValueError):
            self._clear(proto.STORE_DAMAGED)
        self.generation += 1

    def _records(self):
        mv = memoryview(self._data)
        out = []
        for p in self._offs:
            n = mv[p + 1] | (mv[p + 2] << 8)
            out.append((mv[p], mv[p + 3:p + 3 + n]))
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
        return str(bytes(self._data[ls:le]), "utf-8")

    def issuer(self, i):
        _, _, is_, ie, _, _ = self._strings(i)
        return str(bytes(self._data[is_:ie]), "utf-8")

    def params(self, i):
        """(algorithm, digits, period, hotp, counter, touch) of account i."""
        flags, alg, digits, period, hi, lo = struct.unpack_from(_ACC, self._data, self._body(i))
        return (proto.ALGORITHMS[alg], digits, period, bool(flags & F_HOTP),
                (hi << 32) | lo, bool(flags & F_TOUCH))

    def key(self, i):
        _, _, _, _, ks, ke = self._strings(i)
        return bytes(self._data[ks:ke])

    def find(self, label):
        lb = label.encode() if isinstance(label, str) else label
        d = self._data
        for i in range(len(self._acc)):
            ls, le, _, _, _, _ = self._strings(i)
            if le - ls == len(lb) and bytes(d[ls:le]) == lb:
                return i
        return -1

    def access_record(self):
        """The access-key record's body (issue: access control), or None."""
        for p in self._offs:
            if self._data[p] == KIND_ACCESS:
                n = self._data[p + 1] | (self._data[p + 2] << 8)
                return bytes(self._data[p + 3:p + 3 + n])
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
