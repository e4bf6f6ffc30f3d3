# HOTP (RFC 4226) and TOTP (RFC 6238) for CPython and every MicroPython port.
#
# The HMAC (RFC 2104) behind a code comes from one of three "paths":
#   fast  fob.fast: viper (native Thumb) engines, on ports with the emitter
#   c     the interpreter's C hashlib, for the algorithms it has
#   py    fob.sha: portable pure Python, for everything else
# The default takes, per algorithm, c where the port has it (within 10 % of
# the viper engines on the RP2040, faster on the Cortex-M4: docs/benchmarks.md),
# else fast, else py.  fob.fast is imported only when an algorithm needs it (about
# 5 KB of heap on a Pico).  Tests force each path with use_path() so that one
# cannot hide behind another.
# Times and counters are plain ints (big ints where needed): no float time,
# and nothing assumes 64-bit small ints.

try:
    import hashlib
except ImportError:  # a port built without it
    hashlib = None

try:
    from struct import pack_into as _pack_into
except ImportError:
    _pack_into = None

ALGORITHMS = ("sha1", "sha256", "sha512")
_BLOCK = {"sha1": 64, "sha256": 64, "sha512": 128}


def _hmac_pads(key, block, hash_key):
    # RFC 2104: a key longer than the block is hashed first, then zero-padded.
    if len(key) > block:
        key = hash_key(key)
    key = bytes(key) + bytes(block - len(key))
    try:
        # As whole numbers: a few calls into C, where a loop over the block
        # takes about a millisecond on an RP2040.
        k = int.from_bytes(key, "big")
        return (
            bytearray((k ^ _pad_int(0x36, block)).to_bytes(block, "big")),
            bytearray((k ^ _pad_int(0x5C, block)).to_bytes(block, "big")),
        )
    except (AttributeError, OverflowError, TypeError, ValueError):
        pass  # a port without big ints: byte by byte
    ipad = bytearray(block)
    opad = bytearray(block)
    for i in range(block):
        ipad[i] = key[i] ^ 0x36
        opad[i] = key[i] ^ 0x5C
    return ipad, opad


_PADS = {}


def _pad_int(byte, block):
    # The block of ``byte`` repeated, as a number; made once for each kind.
    k = (byte, block)
    v = _PADS.get(k)
    if v is None:
        v = _PADS[k] = int.from_bytes(bytes((byte,)) * block, "big")
    return v


class PyEngine:
    """HMAC on fob.sha with the inner and outer states computed once."""

    def __init__(self, key, name):
        from fob import sha  # only this path needs it (heap on a Pico)

        self._sha = sha
        self._name = name
        block, _, _, init, compress = sha.SPECS[name]
        self._block = block
        ipad, opad = _hmac_pads(key, block, lambda k: sha.digest(name, k))
        self._inner = list(init)
        compress(self._inner, ipad)
        self._outer = list(init)
        compress(self._outer, opad)

    def mac(self, msg):
        b = self._block
        finish = self._sha.finish
        inner = finish(self._name, self._inner, msg, b + len(msg))
        return finish(self._name, self._outer, inner, b + len(inner))


def _c_engine(name):
    # MicroPython's hashlib objects have no copy(), so the padded key block is
    # hashed again for every code.  Still far quicker than pure Python.
    ctor = getattr(hashlib, name)
    block = _BLOCK[name]

    class CEngine:
        def __init__(self, key):
            self._ipad, self._opad = _hmac_pads(key, block, lambda k: ctor(k).digest())

        def mac(self, msg):
            h = ctor(self._ipad)
            h.update(msg)
            inner = h.digest()
            h = ctor(self._opad)
            h.update(inner)
            return h.digest()

    return CEngine


def _py_engine(name):
    return lambda key: PyEngine(key, name)


def _probe_c(name):
    # Some builds list a constructor that then fails; trust only a working one.
    if hashlib is None or not hasattr(hashlib, name):
        return False
    try:
        getattr(hashlib, name)(b"abc").digest()
    except Exception:
        return False
    return True


PATHS = {
    "py": {n: _py_engine(n) for n in ALGORITHMS},
    "c": {n: _c_engine(n) for n in ALGORITHMS if _probe_c(n)},
}
_truncate_fast = None
_fast_tried = False


def load_fast():
    """Import fob.fast's engines into PATHS (once); True where the port can
    compile them (the native emitter)."""
    global _fast_tried, _truncate_fast
    if not _fast_tried:
        _fast_tried = True
        try:
            from fob import fast as _fast

            PATHS["fast"] = dict(_fast.ENGINES)
            _truncate_fast = getattr(_fast, "truncate", None)
        except (ImportError, SyntaxError, AttributeError, NotImplementedError, ValueError):
            pass
    return "fast" in PATHS


PATH = None  # None: the best path per algorithm; else a forced path name
_BEST = {}  # algorithm -> the path chosen for it, decided at first use


def use_path(name=None):
    """Force one path ("fast", "c", "py"), or None for the best one."""
    global PATH
    if name == "fast":
        load_fast()
    if name is not None and name not in PATHS:
        raise ValueError("path %r is not available on this interpreter" % name)
    PATH = name


def path_for(algorithm):
    """Name of the path that would compute `algorithm` now."""
    if PATH is not None:
        return PATH if algorithm in PATHS[PATH] else None
    best = _BEST.get(algorithm)
    if best is None:
        if algorithm in PATHS["c"]:
            best = "c"
        elif load_fast() and algorithm in PATHS["fast"]:
            best = "fast"
        elif algorithm in PATHS["py"]:
            best = "py"
        else:
            return None
        _BEST[algorithm] = best
    return best


