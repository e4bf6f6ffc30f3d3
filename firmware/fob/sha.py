# Portable SHA-1, SHA-256 and SHA-512 compression functions (FIPS 180-4).
#
# Plain Python that runs unchanged in CPython and on any MicroPython port.
# It is the fallback for interpreters whose hashlib lacks an algorithm (a
# plain Pico has no sha1, no port has sha512) and that have no native
# emitter.  Words above 2**30 become big ints on a microcontroller: slow, but
# correct.  fob.fast holds the quick version for the M0.

_M32 = 0xFFFFFFFF
_M64 = 0xFFFFFFFFFFFFFFFF

_K256 = (
    0x428A2F98,
    0x71374491,
    0xB5C0FBCF,
    0xE9B5DBA5,
    0x3956C25B,
    0x59F111F1,
    0x923F82A4,
    0xAB1C5ED5,
    0xD807AA98,
    0x12835B01,
    0x243185BE,
    0x550C7DC3,
    0x72BE5D74,
    0x80DEB1FE,
    0x9BDC06A7,
    0xC19BF174,
    0xE49B69C1,
    0xEFBE4786,
    0x0FC19DC6,
    0x240CA1CC,
    0x2DE92C6F,
    0x4A7484AA,
    0x5CB0A9DC,
    0x76F988DA,
    0x983E5152,
    0xA831C66D,
    0xB00327C8,
    0xBF597FC7,
    0xC6E00BF3,
    0xD5A79147,
    0x06CA6351,
    0x14292967,
    0x27B70A85,
    0x2E1B2138,
    0x4D2C6DFC,
    0x53380D13,
    0x650A7354,
    0x766A0ABB,
    0x81C2C92E,
    0x92722C85,
    0xA2BFE8A1,
    0xA81A664B,
    0xC24B8B70,
    0xC76C51A3,
    0xD192E819,
    0xD6990624,
    0xF40E3585,
    0x106AA070,
    0x19A4C116,
    0x1E376C08,
    0x2748774C,
    0x34B0BCB5,
    0x391C0CB3,
    0x4ED8AA4A,
    0x5B9CCA4F,
    0x682E6FF3,
    0x748F82EE,
    0x78A5636F,
    0x84C87814,
    0x8CC70208,
    0x90BEFFFA,
    0xA4506CEB,
    0xBEF9A3F7,
    0xC67178F2,
)

