# The serial protocol, defined once for the token and the host tool.
#
# One request per line, one reply per line, UTF-8 JSON objects.
#   request: {"v": 1, "id": 7, "op": "list", ...args}
#   reply:   REPLY_TAG + {"v": 1, "id": 7, "ok": true, ...results}
#   error:   REPLY_TAG + {"v": 1, "id": 7, "ok": false, "err": "<code>", "msg": "..."}
# Replies carry a tag so that the host can tell them from anything else on
# the port (a boot banner, a REPL prompt) and resynchronise after noise.
# docs/protocol.md describes every op.

VERSION = 1
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

# Error codes
E_FRAME = "bad_frame"  # not JSON, not an object, not UTF-8
E_TOO_LONG = "too_long"  # line longer than MAX_LINE
E_VERSION = "bad_version"  # "v" missing or not VERSION
E_OP = "unknown_op"
E_ARG = "bad_arg"  # an argument is missing, of the wrong type or out of range
E_EXISTS = "exists"  # an account with that label exists
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
E_INTERNAL = "internal"

# Clock states reported by info / time_get
CLOCK_OK = "ok"
CLOCK_UNSET = "unset"  # never set, or the oscillator stopped (DS3231 OSF)
CLOCK_MISSING = "missing"  # the RTC does not answer on the bus
CLOCK_JUMPED = "jumped"  # time moved by more than the drift allows since last seen

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
IDLE_LOCK_MS = 60000  # an unlocked link locks again after this long without a request
THROTTLE_MAX_S = 3600  # after f wrong answers the next is checked after min(2**(f-1), this) s
