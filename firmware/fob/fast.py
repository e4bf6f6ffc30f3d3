# Fast HMAC engines for ports with the native emitter (fob.otp's "fast" path).
#
# SHA-1, SHA-256 and SHA-512 (FIPS 180-4) compression in @micropython.viper:
# native code on 32-bit words held in preallocated buffers, so no Python big
# ints and no allocation while a code is computed.  SHA-512's 64-bit words are
# (hi, lo) pairs of 32-bit words.  The HMAC inner and outer states are
# computed once per key; a code then costs two compressions.
#
# The rounds keep the working variables in a "window" of records in memory
# (a round reads the records of the last four rounds and appends its own), so
# every variable is one load at a constant offset and nothing is shuffled.
#
# Importing this module fails (SyntaxError/ImportError/ValueError) where viper
# is missing, e.g. CPython; fob.otp then uses its other paths.
#
# Portability: a viper uint is a machine word (32 bits on an MCU, 64 on the
# Unix port).  A ptr32 load is a signed int on a 32-bit port, so anything
# shifted right or compared is cast to uint first.  Values reloaded through
# ptr32 are clean 32-bit words and every store truncates, so only carries
# (SHA-512) need the explicit mask.

from binascii import unhexlify

import micropython
from micropython import const

# Shared scratch, reused by every engine: one code is computed at a time.
# _R: words 0..15 hash state H, words 16.. the round records.
# _W: message schedule (80 words; 160 for SHA-512's pairs).
_R = bytearray(4 * (16 + 4 * 84))
_W = bytearray(4 * 160)


@micropython.viper
def _be_words(dst: ptr32, src: ptr8, n: int):
    # n big-endian words from src bytes into native words.
    for i in range(n):
        dst[i] = (src[0] << 24) | (src[1] << 16) | (src[2] << 8) | src[3]
        src = ptr8(uint(src) + 4)


@micropython.viper
def _be_bytes(dst: ptr8, src: ptr32, n: int):
    # n native words out as big-endian bytes.
    for i in range(n):
        x = src[i]
        dst[0] = x >> 24
        dst[1] = x >> 16
        dst[2] = x >> 8
        dst[3] = x
        dst = ptr8(uint(dst) + 4)


@micropython.viper
def _copy(dst: ptr32, src: ptr32, n: int):
    for i in range(n):
        dst[i] = src[i]


@micropython.viper
def _put(buf: ptr32, i: int, v: int):
    buf[i] = v


@micropython.viper
def _xor8(buf: ptr8, n: int, v: int):
    for i in range(n):
        buf[i] ^= v


# Engine state buffer (native words): a header, then inner and outer states.
# const(): the compiler puts the numbers into _hmac's loads.
_I_HW = const(0)  # state words (5, 8, 16)
_I_NB = const(1)  # block words (16, 16, 32)
_I_DW = const(2)  # digest words (5, 8, 16)
_I_IB = const(3)  # bit length of the inner message (block + 8-byte counter)
_I_OB = const(4)  # bit length of the outer message (block + digest)
_ST = const(8)  # inner state; outer state follows at _ST + hw


@micropython.viper
def _hmac(st: ptr32, msg: ptr8, compress, k, out: ptr8):
    # HMAC of an 8-byte message (the counter) from the precomputed states:
    # H = inner state, W = msg + padding, compress; W = inner digest +
    # padding, H = outer state, compress; out = digest bytes.
    hw = int(st[_I_HW])
    nb = int(st[_I_NB])
    dw = int(st[_I_DW])
    r = ptr32(_R)
    w = ptr32(_W)
    s = ptr32(uint(st) + 4 * _ST)
    for i in range(hw):
        r[i] = s[i]
    w[0] = (msg[0] << 24) | (msg[1] << 16) | (msg[2] << 8) | msg[3]
    w[1] = (msg[4] << 24) | (msg[5] << 16) | (msg[6] << 8) | msg[7]
    w[2] = uint(1) << 31
    for i in range(3, nb - 1):
        w[i] = 0
    w[nb - 1] = st[_I_IB]
    compress(_R, _W, k)
    for i in range(dw):
        w[i] = r[i]
    w[dw] = uint(1) << 31
    for i in range(dw + 1, nb - 1):
        w[i] = 0
    w[nb - 1] = st[_I_OB]
    s = ptr32(uint(s) + 4 * hw)
    for i in range(hw):
        r[i] = s[i]
    compress(_R, _W, k)
    for i in range(dw):
        x = r[i]
        out[0] = x >> 24
        out[1] = x >> 16
        out[2] = x >> 8
        out[3] = x
        out = ptr8(uint(out) + 4)


