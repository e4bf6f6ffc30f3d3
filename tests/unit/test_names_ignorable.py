"""Invisible characters in names (issue 22): every Default_Ignorable_Code_Point
is refused in labels and issuers, by the token and by the host tool, as the
controls and bidi controls are, so "alice" and "alice" + U+00AD cannot be
two accounts.

The expected set is derived from Unicode data (support.unicode_props), not
copied from fob.proto."""

from __future__ import annotations

import functools
import json
import unicodedata

import pytest

from fob import proto
from otpfob.errors import InputError
from otpfob.uri import check_issuer, check_label
from support.fw import ServerRig, run_micropython
from support.unicode_props import default_ignorable


@functools.cache
def refused_by_the_rule() -> frozenset[int]:
    controls = {c for c in range(0x110000) if unicodedata.category(chr(c)) == "Cc"}
    return frozenset(controls | {0x2028, 0x2029} | default_ignorable())


def test_the_rule_is_exactly_controls_separators_and_default_ignorables():
    want = refused_by_the_rule()
    assert {0x00AD, 0x200B, 0xFEFF, 0x202E, 0x2066, 0x200E, 0x061C, 0xE0041} <= want
    got = {c for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF and proto.refused_char(chr(c)) is not None}
    assert got == want - set(range(0xD800, 0xE000))


@pytest.mark.parametrize("ch", ["\u00ad", "\u200b", "\ufeff", "\u2060", "\u180e", "\ufe0f", "\U000e0041"])
def test_both_sides_refuse_an_invisible_character(tmp_path, monkeypatch, ch):
    with pytest.raises(InputError) as e:
        check_label("alice" + ch)
    assert f"U+{ord(ch):04X}" in str(e.value)
    with pytest.raises(InputError):
        check_issuer("Example" + ch)
    monkeypatch.chdir(tmp_path)
    rig = ServerRig()
    rig.ok("add", label="alice", secret="JBSWY3DPEHPK3PXP")
    for name in ({"label": "alice" + ch}, {"label": "bob", "issuer": ch + "Example"}):
        # Raw UTF-8 on the wire (a \u escape of an astral character is a
        # surrogate pair, which the frame check refuses before any name rule).
        req = {"v": proto.VERSION, "id": 5, "op": "add", "secret": "JBSWY3DPEHPK3PXP", **name}
        r = rig.raw(json.dumps(req, ensure_ascii=False).encode())
        assert (r["id"], r["err"]) == (5, proto.E_ARG), r
    assert rig.ok("info")["accounts"] == 1


def test_the_token_under_micropython_applies_the_same_rule(tmp_path):
    # The Unix port runs the firmware's own proto.py: one probe per range edge.
    want = sorted(refused_by_the_rule())
    probes = sorted(
        {c for c in want if c - 1 not in want or c + 1 not in want}
        | {c - 1 for c in want if c - 1 not in want and c > 0}
        | {c + 1 for c in want if c + 1 not in want and c < 0x10FFFF}
    )
    probes = [c for c in probes if not 0xD800 <= c <= 0xDFFF]
    script = (
        "import json\nfrom fob import proto\n"
        "print(json.dumps([c for c in %r if proto.refused_char(chr(c)) is not None]))\n" % probes
    )
    (got,) = run_micropython(script, tmp_path)
    assert set(got) == {c for c in probes if c in set(want)}
