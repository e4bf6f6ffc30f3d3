"""Access control in the protocol handler (CPython): gating, challenge-response,
the throttle (with injected ticks, no sleeping), the factory wipe, the
access.dat file, and that no reply ever holds the password or the key.

The host side of every exchange is computed here with hashlib/hmac, never
with the firmware's own code.
"""

import base64
import hashlib
import hmac
import os
import random

import pyotp
import pytest

from conftest import SEED
from fob import access as faccess
from fob import proto
from support.fw import ServerRig, flash_files, token_proof

# Random bytes from the run's seed, so OTPFOB_SEED replays them.
_RNG = random.Random(f"{SEED}:{__name__}")

T0 = 1_750_000_000
TAG = proto.REPLY_TAG.encode()
SECRET = base64.b32encode(bytes(range(1, 21))).decode()
PASSWORD = "correct horse battery staple"
ITER = proto.MIN_ITERATIONS  # the token never runs PBKDF2; keep the tests quick


class Host:
    """What the host tool does, written independently of the firmware."""

    def __init__(self, password=PASSWORD, iterations=ITER):
        self.salt = _RNG.randbytes(16)
        self.iterations = iterations
        self.key = hashlib.pbkdf2_hmac("sha256", password.encode(), self.salt, iterations, 32)

    def set_args(self):
        return {"key": self.key.hex(), "salt": self.salt.hex(), "iterations": self.iterations}

    def answer(self, challenge_hex, key=None):
        mac = hmac.new(key or self.key, bytes.fromhex(challenge_hex), hashlib.sha256).hexdigest()
        return {"response": mac}


class Tok(ServerRig):
    """A Server on a real flash folder, with its own millisecond ticks and a
    button to ask."""

    def __init__(self, ms=0, touch=None):
        super().__init__(touch=touch, ms=ms, own_ticks=True, button=True)

    def unlock(self, host, key=None):
        ch = self.ok("unlock")
        return self.call("unlock", **host.answer(ch["challenge"], key))


flash = flash_files


def failures():
    with open(faccess.FILE, "rb") as f:
        return faccess.parse(f.read())[3]