def _check_algorithm(algorithm):
    if algorithm in ALGORITHMS:
        return algorithm  # the stored names: no lower() (a new str each time)
    if not isinstance(algorithm, str) or algorithm.lower() not in ALGORITHMS:
        raise ValueError("unknown algorithm %r: use sha1, sha256 or sha512" % (algorithm,))
    return algorithm.lower()


def _check_int(value, what, lo, hi=None):
    # bool is an int subclass; a True counter or digit count is a caller's bug.
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError("%s must be an int, not %s" % (what, type(value).__name__))
    if value < lo or (hi is not None and value > hi):
        if hi is None:
            raise ValueError("%s must be at least %d, got %d" % (what, lo, value))
        raise ValueError("%s must be from %d to %d, got %d" % (what, lo, hi, value))


_POW10 = (1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000, 10000000000)


def _truncate(digest, digits):
    # RFC 4226 section 5.3 dynamic truncation.
    o = digest[len(digest) - 1] & 0x0F
    code = ((digest[o] & 0x7F) << 24) | (digest[o + 1] << 16) | (digest[o + 2] << 8) | digest[o + 3]
    return "%0*d" % (digits, code % _POW10[digits])  # one new str, not three


class OtpKey:
    """One account's key with its HMAC state prepared once.

    The firmware keeps one of these for the account on screen, so showing a
    code costs two hash blocks and no key setup.
    """

    def __init__(self, key, algorithm="sha1"):
        if not isinstance(key, (bytes, bytearray)):
            raise ValueError("key must be bytes")
        if len(key) == 0:
            raise ValueError("key is empty")
        self.algorithm = _check_algorithm(algorithm)
        path = path_for(self.algorithm)
        if path is None:
            raise ValueError("path %r has no %s" % (PATH, self.algorithm))
        self.path = path
        self._engine = PATHS[path][self.algorithm](bytes(key))
        self._counter = bytearray(8)
        self._trunc = _truncate_fast if (path == "fast" and _truncate_fast) else _truncate

    def hotp(self, counter, digits=6):
        # The common case is checked with cheap tests; _check_int only runs to
        # word the error.  This is the hot path the token runs per code.
        if type(counter) is not int or counter < 0 or counter >> 64 or type(digits) is not int or not 6 <= digits <= 10:
            _check_counter(counter)
            _check_int(digits, "digits", 6, 10)
        return self._code(counter, digits)

    def totp(self, unix_time, digits=6, period=30):
        if (
            type(unix_time) is not int
            or unix_time < 0
            or type(period) is not int
            or not 1 <= period <= 3600
            or type(digits) is not int
            or not 6 <= digits <= 10
        ):
            _check_int(unix_time, "unix_time", 0)
            _check_int(period, "period", 1, 3600)
            _check_int(digits, "digits", 6, 10)
        return self._code(unix_time // period, digits)

    def _code(self, counter, digits):
        buf = self._counter
        if _pack_into is not None and counter >> 63 == 0:
            _pack_into(">Q", buf, 0, counter)
        else:
            for i in range(7, -1, -1):
                buf[i] = counter & 0xFF
                counter >>= 8
        return self._trunc(self._engine.mac(buf), digits)


def _check_counter(counter):
    _check_int(counter, "counter", 0)
    if counter >> 64:
        raise ValueError("counter must be below 2**64 (RFC 4226 uses 8 bytes)")


def hotp(key, counter, digits=6, algorithm="sha1"):
    """RFC 4226 HOTP value of `counter` as a zero-padded string."""
    _check_counter(counter)
    _check_int(digits, "digits", 6, 10)
    return OtpKey(key, algorithm).hotp(counter, digits)


def totp(key, unix_time, digits=6, period=30, algorithm="sha1"):
    """RFC 6238 TOTP value at `unix_time` (int seconds, T0 = 0)."""
    _check_int(unix_time, "unix_time", 0)
    _check_int(digits, "digits", 6, 10)
    _check_int(period, "period", 1, 3600)
    return OtpKey(key, algorithm).hotp(unix_time // period, digits)


_B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def b32decode(text):
    """Decode a Base32 secret as services hand them out.

    Accepts lowercase, spaces, hyphens, missing padding, extra "=" and "%3D".
    Raises ValueError naming the problem (never echoing the secret).
    """
    if not isinstance(text, str):
        raise ValueError("secret must be text")
    s = text.upper()
    while "%3D" in s:
        s = s.replace("%3D", "=")
    # Grouping and line breaks carry no data.
    for ch in (" ", "-", "\t", "\r", "\n"):
        s = s.replace(ch, "")
    body = s.rstrip("=")
    if not body:
        raise ValueError("secret is empty")
    bits = 0
    nbits = 0
    out = bytearray()
    for i in range(len(body)):
        ch = body[i]
        v = _B32.find(ch)
        if v < 0:
            if ch == "=":
                raise ValueError("secret has '=' padding in the middle (position %d)" % (i + 1))
            hint = ""
            if ch in "0189":
                # Which one is not said: it is part of what was typed.
                hint = " (Base32 has no 0, 1, 8 or 9: 0 is the letter O, 1 the letter I or L, 8 the letter B)"
            raise ValueError("secret is not Base32: character %d is not A-Z or 2-7%s" % (i + 1, hint))
        bits = (bits << 5) | v
        nbits += 5
        if nbits >= 8:
            nbits -= 8
            out.append((bits >> nbits) & 0xFF)
            bits &= (1 << nbits) - 1
    if len(body) % 8 in (1, 3, 6):
        raise ValueError(
            "secret has %d Base32 characters, a length no key encodes to: a character is missing or extra" % len(body)
        )
    return bytes(out)
