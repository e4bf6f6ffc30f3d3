"""`otpfob config`, `move`, `pin`, `access unlock` and the touch default
(issue 26), through the real CLI against the emulated token.

What the CLI prints is read back, and what it did is read off the token
itself (its `config_get`, `list` and `info` over serial, its settings.dat on
flash), never taken from the CLI's own word. Generated values are checked
against the host's validator and the token's reply alike.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time

import pyotp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fob import proto
from otpfob import settings as host_settings
from otpfob.emu.testing import ProtocolClient
from otpfob.errors import EXIT_FAILED, InputError, TokenError
from otpfob.session import Session
from otpfob.transport import SerialTransport
from otpfob.uri import Account
from support.cli import Transcript, one_sentence

pytestmark = pytest.mark.emu

PASSWORD = "settings are not a way around it"
TOKEN_PASSWORD = PASSWORD  # conftest's `tok` clears it
FAST = 1000  # PBKDF2 rounds for passwords set through the library here (the CLI's own use 200,000)
# The spec's defaults (docs/protocol.md "Settings"), for the sim board (no BLANK_MS, no LONG_PRESS_MS).
DEFAULTS = {
    "timeout": 30,
    "flip": False,
    "contrast": 255,
    "long_press": 800,
    "touch_default": False,
    "lock_screen": False,
    "wipe_after": 0,
    "layout": "off",
    "enter": False,
}


def b32(seed: str) -> str:
    return base64.b32encode(hashlib.sha256(seed.encode()).digest()[:20]).decode()


def session(port: str) -> Session:
    return Session(SerialTransport(port), min_iterations=FAST)


def on_token(tok) -> dict:
    """The token's settings and lock state, as it reports them (never gated)."""
    with session(tok.port) as s:
        got = s.config_get()
    return {**got.values, "screen_locked": got.screen_locked}


def settings_file(tok) -> bytes | None:
    f = tok.flash / "settings.dat"
    return f.read_bytes() if f.exists() else None


def order(tok, password: str | None = None) -> list[str]:
    with session(tok.port) as s:
        if password is not None:
            s.unlock(password)
        return [a.label for a in s.list_accounts()]


def add_accounts(tok, labels, password: str | None = None) -> None:
    with session(tok.port) as s:
        if password is not None:
            s.unlock(password)
        for label in labels:
            s.add(Account(label=label, key=hashlib.sha256(label.encode()).digest()[:20], touch=False))


@pytest.fixture
def fob(tok):
    """The module's token (`tok`: emptied, no password) with its settings
    back at the defaults: the token keeps them from test to test."""
    with session(tok.port) as s:
        if s.config_get().values != DEFAULTS:
            s.config_set(**DEFAULTS)
    return tok


@pytest.fixture
def otpfob(fob):
    return Transcript(fob.port, port_first=False)


def set_password(otpfob) -> None:
    otpfob.p("access", "set", "--password-stdin", input=PASSWORD + "\n")


# -- show, get, set ------------------------------------------------------------------


def test_a_new_token_shows_the_defaults_one_a_line_with_units(make_token):
    tok = make_token(rtc_set=True)
    assert settings_file(tok) is None  # a store from before settings: no file, the defaults
    run = Transcript(tok.port, port_first=False)
    shown = run.p("config").stdout.splitlines()
    assert [line.split(":")[0] for line in shown] == [host_settings.cli_name(n) for n in DEFAULTS]
    lines = dict(line.split(":", 1) for line in shown)
    assert lines["timeout"].split()[:2] == ["30", "s"]
    assert lines["long-press"].split()[:2] == ["800", "ms"]
    assert lines["contrast"].split()[:3] == ["255", "of", "255"]
    for switch in ("flip", "touch-default", "lock-screen", "wipe-after", "enter"):
        assert lines[switch].split()[0] == "off"
    assert lines["layout"].split()[0] == "off"
    assert json.loads(run.p("config", "--json").stdout) == {**DEFAULTS, "screen_locked": False}
    assert on_token(tok) == {**DEFAULTS, "screen_locked": False}


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    changes=st.fixed_dictionaries(
        {},
        optional={
            "timeout": st.integers(5, 300),
            "flip": st.booleans(),
            "contrast": st.integers(0, 255),
            "long_press": st.integers(300, 3000),
            "touch_default": st.booleans(),
        },
    ).filter(bool),
    words=st.sampled_from([("on", "off"), ("yes", "no"), ("true", "false"), ("ON", "Off")]),
)
def test_set_then_show_and_get_round_trip(otpfob, fob, changes, words):
    before = on_token(fob)
    args = []
    for name, value in changes.items():
        text = (words[0] if value else words[1]) if isinstance(value, bool) else str(value)
        args += [host_settings.cli_name(name), text]
    r = otpfob.p("config", "set", *args)
    assert [line.split(":")[0] for line in r.stdout.splitlines()] == [host_settings.cli_name(n) for n in changes]
    after = on_token(fob)
    assert after == {**before, **changes}  # those changed, the rest kept
    assert json.loads(otpfob.p("config", "--json").stdout) == after
    for name, value in changes.items():
        assert json.loads(otpfob.p("config", "get", host_settings.cli_name(name), "--json").stdout) == {name: value}
        line = otpfob.p("config", "get", host_settings.cli_name(name)).stdout.strip()
        assert line.split(":")[0] == host_settings.cli_name(name)
        first = line.split(":", 1)[1].split()[0]
        assert first == (("on" if value else "off") if isinstance(value, bool) else str(value))


