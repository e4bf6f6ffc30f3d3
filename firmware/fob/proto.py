# The serial protocol, defined once for the token and the host tool.
#
# One request per line, one reply per line, UTF-8 JSON objects.
#   request: {"v": 2, "id": 7, "op": "list", ...args}
#   reply:   REPLY_TAG + {"v": 2, "id": 7, "ok": true, ...results}
#   error:   REPLY_TAG + {"v": 2, "id": 7, "ok": false, "err": "<code>", "msg": "..."}
# Replies carry a tag so that the host can tell them from anything else on
# the port (a boot banner, a REPL prompt) and resynchronise after noise.
# docs/protocol.md describes every op.

# 2: an account is named by its issuer and label together (add, delete,
# rename and code take both); version 1 named it by its label alone.
VERSION = 2
REPLY_TAG = "#otpfob "
MAX_LINE = 512  # bytes, request lines longer than this are refused

# Operations
OP_INFO = "info"
OP_ADD = "add"
OP_LIST = "list"
OP_DELETE = "delete"
OP_RENAME = "rename"
OP_TIME_GET = "time_get"
OP_TIME_SET = "time_set"
OP_CODE = "code"
OP_WIPE = "wipe"
OP_UNLOCK = "unlock"  # access control: challenge / response
OP_ACCESS_SET = "access_set"
OP_ACCESS_CLEAR = "access_clear"
OP_LOCK = "lock"  # end the unlocked state (the host sends it when a command ends)
OP_CHECK = "check"  # compare a code with an HOTP account's next one, using no counter
OP_CANCEL = "cancel"  # stop waiting for a press for a touch account's code (the host gave up)
OP_TIME_LOG = "time_log"  # the clock history and drift correction (docs/protocol.md "Clock history")
OP_CONFIG_GET = "config_get"  # the token's settings (docs/protocol.md "Settings")
OP_CONFIG_SET = "config_set"
OP_MOVE = "move"  # put an account at another place in the order (the screen's and list's)

# Error codes
E_FRAME = "bad_frame"  # not JSON, not an object, not UTF-8
E_TOO_LONG = "too_long"  # line longer than MAX_LINE
E_VERSION = "bad_version"  # "v" missing or not VERSION
E_OP = "unknown_op"
E_ARG = "bad_arg"  # an argument is missing, of the wrong type or out of range
E_EXISTS = "exists"  # an account with that issuer and label exists
E_NOT_FOUND = "not_found"
E_FULL = "full"
E_CLOCK = "clock_untrusted"  # a code was asked for while the clock is not trusted
E_STORE = "store_damaged"  # the account store failed its checksum
E_LOCKED = "locked"  # access password set and this connection is not unlocked
E_AUTH = "auth_failed"
E_THROTTLED = "throttled"  # too many wrong answers, wait "retry_ms"
E_TOUCH = "touch_timeout"  # the account needs a button press and none came
E_BUTTON = "button_not_held"  # a factory wipe asked for without the button held down
E_HW = "hardware"  # an I2C part failed
E_BATTERY = "battery_low"  # below the critical voltage: no writes to flash (fob/power.py)
E_INTERNAL = "internal"

# Clock states reported by info / time_get
CLOCK_OK = "ok"
CLOCK_UNSET = "unset"  # never set, or the oscillator stopped (DS3231 OSF)
CLOCK_MISSING = "missing"  # the RTC does not answer on the bus
CLOCK_JUMPED = "jumped"  # time moved by more than the drift allows since last seen
MAX_EDGE_MS = 2000  # time_set "edge_ms": the latest instant after the second a fine sync may name
MAX_RATE_PPB = 500_000  # a learnt rate is kept within this (no crystal is this far off)
MIN_CALIBRATE_S = 86400  # two fine syncs this far apart give the rate to ~0.1 ppm

# How the token types a code as a USB keyboard (fob/keyboard.py; off: never,
# and no keyboard interface at the next power-on).
LAYOUTS = ("off", "us", "de", "fr")

# Settings (docs/protocol.md "Settings"), one table for the token and the
# host: (name, id on flash, lowest, highest, what a value is); a bool has no
# range, a choice has its names as "lowest" and no highest.  wipe_after also
# takes 0: off.  A token keeps only the values set (settings.dat); the rest
# are its board's defaults.
SETTINGS = (
    ("timeout", 1, 5, 300, "a whole number of seconds"),
    ("flip", 2, None, None, None),
    ("contrast", 3, 0, 255, "a whole number"),
    ("long_press", 4, 300, 3000, "a whole number of milliseconds"),
    ("touch_default", 5, None, None, None),
    ("lock_screen", 6, None, None, None),
    ("wipe_after", 7, 5, 50, "0 (off) or a whole number"),
    ("layout", 8, LAYOUTS, None, "off, us, de or fr"),  # a choice: stored as its place in LAYOUTS
    ("enter", 9, None, None, None),
)
CONTRAST_DEFAULT = 255
NEEDS_PASSWORD = ("lock_screen", "wipe_after")  # refused on (true, not 0) while no password is set


def needs_password_error(name):
    return name + " needs an access password: set one with otpfob access set."