_K512 = (
    0x428A2F98D728AE22,
    0x7137449123EF65CD,
    0xB5C0FBCFEC4D3B2F,
    0xE9B5DBA58189DBBC,
    0x3956C25BF348B538,
    0x59F111F1B605D019,
    0x923F82A4AF194F9B,
    0xAB1C5ED5DA6D8118,
    0xD807AA98A3030242,
    0x12835B0145706FBE,
    0x243185BE4EE4B28C,
    0x550C7DC3D5FFB4E2,
    0x72BE5D74F27B896F,
    0x80DEB1FE3B1696B1,
    0x9BDC06A725C71235,
    0xC19BF174CF692694,
    0xE49B69C19EF14AD2,
    0xEFBE4786384F25E3,
    0x0FC19DC68B8CD5B5,
    0x240CA1CC77AC9C65,
    0x2DE92C6F592B0275,
    0x4A7484AA6EA6E483,
    0x5CB0A9DCBD41FBD4,
    0x76F988DA831153B5,
    0x983E5152EE66DFAB,
    0xA831C66D2DB43210,
    0xB00327C898FB213F,
    0xBF597FC7BEEF0EE4,
    0xC6E00BF33DA88FC2,
    0xD5A79147930AA725,
    0x06CA6351E003826F,
    0x142929670A0E6E70,
    0x27B70A8546D22FFC,
    0x2E1B21385C26C926,
    0x4D2C6DFC5AC42AED,
    0x53380D139D95B3DF,
    0x650A73548BAF63DE,
    0x766A0ABB3C77B2A8,
    0x81C2C92E47EDAEE6,
    0x92722C851482353B,
    0xA2BFE8A14CF10364,
    0xA81A664BBC423001,
    0xC24B8B70D0F89791,
    0xC76C51A30654BE30,
    0xD192E819D6EF5218,
    0xD69906245565A910,
    0xF40E35855771202A,
    0x106AA07032BBD1B8,
    0x19A4C116B8D2D0C8,
    0x1E376C085141AB53,
    0x2748774CDF8EEB99,
    0x34B0BCB5E19B48A8,
    0x391C0CB3C5C95A63,
    0x4ED8AA4AE3418ACB,
    0x5B9CCA4F7763E373,
    0x682E6FF3D6B2B8A3,
    0x748F82EE5DEFB2FC,
    0x78A5636F43172F60,
    0x84C87814A1F0AB72,
    0x8CC702081A6439EC,
    0x90BEFFFA23631E28,
    0xA4506CEBDE82BDE9,
    0xBEF9A3F7B2C67915,
    0xC67178F2E372532B,
    0xCA273ECEEA26619C,
    0xD186B8C721C0C207,
    0xEADA7DD6CDE0EB1E,
    0xF57D4F7FEE6ED178,
    0x06F067AA72176FBA,
    0x0A637DC5A2C898A6,
    0x113F9804BEF90DAE,
    0x1B710B35131C471B,
    0x28DB77F523047D84,
    0x32CAAB7B40C72493,
    0x3C9EBE0A15C9BEBC,
    0x431D67C49C100D4C,
    0x4CC5D4BECB3E42B6,
    0x597F299CFC657E2A,
    0x5FCB6FAB3AD6FAEC,
    0x6C44198C4A475817,
)


def _words(block, size):
    # Big-endian words of `size` bytes, without int.from_bytes on slices
    # (MicroPython's slices allocate; this stays portable and simple).
    out = []
    for i in range(0, len(block), size):
        w = 0
        for j in range(i, i + size):
            w = (w << 8) | block[j]
        out.append(w)
    return out


def sha1_compress(state, block):
    w = _words(block, 4)
    for i in range(16, 80):
        x = w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]
        w.append(((x << 1) | (x >> 31)) & _M32)
    a, b, c, d, e = state
    for i in range(80):
        if i < 20:
            f = (b & c) | (~b & d)
            k = 0x5A827999
        elif i < 40:
            f = b ^ c ^ d
            k = 0x6ED9EBA1
        elif i < 60:
            f = (b & c) | (b & d) | (c & d)
            k = 0x8F1BBCDC
        else:
            f = b ^ c ^ d
            k = 0xCA62C1D6
        t = ((((a << 5) | (a >> 27)) & _M32) + (f & _M32) + e + k + w[i]) & _M32
        e = d
        d = c
        c = ((b << 30) | (b >> 2)) & _M32
        b = a
        a = t
    for i, v in enumerate((a, b, c, d, e)):
        state[i] = (state[i] + v) & _M32


def _rotr32(x, n):
    return ((x >> n) | (x << (32 - n))) & _M32


def sha256_compress(state, block):
    w = _words(block, 4)
    for i in range(16, 64):
        x, y = w[i - 15], w[i - 2]
        s0 = _rotr32(x, 7) ^ _rotr32(x, 18) ^ (x >> 3)
        s1 = _rotr32(y, 17) ^ _rotr32(y, 19) ^ (y >> 10)
        w.append((w[i - 16] + s0 + w[i - 7] + s1) & _M32)
    a, b, c, d, e, f, g, h = state
    for i in range(64):
        s1 = _rotr32(e, 6) ^ _rotr32(e, 11) ^ _rotr32(e, 25)
        ch = (e & f) ^ (~e & g & _M32)
        t1 = (h + s1 + ch + _K256[i] + w[i]) & _M32
        s0 = _rotr32(a, 2) ^ _rotr32(a, 13) ^ _rotr32(a, 22)
        maj = (a & b) ^ (a & c) ^ (b & c)
        h = g
        g = f
        f = e
        e = (d + t1) & _M32
        d = c
        c = b
        b = a
        a = (t1 + s0 + maj) & _M32
    for i, v in enumerate((a, b, c, d, e, f, g, h)):
        state[i] = (state[i] + v) & _M32