@micropython.viper
def _sha1_block(r: ptr32, w: ptr32, k: ptr32):
    # H = r[0..4], W[0..15] = w[0..15]; k = the four round constants.
    base = uint(r)
    wb = uint(w)
    for _ in range(64):
        x = uint(w[13] ^ w[8] ^ w[2] ^ w[0])
        w[16] = (x << 1) | (x >> 31)
        w = ptr32(uint(w) + 4)
    w = ptr32(wb)
    # Record j = [a_j, rotl30(a_{j-2})].  Round i reads records i-3..i-1:
    # a = a_{i-1}, b = a_{i-2}, c = rotl30(a_{i-3}), d = rotl30(a_{i-4}),
    # e = rotl30(a_{i-5}).  Records start at word 16 with j = -3.
    r[17] = r[4]
    r[18] = r[1]
    r[19] = r[3]
    r[20] = r[0]
    r[21] = r[2]
    r = ptr32(base + 64)
    kk = k[0]
    for _ in range(20):
        r[6] = ((r[4] << 5) | (uint(r[4]) >> 27)) + (r[3] ^ (r[2] & (r[5] ^ r[3]))) + r[1] + kk + w[0]
        r[7] = (r[2] << 30) | (uint(r[2]) >> 2)
        r = ptr32(uint(r) + 8)
        w = ptr32(uint(w) + 4)
    kk = k[1]
    for _ in range(20):
        r[6] = ((r[4] << 5) | (uint(r[4]) >> 27)) + (r[2] ^ r[5] ^ r[3]) + r[1] + kk + w[0]
        r[7] = (r[2] << 30) | (uint(r[2]) >> 2)
        r = ptr32(uint(r) + 8)
        w = ptr32(uint(w) + 4)
    kk = k[2]
    for _ in range(20):
        r[6] = ((r[4] << 5) | (uint(r[4]) >> 27)) + ((r[2] & r[5]) | (r[3] & (r[2] | r[5]))) + r[1] + kk + w[0]
        r[7] = (r[2] << 30) | (uint(r[2]) >> 2)
        r = ptr32(uint(r) + 8)
        w = ptr32(uint(w) + 4)
    kk = k[3]
    for _ in range(20):
        r[6] = ((r[4] << 5) | (uint(r[4]) >> 27)) + (r[2] ^ r[5] ^ r[3]) + r[1] + kk + w[0]
        r[7] = (r[2] << 30) | (uint(r[2]) >> 2)
        r = ptr32(uint(r) + 8)
        w = ptr32(uint(w) + 4)
    # r is at record 77: a = a_79, b = a_78, c, d, e = the rotated ones.
    h = ptr32(base)
    h[0] = h[0] + r[4]
    h[1] = h[1] + r[2]
    h[2] = h[2] + r[5]
    h[3] = h[3] + r[3]
    h[4] = h[4] + r[1]