@pytest.fixture
def rig(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return Tok()


def protected(rig, host):
    """A token with a password and one account, its link locked."""
    rig.ok("add", label="a", secret=SECRET)
    rig.ok("add", label="t", secret=SECRET, type="hotp")
    assert rig.ok("access_set", **host.set_args()) == {"v": proto.VERSION, "id": rig.n, "ok": True, "access": True}
    rig.ok("lock")
    return host


GATED = [
    ("list", {}),
    ("code", {"label": "a"}),
    ("add", {"label": "b", "secret": SECRET}),
    ("rename", {"label": "a", "new": "c"}),
    ("delete", {"label": "t"}),
    ("time_set", {"time": T0 + 10}),
    ("wipe", {}),
    ("wipe", {"factory": False}),
    ("access_set", None),  # filled in: a new password
    ("access_clear", {}),
]


def test_every_gated_op_is_refused_locked_and_allowed_unlocked(rig):
    host = protected(rig, Host())
    other = Host("another password")
    info = rig.ok("info")
    assert (info["access"], info["unlocked"]) == (True, False)
    for op, args in GATED:
        rig.err(op, proto.E_LOCKED, **(other.set_args() if args is None else args))
    # Never gated: info, time_get, lock, unlock.
    rig.ok("time_get")
    rig.ok("lock")
    assert rig.unlock(host)["ok"] is True
    assert rig.ok("info")["unlocked"] is True
    assert [a["label"] for a in rig.ok("list")["accounts"]] == ["a", "t"]
    assert rig.ok("code", label="a")["code"] == pyotp.TOTP(SECRET).at(T0)
    rig.ok("add", label="b", secret=SECRET)
    rig.ok("rename", label="a", new="c")
    rig.ok("delete", label="t")
    rig.ok("time_set", time=T0 + 10)
    rig.ok("wipe")
    assert rig.ok("info")["accounts"] == 0
    rig.ok("access_set", **other.set_args())  # change it
    rig.ok("lock")
    assert rig.unlock(host)["err"] == proto.E_AUTH  # the old one is gone
    rig.ms += 1000
    assert rig.unlock(other)["ok"]
    rig.ok("access_clear")
    info = rig.ok("info")
    assert (info["access"], info["unlocked"]) == (False, True)
    rig.ok("lock")
    rig.ok("list")  # no password: nothing gated


def test_without_a_password_nothing_is_gated_and_unlock_says_so(rig):
    rig.ok("add", label="a", secret=SECRET)
    rig.ok("add", label="t", secret=SECRET, type="hotp")
    for op, args in GATED[:-2]:
        rig.ok(op, **args)
    assert rig.ok("info")["unlocked"] is True
    rig.err("wipe", proto.E_ARG, factory=1)
    rig.err("wipe", proto.E_BUTTON, factory=True)  # the button is still needed
    r = rig.err("unlock", proto.E_ARG)
    assert "No access password" in r["msg"]
    rig.ok("access_clear")  # idempotent


def test_mutual_proof_comes_before_the_hosts_answer(rig, rng):
    host = protected(rig, Host())
    hc = rng.randbytes(16)
    ch = rig.ok("unlock", host_challenge=hc.hex())
    challenge = bytes.fromhex(ch["challenge"])
    assert len(challenge) == proto.CHALLENGE_LEN
    assert (bytes.fromhex(ch["salt"]), ch["iterations"], ch["retry_ms"]) == (host.salt, ITER, 0)
    # The proof is in step 1's reply, before the host has answered anything,
    # and it is bound to both challenges (never equal to an answer).
    assert bytes.fromhex(ch["proof"]) == token_proof(host.key, hc, challenge)
    assert ch["proof"] != host.answer(hc.hex())["response"]
    assert "proof" not in rig.ok("unlock")  # no host challenge, no proof
    r = rig.ok("unlock", **host.answer(rig.ok("unlock", host_challenge=hc.hex())["challenge"]))
    assert r == {"v": proto.VERSION, "id": rig.n, "ok": True, "unlocked": True}


def test_wrong_answer_is_counted_on_flash_before_the_reply_and_survives_restart(rig, monkeypatch):
    host = protected(rig, Host())
    seen = []
    real = faccess.equal

    def spy(a, b):
        seen.append(failures())  # what is on flash at the moment of the check
        return real(a, b)

    monkeypatch.setattr("fob.server.equal", spy)
    r = rig.unlock(host, key=b"\x00" * 32)
    assert (r["err"], r["retry_ms"]) == (proto.E_AUTH, 1000)
    assert seen == [1] and failures() == 1
    # Power cut and restart (ticks start again): the count stands and the
    # whole delay runs again from boot.
    tok2 = Tok(ms=5)
    assert tok2.ok("unlock")["retry_ms"] == 1000
    tok2.ms = 5 + 999
    ch = tok2.ok("unlock")
    r = tok2.call("unlock", **host.answer(ch["challenge"]))
    assert (r["err"], r["retry_ms"]) == (proto.E_THROTTLED, 1)
    tok2.ms += 1
    assert tok2.call("unlock", **host.answer(ch["challenge"]))["ok"] is True
    assert failures() == 0
    assert seen == [1, 2]  # counted before the check, reset after


def test_a_failed_flash_write_means_no_check(rig, monkeypatch):
    host = protected(rig, Host())

    def broken(*a):
        raise OSError(5)

    monkeypatch.setattr(rig.server.access, "_save", broken)
    assert rig.unlock(host)["err"] == proto.E_HW  # even the right answer
    assert rig.ok("info")["unlocked"] is False


def test_throttle_schedule(rig):
    host = protected(rig, Host())
    wrong = b"\x01" * 32
    delays = []
    for f in range(1, 15):
        r = rig.unlock(host, key=wrong)
        assert r["err"] == proto.E_AUTH and failures() == f
        want = min(2 ** (f - 1), 3600) * 1000
        assert r["retry_ms"] == want
        delays.append(want // 1000)
        ch = rig.ok("unlock")
        assert ch["retry_ms"] == want
        # An early answer, even the right one: refused, not checked, not counted.
        rig.ms += want - 1
        for key in (wrong, None):
            r = rig.err("unlock", proto.E_THROTTLED, **host.answer(ch["challenge"], key))
            assert r["retry_ms"] == 1
        assert failures() == f
        rig.ms += 1
    assert delays == [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 3600, 3600]
    assert sum(delays[:12]) > 3600  # 12 tries cost over an hour
    assert rig.unlock(host)["ok"] and failures() == 0
    rig.ok("lock")
    r = rig.unlock(host, key=wrong)
    assert r["retry_ms"] == 1000  # success reset the schedule


def test_throttle_survives_a_ticks_wrap(rig):
    host = protected(rig, Host())
    rig.ms = (1 << 30) - 300  # just before MicroPython's ticks wrap
    rig.unlock(host, key=b"\x02" * 32)
    rig.ms = 699  # 999 ms later, after the wrap
    ch = rig.ok("unlock")
    assert ch["retry_ms"] == 1
    rig.ms = 700
    assert rig.call("unlock", **host.answer(ch["challenge"]))["ok"]


def test_no_challenge_no_replay(rig):
    host = protected(rig, Host())
    ans = host.answer("00" * 16)
    assert rig.call("unlock", **ans)["err"] == proto.E_AUTH  # nothing asked yet
    assert not os.path.exists(faccess.NEW) and failures() == 0  # and not counted
    ch = rig.ok("unlock")
    good = host.answer(ch["challenge"])
    rig.ok("unlock", **good)
    rig.ok("lock")
    # The same answer again: its challenge was used up.
    r = rig.call("unlock", **good)
    assert r["err"] == proto.E_AUTH and not rig.ok("info")["unlocked"]
    # ... and against a fresh challenge it is simply wrong (and counted).
    rig.ok("unlock")
    r = rig.call("unlock", **good)
    assert r["err"] == proto.E_AUTH and failures() == 1
    # A new step 1 replaces the old challenge.
    rig.ms += 1000
    old = rig.ok("unlock")
    rig.ok("unlock")
    assert rig.call("unlock", **host.answer(old["challenge"]))["err"] == proto.E_AUTH


def test_challenges_are_fresh(rig):
    protected(rig, Host())
    seen = {rig.ok("unlock")["challenge"] for _ in range(50)}
    assert len(seen) == 50


def test_challenges_without_urandom(rig, monkeypatch):
    host = protected(rig, Host())
    monkeypatch.setattr(faccess, "_urandom", None)
    t = Tok()
    first = [t.ok("unlock")["challenge"] for _ in range(5)]
    assert len(set(first)) == 5
    t2 = Tok()  # a restart: a new epoch, so no challenge comes back
    again = [t2.ok("unlock")["challenge"] for _ in range(5)]
    assert not set(first) & set(again)
    ch = t2.ok("unlock")
    assert t2.call("unlock", **host.answer(ch["challenge"]))["ok"]


def test_idle_relock_and_lock(rig):
    host = protected(rig, Host())
    rig.unlock(host)
    rig.ms += proto.IDLE_LOCK_MS - 1
    rig.ok("list")  # a request restarts the idle time
    rig.ms += proto.IDLE_LOCK_MS - 1
    rig.ok("list")
    rig.ms += proto.IDLE_LOCK_MS
    rig.err("list", proto.E_LOCKED)
    rig.unlock(host)
    rig.ok("lock")
    rig.err("list", proto.E_LOCKED)
    rig.unlock(host)
    rig.server.reset_session()  # the port hung up
    rig.err("list", proto.E_LOCKED)
    rig.unlock(host)
    t = Tok()  # a restart
    t.err("list", proto.E_LOCKED)


def test_factory_wipe_needs_the_button_held(rig):
    protected(rig, Host())
    r = rig.err("wipe", proto.E_BUTTON, factory=True)
    assert "button" in r["msg"]
    rig.err("wipe", proto.E_LOCKED, factory=1)  # only a JSON true skips the gate
    rig.held = True
    r = rig.ok("wipe", factory=True)
    assert (r["accounts"], r["access"]) == (0, False)
    assert flash()[faccess.FILE] is None
    info = rig.ok("info")
    assert (info["access"], info["accounts"]) == (False, 0)
    rig.held = False
    rig.ok("list")
    t = Tok()  # and after a restart
    assert t.ok("info")["access"] is False


def test_factory_wipe_clears_the_failure_count(rig):
    host = protected(rig, Host())
    for _ in range(3):
        rig.unlock(host, key=b"\x03" * 32)
        rig.ms += 10_000
    rig.held = True
    rig.ok("wipe", factory=True)
    rig.held = False
    new = Host("new")
    rig.ok("access_set", **new.set_args())
    rig.ok("lock")
    assert rig.ok("unlock")["retry_ms"] == 0
    assert rig.unlock(new, key=b"\x04" * 32)["retry_ms"] == 1000


@pytest.mark.parametrize(
    "args",
    [
        {"key": "00" * 31, "salt": "00" * 16, "iterations": ITER},
        {"key": "00" * 33, "salt": "00" * 16, "iterations": ITER},
        {"key": "zz" * 32, "salt": "00" * 16, "iterations": ITER},
        {"key": "00" * 32, "salt": "00" * 7, "iterations": ITER},
        {"key": "00" * 32, "salt": "00" * 16, "iterations": 999},
        {"key": "00" * 32, "salt": "00" * 16, "iterations": "200000"},
        {"key": "00" * 32, "salt": "00" * 16},
        {"key": 5, "salt": "00" * 16, "iterations": ITER},
        {"key": "00" * 32, "salt": "00" * 16, "iterations": ITER, "password": "x"},
    ],
)
def test_access_set_bad_args(rig, args):
    rig.err("access_set", proto.E_ARG, **args)
    assert rig.ok("info")["access"] is False


@pytest.mark.parametrize(
    "args",
    [
        {"response": "00" * 31},
        {"response": "xyz"},
        {"response": "00" * 32, "host_challenge": "00" * 16},  # the host's challenge goes in step 1
        {"host_challenge": "00" * 7},
        {"host_challenge": "zz" * 16},
        {"response": "00" * 32, "extra": 1},
    ],
)
def test_unlock_bad_args_are_not_counted(rig, args):
    host = protected(rig, Host())
    ch = rig.ok("unlock")
    rig.err("unlock", proto.E_ARG, **args)
    assert failures() == 0
    assert rig.call("unlock", **host.answer(ch["challenge"]))["ok"]  # the challenge still stands


def test_damaged_access_record_fails_closed(rig, tmp_path):
    protected(rig, Host())
    raw = bytearray((tmp_path / faccess.FILE).read_bytes())
    raw[25] ^= 0x10
    (tmp_path / faccess.FILE).write_bytes(raw)
    t = Tok()
    assert t.ok("info")["access"] is True
    t.err("list", proto.E_LOCKED)
    t.err("access_set", proto.E_LOCKED, **Host().set_args())
    r = t.err("unlock", proto.E_STORE)
    assert "wipe --factory" in r["msg"]
    t.held = True
    t.ok("wipe", factory=True)
    t.held = False
    t.ok("list")


def test_access_file_writes_are_atomic(rig, tmp_path):
    host = protected(rig, Host())
    good = (tmp_path / faccess.FILE).read_bytes()
    # Cut while writing access.new: the old file holds.
    newer = faccess.build(host.key, host.salt, ITER, 7)
    (tmp_path / faccess.NEW).write_bytes(newer[:30])
    t = Tok()
    assert t.server.access.failures == 0 and not (tmp_path / faccess.NEW).exists()
    assert (tmp_path / faccess.FILE).read_bytes() == good
    # Cut after access.new was complete, with the old file already removed.
    (tmp_path / faccess.NEW).write_bytes(newer)
    (tmp_path / faccess.FILE).unlink()
    t = Tok()
    assert t.server.access.failures == 7
    assert t.ok("unlock")["retry_ms"] == 64_000
    # Every single bit flip is caught.
    for i in range(len(newer) * 8):
        bad = bytearray(newer)
        bad[i // 8] ^= 1 << (i % 8)
        with pytest.raises(ValueError):
            faccess.parse(bytes(bad))


def test_constant_time_equal_reads_every_byte():
    class Counting(bytes):
        reads = 0

        def __getitem__(self, i):
            Counting.reads += 1
            return bytes.__getitem__(self, i)

    a = Counting(b"\x00" * 32)
    for b in (b"\x01" + b"\x00" * 31, b"\x00" * 31 + b"\x01", b"\x00" * 32):
        Counting.reads = 0
        assert faccess.equal(a, Counting(b)) is (b == bytes(a))
        assert Counting.reads == 64  # all 32 bytes of both, whatever the first difference
    assert faccess.equal(b"ab", b"abc") is False


def test_hmac_matches_stdlib(rng):
    for n in (0, 16, 64, 200):
        key, msg = rng.randbytes(32), rng.randbytes(n)
        assert faccess.hmac_sha256(key, msg) == hmac.new(key, msg, hashlib.sha256).digest()


def test_neither_password_nor_key_in_any_reply(rig):
    host = protected(rig, Host())
    rig.unlock(host, key=b"\x05" * 32)
    rig.ms += 1000
    ch = rig.ok("unlock")
    rig.call("unlock", **host.answer(ch["challenge"]))  # early: throttled
    rig.ms += 1000
    rig.call("unlock", **host.answer(ch["challenge"]))
    for op in ("info", "list", "time_get", "lock", "unlock"):
        rig.call(op)
    rig.call("access_set", **host.set_args())  # locked: refused
    rig.held = True
    rig.call("wipe", factory=True)
    rig.call("access_set", key=host.key.hex(), salt="00" * 16, iterations=ITER)
    rig.call("access_set", key=host.key.hex(), salt="00" * 16, iterations=5)  # refused
    rig.call("access_clear")
    blob = b"".join(rig.sent)
    assert len(rig.sent) > 15
    k = host.key
    b32 = base64.b32encode(k).decode()
    forms = [
        PASSWORD.encode(),
        k,
        k.hex().encode(),
        k.hex().upper().encode(),
        b32.encode(),
        b32.rstrip("=").encode(),
        base64.b64encode(k),
    ]
    for form in forms:
        assert form not in blob
