# The protocol's argument checks and refusals, shared by fob.server's ops.
#
# Every check raises Reject with a proto.E_* code and a fixed sentence:
# never an exception text, which could quote a secret back.

from fob import otp, proto

MESSAGES = {
    proto.E_FRAME: "The request is not a UTF-8 JSON object.",
    proto.E_TOO_LONG: "The request is longer than %d bytes." % proto.MAX_LINE,
    proto.E_VERSION: "The request's protocol version is not %d." % proto.VERSION,
    proto.E_OP: "Unknown operation.",
    proto.E_EXISTS: "An account with that issuer and label exists.",
    proto.E_NOT_FOUND: "No account has that issuer and label.",
    proto.E_FULL: "The token holds %d accounts, its maximum." % proto.MAX_ACCOUNTS,
    proto.E_CLOCK: "The token's clock is not trusted: set it with otpfob time --set.",
    proto.E_STORE: "The account store is damaged: wipe it to use the token again.",
    proto.E_LOCKED: "The token is locked: unlock it first.",
    proto.E_TOUCH: "No button press came to release the code.",
    proto.E_BUTTON: "Hold the token's button down while asking for a factory wipe.",
    proto.E_AUTH: "Wrong answer to the unlock challenge.",
    proto.E_THROTTLED: "Too many wrong answers: wait retry_ms before the next.",
    proto.E_HW: "A part of the token does not answer.",
    proto.E_BATTERY: "The battery is too low to write to flash: charge it or plug in USB.",
    proto.E_INTERNAL: "The token failed to do that.",
}


class Reject(Exception):
    """A request refused with a proto.E_* code and a fixed message."""

    def __init__(self, code, msg=None, extra=None):
        super().__init__(code)
        self.code = code
        self.msg = msg or MESSAGES.get(code, "Bad argument.")
        self.extra = extra  # more reply keys (numbers only, never key material)


def integer(args, name, lo, hi, default=None):
    v = args.get(name, default)
    if not isinstance(v, int) or isinstance(v, bool) or v < lo or v > hi:
        raise Reject(proto.E_ARG, "%s must be an integer from %d to %d." % (name, lo, hi))
    return v


def text(args, name, limit, default=None, empty=False):
    """A label (empty=False) or an issuer (empty=True): proto's name rule."""
    v = args.get(name, default)
    if not isinstance(v, str):
        raise Reject(proto.E_ARG, "%s must be text." % name)
    n = len(v.encode())
    if n > limit or (n == 0 and not empty):
        raise Reject(proto.E_ARG, "%s must be 1 to %d bytes of UTF-8." % (name, limit))
    if proto.refused_char(v) is not None:
        raise Reject(
            proto.E_ARG, "%s must not hold control, line-separator, bidi control or ignorable characters." % name
        )
    if n and proto.blank(v):
        raise Reject(proto.E_ARG, "%s must hold more than spaces." % name)
    return v


_HEX = "0123456789abcdef"


def unhex(text):
    if len(text) % 2:
        raise ValueError
    t = text.lower()
    out = bytearray(len(t) // 2)
    for i in range(len(out)):
        hi = _HEX.find(t[2 * i])
        lo = _HEX.find(t[2 * i + 1])
        if hi < 0 or lo < 0:
            raise ValueError
        out[i] = (hi << 4) | lo
    return bytes(out)


def tohex(data):
    out = ""
    for b in data:
        out += _HEX[b >> 4] + _HEX[b & 15]
    return out


def hexarg(args, name, lo, hi):
    v = args.get(name)
    try:
        if not isinstance(v, str):
            raise ValueError
        b = unhex(v)
    except ValueError:
        raise Reject(proto.E_ARG, "%s must be hex." % name)
    if not lo <= len(b) <= hi:
        raise Reject(proto.E_ARG, "%s must be %d to %d bytes." % (name, lo, hi))
    return b


def key_arg(args):
    # The key comes as Base32 ("secret", as services print it) or as hex
    # ("key"): exactly one of the two.
    secret = args.get("secret")
    hexkey = args.get("key")
    if (secret is None) == (hexkey is None):
        raise Reject(proto.E_ARG, "Give the key as either secret (Base32) or key (hex).")
    try:
        if secret is not None:
            if not isinstance(secret, str):
                raise ValueError
            key = otp.b32decode(secret)
        else:
            if not isinstance(hexkey, str):
                raise ValueError
            key = unhex(hexkey)
    except ValueError:
        # The decoder's message can quote the secret: send a fixed one.
        raise Reject(proto.E_ARG, "The key is not valid Base32 (secret) or hex (key).")
    if not 1 <= len(key) <= proto.MAX_KEY:
        raise Reject(proto.E_ARG, "The key must be 1 to %d bytes." % proto.MAX_KEY)
    return key
