# Strict check of a request line before json.loads sees it.
#
# MicroPython's json parser is lenient: it accepts '{"v":1,"op":"wipe"]',
# missing or doubled commas, trailing NULs, and strings that are not valid
# UTF-8 (overlong forms, surrogates, code points past U+10FFFF), which it
# then stores and echoes byte for byte.  A single flipped bit (0x7D "}" ->
# 0x5D "]") could so turn line noise into an executed request, and a label
# that CPython cannot decode would break every later `list` on the host.
# This scanner accepts exactly RFC 8259 JSON in strict UTF-8, with no
# \uD800-\uDFFF escapes (MicroPython does not pair them), at most
# MAX_DEPTH nested containers (requests are flat objects), and no object
# that names a member twice, at any depth, however the names are spelled
# ("op" and "o\u0070" are one name).  RFC 8259 leaves repeated names to the
# parser, and MicroPython's json (like CPython's) keeps the last value:
# {"v":1,"op":"list","op":"wipe"} would read as list to anyone who checks
# the first op, and wipe the store.
#
# One pass over the bytes; it allocates a small depth stack, each object's
# names (decoded, to compare them) and the 4-5 byte slices that match true,
# false and null.

MAX_DEPTH = 4

_VALUE = 0  # a value must come
_KEY = 1  # an object key must come (after ",")
_KEY_OR_END = 2  # after "{"
_VALUE_OR_END = 3  # after "["


def _ws(b, i, n):
    while i < n and b[i] in (0x20, 0x09, 0x0A, 0x0D):
        i += 1
    return i


def _cont(b, i, n, k, lo=0x80, hi=0xBF):
    # k continuation bytes at i; the first one in [lo, hi] (no overlongs,
    # no surrogates, nothing past U+10FFFF).
    if i + k > n or not lo <= b[i] <= hi:
        return -1
    for j in range(i + 1, i + k):
        if not 0x80 <= b[j] <= 0xBF:
            return -1
    return i + k


def _hex4(b, i, n):
    # Four hex digits, exactly: 0-9, A-F, a-f (no case folding of other bytes).
    if i + 4 > n:
        return -1
    v = 0
    for j in range(i, i + 4):
        c = b[j]
        if 0x30 <= c <= 0x39:
            d = c - 0x30
        elif 0x61 <= c <= 0x66:
            d = c - 0x57
        elif 0x41 <= c <= 0x46:
            d = c - 0x37
        else:
            return -1
        v = (v << 4) | d
    return v


_SIMPLE = {0x22: 0x22, 0x5C: 0x5C, 0x2F: 0x2F, 0x62: 0x08, 0x66: 0x0C, 0x6E: 0x0A, 0x72: 0x0D, 0x74: 0x09}


def _name(b, i, j):
    # The string b[i:j] (quotes included, already checked by _string) as
    # the UTF-8 bytes of its characters, so two spellings of a name compare
    # equal: strict UTF-8 has one encoding per character.
    i += 1
    j -= 1
    k = i
    while k < j and b[k] != 0x5C:
        k += 1
    if k == j:  # no escape: the bytes are the name
        return bytes(b[i:j])
    out = bytearray(b[i:k])
    i = k
    while i < j:
        c = b[i]
        if c != 0x5C:
            out.append(c)
            i += 1
            continue
        e = b[i + 1]
        if e != 0x75:
            out.append(_SIMPLE[e])
            i += 2
            continue
        v = _hex4(b, i + 2, j)  # never a surrogate: _string refused those
        if v < 0x80:
            out.append(v)
        elif v < 0x800:
            out.append(0xC0 | (v >> 6))
            out.append(0x80 | (v & 0x3F))
        else:
            out.append(0xE0 | (v >> 12))
            out.append(0x80 | ((v >> 6) & 0x3F))
            out.append(0x80 | (v & 0x3F))
        i += 6
    return bytes(out)


