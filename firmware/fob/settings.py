# The token's settings (docs/protocol.md "Settings"): screen timeout,
# orientation, contrast, long-press time, touch for new accounts, the lock
# screen, wipe after wrong unlocks, and how a code is typed (layout, enter).
#
# settings.dat (integers little-endian), crash-safe like the account store
# (fob.safefile: settings.new, read back, renamed over settings.dat):
#   b"OTPS" | u8 version (1) | u8 count | count x (u8 id | i32 value) | u32 CRC-32
# Only the values that were set are kept; the rest are the board's defaults,
# so a token without the file (a store from before settings) has them all.
# An id this firmware does not know is kept as it is (a later firmware's).
# A file that fails its checks means the defaults, never a guess: every
# default is the safe one (no wipe, no lock screen that could not be unlocked).

import struct

from fob import proto
from fob.safefile import SafeFile, trailer_ok

FILE = "settings.dat"
MAGIC = b"OTPS"
FORMAT = 1
_HDR = "<4sBB"
_HDR_LEN = struct.calcsize(_HDR)
_ITEM = "<Bi"
_ITEM_LEN = struct.calcsize(_ITEM)
_MAX_ITEMS = 32
_TIMEOUT = 1  # ids as in proto.SETTINGS (tests/unit/test_fw_settings.py checks)
_LONG_PRESS = 4


def parse(data):
    """{id: value} of a whole file; ValueError if damaged."""
    if len(data) < _HDR_LEN + 4:
        raise ValueError("short")
    magic, version, count = struct.unpack_from(_HDR, data, 0)
    if magic != MAGIC or version != FORMAT:
        raise ValueError("magic")
    if not trailer_ok(data) or count > _MAX_ITEMS or _HDR_LEN + count * _ITEM_LEN + 4 != len(data):
        raise ValueError("checksum")
    out = {}
    for k in range(count):
        i, v = struct.unpack_from(_ITEM, data, _HDR_LEN + k * _ITEM_LEN)
        out[i] = v
    return out


def _check(path):
    with open(path, "rb") as f:
        parse(f.read())


def check_value(name, value):
    """The value ``name`` would be stored as (an int), or raise ValueError
    with proto.setting_error's sentence."""
    for n, _, lo, hi, _ in proto.SETTINGS:
        if n != name:
            continue
        if lo is None:
            if value is True or value is False:
                return 1 if value else 0
        elif hi is None:
            if isinstance(value, str) and value in lo:
                return lo.index(value)  # a choice: its place in the table
        elif isinstance(value, int) and not isinstance(value, bool):
            if lo <= value <= hi or (name == "wipe_after" and value == 0):
                return value
        break
    raise ValueError(proto.setting_error(name))


class Settings:
    """The settings as kept on flash, with the board's defaults for the rest."""

    def __init__(self, board=None, directory=""):
        self.path = directory + FILE
        self._file = SafeFile(self.path, _check, bytearray(32))
        self.new_path = self._file.new_path
        self._board_blank_ms = getattr(board, "BLANK_MS", 30000)
        self._defaults = {
            "timeout": self._board_blank_ms // 1000,
            "flip": False,
            "contrast": proto.CONTRAST_DEFAULT,
            "long_press": getattr(board, "LONG_PRESS_MS", 800),
            "touch_default": False,
            "lock_screen": False,
            "wipe_after": 0,
            # Off until the owner names the computer's layout: a token
            # cannot know it, and a wrong one types wrong characters.
            "layout": getattr(board, "LAYOUT", "off"),
            "enter": False,
        }
        self._set = {}  # id -> value, as on flash
        self.damaged = False
        self.generation = 0  # bumped on every change: the screen re-applies them
        # The lock screen's state (not stored): a successful unlock opens it
        # until power-off.
        self.screen_unlocked = False
        self.load()

    def load(self):
        self._set = {}
        self.damaged = False
        data = self._file.read()
        if data is None:
            self._refresh()
            return
        try:
            self._set = parse(data)
        except ValueError:
            self.damaged = True  # the defaults; the next write replaces it
        self._refresh()

    def _refresh(self):
        # Plain attributes for the loop, which reads them every turn.
        self.generation += 1
        # The board's own values (in ms) until a setting replaces them;
        # long_press_ms None: the button keeps what fob.hw gave it.
        self.blank_ms = self._set[_TIMEOUT] * 1000 if _TIMEOUT in self._set else self._board_blank_ms
        self.long_press_ms = self._set.get(_LONG_PRESS)
        self.flip = self.get("flip")
        self.contrast = self.get("contrast")
        self.touch_default = self.get("touch_default")
        self.lock_screen = self.get("lock_screen")
        self.wipe_after = self.get("wipe_after")
        self.layout = self.get("layout")
        self.enter = self.get("enter")

    def screen_locked(self, access):
        """Is the lock screen hiding the codes now?"""
        return self.lock_screen and access.is_set and not self.screen_unlocked

    def wiped(self, access):
        """Were the accounts erased by wrong unlock answers (wipe_after)?
        True until a good answer resets the count."""
        n = self.wipe_after
        return bool(n) and access.key is not None and access.failures >= n

    def get(self, name):
        for n, i, lo, hi, _ in proto.SETTINGS:
            if n == name:
                if i in self._set:
                    v = self._set[i]
                    if lo is None:
                        return bool(v)
                    if hi is not None:
                        return v
                    if 0 <= v < len(lo):
                        return lo[v]  # a choice; a later firmware's: the default
                return self._defaults[name]
        raise KeyError(name)

    def values(self):
        out = {}
        for n, _, _, _, _ in proto.SETTINGS:
            out[n] = self.get(n)
        return out

    def update(self, changes):
        """Check every value of ``changes`` ({name: value}), then store them
        all in one crash-safe write.  ValueError (the first bad value's
        sentence) or OSError (flash): nothing changed."""
        new = dict(self._set)
        for n, i, _, _, _ in proto.SETTINGS:
            if n in changes:
                new[i] = check_value(n, changes[n])
        items = sorted(new.items())
        pieces = [struct.pack(_HDR, MAGIC, FORMAT, len(items))]
        for i, v in items:
            pieces.append(struct.pack(_ITEM, i, v))
        try:
            self._file.write(pieces)
        except ValueError:
            raise OSError(5)  # read back wrong: a flash fault, nothing adopted
        self._set = new
        self.damaged = False
        self._refresh()
