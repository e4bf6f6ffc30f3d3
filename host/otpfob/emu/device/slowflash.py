# slowflash: sim only.  Makes the emulated token's flash writes slow, so a
# test's power cut (SIGKILL) can land inside one at a random point.
#
# Installed by simlink when the board file sets SIM_FLASH_WRITE_MS (never on
# a real board).  It wraps the builtin open(): a file opened for writing
# writes in CHUNK-byte pieces with a pause before each, so a cut leaves a
# truncated file as a real flash would.  The firmware's code path is the
# same: it calls open(), write() and close() as always.
import builtins
import time

CHUNK = 16
_open = builtins.open
_ms = 0


class _SlowFile:
    def __init__(self, f):
        self._f = f

    def write(self, data):
        mv = memoryview(data)
        n = 0
        while n < len(mv):
            time.sleep_ms(_ms)
            k = self._f.write(mv[n : n + CHUNK])
            if hasattr(self._f, "flush"):
                self._f.flush()
            n += k
        return n

    def close(self):
        self._f.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._f.close()

    def __getattr__(self, name):
        return getattr(self._f, name)


def _slow_open(path, mode="r", *args):
    f = _open(path, mode, *args)
    # Only the flash folder: simlink's own pipes (/dev/fd/N) stay fast.
    if ("w" in mode or "a" in mode or "+" in mode) and not str(path).startswith("/dev/"):
        return _SlowFile(f)
    return f


def install(ms):
    global _ms
    _ms = ms
    builtins.open = _slow_open
