"""Fuzz frames for the protocol handler, and an independent model of what
the token must answer to each (tests/test_rel_fuzz.py).

Frames start from a valid request of every op and are mutated at the
object level (dropped and unknown keys, wrong types, huge numbers, nested
containers, wrong versions and ids) and at the byte level (bit flips,
truncation, duplication, invalid UTF-8, NUL bytes, oversized lines).  A
stream adds partial frames without a newline, blank lines and floods.

The model is written from docs/protocol.md with CPython's json, not from
the firmware: strict RFC 8259 JSON, strict UTF-8, no surrogate escapes,
at most fob.frame.MAX_DEPTH nested containers.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from hypothesis import strategies as st

from fob import proto

T0 = 1_800_000_000
MAX_DEPTH = 4  # docs/protocol.md: requests nest at most 4 containers
OPS = (proto.OP_INFO, proto.OP_ADD, proto.OP_LIST, proto.OP_DELETE, proto.OP_RENAME, proto.OP_TIME_GET,
       proto.OP_TIME_SET, proto.OP_CODE, proto.OP_WIPE, proto.OP_UNLOCK, proto.OP_LOCK, proto.OP_ACCESS_SET,
       proto.OP_ACCESS_CLEAR)
# Ops that never change anything the token keeps, even when they succeed.
READ_ONLY = (proto.OP_INFO, proto.OP_LIST, proto.OP_TIME_GET, proto.OP_LOCK)

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
        {"op": "delete", "label": "alpha"},
        {"op": "delete", "label": "nobody"},
        {"op": "rename", "label": "alpha", "new": "omega", "issuer": "Other"},
        {"op": "rename", "label": "beta", "new": "gamma"},
        {"op": "time_get"},
        {"op": "time_set", "time": T0 + 100},
        {"op": "code", "label": "alpha"},
        {"op": "code", "label": "beta"},
        {"op": "wipe"},
        {"op": "wipe", "factory": True},
        {"op": "unlock"},
        {"op": "unlock", "response": "00" * 32, "host_challenge": "11" * 16},
        {"op": "lock"},
        {"op": "access_set", "key": "22" * 32, "salt": "33" * 16, "iterations": 1000},
        {"op": "access_clear"},
    ]


# -- mutations ------------------------------------------------------------------

KEYS = ("v", "id", "op", "label", "new", "issuer", "secret", "key", "algorithm", "digits", "period", "type",
        "counter", "touch", "start", "limit", "time", "factory", "response", "host_challenge", "salt",
        "iterations", "x", "", "V", "op ")
HUGE = (2**31 - 1, 2**31, 2**32, 2**63, 2**64 - 1, 2**64, -(2**63), 10**40, -1, 0, 1)
BAD_V = (0, 2, -1, "1", 1.0, True, False, None, [1], {"v": 1}, 2**64, 1e400)
BAD_ID = (-1, 2**31, 2**31 - 1, 2**63, "7", 1.5, True, None, [1], {}, 0)
BAD_UTF8 = (b"\xff", b"\xfe", b"\x80", b"\xc0\xaf", b"\xc1\xbf", b"\xe0\x80\xaf", b"\xed\xa0\x80",
            b"\xed\xbf\xbf", b"\xf4\x90\x80\x80", b"\xf8\x88\x80\x80\x80", b"\xe2\x82", b"\xc3")
ODD_BYTES = (b"\x00", b"\r", b"\t", b"\x1b", b"\x03", b"\x04", b"\x7f", b"\\", b'"', b"}", b"]", b",", b":")
ESCAPES = ('"\\ud800"', '"\\udfff"', '"\\ud83d\\ude00"', '"\\u0000"', '"\\x41"', '"\\q"', "NaN", "Infinity",
           "-Infinity", "1e999", "-0", "01", "1.", ".5", "+1", "0x10", "tru", "nul", "[1,]", "{,}", "[]", "{}")

json_scalars = (st.none() | st.booleans() | st.sampled_from(HUGE) | st.integers(-(10**20), 10**20)
                | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12))
json_values = st.recursive(json_scalars, lambda c: st.lists(c, max_size=3) | st.dictionaries(
    st.text(max_size=4), c, max_size=3), max_leaves=6)


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
        kind = draw(st.integers(0, 7))
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
            req[draw(st.sampled_from(KEYS))] = draw(st.sampled_from(("x" * 40, "é" * 17, "a\tb", "a\x00b",
                                                                     "a\x7fb", " ", "", "\u2028", "😀" * 9)))
    return req


def _encode(draw, req: dict) -> bytes:
    sep = draw(st.sampled_from(((", ", ": "), (",", ":"), (" , ", " : "), (",\t", ":\t"))))
    text = json.dumps(req, separators=sep, ensure_ascii=draw(st.booleans()), allow_nan=True)
    return text.encode("utf-8", "surrogatepass")


@st.composite
def byte_mutations(draw, data: bytes) -> bytes:
    b = bytearray(data)
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.integers(0, 7))
        pos = draw(st.integers(0, max(len(b), 1)))
        if kind == 0 and b:  # bit flip
            p = min(pos, len(b) - 1)
            b[p] ^= 1 << draw(st.integers(0, 7))
        elif kind == 1:  # truncation
            del b[pos:]
        elif kind == 2 and b:  # duplicate a slice
            n = draw(st.integers(1, 40))
            b[pos:pos] = b[pos:pos + n] or b[:n]
        elif kind == 3:  # invalid UTF-8
            b[pos:pos] = draw(st.sampled_from(BAD_UTF8))
        elif kind == 4:  # NUL and other odd bytes
            b[pos:pos] = draw(st.sampled_from(ODD_BYTES))
        elif kind == 5 and b:  # replace a byte with anything
            b[min(pos, len(b) - 1)] = draw(st.integers(0, 255))
        elif kind == 6:  # a non-JSON or non-strict token
            b[pos:pos] = draw(st.sampled_from(ESCAPES)).encode()
        elif kind == 7:  # drop one byte
            del b[pos:pos + 1]
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


def strict_json(line: bytes) -> object:
    """The request object, or raise ValueError if the line is not strict JSON."""
    text = line.decode("utf-8")  # strict: no surrogates, overlongs, > U+10FFFF
    if _SURROGATE_ESCAPE.search(text):
        raise ValueError("surrogate escape")

    def no_constants(name: str) -> object:
        raise ValueError(name)

    try:
        obj = json.loads(text, parse_constant=no_constants)
    except RecursionError:
        raise ValueError("deep") from None

    def walk(o: object, depth: int) -> None:
        if isinstance(o, (dict, list)):
            if depth >= MAX_DEPTH:
                raise ValueError("deep")
            for x in (o.values() if isinstance(o, dict) else o):
                walk(x, depth + 1)

    walk(obj, 0)
    return obj


@dataclass
class Expect:
    err: str | None  # the error code the line must get, or None: decided by the op
    id: object  # the id the reply must carry
    op: str | None = None


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
    return Expect(None, rid, req["op"])


def parse_reply(out: bytes) -> dict:
    """Exactly one tagged JSON object line, or AssertionError."""
    tag = proto.REPLY_TAG.encode()
    assert out.startswith(tag) and out.endswith(b"\n") and out.count(b"\n") == 1, out[:200]
    reply = json.loads(out[len(tag):])
    assert isinstance(reply, dict) and reply.get("v") == proto.VERSION and isinstance(reply.get("ok"), bool)
    return reply


def check_reply(reply: dict, want: Expect, what: object) -> None:
    assert reply.get("id") == want.id, (what, reply)
    if want.err is not None:
        assert reply["ok"] is False and reply.get("err") == want.err, (what, reply)
    if not reply["ok"]:
        assert isinstance(reply.get("msg"), str) and reply["msg"], (what, reply)
