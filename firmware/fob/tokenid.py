# A short id that tells two tokens apart (`otpfob info`, and the host's
# "several boards" question): the CRC-32 of the chip's unique id
# (machine.unique_id(): the RP2040's flash serial, the ESP32's MAC) as 8 hex
# digits.  The Unix port (the emulated token) has no unique id: its flash
# folder, the working directory, names it.  CRC-32, not a hash: the store
# already has it loaded, and a small heap has no room for more code.

from fob.safefile import crc

_cache = []


def token_id():
    """The token's id, or None when the port offers nothing stable."""
    if _cache:
        return _cache[0]
    uid = None
    try:
        import machine

        if hasattr(machine, "unique_id"):
            uid = bytes(machine.unique_id())
    except ImportError:
        pass
    if not uid:
        try:
            import os

            uid = os.getcwd().encode()
        except (ImportError, AttributeError, OSError):
            uid = None
    tid = "%08x" % crc(b"otpfob token id " + uid) if uid else None
    _cache.append(tid)
    return tid