@micropython.viper
def _sha256_block(r: ptr32, w: ptr32, k: ptr32):
    # H = r[0..7], W[0..15] = w[0..15]; k = the 64 round constants.
    base = uint(r)
    wb = uint(w)
    for _ in range(48):
        x = uint(w[1])
        y = uint(w[14])
        w[16] = (
            w[0]
            + w[9]
            + (((x >> 7) | (x << 25)) ^ ((x >> 18) | (x << 14)) ^ (x >> 3))
            + (((y >> 17) | (y << 15)) ^ ((y >> 19) | (y << 13)) ^ (y >> 10))
        )
        w = ptr32(uint(w) + 4)
    w = ptr32(wb)
    # Record j = [a_j, e_j].  Round i reads records i-4..i-1:
    # d, h = rec i-4; c, g = rec i-3; b, f = rec i-2; a, e = rec i-1.
    r[16] = r[3]
    r[17] = r[7]
    r[18] = r[2]
    r[19] = r[6]
    r[20] = r[1]
    r[21] = r[5]
    r[22] = r[0]
    r[23] = r[4]
    r = ptr32(base + 64)
    for _ in range(64):
        e = uint(r[7])
        t = (
            r[1]
            + k[0]
            + w[0]
            + (((e >> 6) | (e << 26)) ^ ((e >> 11) | (e << 21)) ^ ((e >> 25) | (e << 7)))
            + (r[3] ^ (e & (r[5] ^ r[3])))
        )
        r[9] = r[0] + t
        a = uint(r[6])
        r[8] = (
            t
            + (((a >> 2) | (a << 30)) ^ ((a >> 13) | (a << 19)) ^ ((a >> 22) | (a << 10)))
            + ((a & r[4]) | (r[2] & (a | r[4])))
        )
        r = ptr32(uint(r) + 8)
        w = ptr32(uint(w) + 4)
        k = ptr32(uint(k) + 4)
    # r is at record 60.
    h = ptr32(base)
    h[0] = h[0] + r[6]
    h[1] = h[1] + r[4]
    h[2] = h[2] + r[2]
    h[3] = h[3] + r[0]
    h[4] = h[4] + r[7]
    h[5] = h[5] + r[5]
    h[6] = h[6] + r[3]
    h[7] = h[7] + r[1]


