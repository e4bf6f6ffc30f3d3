"""One name rule for the token and the host (fob.proto), and names from the
token printed safely (otpfob.names).

The rule is checked against Unicode's own tables (unicodedata: category Cc,
Zl, Zp; the Bidi_Control characters; Zs for blank) over every code point,
and the host's checks against the token's refusals on generated names.
"""

from __future__ import annotations

import ast
import json
import os
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fob import proto
from otpfob.errors import InputError
from otpfob.names import quoted, shown
from otpfob.uri import Account, check_issuer, check_label
from support import frames as rf
from support.fw import ServerRig
from support.unicode_props import default_ignorable

ALL_CHARS = [chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF]


def test_refused_characters_are_unicodes_controls_separators_and_bidi_controls():
    wrong = [hex(ord(c)) for c in ALL_CHARS if (proto.refused_char(c) is not None) != rf.name_char_refused(c)]
    assert wrong == []
    refused = {ord(c) for c in ALL_CHARS if rf.name_char_refused(c)}
    assert set(rf.REFUSED_CODEPOINTS) <= refused
    assert len(refused) == 65 + 2 + len(default_ignorable())  # Cc, U+2028/9, the ignorables (bidi included)


def test_blank_is_only_space_separators():
    wrong = [hex(ord(c)) for c in ALL_CHARS if proto.blank(c) != rf.name_blank(c)]
    assert wrong == []
    assert proto.blank("") and proto.blank(" \u3000 ") and not proto.blank(" x ")


names = st.text(alphabet=st.sampled_from(rf.ODD_CHARS), max_size=8) | st.text(max_size=12)


@settings(max_examples=400, deadline=None)
@given(label=names, issuer=names)
def test_host_and_token_agree_on_every_name(tmp_path_factory, label, issuer):
    """The host refuses a name (one sentence, before any port is opened)
    exactly when the token would answer bad_arg for it."""
    host_ok = True
    try:
        Account(label=label, key=b"k" * 10, issuer=issuer).check()
    except InputError as exc:
        host_ok = False
        assert exc.message.endswith(".") and "\n" not in exc.message
    cwd = os.getcwd()
    os.chdir(tmp_path_factory.mktemp("t"))
    try:
        # As the host sends it: raw UTF-8 (the token takes no surrogate-pair escapes).
        req = {"v": proto.VERSION, "op": "add", "label": label, "issuer": issuer, "key": "6b" * 10}
        r = ServerRig().raw(json.dumps(req, ensure_ascii=False).encode())
    finally:
        os.chdir(cwd)
    assert r["ok"] is host_ok, (label, issuer, r)
    if not r["ok"]:
        assert r["err"] == proto.E_ARG
    refused = (
        any(map(rf.name_char_refused, label + issuer))
        or rf.name_blank(label)
        or (issuer != "" and rf.name_blank(issuer))
    )
    too_long = len(label.encode()) > proto.MAX_LABEL or len(issuer.encode()) > proto.MAX_ISSUER
    assert host_ok is not (refused or too_long)


@pytest.mark.parametrize("cp", rf.REFUSED_CODEPOINTS, ids=hex)
def test_host_names_the_character_it_refuses(cp):
    for check, what in ((check_label, "label"), (check_issuer, "issuer")):
        with pytest.raises(InputError) as e:
            check("a" + chr(cp) + "b")
        assert f"The {what} contains the invisible character U+{cp:04X}" in e.value.message


@pytest.mark.parametrize("blank", rf.BLANKS)
def test_blank_names_are_refused(blank):
    with pytest.raises(InputError, match="no label"):
        check_label(blank)
    with pytest.raises(InputError, match="only spaces"):
        check_issuer(blank)
    assert check_issuer("") == ""


def test_host_counter_limit_is_the_tokens():
    assert Account(label="h", key=b"k", type="hotp", counter=proto.MAX_COUNTER).check()
    with pytest.raises(InputError, match=str(proto.MAX_COUNTER)):
        Account(label="h", key=b"k", type="hotp", counter=proto.MAX_COUNTER + 1).check()


# -- printing names from the token --------------------------------------------------


@settings(max_examples=500, deadline=None)
@given(
    st.lists(st.sampled_from(rf.ODD_CHARS + ("\x1b[31m", "\ue000", "\U000e0001", "\u00ad", "\\"))).map("".join)
    | st.text()
)
def test_shown_names_hold_nothing_a_terminal_acts_on(name):
    out = shown(name)
    assert out.isprintable()  # no control, format, separator (but space), private-use or unassigned character
    assert not any(rf.name_char_refused(c) for c in out)
    if "\\" not in name and '"' not in name:
        assert ast.literal_eval('"' + out + '"') == name  # the escapes say exactly what was there
    if name.isprintable() and not any(rf.name_char_refused(c) for c in name):
        assert out == name  # "Bänk", "Œuvre", "東京" come through as given


def test_shown_examples():
    assert shown("alice\u202eexe.txt") == "alice\\u202eexe.txt"
    assert shown("a\x9b2Jb\x1b") == "a\\x9b2Jb\\x1b"
    assert shown("Bänk") == "Bänk"


@given(st.text(max_size=20))
def test_a_quoted_name_shows_each_escape_once(name):
    # In a sentence a name is quoted; repr() would double every backslash
    # that shown() wrote, so "\u202e" would print as "\\u202e".
    out = quoted(name)
    assert out == "'" + shown(name) + "'"
    assert out[1:-1].isprintable()
