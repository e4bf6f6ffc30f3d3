"""The host's copy of the token's settings rules (`otpfob.settings`, issue 26)
against the firmware's own check (`fob.settings.check_value`, run here
under CPython), what a person may type, and a token with older firmware
(tests/support/fake_token.py's `before_settings`: no config ops)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from fob import proto
from fob import settings as token_settings
from otpfob import cli
from otpfob import settings as host_settings
from otpfob.errors import InputError
from otpfob.session import NO_ORDER, NO_SETTINGS, Session
from otpfob.transport import SerialTransport
from support.cli import one_sentence
from support.fake_token import FakeToken

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # RFC-style example secret, no real account

_VALUES = st.one_of(
    st.integers(-(2**40), 2**40),
    st.integers(-10, 3010),
    st.booleans(),
    st.none(),
    st.text(max_size=6),
    st.floats(allow_nan=False),
    st.lists(st.integers(), max_size=2),
)


@settings(max_examples=600)
@given(name=st.sampled_from(host_settings.NAMES), value=_VALUES)
def test_host_check_is_the_tokens_check(name, value):
    try:
        stored = token_settings.check_value(name, value)
        token = ("ok", stored)
    except ValueError as exc:
        token = ("refused", exc.args[0])
    try:
        took = host_settings.check(name, value)
        # the token stores a switch as 1 or 0, a choice as its place
        host = ("ok", proto.LAYOUTS.index(took) if isinstance(took, str) else int(took))
    except InputError as exc:
        host = ("refused", exc.message)
    assert host == token


@settings(max_examples=300)
@given(name=st.sampled_from(host_settings.NAMES), n=st.integers(-100, 4000))
def test_a_typed_number_is_taken_exactly_when_in_range(name, n):
    lo, hi, _ = host_settings.RULES[name]
    if lo is None or hi is None:
        with pytest.raises(InputError) as got:
            host_settings.parse(name, str(n) if n not in (0, 1) else str(n + 2))
        assert got.value.message == proto.setting_error(name)
        return
    in_range = lo <= n <= hi or (name == "wipe_after" and n == 0)
    if in_range:
        assert host_settings.parse(name, f" {n} ") == n
    else:
        with pytest.raises(InputError) as got:
            host_settings.parse(name, str(n))
        assert got.value.message == proto.setting_error(name)


@pytest.mark.parametrize(
    "typed,value", [("on", True), ("OFF", False), ("yes", True), ("No", False), ("true", True), ("0", False)]
)
def test_a_switch_takes_the_usual_words(typed, value):
    assert host_settings.parse("flip", typed) is value


@pytest.mark.parametrize("typed", ["1.0", "0x10", "1e2", "\u0661\u0660", "1_0", "", "ten", "+"])
def test_a_number_is_ascii_digits_only(typed):
    with pytest.raises(InputError):
        host_settings.parse("timeout", typed)


def test_names_as_people_type_them():
    assert host_settings.wire_name("Long-Press") == "long_press" == host_settings.wire_name("long_press")
    with pytest.raises(InputError) as got:
        host_settings.wire_name("brightness")
    assert got.value.message.endswith(", ".join(host_settings.cli_name(n) for n in host_settings.NAMES) + ".")
    said = host_settings.for_people(proto.setting_error("long_press"))
    assert said.startswith("long-press must be") and "long_press" not in said
    assert host_settings.for_people(proto.needs_password_error("wipe_after")).startswith("wipe-after needs")
    # The names the token guards with the password are the token's.
    for name in proto.NEEDS_PASSWORD:
        assert host_settings.needs_password({name: True if host_settings.is_switch(name) else 5})
        assert host_settings.needs_password({name: False if host_settings.is_switch(name) else 0}) is None


# -- older firmware ----------------------------------------------------------------------


def _run(port: str, *args: str):
    return CliRunner().invoke(cli.main, ["--port", port, *args])


@pytest.mark.parametrize(
    "args,sentence",
    [
        (("config",), NO_SETTINGS),
        (("config", "get", "timeout"), NO_SETTINGS),
        (("config", "set", "timeout", "60"), NO_SETTINGS),
    ],
)
def test_older_firmware_has_no_settings_in_one_sentence(args, sentence):
    with FakeToken(mode="before_settings") as fake:
        r = _run(fake.port, *args)
    assert r.exit_code == 1 and one_sentence(r.stderr) == sentence


def test_older_firmware_cannot_reorder_and_info_has_no_new_lines():
    with FakeToken(mode="before_settings") as fake:
        r = _run(fake.port, "provision", "--secret", SECRET, "--label", "a", "--json")
        assert r.exit_code == 0, r.stderr
        assert json.loads(r.stdout)["touch"] is False  # the touch_default of old firmware: none
        assert not [q for q in fake.requests if q.get("op") == proto.OP_ADD and "touch" in q]
        for args in (("pin", "a"), ("move", "a", "1")):
            r = _run(fake.port, *args)
            assert r.exit_code == 1 and one_sentence(r.stderr) == NO_ORDER
        info = json.loads(_run(fake.port, "info", "--json").stdout)
        assert (info["screen_locked"], info["wipe_after"], info["wiped"]) == (False, 0, False)
        text = _run(fake.port, "info").stdout
        assert "Lock screen" not in text and "Wipe" not in text
        with Session(SerialTransport(fake.port)) as s:
            assert s.touch_default() is False