def test_settings_survive_a_restart_and_the_set_reply_is_the_state(make_token):
    tok = make_token(rtc_set=True)
    run = Transcript(tok.port, port_first=False)
    out = json.loads(run.p("config", "set", "timeout", "75", "contrast", "9", "flip", "yes", "--json").stdout)
    assert out == {**DEFAULTS, "timeout": 75, "contrast": 9, "flip": True, "screen_locked": False}
    tok.restart()
    tok.wait_ready()
    assert on_token(tok) == out
    assert settings_file(tok) is not None


# -- bad input: one sentence, exit 1, nothing sent, nothing changed -------------------

NAMES_SENTENCE = (
    "There is no setting named 'wibble'; the settings are timeout, flip, contrast, long-press, touch-default,"
    " lock-screen, wipe-after, layout, enter."
)
TIMEOUT = "timeout must be a whole number of seconds from 5 to 300."
CONTRAST = "contrast must be a whole number from 0 to 255."
LONG_PRESS = "long-press must be a whole number of milliseconds from 300 to 3000."
WIPE_AFTER = "wipe-after must be 0 (off) or a whole number from 5 to 50."
BAD = [
    (["timeout", "4"], TIMEOUT),
    (["timeout", "301"], TIMEOUT),
    (["timeout", "-5"], TIMEOUT),
    (["timeout", "60s"], TIMEOUT),
    (["timeout", "1.5"], TIMEOUT),
    (["timeout", "\u0666\u0660"], TIMEOUT),  # Arabic-Indic digits: int() would take them
    (["timeout", "1_0"], TIMEOUT),
    (["timeout", ""], TIMEOUT),
    (["contrast", "256"], CONTRAST),
    (["long-press", "299"], LONG_PRESS),
    (["long_press", "3001"], LONG_PRESS),
    (["wipe-after", "4"], WIPE_AFTER),
    (["wipe-after", "51"], WIPE_AFTER),
    (["wipe-after", "on"], WIPE_AFTER),
    (["flip", "maybe"], "flip must be true or false."),
    (["touch-default", "2"], "touch-default must be true or false."),
    (["lock-screen", "1.0"], "lock-screen must be true or false."),
    (["wibble", "1"], NAMES_SENTENCE),
    (["layout", "azerty"], "layout must be off, us, de or fr."),
    (
        ["timeout"],
        "The setting 'timeout' has no value; give NAME VALUE pairs, e.g. `otpfob config set timeout 60 flip on`.",
    ),
    (["timeout", "60", "timeout", "70"], "timeout is given twice; give each setting once."),
    ([], "Name at least one setting to change, e.g. `otpfob config set timeout 60`."),
    (["timeout", "60", "contrast", "999"], CONTRAST),  # all or nothing: the good one is not set either
    (["lock-screen", "on"], "lock-screen needs an access password: set one with otpfob access set."),
    (["wipe-after", "10"], "wipe-after needs an access password: set one with otpfob access set."),
]


@pytest.mark.parametrize("args,sentence", BAD, ids=[" ".join(a) or "nothing" for a, _ in BAD])
def test_a_bad_value_gets_one_sentence_and_changes_nothing(otpfob, fob, args, sentence):
    before, stored = on_token(fob), settings_file(fob)
    r = otpfob.p("--log-level", "debug", "config", "set", *args, code=EXIT_FAILED)
    debug = [line for line in r.stderr.splitlines() if line.startswith("otpfob: DEBUG")]
    said = "\n".join(line for line in r.stderr.splitlines() if not line.startswith("otpfob: DEBUG"))
    assert one_sentence(said) == sentence
    assert r.stdout == ""
    assert not any(" config_set " in line for line in debug), debug  # refused before anything was sent
    assert on_token(fob) == before and settings_file(fob) == stored


