"""Fuzz frames for the protocol handler, and an independent model of what
the token must answer to each (tests/rel/test_rel_fuzz.py).

Frames start from a valid request of every op and are mutated at the
object level (dropped and unknown keys, wrong types, huge numbers, nested
containers, wrong versions and ids, names holding control and bidi
characters or only spaces), while being encoded (a member name repeated at
any depth, names spelled with \\u escapes) and at the byte level (bit flips,
truncation, duplication, invalid UTF-8, NUL bytes, oversized lines, a \\u
escape's digit or a byte inside a string set to any byte value).  A stream
adds partial frames without a newline, blank lines and floods.

The model is written from docs/protocol.md with CPython's json and
unicodedata, not from the firmware: strict RFC 8259 JSON, strict UTF-8, no
surrogate escapes, at most fob.frame.MAX_DEPTH nested containers, no
repeated member name (CPython keeps the last value: the model refuses
instead), and the name rule for labels and issuers.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass

from hypothesis import strategies as st

from fob import proto
from support.unicode_props import default_ignorable

T0 = 1_800_000_000
MAX_DEPTH = 4  # docs/protocol.md: requests nest at most 4 containers
OPS = (
    proto.OP_INFO,
    proto.OP_ADD,
    proto.OP_LIST,
    proto.OP_DELETE,
    proto.OP_RENAME,
    proto.OP_TIME_GET,
    proto.OP_TIME_SET,
    proto.OP_CODE,
    proto.OP_CHECK,
    proto.OP_CANCEL,
    proto.OP_WIPE,
    proto.OP_UNLOCK,
    proto.OP_LOCK,
    proto.OP_ACCESS_SET,
    proto.OP_ACCESS_CLEAR,
)
# Ops that never change anything the token keeps, even when they succeed.
READ_ONLY = (proto.OP_INFO, proto.OP_LIST, proto.OP_TIME_GET, proto.OP_LOCK, proto.OP_CHECK, proto.OP_CANCEL)

# The accounts a fuzzed token holds (labels only; the keys are per run).
LABELS = ("alpha", "beta", "gamma")


def base_requests(secret_b32: str, key_hex: str) -> list[dict]:
    """One or more valid requests per op (they may still be refused: not_found...)."""
    return [
        {"op": "info"},
        {"op": "list"},
        {"op": "list", "start": 1, "limit": 2},
        {"op": "add", "label": "new", "issuer": "Fuzz Inc", "secret": secret_b32},
        {"op": "add", "label": "new8", "key": key_hex, "algorithm": "sha256", "digits": 8, "period": 60},
        {"op": "add", "label": "newh", "secret": secret_b32.lower(), "type": "hotp", "counter": 5, "touch": False},
        {"op": "add", "label": "alpha", "secret": secret_b32},  # exists
        {"op": "delete", "label": "alpha", "issuer": "Issuer"},
        {"op": "delete", "label": "alpha"},  # no such account: alpha's issuer is Issuer
        {"op": "delete", "label": "nobody"},
        {"op": "rename", "label": "alpha", "issuer": "Issuer", "new": "omega", "new_issuer": "Other"},
        {"op": "rename", "label": "beta", "new": "gamma"},
        {"op": "time_get"},
        {"op": "time_set", "time": T0 + 100},
        {"op": "code", "label": "alpha", "issuer": "Issuer"},
        {"op": "code", "label": "beta"},
        {"op": "check", "label": "beta", "code": "123456"},
        {"op": "cancel"},
        {"op": "wipe"},
        {"op": "wipe", "factory": True},
        {"op": "unlock"},
        {"op": "unlock", "response": "00" * 32, "host_challenge": "11" * 16},
        {"op": "lock"},
        {"op": "access_set", "key": "22" * 32, "salt": "33" * 16, "iterations": 1000},
        {"op": "access_clear"},
    ]


# -- mutations ------------------------------------------------------------------

KEYS = (
    "v",
    "id",
    "op",
    "label",
    "new",
    "issuer",
    "secret",
    "key",
    "algorithm",
    "digits",
    "period",
    "type",
    "counter",
    "touch",
    "start",
    "limit",
    "time",
    "factory",
    "response",
    "host_challenge",
    "salt",
    "iterations",
    "x",
    "",
    "V",
    "op ",
)
HUGE = (2**31 - 1, 2**31, 2**32, 2**63, 2**64 - 1, 2**64, -(2**63), 10**40, -1, 0, 1)
BAD_V = (0, 1, 3, -1, "2", 2.0, True, False, None, [2], {"v": 2}, 2**64, 1e400)
BAD_ID = (-1, 2**31, 2**31 - 1, 2**63, "7", 1.5, True, None, [1], {}, 0)
BAD_UTF8 = (
    b"\xff",
    b"\xfe",
    b"\x80",
    b"\xc0\xaf",
    b"\xc1\xbf",
    b"\xe0\x80\xaf",
    b"\xed\xa0\x80",
    b"\xed\xbf\xbf",
    b"\xf4\x90\x80\x80",
    b"\xf8\x88\x80\x80\x80",
    b"\xe2\x82",
    b"\xc3",
)
ODD_BYTES = (b"\x00", b"\r", b"\t", b"\x1b", b"\x03", b"\x04", b"\x7f", b"\\", b'"', b"}", b"]", b",", b":")
ESCAPES = (
    '"\\ud800"',
    '"\\udfff"',
    '"\\ud83d\\ude00"',
    '"\\u0000"',
    '"\\x41"',
    '"\\q"',
    "NaN",
    "Infinity",
    "-Infinity",
    "1e999",
    "-0",
    "01",
    "1.",
    ".5",
    "+1",
    "0x10",
    "tru",
    "nul",
    "[1,]",
    "{,}",
    "[]",
    "{}",
)

json_scalars = (
    st.none()
    | st.booleans()
    | st.sampled_from(HUGE)
    | st.integers(-(10**20), 10**20)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
json_values = st.recursive(
    json_scalars, lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=4), c, max_size=3), max_leaves=6
)


def _nested(depth: int, leaf: object = 1) -> object:
    v: object = leaf
    for i in range(depth):
        v = [v] if i % 2 else {"a": v}
    return v


@st.composite
def mutated_obj(draw, bases: list[dict]) -> dict:
    req = {"v": proto.VERSION, "id": draw(st.integers(0, 2**31 - 1))}
    req.update(draw(st.sampled_from(bases)))
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.integers(0, 8))
        if kind == 0 and req:
            req.pop(draw(st.sampled_from(sorted(req))), None)
        elif kind == 1:
            req[draw(st.sampled_from(KEYS) | st.text(max_size=6))] = draw(json_values)
        elif kind == 2:
            req["v"] = draw(st.sampled_from(BAD_V))
        elif kind == 3:
            req["id"] = draw(st.sampled_from(BAD_ID))
        elif kind == 4:
            op = str(req.get("op", "info"))
            req["op"] = draw(st.sampled_from([op.upper(), op[:-1], op + "x", "", " " + op]) | st.text(max_size=8))
        elif kind == 5 and req:
            k = draw(st.sampled_from(sorted(req)))
            req[k] = _nested(draw(st.integers(1, 40)), req[k])
        elif kind == 6 and req:
            k = draw(st.sampled_from(sorted(req)))
            req[k] = draw(st.sampled_from(HUGE + (str(req[k]), [req[k]], None, True, 1.5)))
        elif kind == 7:
            req[draw(st.sampled_from(KEYS))] = draw(
                st.sampled_from(("x" * 40, "é" * 17, "a\tb", "a\x00b", "a\x7fb", " ", "", "\u2028", "😀" * 9))
            )
        elif kind == 8:  # a name with refused characters, or only spaces
            req[draw(st.sampled_from(NAME_KEYS))] = draw(odd_names)
    return req


NAME_KEYS = ("label", "new", "issuer", "new_issuer")
# Characters a label or issuer may not hold (C0, DEL, C1, U+2028/9, bidi
# controls), space separators, and ordinary ones to mix them with.
ODD_CHARS = (
    "\x00",
    "\x1b",
    "\x7f",
    "\x85",
    "\x9b",
    "\x9f",
    "\u2028",
    "\u2029",
    "\u202a",
    "\u202e",
    "\u2066",
    "\u2069",
    "\u200e",
    "\u200f",
    "\u061c",
    " ",
    "\xa0",
    "\u2007",
    "\u3000",
    "\u200b",
    "\u2070",
    "\u2065",
    "\u202f",
    "a",
    "é",
    "Ω",
    "😀",
)
odd_names = st.text(alphabet=st.sampled_from(ODD_CHARS), max_size=6) | st.sampled_from(
    ("alpha", "alpha\u202e", "\u202ealpha", " ", "  ", "\u3000", "a\x85b", "a\x9b[2Jb", "\u2066x\u2069", "x\u200e")
)

# Bytes around the hex digits' ranges: a scanner that folds case with
# "| 0x20" takes 0x10-0x19 for 0-9 and 0x01-0x06 (and 0x41-0x46) for a-f.
DIGIT_EDGES = (0x10, 0x11, 0x19, 0x1A, 0x01, 0x06, 0x07, 0x2F, 0x3A, 0x40, 0x47, 0x60, 0x67, 0x50, 0x59)
any_byte = st.integers(0, 255) | st.sampled_from(DIGIT_EDGES)


def _name_token(draw, name: str, ascii_only: bool) -> str:
    """A member name as JSON text, some characters spelled as \\u escapes
    (either case of hex digit): "op" may come as "o\\u0070"."""
    if not draw(st.integers(0, 3)) == 0:
        return json.dumps(name, ensure_ascii=ascii_only)
    out = []
    for ch in name:
        if ord(ch) <= 0xFFFF and draw(st.booleans()):
            out.append(("\\u%04X" if draw(st.booleans()) else "\\u%04x") % ord(ch))
        else:
            out.append(json.dumps(ch, ensure_ascii=ascii_only)[1:-1])
    return '"' + "".join(out) + '"'


def _dump(draw, v: object, sep: tuple[str, str], ascii_only: bool) -> str:
    """JSON text of v, as json.dumps would write it, except that now and then
    an object names one of its members twice (at any depth, spelled any way)."""
    if isinstance(v, dict):
        items = list(v.items())
        if items and draw(st.integers(0, 11)) == 0:
            k, x = draw(st.sampled_from(items))
            items.insert(draw(st.integers(0, len(items))), (k, draw(st.sampled_from([x, "wipe", 1, None]))))
        return (
            "{"
            + sep[0].join(
                _name_token(draw, str(k), ascii_only) + sep[1] + _dump(draw, x, sep, ascii_only) for k, x in items
            )
            + "}"
        )
    if isinstance(v, list):
        return "[" + sep[0].join(_dump(draw, x, sep, ascii_only) for x in v) + "]"
    return json.dumps(v, ensure_ascii=ascii_only, allow_nan=True)


def _encode(draw, req: dict) -> bytes:
    sep = draw(st.sampled_from(((", ", ": "), (",", ":"), (" , ", " : "), (",\t", ":\t"))))
    text = _dump(draw, req, sep, draw(st.booleans()))
    return text.encode("utf-8", "surrogatepass")


def _string_bytes(b: bytes | bytearray) -> list[int]:
    """Indexes of the bytes inside JSON strings (between unescaped quotes)."""
    out, inside, i = [], False, 0
    while i < len(b):
        c = b[i]
        if inside and c == 0x5C:
            out.extend((i, i + 1))
            i += 2
            continue
        if c == 0x22:
            inside = not inside
        elif inside:
            out.append(i)
        i += 1
    return [j for j in out if j < len(b)]


def _escape_digit(draw, b: bytearray, pos: int) -> None:
    """Set one hex digit of a \\u escape (one is put at pos if there is none)
    to any byte value."""
    escapes = [m.start() for m in re.finditer(rb"\\u", bytes(b))]
    if not escapes:
        b[pos:pos] = b'"\\u00e9"'
        escapes = [pos + 1]
    at = draw(st.sampled_from(escapes)) + 2 + draw(st.integers(0, 3))
    if at < len(b):
        b[at] = draw(any_byte)


@st.composite
def byte_mutations(draw, data: bytes) -> bytes:
    b = bytearray(data)
    if draw(st.integers(0, 7)) == 0:  # often enough to show in a normal run
        _escape_digit(draw, b, draw(st.integers(0, len(b))))
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.integers(0, 9))
        pos = draw(st.integers(0, max(len(b), 1)))
        if kind == 0 and b:  # bit flip
            p = min(pos, len(b) - 1)
            b[p] ^= 1 << draw(st.integers(0, 7))
        elif kind == 1:  # truncation
            del b[pos:]
        elif kind == 2 and b:  # duplicate a slice
            n = draw(st.integers(1, 40))
            b[pos:pos] = b[pos : pos + n] or b[:n]
        elif kind == 3:  # invalid UTF-8
            b[pos:pos] = draw(st.sampled_from(BAD_UTF8))
        elif kind == 4:  # NUL and other odd bytes
            b[pos:pos] = draw(st.sampled_from(ODD_BYTES))
        elif kind == 5 and b:  # replace a byte with anything
            b[min(pos, len(b) - 1)] = draw(st.integers(0, 255))
        elif kind == 6:  # a non-JSON or non-strict token
            b[pos:pos] = draw(st.sampled_from(ESCAPES)).encode()
        elif kind == 7:  # drop one byte
            del b[pos : pos + 1]
        elif kind == 8:  # a \u escape's digit set to any byte
            _escape_digit(draw, b, pos)
        elif kind == 9:  # a byte inside a string set to any byte
            inside = _string_bytes(b)
            if inside:
                b[draw(st.sampled_from(inside))] = draw(any_byte)
    return bytes(b)


@st.composite
def frame(draw, bases: list[dict]) -> bytes:
    """One line (without its newline)."""
    shape = draw(st.integers(0, 99))
    if shape < 5:
        return draw(st.binary(max_size=80))  # noise
    if shape < 8:  # oversized
        unit = _encode(draw, draw(mutated_obj(bases)))
        return (unit * (proto.MAX_LINE // max(len(unit), 1) + 2))[: draw(st.integers(513, 2000))]
    if shape < 10:  # almost at the limit: padded with blanks inside the object
        req = draw(mutated_obj(bases))
        body = _encode(draw, req)
        pad = proto.MAX_LINE - len(body) + draw(st.integers(-2, 1))
        return body[:1] + b" " * max(pad, 0) + body[1:]
    data = _encode(draw, draw(mutated_obj(bases)))
    if shape < 70:
        data = draw(byte_mutations(data))
    return data.replace(b"\n", b"\\n")  # one line; streams add newlines themselves


@st.composite
def stream(draw, bases: list[dict], n: int, flood: int = 0) -> list[bytes]:
    """Chunks to write: mostly frame + newline; some partial frames (no
    newline: they run into the next one), blank lines and floods."""
    out = []
    for _ in range(n):
        kind = draw(st.integers(0, 99))
        if kind < 4:
            out.append(draw(frame(bases)))  # partial: no newline
        elif kind < 7:
            out.append(draw(st.sampled_from((b"\n", b"\r\n", b" \t \r\n", b"   \n"))))
        elif kind < 8 and flood:
            out.append(b"{" * draw(st.integers(proto.MAX_LINE + 1, flood)) + b"\n")
        else:
            out.append(draw(frame(bases)) + draw(st.sampled_from((b"\n", b"\n", b"\n", b"\r\n"))))
    return out


# -- the model -------------------------------------------------------------------


def split_lines(data: bytes) -> tuple[list[bytes | None], bytes]:
    """The token's framing: lines cut at "\\n"; None for a line over MAX_LINE;
    blank lines (only space, tab, CR) dropped.  Returns (lines, the rest)."""
    parts = data.split(b"\n")
    rest = parts.pop()
    lines: list[bytes | None] = []
    for p in parts:
        if len(p) > proto.MAX_LINE:
            lines.append(None)
        elif p.strip(b" \t\r"):
            lines.append(p)
    return lines, rest


_SURROGATE_ESCAPE = re.compile(r"(?<!\\)(?:\\\\)*\\u[dD][89a-fA-F]")
# A \u not followed by four hex digits (CPython's own scanner refuses it too;
# said here so the model does not rest on that).
_BAD_U_ESCAPE = re.compile(r"(?<!\\)(?:\\\\)*\\u(?![0-9a-fA-F]{4})")


def _unique_names(pairs: list[tuple[str, object]]) -> dict:
    # CPython's json keeps the last of a repeated name; the protocol refuses
    # the frame.  The names come decoded: "o\u0070" is "op".
    names = [k for k, _ in pairs]
    if len(set(names)) != len(names):
        raise ValueError("repeated name")
    return dict(pairs)


def strict_json(line: bytes) -> object:
    """The request object, or raise ValueError if the line is not strict JSON."""
    text = line.decode("utf-8")  # strict: no surrogates, overlongs, > U+10FFFF
    if _SURROGATE_ESCAPE.search(text) or _BAD_U_ESCAPE.search(text):
        raise ValueError("surrogate escape or bad hex digit")

    def no_constants(name: str) -> object:
        raise ValueError(name)

    try:
        obj = json.loads(text, parse_constant=no_constants, object_pairs_hook=_unique_names)
    except RecursionError:
        raise ValueError("deep") from None

    def walk(o: object, depth: int) -> None:
        if isinstance(o, (dict, list)):
            if depth >= MAX_DEPTH:
                raise ValueError("deep")
            for x in o.values() if isinstance(o, dict) else o:
                walk(x, depth + 1)

    walk(obj, 0)
    return obj


def strict_ok(line: bytes) -> bool:
    """Is the line one strict JSON value (what fob.frame.valid must say)?"""
    try:
        strict_json(line)
    except (ValueError, UnicodeDecodeError):
        return False
    return True


# docs/protocol.md "Names", in Unicode's terms: general category Cc, the
# line and paragraph separators, and the Bidi_Control characters.
_BIDI_CONTROL = ("LRE", "RLE", "LRO", "RLO", "PDF", "LRI", "RLI", "FSI", "PDI")
_BIDI_MARKS = ("LEFT-TO-RIGHT MARK", "RIGHT-TO-LEFT MARK", "ARABIC LETTER MARK")


def name_char_refused(ch: str) -> bool:
    return (
        unicodedata.category(ch) in ("Cc", "Zl", "Zp")
        or unicodedata.bidirectional(ch) in _BIDI_CONTROL
        or unicodedata.name(ch, "") in _BIDI_MARKS
        or ord(ch) in default_ignorable()
    )


def name_blank(s: str) -> bool:
    return all(unicodedata.category(ch) == "Zs" for ch in s)


MAX_COUNTER = 2**63 - 1  # docs/protocol.md


def must_refuse(req: dict) -> bool:
    """A request no token may carry out: a name that breaks the rule, or a
    counter past the limit (whatever else is right or wrong with it)."""
    for k in NAME_KEYS:
        v = req.get(k)
        if isinstance(v, str) and (
            any(name_char_refused(c) for c in v) or (name_blank(v) and (v or k not in ("issuer", "new_issuer")))
        ):
            return True
    c = req.get("counter")
    return "counter" in req and not (type(c) is int and 0 <= c <= MAX_COUNTER)


@dataclass
class Expect:
    err: str | None  # the error code the line must get, or None: decided by the op
    id: object  # the id the reply must carry
    op: str | None = None
    refused: bool = False  # must be an error (bad_arg, not_found or locked), whatever the op


def expect(line: bytes | None) -> Expect:
    if line is None or len(line) > proto.MAX_LINE:
        return Expect(proto.E_TOO_LONG, None)
    try:
        req = strict_json(line)
    except (ValueError, UnicodeDecodeError):
        return Expect(proto.E_FRAME, None)
    if not isinstance(req, dict):
        return Expect(proto.E_FRAME, None)
    rid = req.get("id")
    if rid is not None and (type(rid) is not int or not 0 <= rid <= 2**31 - 1):
        return Expect(proto.E_FRAME, None)
    if type(req.get("v")) is not int or req["v"] != proto.VERSION:
        return Expect(proto.E_VERSION, rid)
    if req.get("op") not in OPS:
        return Expect(proto.E_OP, rid)
    return Expect(None, rid, req["op"], must_refuse(req))


def parse_reply(out: bytes) -> dict:
    """Exactly one tagged JSON object line, or AssertionError."""
    tag = proto.REPLY_TAG.encode()
    assert out.startswith(tag) and out.endswith(b"\n") and out.count(b"\n") == 1, out[:200]
    reply = json.loads(out[len(tag) :])
    assert isinstance(reply, dict) and reply.get("v") == proto.VERSION and isinstance(reply.get("ok"), bool)
    return reply


def check_reply(reply: dict, want: Expect, what: object) -> None:
    assert reply.get("id") == want.id, (what, reply)
    if want.err is not None:
        assert reply["ok"] is False and reply.get("err") == want.err, (what, reply)
    if want.refused:
        assert reply["ok"] is False and reply.get("err") in (proto.E_ARG, proto.E_NOT_FOUND, proto.E_LOCKED), (
            what,
            reply,
        )
    if not reply["ok"]:
        assert isinstance(reply.get("msg"), str) and reply["msg"], (what, reply)


def against_oracle(lines: list[bytes], oracle) -> tuple[list[bytes], list[Expect], list[dict], int]:
    """What of fuzz ``lines`` goes to a token, and what it must answer: each
    line is fed to ``oracle`` (a CPython rig of the same firmware) and its
    reply checked; a valid change is dropped (it would change the token), the
    oracle rebuilt. (lines to send, expectations and the oracle's replies
    for the answered ones, how many were dropped)."""
    keep: list[bytes] = []
    want: list[Expect] = []
    replies: list[dict] = []
    dropped = 0
    for p in lines:
        if len(p) > proto.MAX_LINE:
            keep.append(p)
            want.append(expect(None))
            replies.append({"ok": False, "err": proto.E_TOO_LONG, "id": None})
            continue
        if not p.strip(b" \t\r"):
            keep.append(p)  # blank: no reply
            continue
        reply, _, _ = oracle.feed(p)
        e = expect(p)
        check_reply(reply, e, p)
        if reply["ok"] and e.op not in READ_ONLY:
            oracle.rebuild()  # it would change the token: not sent
            dropped += 1
            continue
        keep.append(p)
        want.append(e)
        replies.append(reply)
    return keep, want, replies, dropped


def check_replies(keep, want, got, oracle_replies, *, strict: bool = True) -> tuple[int, int]:
    """A token's replies (``got``) to the lines ``keep`` it was sent, each
    checked against what it must be and against the oracle's reply: MicroPython
    and CPython must agree on every frame. (frames answered, errors among them)"""
    sent = [p for p in keep if len(p) > proto.MAX_LINE or p.strip(b" \t\r")]
    errors = 0
    for line, e, mine, theirs in zip(sent, want, got, oracle_replies, strict=strict):
        check_reply(mine, e, line[:600])
        assert (mine["ok"], mine.get("err"), mine.get("id")) == (theirs["ok"], theirs.get("err"), theirs.get("id")), (
            line[:600],
            mine,
            theirs,
        )
        errors += not mine["ok"]
    return len(sent), errors


# -- the strict rules, case by case (tests/emu/test_proto_strict.py) ------------------

# Every character the name rule refuses (docs/protocol.md "Names").
REFUSED_CODEPOINTS = (
    list(range(0x20))
    + list(range(0x7F, 0xA0))
    + [0x2028, 0x2029]
    + list(range(0x202A, 0x202F))
    + list(range(0x2066, 0x206A))
    + [0x200E, 0x200F, 0x061C]
    + [0x00AD, 0x200B, 0x2060, 0xFEFF, 0xFE0F]  # Default_Ignorable: soft hyphen, ZWSP, ...
)
BLANKS = (" ", "   ", "\u00a0", "\u3000", " \u2007 ", "\u1680", "\u202f\u205f")
# Accounts the strict cases run against (labels alpha and beta exist).
SETUP = (
    {"op": "add", "label": "alpha", "issuer": "Issuer", "key": "3132333435363738393031323334353637383930"},
    {"op": "add", "label": "beta", "key": "3132333435363738393031323334353637383930", "type": "hotp", "counter": 7},
)


def _spellings(name: str) -> list[str]:
    """A member name as JSON text, spelled every way that means the same."""
    out = [json.dumps(name), json.dumps(name, ensure_ascii=False)]
    out.append('"' + "".join("\\u%04x" % ord(c) for c in name) + '"')
    out.append('"' + "".join("\\u%04X" % ord(c) for c in name) + '"')
    out.append('"' + "\\u%04x" % ord(name[0]) + json.dumps(name[1:])[1:])
    return list(dict.fromkeys(out))


def _text(members: list[tuple[str, object]]) -> bytes:
    """An object with these members in this order (names already JSON text)."""
    return ("{" + ",".join(k + ":" + json.dumps(v, ensure_ascii=False) for k, v in members) + "}").encode()


def repeated_name_frames() -> list[bytes]:
    """Requests that name a member twice, at any depth, however spelled.
    Each would change the token if the last (or the first) value won."""
    bases = [
        {"v": proto.VERSION, "id": 1, "op": "delete", "label": "alpha", "issuer": "Issuer"},
        {"v": proto.VERSION, "id": 2, "op": "rename", "label": "alpha", "issuer": "Issuer", "new": "omega"},
        {"v": proto.VERSION, "id": 3, "op": "add", "label": "gamma", "key": "00" * 20, "issuer": "Ünïcode"},
        {"v": proto.VERSION, "id": 4, "op": "time_set", "time": T0 + 100},
        {"v": proto.VERSION, "id": 5, "op": "wipe"},
        {"v": proto.VERSION, "id": 6, "op": "code", "label": "beta"},
    ]
    out = [
        b'{"v":2,"op":"list","op":"wipe"}',
        b'{"v":2,"op":"wipe","o\\u0070":"list"}',
        b'{"v":2,"op":"list","op":"list"}',
    ]
    for base in bases:
        items = list(base.items())
        for at, (name, value) in enumerate(items):
            for spelt in _spellings(name):
                for again in (value, "wipe"):
                    members = [(json.dumps(k), v) for k, v in items]
                    members.insert(at + 1, (spelt, again))
                    out.append(_text(members))
                    members = [(json.dumps(k), v) for k, v in items] + [(spelt, again)]
                    out.append(_text(members))
    # Deeper: inside a value the op does not know (bad_arg without the rule),
    # and names that differ only in how a non-ASCII character is written.
    out += [
        b'{"v":2,"op":"list","x":{"a":1,"a":2}}',
        b'{"v":2,"op":"list","x":[{"a":1,"\\u0061":2}]}',
        b'{"v":2,"op":"info","x":[[{"k":1,"k":1}]]}',
        b'{"v":2,"op":"info","x":{"y":{"\\u00e9":1,"\xc3\xa9":2}}}',
        b'{"v":2,"op":"info","x":{"\\n":1,"\\u000A":2}}',
        b'{"v":2,"op":"info","x":{"\\/":1,"/":2}}',
    ]
    return out


def refused_name_frames() -> list[tuple[bytes, str]]:
    """(frame, the error it must get) for names that break the rule: each
    refused character in a label, an issuer and a new label, escaped and as
    raw UTF-8 (a raw C0 byte is not JSON at all: bad_frame; a raw LF or CR
    would end the line); blank labels
    and issuers; counters past the limit."""
    out: list[tuple[bytes, str]] = []
    key = "00" * 20
    for cp in REFUSED_CODEPOINTS:
        name = "a" + chr(cp) + "b"
        for req in (
            {"op": "add", "label": name, "key": key},
            {"op": "add", "label": "c", "issuer": name, "key": key},
            {"op": "rename", "label": "alpha", "new": name},
            {"op": "rename", "label": "alpha", "new": "c", "new_issuer": name},
        ):
            req = {"v": proto.VERSION, "id": cp, **req}
            out.append((json.dumps(req).encode(), proto.E_ARG))
            if cp not in (0x0A, 0x0D):  # those two end the line
                raw = json.dumps(req, ensure_ascii=False).replace(json.dumps(chr(cp))[1:-1], chr(cp)).encode()
                out.append((raw, proto.E_FRAME if cp < 0x20 else proto.E_ARG))
    for blank in BLANKS:
        for req in (
            {"op": "add", "label": blank, "key": key},
            {"op": "add", "label": "c", "issuer": blank, "key": key},
            {"op": "rename", "label": "alpha", "new": blank},
            {"op": "rename", "label": "alpha", "new": "c", "new_issuer": blank},
        ):
            out.append((json.dumps({"v": proto.VERSION, **req}, ensure_ascii=False).encode(), proto.E_ARG))
    for counter in (MAX_COUNTER + 1, 2**64 - 1, 2**64, -1):
        out.append(
            (
                json.dumps(
                    {"v": proto.VERSION, "op": "add", "label": "c", "key": key, "type": "hotp", "counter": counter}
                ).encode(),
                proto.E_ARG,
            )
        )
    return out


def strict_cases() -> list[tuple[bytes, str]]:
    return [(f, proto.E_FRAME) for f in repeated_name_frames()] + refused_name_frames()