@micropython.viper
def _sha512_block(r: ptr32, w: ptr32, k: ptr32):
    # 64-bit words as (hi, lo) pairs.  H = r[0..15], W[0..15] = w[0..31];
    # k = the 80 round constants (160 words).  A sum's carry out of the low
    # word is (low sum < an addend) on clean 32-bit words, hence the mask.
    m = uint(0xFFFFFFFF)
    base = uint(r)
    wb = uint(w)
    for _ in range(64):
        xh = uint(w[2])
        xl = uint(w[3])
        s0h = ((xh >> 1) | (xl << 31)) ^ ((xh >> 8) | (xl << 24)) ^ (xh >> 7)
        s0l = ((xl >> 1) | (xh << 31)) ^ ((xl >> 8) | (xh << 24)) ^ ((xl >> 7) | (xh << 25))
        xh = uint(w[28])
        xl = uint(w[29])
        hi = w[0] + w[18] + s0h + (((xh >> 19) | (xl << 13)) ^ ((xl >> 29) | (xh << 3)) ^ (xh >> 6))
        lo = uint(w[1])
        t = (lo + s0l) & m
        hi += uint(t < lo)
        lo = t
        t = (lo + w[19]) & m
        hi += uint(t < lo)
        lo = t
        t = (lo + (((xl >> 19) | (xh << 13)) ^ ((xh >> 29) | (xl << 3)) ^ ((xl >> 6) | (xh << 26)))) & m
        hi += uint(t < lo)
        w[32] = hi
        w[33] = t
        w = ptr32(uint(w) + 8)
    w = ptr32(wb)
    # Record j = [a_j hi, lo, e_j hi, lo]; round i reads records i-4..i-1.
    r[16] = r[6]
    r[17] = r[7]
    r[18] = r[14]
    r[19] = r[15]
    r[20] = r[4]
    r[21] = r[5]
    r[22] = r[12]
    r[23] = r[13]
    r[24] = r[2]
    r[25] = r[3]
    r[26] = r[10]
    r[27] = r[11]
    r[28] = r[0]
    r[29] = r[1]
    r[30] = r[8]
    r[31] = r[9]
    r = ptr32(base + 64)
    for _ in range(80):
        # T1 = h + S1(e) + Ch(e, f, g) + K + W
        eh = uint(r[14])
        el = uint(r[15])
        lo = uint(r[3])
        t = (lo + (((el >> 14) | (eh << 18)) ^ ((el >> 18) | (eh << 14)) ^ ((eh >> 9) | (el << 23)))) & m
        hi = r[2] + uint(t < lo) + (((eh >> 14) | (el << 18)) ^ ((eh >> 18) | (el << 14)) ^ ((el >> 9) | (eh << 23)))
        lo = t
        t = (lo + (r[7] ^ (el & (r[11] ^ r[7])))) & m
        hi += uint(t < lo) + (r[6] ^ (eh & (r[10] ^ r[6])))
        lo = t
        t = (lo + k[1]) & m
        hi += uint(t < lo) + k[0]
        lo = t
        t = (lo + w[1]) & m
        hi += uint(t < lo) + w[0]
        lo = t
        # e_i = d + T1
        t = (lo + r[1]) & m
        r[18] = hi + r[0] + uint(t < lo)
        r[19] = t
        # a_i = T1 + S0(a) + Maj(a, b, c)
        ah = uint(r[12])
        al = uint(r[13])
        t = (lo + (((al >> 28) | (ah << 4)) ^ ((ah >> 2) | (al << 30)) ^ ((ah >> 7) | (al << 25)))) & m
        hi += uint(t < lo) + (((ah >> 28) | (al << 4)) ^ ((al >> 2) | (ah << 30)) ^ ((al >> 7) | (ah << 25)))
        lo = t
        t = (lo + ((al & r[9]) | (r[5] & (al | r[9])))) & m
        r[16] = hi + uint(t < lo) + ((ah & r[8]) | (r[4] & (ah | r[8])))
        r[17] = t
        r = ptr32(uint(r) + 16)
        w = ptr32(uint(w) + 8)
        k = ptr32(uint(k) + 8)
    # r is at record 76; add a_79..a_76 to H0..H3 and e_79..e_76 to H4..H7.
    r = ptr32(uint(r) + 48)
    h = ptr32(base)
    for _ in range(4):
        lo = uint(h[1])
        t = (lo + r[1]) & m
        h[0] = h[0] + r[0] + uint(t < lo)
        h[1] = t
        lo = uint(h[9])
        t = (lo + r[3]) & m
        h[8] = h[8] + r[2] + uint(t < lo)
        h[9] = t
        h = ptr32(uint(h) + 8)
        r = ptr32(uint(r) - 16)


@micropython.viper
def _trunc(d: ptr8, n: int, digits: int) -> int:
    # RFC 4226 dynamic truncation of an n-byte digest, mod 10**digits.  The
    # 31-bit value fits a machine word (not a small int); the modulo is a
    # shift-and-subtract, as Thumb-1 has no divide instruction.
    o = int(d[n - 1] & 15)
    v = uint(((d[o] & 0x7F) << 24) | (d[o + 1] << 16) | (d[o + 2] << 8) | d[o + 3])
    if digits >= 10:
        return int(v)  # v < 2**31 < 10**10
    p = uint(1)
    for _ in range(digits):
        p *= 10
    q = p
    while q <= (v >> 1):
        q <<= 1
    while q >= p:
        if v >= q:
            v -= q
        q >>= 1
    return int(v)


def truncate(digest, digits):
    """RFC 4226 truncation of `digest` to a `digits`-long decimal string."""
    # "%0*d" builds the str without the qstr lookup that str(bytes) does (a
    # linear search costing thousands of instructions on an MCU), and with
    # no table of formats held in RAM.
    return "%0*d" % (digits, _trunc(digest, len(digest), digits))