def test_the_token_refuses_what_gets_past_the_host_in_the_same_words(fob):
    """The token's own check, all or nothing, with its sentence shown as is
    (a host that skipped its check, or an older one)."""
    before, stored = on_token(fob), settings_file(fob)
    with session(fob.port) as s:
        with pytest.raises(TokenError) as got:
            s.config_set(timeout=60, contrast=999)
        assert got.value.code == proto.E_ARG and got.value.message == proto.setting_error("contrast")
        with pytest.raises(TokenError) as got:
            s.config_set()
        assert got.value.message == "Name at least one setting to change."
        with pytest.raises(TokenError) as got:
            s.config_set(lock_screen=True)
        assert got.value.message == proto.needs_password_error("lock_screen")
    assert on_token(fob) == before and settings_file(fob) == stored


_VALUES = st.one_of(
    st.integers(-20, 3100),
    st.sampled_from([0, 4, 5, 50, 51, 255, 256, 299, 300, 3000, 3001]),
    st.booleans(),
    st.none(),
    st.text(max_size=4),
    st.floats(allow_nan=False, allow_infinity=False, min_value=-10, max_value=400),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(host_settings.NAMES), value=_VALUES)
def test_host_check_and_token_agree_on_every_value(fob, name, value):
    """The host's validator and the token's reply, for generated values in
    and out of range: both take it (and the token then reports it) or both
    refuse it with the same sentence. The lock screen and wipe_after need a
    password, so the link is unlocked; they are turned off again after."""
    try:
        expected: object = host_settings.check(name, value)
    except InputError as exc:
        expected = exc.message
    before = on_token(fob)[name]
    with session(fob.port) as s:
        s.set_access(PASSWORD, iterations=FAST)
        try:
            got: object = s.config_set(**{name: value})[name]
        except TokenError as exc:
            assert exc.code == proto.E_ARG
            got = exc.message
        finally:
            s.clear_access()  # also turns the lock screen and wipe_after off
    assert got == expected
    if isinstance(expected, str):
        assert on_token(fob)[name] == before


def test_a_locked_link_cannot_change_settings(otpfob, fob):
    set_password(otpfob)
    before, stored = on_token(fob), settings_file(fob)
    # No password to give (no terminal to ask on): refused, nothing changed.
    r = otpfob.p("config", "set", "timeout", "60", code=EXIT_FAILED)
    assert "locked" in one_sentence(r.stderr)
    r = otpfob.p("config", "set", "timeout", "60", "--password", "not it", code=EXIT_FAILED)
    assert "wrong" in one_sentence(r.stderr)
    with session(fob.port) as s:  # the op itself, unsealed
        with pytest.raises(TokenError) as got:
            s.config_set(timeout=60)
        assert got.value.code == proto.E_LOCKED
    assert on_token(fob) == before and settings_file(fob) == stored
    # Reading is never locked; with the password, the change is made.
    assert json.loads(otpfob.p("config", "--json").stdout)["timeout"] == before["timeout"]
    otpfob.p("config", "set", "timeout", "60", "--password-stdin", input=PASSWORD + "\n")
    assert on_token(fob)["timeout"] == 60


# -- wipe after wrong passwords ------------------------------------------------------------


def test_wipe_after_warns_shows_in_info_and_goes_with_the_password(otpfob, fob):
    set_password(otpfob)
    r = otpfob.p("config", "set", "wipe-after", "7", "--password-stdin", input=PASSWORD + "\n")
    warning = one_sentence(r.stderr)
    assert warning.startswith("Warning: 7 wrong access passwords in a row") and "erase every account" in warning
    assert on_token(fob)["wipe_after"] == 7
    info = otpfob.p("info").stdout
    assert "Wipe after:  7 wrong access passwords in a row erase every account" in info
    assert json.loads(otpfob.p("info", "--json").stdout)["wipe_after"] == 7
    # Turning it off is no warning.
    r = otpfob.p("config", "set", "wipe-after", "off", "--password-stdin", input=PASSWORD + "\n")
    assert r.stderr == "" and on_token(fob)["wipe_after"] == 0
    otpfob.p("config", "set", "wipe-after", "5", "--password-stdin", input=PASSWORD + "\n")
    otpfob.p("access", "clear", "--password-stdin", input=PASSWORD + "\n")
    assert on_token(fob)["wipe_after"] == 0  # it means nothing without a password
    assert "Wipe after" not in otpfob.p("info").stdout


