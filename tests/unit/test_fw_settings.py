"""The token's settings (fob.settings, ops config_get / config_set / move) in
CPython: the file format and its damage rules, every range against the
protocol table, all-or-nothing changes, the access gate, the account order,
touch by default, wipe after N wrong answers (and after a cut between the
count and the wipe), and each setting's effect on the loop and the screen,
read off the decoded frame buffer in virtual time."""

import base64
import hashlib
import hmac
import json
import os
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import SEED
from support.fw import AppRig, ServerRig, flash_files, install_framebuf

install_framebuf()
from fob import proto  # noqa: E402
from fob import settings as fsettings  # noqa: E402
from fob import ui as fw_ui  # noqa: E402

_RNG = random.Random(f"{SEED}:{__name__}")
SECRET = base64.b32encode(bytes(range(1, 21))).decode()
ITER = proto.MIN_ITERATIONS
NAMES = [s[0] for s in proto.SETTINGS]
RANGED = {s[0]: (s[2], s[3]) for s in proto.SETTINGS if s[2] is not None and s[3] is not None}
BOOLS = [s[0] for s in proto.SETTINGS if s[2] is None]
CHOICES = {s[0]: s[2] for s in proto.SETTINGS if s[2] is not None and s[3] is None}


@pytest.fixture(autouse=True)
def _flash(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def _password():
    salt = _RNG.randbytes(16)
    key = hashlib.pbkdf2_hmac("sha256", b"hunter22 but longer", salt, ITER, 32)
    return key, {"key": key.hex(), "salt": salt.hex(), "iterations": ITER}


def _answer(key, challenge_hex):
    return hmac.new(key, bytes.fromhex(challenge_hex), hashlib.sha256).hexdigest()


# ---- the table and the file ---------------------------------------------------
def test_the_table_and_the_module_agree():
    ids = [s[1] for s in proto.SETTINGS]
    assert len(set(ids)) == len(ids) and len(set(NAMES)) == len(NAMES)
    assert dict((s[0], s[1]) for s in proto.SETTINGS)["timeout"] == fsettings._TIMEOUT
    assert dict((s[0], s[1]) for s in proto.SETTINGS)["long_press"] == fsettings._LONG_PRESS
    s = fsettings.Settings()
    assert set(s.values()) == set(NAMES)


def test_no_file_means_the_board_defaults():
    board = type("B", (), {"BLANK_MS": 45000, "LONG_PRESS_MS": 600})
    s = fsettings.Settings(board)
    assert s.values() == {
        "timeout": 45,
        "flip": False,
        "contrast": 255,
        "long_press": 600,
        "touch_default": False,
        "lock_screen": False,
        "wipe_after": 0,
        "layout": "off",
        "enter": False,
    }
    assert s.blank_ms == 45000 and s.long_press_ms is None
    assert not os.path.exists(fsettings.FILE)


def test_values_survive_a_reload_and_unknown_ids_are_kept():
    s = fsettings.Settings()
    s.update({"timeout": 90, "flip": True})
    # A later firmware's setting (id 200) in the file: kept across a rewrite.
    data = open(fsettings.FILE, "rb").read()
    items = fsettings.parse(data)
    items[200] = -7
    body = bytes(fsettings.MAGIC) + bytes((fsettings.FORMAT, len(items)))
    for i, v in sorted(items.items()):
        body += i.to_bytes(1, "little") + v.to_bytes(4, "little", signed=True)
    from fob.safefile import crc

    open(fsettings.FILE, "wb").write(body + crc(body).to_bytes(4, "little"))
    s = fsettings.Settings()
    assert s.get("timeout") == 90 and s.get("flip") is True and s.blank_ms == 90000
    s.update({"contrast": 3})
    assert fsettings.parse(open(fsettings.FILE, "rb").read())[200] == -7


@pytest.mark.parametrize("cut", ["flip", "truncate", "magic"])
def test_a_damaged_file_means_the_defaults_until_the_next_write(cut):
    s = fsettings.Settings()
    s.update({"timeout": 90, "lock_screen": True})
    data = bytearray(open(fsettings.FILE, "rb").read())
    if cut == "flip":
        data[8] ^= 0x10
    elif cut == "truncate":
        data = data[:-3]
    else:
        data[0:4] = b"XXXX"
    open(fsettings.FILE, "wb").write(data)
    s = fsettings.Settings()
    assert s.damaged and s.values()["timeout"] == 30 and s.lock_screen is False
    s.update({"contrast": 7})
    s = fsettings.Settings()
    assert not s.damaged and s.get("contrast") == 7


# ---- ranges: the token against the protocol table ------------------------------
@settings(max_examples=300, deadline=None)
@given(name=st.sampled_from(NAMES), value=st.one_of(st.integers(-(2**40), 2**40), st.booleans(), st.text(max_size=3)))
def test_each_value_is_kept_exactly_when_the_table_allows_it(name, value):
    lo_hi = RANGED.get(name)
    if name in CHOICES:
        if isinstance(value, str) and value in CHOICES[name]:
            assert fsettings.check_value(name, value) == CHOICES[name].index(value)
            return
        allowed = False
    elif lo_hi is None:
        allowed = isinstance(value, bool)
    else:
        allowed = (
            isinstance(value, int)
            and not isinstance(value, bool)
            and (lo_hi[0] <= value <= lo_hi[1] or (name == "wipe_after" and value == 0))
        )
    if allowed:
        assert fsettings.check_value(name, value) == int(value)
    else:
        with pytest.raises(ValueError) as e:
            fsettings.check_value(name, value)
        assert e.value.args[0] == proto.setting_error(name)
        assert e.value.args[0].startswith(name + " must be ") and e.value.args[0].endswith(".")


def test_a_bad_value_changes_nothing_even_beside_good_ones():
    rig = ServerRig()
    rig.ok("config_set", timeout=120)
    before = flash_files()
    r = rig.err("config_set", proto.E_ARG, contrast=10, timeout=4)
    assert r["msg"] == proto.setting_error("timeout")
    assert flash_files() == before and rig.ok("config_get")["settings"]["contrast"] == 255
    rig.err("config_set", proto.E_ARG)  # no setting named
    rig.err("config_set", proto.E_ARG, colour=3)  # not a setting
    rig.err("config_set", proto.E_ARG, flip="yes")
    rig.err("config_set", proto.E_ARG, wipe_after=4)
    r = rig.ok("config_set", contrast=10, flip=True)
    assert r["settings"]["contrast"] == 10 and r["settings"]["flip"] is True and r["settings"]["timeout"] == 120


@pytest.mark.parametrize("name, value", [("lock_screen", True), ("wipe_after", 5)])
def test_protection_settings_need_a_password(name, value):
    rig = ServerRig()
    r = rig.err("config_set", proto.E_ARG, **{name: value})
    assert r["msg"] == proto.needs_password_error(name)
    rig.ok("config_set", **{name: False if value is True else 0})  # off is always allowed


def test_a_locked_link_can_read_but_not_change_settings():
    rig = ServerRig()
    key, args = _password()
    rig.ok("access_set", **args)
    assert rig.ok("config_get")["settings"]["timeout"] == 30
    for change in ({"timeout": 60}, {"lock_screen": False}, {"wipe_after": 0}, {"flip": True}):
        rig.err("config_set", proto.E_LOCKED, **change)
    rig.err("move", proto.E_LOCKED, label="x", to=0)
    ch = rig.ok("unlock")["challenge"]
    rig.ok("unlock", response=_answer(key, ch))
    assert rig.ok("config_set", timeout=60, lock_screen=True, wipe_after=10)["settings"]["wipe_after"] == 10
    # Without a password they mean nothing: clearing it turns them off.
    rig.ok("access_clear")
    got = rig.ok("config_get")["settings"]
    assert got["lock_screen"] is False and got["wipe_after"] == 0 and got["timeout"] == 60


# ---- order and touch by default -----------------------------------------------------
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_move_puts_an_account_where_asked(data):
    for f in os.listdir("."):
        os.remove(f)
    rig = ServerRig()
    n = data.draw(st.integers(1, 7))
    names = ["acct%d" % i for i in range(n)]
    for i, name in enumerate(names):
        rig.ok("add", label=name, issuer="Iss" if i % 2 else "", secret=SECRET)
    src = data.draw(st.integers(0, n - 1))
    to = data.draw(st.integers(0, n - 1))
    r = rig.ok("move", label=names[src], issuer="Iss" if src % 2 else "", to=to)
    assert r == {**r, "index": to, "accounts": n}
    want = names[:src] + names[src + 1 :]
    want.insert(to, names[src])
    assert [a["label"] for a in rig.ok("list")["accounts"]] == want
    # On flash: a new Store reads the same order.
    from fob.storage import Store

    s = Store()
    assert [s.label(i) for i in range(s.count())] == want
    rig.err("move", proto.E_ARG, label=names[0], issuer="", to=n)
    rig.err("move", proto.E_ARG, label=names[0], issuer="", to=True)
    rig.err("move", proto.E_NOT_FOUND, label="nobody", to=0)


def test_touch_default_applies_only_when_add_does_not_say():
    rig = ServerRig()
    rig.ok("config_set", touch_default=True)
    rig.ok("add", label="a", secret=SECRET)
    rig.ok("add", label="b", secret=SECRET, touch=False)
    rig.ok("config_set", touch_default=False)
    rig.ok("add", label="c", secret=SECRET)
    rig.ok("add", label="d", secret=SECRET, touch=True)
    got = {a["label"]: a["touch"] for a in rig.ok("list")["accounts"]}
    assert got == {"a": True, "b": False, "c": False, "d": True}


# ---- wipe after N wrong answers ---------------------------------------------------------
def _armed(n):
    rig = ServerRig(own_ticks=True)
    key, args = _password()
    for label in ("one", "two"):
        rig.ok("add", label=label, secret=SECRET)
    rig.ok("access_set", **args)
    ch = rig.ok("unlock")["challenge"]
    rig.ok("unlock", response=_answer(key, ch))
    rig.ok("config_set", wipe_after=n)
    rig.ok("lock")
    return rig, key


def _wrong(rig):
    rig.ms += 4_000_000  # past any throttle delay
    ch = rig.ok("unlock")["challenge"]
    return rig.call("unlock", response=_answer(b"\x01" * 32, ch))


def test_n_wrong_answers_erase_the_accounts_and_say_so():
    n = 5
    rig, key = _armed(n)
    for _ in range(1, n):
        assert _wrong(rig)["err"] == proto.E_AUTH
        assert rig.store.count() == 2 and rig.ok("info")["wiped"] is False
    assert _wrong(rig)["err"] == proto.E_AUTH
    info = rig.ok("info")
    assert rig.store.count() == 0 and info["wiped"] is True and info["wipe_after"] == n and info["accounts"] == 0
    # The owner still unlocks with the password; a good answer ends "wiped".
    rig.ms += 4_000_000
    ch = rig.ok("unlock")["challenge"]
    assert rig.call("unlock", response=_answer(key, ch))["ok"]
    assert rig.ok("info")["wiped"] is False


def test_a_good_answer_in_between_starts_the_count_again():
    rig, key = _armed(5)
    for _ in range(4):
        _wrong(rig)
    rig.ms += 4_000_000
    ch = rig.ok("unlock")["challenge"]
    assert rig.call("unlock", response=_answer(key, ch))["ok"]
    rig.ok("lock")
    for _ in range(4):
        _wrong(rig)
    assert rig.store.count() == 2


def test_a_cut_between_the_count_and_the_wipe_still_wipes_at_boot():
    rig, _ = _armed(5)
    for _ in range(4):
        _wrong(rig)
    # The fifth failure is on flash, then the power goes (before the wipe).
    rig.server.access.count_failure()
    assert rig.store.count() == 2
    again = ServerRig()  # a boot: the same flash folder
    assert again.store.count() == 0 and again.ok("info")["wiped"] is True


# ---- the effects, on the loop's screen (virtual time) -------------------------------------
def _lines(rig):
    return [t.strip() for t in rig.text()]


def _name(rig):
    return _lines(rig)[0].split(" ")[0]  # the top line is the name, then "2/3"


def test_timeout_and_long_press_follow_the_settings():
    rig = AppRig(BLANK_MS=30_000)
    rig.call(op="add", label="a", secret=SECRET)
    rig.call(op="add", label="h", secret=SECRET, type="hotp")
    rig.call(op="config_set", timeout=5, long_press=2000)
    rig.press()
    start = rig.now_ms
    rig.run(4.8)
    assert rig.app.screen.ui.awake
    rig.run(0.4)
    assert not rig.app.screen.ui.awake and 5000 <= rig.now_ms - start <= 5300
    # A 1 s press is short now (next account), not the HOTP gesture.
    rig.press()
    first = _name(rig)
    rig.press()
    assert _name(rig) != first
    while _name(rig) != "h":
        rig.press()
    rig.press(1000)
    assert _name(rig) == "a"  # a short press: the next account, no HOTP code used

    def counter():
        return [a for a in rig.call(op="list")["accounts"] if a["label"] == "h"][0]["counter"]

    assert counter() == 0
    rig.call(op="config_set", long_press=300)
    while _name(rig) != "h":
        rig.press()
    rig.press(400)
    assert rig.code() != "" and counter() == 1  # the HOTP code, on a 400 ms press


def test_the_lock_screen_hides_codes_until_an_unlock():
    rig = AppRig(BLANK_MS=60_000)
    key, args = _password()
    rig.call(op="add", label="a", secret=SECRET)
    rig.call(op="access_set", **args)
    rig.unlock(key)
    assert rig.call(op="config_set", lock_screen=True, wipe_after=7)["ok"]
    # Power-on: a new app on the same flash.
    rig2 = AppRig(BLANK_MS=60_000)
    rig2.run(6)  # past the "Wipe is on" note
    text = _lines(rig2)
    assert [t for t in text if t][:4] == [x for x in fw_ui.MSG_LOCKED if x][:4] and "Wipe after 7" in text
    assert rig2.code() == ""
    rig2.press()
    rig2.press(400)  # neither moves to a code
    assert rig2.code() == ""
    info = rig2.call(op="info")
    assert info["screen_locked"] is True
    rig2.unlock(key)
    rig2.run(0.1)
    assert rig2.code() != "" and rig2.call(op="info")["screen_locked"] is False


def test_the_wipe_note_at_power_on():
    rig = AppRig(BLANK_MS=60_000)
    key, args = _password()
    rig.call(op="access_set", **args)
    rig.unlock(key)
    rig.call(op="config_set", wipe_after=12)
    rig2 = AppRig(BLANK_MS=60_000)
    rig2.run(0.2)
    assert "12 wrong" in _lines(rig2) and "passwords erase" in _lines(rig2)


def test_settings_file_holds_no_secret():
    rig = ServerRig()
    rig.ok("add", label="a", secret=SECRET)
    rig.ok("config_set", timeout=77)
    data = open(fsettings.FILE, "rb").read()
    assert base64.b32decode(SECRET) not in data and len(data) < 64
    assert json.dumps(rig.ok("config_get")).find(SECRET) < 0