def setting_error(name):
    """The sentence a value out of ``name``'s range gets, host and token alike."""
    for n, _, lo, hi, what in SETTINGS:
        if n == name:
            if lo is None:
                return name + " must be true or false."
            if hi is None:
                return "%s must be %s." % (name, what)
            return "%s must be %s from %d to %d." % (name, what, lo, hi)
    return "Unknown argument for this operation."


# Store states
STORE_OK = "ok"
STORE_DAMAGED = "damaged"

ALGORITHMS = ("sha1", "sha256", "sha512")
MIN_DIGITS = 6
MAX_DIGITS = 10
MIN_PERIOD = 1
MAX_PERIOD = 3600
MAX_KEY = 128  # bytes
MAX_LABEL = 32  # UTF-8 bytes
MAX_ISSUER = 32
# HOTP counters 0..MAX_COUNTER (a code is given for counters below it).  A
# signed 64-bit integer's range, not RFC 4226's full 8 bytes: what Java's and
# Go's OTP libraries and the Key URI apps that store counters as int64 carry,
# and what pyotp computes.  The token holds it as a big int (counters past
# 2**30 are not small ints on 32-bit ports) and on flash as two u32.
MAX_COUNTER = 0x7FFFFFFFFFFFFFFF
MAX_ACCOUNTS = 100

# Access control (docs/protocol.md, docs/security.md)
ACCESS_KEY_LEN = 32  # bytes: PBKDF2-HMAC-SHA256 output, HMAC-SHA256 responses and proofs
CHALLENGE_LEN = 16  # bytes of the token's unlock challenge
MIN_SALT = 8  # bytes; the host tool uses 16
MAX_SALT = 64
MIN_HOST_CHALLENGE = 8  # bytes; the host tool uses 16
MAX_HOST_CHALLENGE = 64
MIN_ITERATIONS = 1000  # PBKDF2 rounds the token accepts (the host tool uses 200,000)
MAX_ITERATIONS = 100_000_000
IDLE_LOCK_MS = 60000  # an unlocked session ends after this long without a sealed request
# The unlocked session (docs/protocol.md "Sessions"): after unlock every
# request carries a counter "n" and, as its last member, a MAC under the
# session key: the line ends with MAC_MEMBER + MAC_LEN bytes in hex + '"}'.
MAC_LEN = 16  # bytes of HMAC-SHA256(session key, the line before MAC_MEMBER)
MAC_MEMBER = ',"mac":"'
MAX_SEQ = 0x7FFFFFFF  # the counter "n" runs from 1 up to this in one session
THROTTLE_MAX_S = 3600  # after f wrong answers the next is checked after min(2**(f-1), this) s


# Labels and issuers (docs/protocol.md "Names").  One rule for the token
# (fob/args.py) and the host tool (otpfob/uri.py), so neither stores or
# sends a name the other refuses.  Refused anywhere in a name: Unicode's
# control characters (C0, DEL, C1: U+0085 is a line break, U+009B the 8-bit
# CSI that starts a terminal escape), the line and paragraph separators, and
# every Bidi_Control character (the embeddings and overrides U+202A-U+202E,
# the isolates U+2066-U+2069, and the marks U+200E, U+200F, U+061C): they
# are invisible, reorder what a terminal or screen shows, and let two labels
# look the same.  For the same reason every Default_Ignorable_Code_Point
# (Unicode's DerivedCoreProperties; _IGNORABLE below, which holds the bidi
# controls too): the soft hyphen, zero-width spaces and joiners, U+FEFF,
# variation selectors, tags, Hangul fillers.
_IGNORABLE = (
    (0x00AD, 0x00AD),
    (0x034F, 0x034F),
    (0x061C, 0x061C),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x206F),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
)


def _code_points(s):
    # The code points of ``s``, decoded from its UTF-8 bytes.  Iterating a
    # str on MicroPython interns every character it yields as a qstr, kept
    # for good: a host sending labels of ever new characters would fill the
    # heap (fragmented, then a MemoryError), so no str is made here.
    b = s.encode()
    i = 0
    n = len(b)
    while i < n:
        c = b[i]
        if c < 0x80:
            k = 1
        elif c < 0xE0:
            c &= 0x1F
            k = 2
        elif c < 0xF0:
            c &= 0x0F
            k = 3
        else:
            c &= 0x07
            k = 4
        for j in range(i + 1, i + k):
            c = (c << 6) | (b[j] & 0x3F)
        i += k
        yield c


def refused_char(s):
    """The code point of the first character of ``s`` no label or issuer may
    hold, or None.  A number, not a str: chr() would intern it (above)."""
    for c in _code_points(s):
        if c < 0x20 or 0x7F <= c <= 0x9F or c == 0x2028 or c == 0x2029:
            return c
        if c >= 0xAD:
            for lo, hi in _IGNORABLE:
                if lo <= c <= hi:
                    return c
    return None


def blank(s):
    """True if ``s`` is empty or holds only space separators (Unicode's Zs:
    U+0020, U+00A0, U+1680, U+2000-U+200A, U+202F, U+205F, U+3000).  A label
    may not be blank; an issuer may be empty but not blank."""
    for c in _code_points(s):
        if not (
            c == 0x20 or c == 0xA0 or c == 0x1680 or 0x2000 <= c <= 0x200A or c == 0x202F or c == 0x205F or c == 0x3000
        ):
            return False
    return True