def wrong_answers(port: str, n: int) -> None:
    """``n`` wrong unlock answers in a row, as a client without the key
    sends them (otpfob itself answers nothing to a token whose proof fails
    under a wrong password), each after the token's doubling delay."""
    with ProtocolClient(port) as c:
        for _ in range(n):
            while True:
                c.call(proto.OP_UNLOCK)
                r = c.request(proto.OP_UNLOCK, response="00" * proto.ACCESS_KEY_LEN)
                if r.get("err") != proto.E_THROTTLED:
                    break
                time.sleep(r["retry_ms"] / 1000 + 0.05)
            assert r.get("err") == proto.E_AUTH, r


@pytest.mark.slow  # waits out the throttle's real 1+2+4+8 s; tests/unit/test_fw_settings.py covers it in virtual time
def test_wrong_answers_wipe_the_accounts_and_info_says_so(make_token):
    tok = make_token(rtc_set=True)
    run = Transcript(tok.port, port_first=False)
    set_password(run)
    run.p("config", "set", "wipe-after", "5", "--password-stdin", input=PASSWORD + "\n")
    add_accounts(tok, ["one", "two"], PASSWORD)
    wrong_answers(tok.port, 4)  # the token's delay doubles: 0, 1, 2 and 4 s
    info = json.loads(run.p("info", "--json").stdout)
    assert (info["accounts"], info["wiped"]) == (2, False)  # one short: nothing happens
    wrong_answers(tok.port, 1)  # after 8 s
    info = json.loads(run.p("info", "--json").stdout)
    assert (info["accounts"], info["wiped"], info["wipe_after"], info["access"]) == (0, True, 5, True)
    assert "accounts were erased after wrong access passwords" in run.p("info").stdout
    # The next command that unlocks says so, once: its good unlock (after
    # the token's 16 s delay) clears the token's note.
    with session(tok.port) as s:
        time.sleep(s.request(proto.OP_UNLOCK)["retry_ms"] / 1000 + 0.1)
    r = run.p("list", "--password-stdin", input=PASSWORD + "\n")
    assert "erased every account after 5 wrong access passwords" in r.stderr
    assert json.loads(run.p("info", "--json").stdout)["wiped"] is False


# -- the lock screen and `access unlock` --------------------------------------------------


def test_lock_screen_hides_codes_until_access_unlock(make_token):
    tok = make_token(rtc_set=True)
    run = Transcript(tok.port, port_first=False)
    r = run.p("access", "unlock", code=EXIT_FAILED)
    assert "no access password" in one_sentence(r.stderr)
    set_password(run)
    r = run.p("config", "set", "lock-screen", "on", "--password-stdin", input=PASSWORD + "\n")
    assert "access unlock" in one_sentence(r.stderr)
    tok.restart()
    tok.wait_ready()
    assert on_token(tok)["screen_locked"] is True
    assert "Lock screen: on, hiding codes" in run.p("info").stdout
    assert json.loads(run.p("info", "--json").stdout)["screen_locked"] is True
    r = run.p("access", "unlock", "--password", "not it", code=EXIT_FAILED)
    assert "wrong" in one_sentence(r.stderr)
    assert on_token(tok)["screen_locked"] is True
    r = run.p("access", "unlock", "--password-stdin", input=PASSWORD + "\n")
    assert r.stdout.strip() == "Unlocked: the token's screen shows codes until it loses power."
    assert on_token(tok)["screen_locked"] is False  # after the command locked its link again
    assert "Lock screen: on, showing codes: unlocked since power-on" in run.p("info").stdout
    tok.restart()  # until power-off
    tok.wait_ready()
    assert on_token(tok)["screen_locked"] is True


# -- account order ------------------------------------------------------------------------


def test_move_and_pin_reorder_list_and_survive_a_restart(make_token, rng):
    tok = make_token(rtc_set=True)
    run = Transcript(tok.port, port_first=False)
    labels = [f"acct{n}" for n in range(6)]
    add_accounts(tok, labels)
    model = list(labels)
    for _ in range(8):
        label = rng.choice(model)
        n = rng.randrange(1, len(model) + 1)
        line = run.p("move", label, str(n)).stdout.strip()
        assert line.startswith(f"Moved '{label}' to position {n} of {len(model)}"), line
        model.remove(label)
        model.insert(n - 1, label)
        assert order(tok) == model
    last = model[-1]
    assert run.p("pin", last).stdout.strip() == f"Moved '{last}' to position 1 of {len(model)} (the top)."
    model.remove(last)
    model.insert(0, last)
    listed = [a["label"] for a in json.loads(run.p("list", "--json").stdout)["accounts"]]
    assert listed == model
    tok.restart()
    tok.wait_ready()
    assert order(tok) == model