def _string(b, i, n):
    # b[i] is the opening quote; returns the index after the closing one.
    i += 1
    while i < n:
        c = b[i]
        if c == 0x22:
            return i + 1
        if c < 0x20:
            return -1
        if c == 0x5C:  # backslash
            if i + 1 >= n:
                return -1
            e = b[i + 1]
            if e == 0x75:  # \uXXXX
                v = _hex4(b, i + 2, n)
                if v < 0 or 0xD800 <= v <= 0xDFFF:
                    return -1
                i += 6
            elif e in _SIMPLE:  # \" \\ \/ \b \f \n \r \t
                i += 2
            else:
                return -1
        elif c < 0x80:
            i += 1
        elif 0xC2 <= c <= 0xDF:
            i = _cont(b, i + 1, n, 1)
        elif c == 0xE0:
            i = _cont(b, i + 1, n, 2, 0xA0)
        elif c == 0xED:
            i = _cont(b, i + 1, n, 2, 0x80, 0x9F)
        elif 0xE1 <= c <= 0xEF:
            i = _cont(b, i + 1, n, 2)
        elif c == 0xF0:
            i = _cont(b, i + 1, n, 3, 0x90)
        elif 0xF1 <= c <= 0xF3:
            i = _cont(b, i + 1, n, 3)
        elif c == 0xF4:
            i = _cont(b, i + 1, n, 3, 0x80, 0x8F)
        else:
            return -1
        if i < 0:
            return -1
    return -1


def _digits(b, i, n):
    j = i
    while j < n and 0x30 <= b[j] <= 0x39:
        j += 1
    return j if j > i else -1


def _number(b, i, n):
    if b[i] == 0x2D:  # "-"
        i += 1
    if i >= n:
        return -1
    if b[i] == 0x30:
        i += 1
    else:
        i = _digits(b, i, n)
        if i < 0:
            return -1
    if i < n and b[i] == 0x2E:  # "."
        i = _digits(b, i + 1, n)
        if i < 0:
            return -1
    if i < n and b[i] in (0x45, 0x65):  # "E" "e"
        i += 1
        if i < n and b[i] in (0x2B, 0x2D):
            i += 1
        i = _digits(b, i, n)
    return i


def valid(b, max_depth=MAX_DEPTH):
    """True if the bytes are one strict JSON value (surrounding blanks allowed)."""
    n = len(b)
    stack = bytearray(max_depth)
    names = [None] * max_depth  # per open object: the names seen so far
    depth = 0
    i = _ws(b, 0, n)
    expect = _VALUE
    while True:
        if i >= n:
            return False
        c = b[i]
        closed = False
        if expect == _KEY or expect == _KEY_OR_END:
            if c == 0x7D and expect == _KEY_OR_END:
                closed = True
            else:
                if c != 0x22:
                    return False
                start = i
                i = _string(b, i, n)
                if i < 0:
                    return False
                name = _name(b, start, i)
                seen = names[depth - 1]
                if name in seen:
                    return False
                seen.append(name)
                i = _ws(b, i, n)
                if i >= n or b[i] != 0x3A:  # ":"
                    return False
                i = _ws(b, i + 1, n)
                expect = _VALUE
                continue
        elif expect == _VALUE_OR_END and c == 0x5D:
            closed = True
        if closed:
            depth -= 1
            i += 1
        elif c == 0x7B or c == 0x5B:  # "{" "["
            if depth >= max_depth:
                return False
            stack[depth] = c
            if c == 0x7B:
                names[depth] = []
            depth += 1
            i = _ws(b, i + 1, n)
            expect = _KEY_OR_END if c == 0x7B else _VALUE_OR_END
            continue
        elif c == 0x22:
            i = _string(b, i, n)
        elif c == 0x2D or 0x30 <= c <= 0x39:
            i = _number(b, i, n)
        elif b[i : i + 4] == b"true" or b[i : i + 4] == b"null":
            i += 4
        elif b[i : i + 5] == b"false":
            i += 5
        else:
            return False
        if i < 0:
            return False
        # After a value: close containers, or a comma, or the end.
        while True:
            i = _ws(b, i, n)
            if depth == 0:
                return i == n
            if i >= n:
                return False
            c = b[i]
            top = stack[depth - 1]
            if c == 0x2C:  # ","
                i = _ws(b, i + 1, n)
                expect = _KEY if top == 0x7B else _VALUE
                break
            if (top == 0x7B and c == 0x7D) or (top == 0x5B and c == 0x5D):
                depth -= 1
                i += 1
                continue
            return False