def _native(hexwords):
    # FIPS 180-4 constants, written as big-endian hex, into native words.
    raw = unhexlify(hexwords.replace(" ", "").replace("\n", ""))
    out = bytearray(len(raw))
    _be_words(out, raw, len(raw) // 4)
    return out


class _Engine:
    """HMAC (RFC 2104) with the inner and outer states computed once."""

    # Set by subclasses: _BLOCK (bytes), _HW (state words), _DW (digest
    # words), _IV and _K (native words), _compress (viper block function).

    def __init__(self, key):
        block = self._BLOCK
        if len(key) > block:
            key = self.digest(key)
        hw = self._HW
        st = bytearray(4 * (_ST + 2 * hw))
        _put(st, _I_HW, hw)
        _put(st, _I_NB, block // 4)
        _put(st, _I_DW, self._DW)
        _put(st, _I_IB, (block + 8) * 8)
        _put(st, _I_OB, (block + 4 * self._DW) * 8)
        self._st = st
        pad = bytearray(block)
        pad[: len(key)] = key
        _xor8(pad, block, 0x36)
        self._state_after(pad, memoryview(st)[4 * _ST :])
        _xor8(pad, block, 0x36 ^ 0x5C)
        self._state_after(pad, memoryview(st)[4 * (_ST + hw) :])
        self._out = bytearray(4 * self._DW)

    def _state_after(self, block, dst):
        # dst = the state after compressing one block from the IV.
        _copy(_R, self._IV, self._HW)
        _be_words(_W, block, self._BLOCK // 4)
        self._compress(_R, _W, self._K)
        _copy(dst, _R, self._HW)

    def mac(self, msg):
        """HMAC(key, msg); the result buffer is reused by the next call."""
        if len(msg) != 8:
            return self._mac_any(msg)
        _hmac(self._st, msg, self._compress, self._K, self._out)
        return self._out

    def _mac_any(self, msg):
        hw = self._HW
        st = memoryview(self._st)
        inner = self._hash(st[4 * _ST :], msg, self._BLOCK)
        return self._hash(st[4 * (_ST + hw) :], inner, self._BLOCK)

    def _hash(self, state, data, done):
        # Digest of a message whose first `done` bytes left `state`.
        block = self._BLOCK
        nb = block // 4
        _copy(_R, state, self._HW)
        data = memoryview(bytes(data))
        n = len(data)
        full = n - n % block
        for i in range(0, full, block):
            _be_words(_W, data[i : i + block], nb)
            self._compress(_R, _W, self._K)
        tail = bytearray(2 * block)
        rest = n - full
        tail[:rest] = data[full:]
        tail[rest] = 0x80
        size = block if rest + 1 + block // 8 <= block else 2 * block
        bits = (done + n) * 8
        for j in range(8):
            tail[size - 1 - j] = bits & 0xFF
            bits >>= 8
        for i in range(0, size, block):
            _be_words(_W, memoryview(tail)[i : i + block], nb)
            self._compress(_R, _W, self._K)
        out = bytearray(4 * self._DW)
        _be_bytes(out, _R, self._DW)
        return bytes(out)

    def digest(self, data):
        """Plain hash of `data` (used for keys longer than a block)."""
        return self._hash(self._IV, data, 0)


class Sha1(_Engine):
    _BLOCK = 64
    _HW = 5
    _DW = 5
    _IV = _native("67452301 efcdab89 98badcfe 10325476 c3d2e1f0")
    _K = _native("5a827999 6ed9eba1 8f1bbcdc ca62c1d6")
    _compress = staticmethod(_sha1_block)


class Sha256(_Engine):
    _BLOCK = 64
    _HW = 8
    _DW = 8
    _IV = _native("6a09e667 bb67ae85 3c6ef372 a54ff53a 510e527f 9b05688c 1f83d9ab 5be0cd19")
    _K = _native(
        "428a2f98 71374491 b5c0fbcf e9b5dba5 3956c25b 59f111f1 923f82a4 ab1c5ed5"
        "d807aa98 12835b01 243185be 550c7dc3 72be5d74 80deb1fe 9bdc06a7 c19bf174"
        "e49b69c1 efbe4786 0fc19dc6 240ca1cc 2de92c6f 4a7484aa 5cb0a9dc 76f988da"
        "983e5152 a831c66d b00327c8 bf597fc7 c6e00bf3 d5a79147 06ca6351 14292967"
        "27b70a85 2e1b2138 4d2c6dfc 53380d13 650a7354 766a0abb 81c2c92e 92722c85"
        "a2bfe8a1 a81a664b c24b8b70 c76c51a3 d192e819 d6990624 f40e3585 106aa070"
        "19a4c116 1e376c08 2748774c 34b0bcb5 391c0cb3 4ed8aa4a 5b9cca4f 682e6ff3"
        "748f82ee 78a5636f 84c87814 8cc70208 90befffa a4506ceb bef9a3f7 c67178f2"
    )
    _compress = staticmethod(_sha256_block)


class Sha512(_Engine):
    _BLOCK = 128
    _HW = 16
    _DW = 16
    _IV = _native(
        "6a09e667f3bcc908 bb67ae8584caa73b 3c6ef372fe94f82b a54ff53a5f1d36f1"
        "510e527fade682d1 9b05688c2b3e6c1f 1f83d9abfb41bd6b 5be0cd19137e2179"
    )
    _K = _native(
        "428a2f98d728ae22 7137449123ef65cd b5c0fbcfec4d3b2f e9b5dba58189dbbc"
        "3956c25bf348b538 59f111f1b605d019 923f82a4af194f9b ab1c5ed5da6d8118"
        "d807aa98a3030242 12835b0145706fbe 243185be4ee4b28c 550c7dc3d5ffb4e2"
        "72be5d74f27b896f 80deb1fe3b1696b1 9bdc06a725c71235 c19bf174cf692694"
        "e49b69c19ef14ad2 efbe4786384f25e3 0fc19dc68b8cd5b5 240ca1cc77ac9c65"
        "2de92c6f592b0275 4a7484aa6ea6e483 5cb0a9dcbd41fbd4 76f988da831153b5"
        "983e5152ee66dfab a831c66d2db43210 b00327c898fb213f bf597fc7beef0ee4"
        "c6e00bf33da88fc2 d5a79147930aa725 06ca6351e003826f 142929670a0e6e70"
        "27b70a8546d22ffc 2e1b21385c26c926 4d2c6dfc5ac42aed 53380d139d95b3df"
        "650a73548baf63de 766a0abb3c77b2a8 81c2c92e47edaee6 92722c851482353b"
        "a2bfe8a14cf10364 a81a664bbc423001 c24b8b70d0f89791 c76c51a30654be30"
        "d192e819d6ef5218 d69906245565a910 f40e35855771202a 106aa07032bbd1b8"
        "19a4c116b8d2d0c8 1e376c085141ab53 2748774cdf8eeb99 34b0bcb5e19b48a8"
        "391c0cb3c5c95a63 4ed8aa4ae3418acb 5b9cca4f7763e373 682e6ff3d6b2b8a3"
        "748f82ee5defb2fc 78a5636f43172f60 84c87814a1f0ab72 8cc702081a6439ec"
        "90befffa23631e28 a4506cebde82bde9 bef9a3f7b2c67915 c67178f2e372532b"
        "ca273eceea26619c d186b8c721c0c207 eada7dd6cde0eb1e f57d4f7fee6ed178"
        "06f067aa72176fba 0a637dc5a2c898a6 113f9804bef90dae 1b710b35131c471b"
        "28db77f523047d84 32caab7b40c72493 3c9ebe0a15c9bebc 431d67c49c100d4c"
        "4cc5d4becb3e42b6 597f299cfc657e2a 5fcb6fab3ad6faec 6c44198c4a475817"
    )
    _compress = staticmethod(_sha512_block)


ENGINES = {"sha1": Sha1, "sha256": Sha256, "sha512": Sha512}