@pytest.mark.parametrize("n", ["0", "4", "-1", "1.5", "x", "\u0662"])
def test_move_refuses_a_position_outside_the_list(otpfob, fob, n):
    add_accounts(fob, ["a", "b", "c"])
    r = otpfob.p("move", "a", n, code=EXIT_FAILED)
    assert one_sentence(r.stderr) == (
        "N must be a position from 1 to 3, as `otpfob list` counts (3 accounts on the token)."
    )
    assert order(fob) == ["a", "b", "c"]


def test_move_needs_the_password_when_one_is_set(otpfob, fob):
    add_accounts(fob, ["a", "b"])
    set_password(otpfob)
    r = otpfob.p("pin", "b", code=EXIT_FAILED)
    assert "locked" in one_sentence(r.stderr)
    with session(fob.port) as s:
        with pytest.raises(TokenError) as got:
            s.move("b", "", 0)
        assert got.value.code == proto.E_LOCKED
    assert order(fob, PASSWORD) == ["a", "b"]
    otpfob.p("pin", "b", "--password-stdin", input=PASSWORD + "\n")
    assert order(fob, PASSWORD) == ["b", "a"]


# -- touch for new accounts ----------------------------------------------------------------


def press_when_asked(tok, presses: int = 1) -> threading.Thread:
    """Press the token's button each time its screen asks for a press."""

    def press() -> None:
        for _ in range(presses):
            tok.wait_for_screen(lambda t: "press" in t.lower(), timeout=15)
            tok.press()
            tok.wait_for_screen(lambda t: "press" not in t.lower(), timeout=15)

    t = threading.Thread(target=press, daemon=True)
    t.start()
    return t


def touch_of(tok) -> dict[str, bool]:
    with session(tok.port) as s:
        return {a.label: a.touch for a in s.list_accounts()}


def test_touch_default_makes_new_accounts_touch_unless_told(otpfob, fob):
    secret = b32("touch default")
    otpfob.p("config", "set", "touch-default", "on")
    otpfob.p("provision", "--secret", secret, "--label", "untouched", "--no-touch")
    pressing = press_when_asked(fob)
    r = otpfob.p("provision", "--secret", secret, "--label", "bypolicy", "--json")
    pressing.join(30)
    out = json.loads(r.stdout)
    assert out["touch"] is True and out["checked"] is True and out["matches"] is True
    # The same policy for an import (a URI carries no touch choice).
    pressing = press_when_asked(fob)
    uri = f"otpauth://totp/Lab:imported?secret={b32('imported')}"
    otpfob.p("import", "-", "--all", input=uri + "\n")
    pressing.join(30)
    otpfob.p("config", "set", "touch-default", "off")
    otpfob.p("provision", "--secret", secret, "--label", "plain")
    pressing = press_when_asked(fob)
    otpfob.p("provision", "--secret", secret, "--label", "asked", "--touch")
    pressing.join(30)
    assert touch_of(fob) == {"untouched": False, "bypolicy": True, "imported": True, "plain": False, "asked": True}
    # A touch account's code comes only with a press, and it is the right one.
    pressing = press_when_asked(fob)
    got = json.loads(otpfob.p("code", "bypolicy", "--json").stdout)["accounts"][0]
    pressing.join(30)
    assert got["touch"] is True and got["code"] == pyotp.TOTP(secret).at(got["time"])


def test_the_add_request_names_touch_only_when_chosen(fob):
    """`add` sends `touch` only for True/False; None leaves it to the token."""
    sent: list[dict] = []
    with session(fob.port) as s:
        s.config_set(touch_default=True)
        call = s.transport.call

        def spy(op, args=None, **kw):
            if op == proto.OP_ADD:
                sent.append({k: v for k, v in (args or {}).items() if k != "key"})
            return call(op, args, **kw)

        s.transport.call = spy  # type: ignore[method-assign]
        key = hashlib.sha256(b"spy").digest()[:20]
        assert s.add(Account(label="default", key=key)) is True
        assert s.add(Account(label="no", key=key, touch=False)) is False
        assert s.add(Account(label="yes", key=key, touch=True)) is True
    assert ["touch" in a for a in sent] == [False, True, True]
    assert [a.get("touch") for a in sent] == [None, False, True]
    assert touch_of(fob) == {"default": True, "no": False, "yes": True}
