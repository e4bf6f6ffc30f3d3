# Crash-safe files on the board's flash, for the account store
# (accounts.dat) and the access record (access.dat).
#
# A file is written whole to NAME.new with a CRC-32 trailer of everything
# before it, read back in small pieces and checked, and only then renamed
# over NAME.  Where rename cannot replace an existing file, the old one is
# removed first; recover(), run when the file is loaded, then finds only
# NAME.new and adopts it if it is complete and its checks hold.  A power cut
# at any point leaves the old content or the new, never a mix.

import os
import struct

try:
    from binascii import crc32 as _crc32
except ImportError:  # ports built without binascii.crc32
    _crc32 = None


def crc(data, c=0):
    """CRC-32 (IEEE 802.3); pass the previous value to continue a running one."""
    if _crc32 is not None:
        return _crc32(data, c) & 0xFFFFFFFF
    c ^= 0xFFFFFFFF  # the same CRC, bit by bit
    for b in data:
        c ^= b
        for _ in range(8):
            c = (c >> 1) ^ (0xEDB88320 if c & 1 else 0)
    return c ^ 0xFFFFFFFF


def trailer_ok(data):
    """Does a whole file's last 4 bytes hold the CRC-32 of the rest?"""
    end = len(data) - 4
    return end >= 0 and struct.unpack_from("<I", data, end)[0] == crc(memoryview(data)[:end])


def exists(path):
    try:
        os.stat(path)
        return True
    except OSError:
        return False


def remove(path):
    try:
        os.remove(path)
    except OSError:
        pass


def replace(new_path, path):
    """Rename new_path over path.  Where rename cannot replace a file, remove
    then rename: recover() adopts a complete new_path found alone."""
    try:
        os.rename(new_path, path)
    except OSError:
        remove(path)
        os.rename(new_path, path)


class SafeFile:
    """One crash-safe file: ``path``, written through ``path + ".new"``.

    ``check(new_path)`` reads a file and raises OSError or ValueError when it
    is incomplete or damaged; recover() uses it on a NEW file a cut left.
    ``chunk`` is the buffer the read-back uses, so a write allocates no
    large block.
    """

    def __init__(self, path, check, chunk):
        self.path = path
        self.new_path = path[:-4] + ".new" if path.endswith(".dat") else path + ".new"
        self._check = check
        self._chunk = chunk

    def recover(self):
        """Finish or undo a write that a power cut interrupted."""
        if not exists(self.new_path):
            return
        try:
            self._check(self.new_path)
        except (OSError, ValueError):
            remove(self.new_path)  # cut while writing it: the old file holds
            return
        try:
            replace(self.new_path, self.path)  # cut after it was complete: finish
        except OSError:
            pass

    def write(self, pieces):
        """Write the bytes-likes ``pieces`` and their CRC-32 trailer.

        OSError (e.g. the flash is full): the old file stands.  ValueError:
        what landed on flash read back wrong; it is removed, never adopted.
        """
        size = 4
        c = 0
        try:
            with open(self.new_path, "wb") as f:
                for p in pieces:
                    f.write(p)
                    c = crc(p, c)
                    size += len(p)
                f.write(struct.pack("<I", c))
            self._verify(size, c)
        except (OSError, ValueError):
            remove(self.new_path)
            raise
        replace(self.new_path, self.path)

    def _verify(self, size, c):
        # Read the written file back in small pieces: its CRC must be the one
        # computed while writing, and its trailer must hold it.
        if os.stat(self.new_path)[6] != size:
            raise ValueError("size")
        body = size - 4
        got_crc = 0
        pos = 0
        chunk = self._chunk
        tail = bytearray(4)
        with open(self.new_path, "rb") as f:
            while pos < size:
                got = f.readinto(chunk)
                if not got:
                    raise ValueError("short")
                mv = memoryview(chunk)[:got]
                if pos < body:
                    got_crc = crc(mv[: min(got, body - pos)], got_crc)
                for k in range(max(body - pos, 0), got):
                    tail[pos + k - body] = chunk[k]
                pos += got
        if got_crc != c or struct.unpack("<I", tail)[0] != c:
            raise ValueError("checksum")

    def read(self):
        """The whole file, after recover(); None when there is none (for
        small files: the store streams its own)."""
        self.recover()
        try:
            with open(self.path, "rb") as f:
                return f.read()
        except OSError:
            return None

    def remove(self):
        """Delete the file (and any NEW one); OSError if it is still there."""
        remove(self.new_path)
        remove(self.path)
        if exists(self.path):
            raise OSError(5)