def _rotr64(x, n):
    return ((x >> n) | (x << (64 - n))) & _M64


def sha512_compress(state, block):
    w = _words(block, 8)
    for i in range(16, 80):
        x, y = w[i - 15], w[i - 2]
        s0 = _rotr64(x, 1) ^ _rotr64(x, 8) ^ (x >> 7)
        s1 = _rotr64(y, 19) ^ _rotr64(y, 61) ^ (y >> 6)
        w.append((w[i - 16] + s0 + w[i - 7] + s1) & _M64)
    a, b, c, d, e, f, g, h = state
    for i in range(80):
        s1 = _rotr64(e, 14) ^ _rotr64(e, 18) ^ _rotr64(e, 41)
        ch = (e & f) ^ (~e & g & _M64)
        t1 = (h + s1 + ch + _K512[i] + w[i]) & _M64
        s0 = _rotr64(a, 28) ^ _rotr64(a, 34) ^ _rotr64(a, 39)
        maj = (a & b) ^ (a & c) ^ (b & c)
        h = g
        g = f
        f = e
        e = (d + t1) & _M64
        d = c
        c = b
        b = a
        a = (t1 + s0 + maj) & _M64
    for i, v in enumerate((a, b, c, d, e, f, g, h)):
        state[i] = (state[i] + v) & _M64


# name: (block bytes, word bytes, digest words, initial state, compress)
SPECS = {
    "sha1": (64, 4, 5, (0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0), sha1_compress),
    "sha256": (
        64,
        4,
        8,
        (0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A, 0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19),
        sha256_compress,
    ),
    "sha512": (
        128,
        8,
        8,
        (
            0x6A09E667F3BCC908,
            0xBB67AE8584CAA73B,
            0x3C6EF372FE94F82B,
            0xA54FF53A5F1D36F1,
            0x510E527FADE682D1,
            0x9B05688C2B3E6C1F,
            0x1F83D9ABFB41BD6B,
            0x5BE0CD19137E2179,
        ),
        sha512_compress,
    ),
}


def _pad(tail, total_len, block, word):
    # Final block(s) for a message whose last partial block is `tail`: 0x80,
    # zeros, then the bit length in 2*word bytes (64 bits, or 128 for SHA-512).
    lenbytes = 2 * word
    n = len(tail) + 1 + lenbytes
    size = block if n <= block else 2 * block
    out = bytearray(size)
    out[: len(tail)] = tail
    out[len(tail)] = 0x80
    bits = total_len * 8
    i = size - 1
    while bits:
        out[i] = bits & 0xFF
        bits >>= 8
        i -= 1
    return out


def _digest_bytes(state, word, nwords):
    out = bytearray(word * nwords)
    for i in range(nwords):
        v = state[i]
        for j in range(word - 1, -1, -1):
            out[i * word + j] = v & 0xFF
            v >>= 8
    return bytes(out)


def finish(name, state, tail, total_len):
    """Digest of a message: `state` holds the blocks before `tail`."""
    block, word, nwords, _, compress = SPECS[name]
    st = list(state)
    padded = _pad(tail, total_len, block, word)
    for i in range(0, len(padded), block):
        compress(st, padded[i : i + block])
    return _digest_bytes(st, word, nwords)


def digest(name, data):
    """Whole-message hash, used to shorten HMAC keys longer than a block."""
    block, _, _, init, compress = SPECS[name]
    st = list(init)
    full = len(data) - len(data) % block
    for i in range(0, full, block):
        compress(st, data[i : i + block])
    return finish(name, st, data[full:], len(data))
