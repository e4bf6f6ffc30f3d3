"""Account store: round trips, checksum, atomic replace and recovery, capacity."""

import os
import random

import pytest

from fob import proto, safefile, storage
from fob.storage import Store, StoreError


@pytest.fixture
def flash(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the firmware uses paths relative to its flash root
    return tmp_path


def add_some(s, n=3):
    for i in range(n):
        s.add(
            "acct%d" % i,
            "Issuer %d" % i,
            bytes([i + 1]) * (10 + i),
            proto.ALGORITHMS[i % 3],
            6 + i % 5,
            30 + i,
            i % 2 == 1,
            i * 1000,
            i % 3 == 0,
        )


def params(s, i):
    p = s.params(i)
    return (p.algorithm, p.digits, p.period, p.hotp, p.counter, p.touch)


def snapshot(s):
    return [(s.label(i), s.issuer(i), s.key(i), params(s, i)) for i in range(s.count())]


def test_round_trip_through_flash(flash):
    s = Store()
    assert s.state == proto.STORE_OK and s.count() == 0
    add_some(s, 5)
    s.add("ünïcode", "Ïssuer", b"k" * proto.MAX_KEY, "sha512", 10, 3600, True, 2**64 - 1, True)
    before = snapshot(s)
    again = Store()
    assert again.state == proto.STORE_OK
    assert snapshot(again) == before
    assert params(again, 5) == ("sha512", 10, 3600, True, 2**64 - 1, True)
    assert not (flash / storage.NEW).exists()


def test_issuer_and_label_name_an_account(flash):
    # GitHub's and GitLab's alice@example.com are two accounts; only the
    # same issuer and label together is a clash.
    s = Store()
    s.add("alice@example.com", "GitHub", b"1" * 20)
    s.add("alice@example.com", "GitLab", b"2" * 20)
    s.add("alice@example.com", "", b"3" * 20)
    with pytest.raises(StoreError) as e:
        s.add("alice@example.com", "GitLab", b"4" * 20)
    assert e.value.args[0] == proto.E_EXISTS
    assert [s.find("alice@example.com", i) for i in ("GitHub", "GitLab", "", "Dropbox")] == [0, 1, 2, -1]
    assert s.find("alice@example.com") == 2  # no issuer given: the account without one
    with pytest.raises(StoreError) as e:  # renaming onto another issuer's account is a clash too
        s.rename(0, "alice@example.com", "GitLab")
    assert e.value.args[0] == proto.E_EXISTS
    s.rename(0, "bob")  # the issuer stays GitHub
    assert (s.label(0), s.issuer(0), s.key(1)) == ("bob", "GitHub", b"2" * 20)
    s.delete(s.find("alice@example.com", "GitLab"))
    t = Store()
    assert [(t.label(i), t.issuer(i), t.key(i)) for i in range(t.count())] == [
        ("bob", "GitHub", b"1" * 20),
        ("alice@example.com", "", b"3" * 20),
    ]


def test_delete_rename_counter(flash):
    s = Store()
    add_some(s, 4)
    s.delete(s.find("acct1", "Issuer 1"))
    assert [s.label(i) for i in range(s.count())] == ["acct0", "acct2", "acct3"]
    s.rename(s.find("acct2", "Issuer 2"), "two", "New issuer")
    with pytest.raises(StoreError) as e:
        s.rename(s.find("two", "New issuer"), "acct0", "Issuer 0")
    assert e.value.args[0] == proto.E_EXISTS
    s.set_counter(s.find("acct3", "Issuer 3"), 77)
    t = Store()
    assert [t.label(i) for i in range(t.count())] == ["acct0", "two", "acct3"]
    assert t.issuer(1) == "New issuer"
    assert t.params(2).counter == 77
    assert t.key(1) == bytes([3]) * 12  # the key moved with the record


def test_capacity_and_duplicates(flash, rng):
    s = Store()
    for i in range(proto.MAX_ACCOUNTS):
        s.add("a%03d" % i, "", rng.randbytes(20))
    assert Store().count() == proto.MAX_ACCOUNTS
    with pytest.raises(StoreError) as e:
        s.add("one more", "", b"x" * 20)
    assert e.value.args[0] == proto.E_FULL
    with pytest.raises(StoreError) as e:
        s.add("a000", "", b"x" * 20)
    assert e.value.args[0] == proto.E_EXISTS


def test_every_single_bit_flip_is_detected(flash):
    s = Store()
    add_some(s, 3)
    good = (flash / storage.FILE).read_bytes()
    for pos in range(len(good)):
        for bit in range(8):
            bad = bytearray(good)
            bad[pos] ^= 1 << bit
            (flash / storage.FILE).write_bytes(bad)
            t = Store()
            assert t.state == proto.STORE_DAMAGED, (pos, bit)
            assert t.count() == 0  # nothing of it is used


def test_truncations_and_garbage_are_damaged(flash):
    s = Store()
    add_some(s, 2)
    good = (flash / storage.FILE).read_bytes()
    for n in range(len(good)):
        (flash / storage.FILE).write_bytes(good[:n])
        assert Store().state == proto.STORE_DAMAGED
    rnd = random.Random(1)
    for _ in range(200):
        (flash / storage.FILE).write_bytes(bytes(rnd.randrange(256) for _ in range(rnd.randrange(64))))
        assert Store().state == proto.STORE_DAMAGED


def test_damaged_store_refuses_writes_until_wiped(flash):
    s = Store()
    add_some(s, 2)
    raw = bytearray((flash / storage.FILE).read_bytes())
    raw[12] ^= 0x40
    (flash / storage.FILE).write_bytes(raw)
    t = Store()
    assert t.state == proto.STORE_DAMAGED
    for op in (lambda: t.add("x", "", b"k"), lambda: t.set_counter(0, 5)):
        with pytest.raises(StoreError) as e:
            op()
        assert e.value.args[0] == proto.E_STORE
    assert (flash / storage.FILE).read_bytes() == bytes(raw)  # untouched
    t.wipe()
    assert t.state == proto.STORE_OK and t.count() == 0
    assert Store().state == proto.STORE_OK


def test_checksum_is_crc32(flash):
    import binascii
    import struct

    s = Store()
    add_some(s, 2)
    raw = (flash / storage.FILE).read_bytes()
    assert raw[:4] == b"OTPF" and raw[4] == storage.FORMAT
    assert struct.unpack("<I", raw[-4:])[0] == binascii.crc32(raw[:-4])
    # The firmware's fallback CRC (ports without binascii.crc32) agrees.
    saved = safefile._crc32
    safefile._crc32 = None
    try:
        assert safefile.crc(raw[:-4]) == binascii.crc32(raw[:-4])
    finally:
        safefile._crc32 = saved


# ---- atomic replace and recovery ----------------------------------------


def states(flash):
    s = Store()
    add_some(s, 2)
    old = (flash / storage.FILE).read_bytes()
    s.add("third", "", b"3" * 20)
    new = (flash / storage.FILE).read_bytes()
    return old, new


def test_cut_after_new_file_complete_adopts_it(flash):
    old, new = states(flash)
    # State on flash when power went after writing accounts.new, before rename.
    (flash / storage.FILE).write_bytes(old)
    (flash / storage.NEW).write_bytes(new)
    s = Store()
    assert s.count() == 3 and s.find("third") == 2
    assert (flash / storage.FILE).read_bytes() == new
    assert not (flash / storage.NEW).exists()


def test_cut_between_remove_and_rename_adopts_new(flash):
    old, new = states(flash)
    (flash / storage.FILE).unlink()
    (flash / storage.NEW).write_bytes(new)
    s = Store()
    assert s.state == proto.STORE_OK and s.count() == 3


@pytest.mark.parametrize("cut", [0, 1, 7, 8, 30, -1])
def test_cut_while_writing_new_file_keeps_old(flash, cut):
    old, new = states(flash)
    (flash / storage.FILE).write_bytes(old)
    (flash / storage.NEW).write_bytes(new[:cut] if cut >= 0 else new[:-1])
    s = Store()
    assert s.state == proto.STORE_OK and s.count() == 2
    assert not (flash / storage.NEW).exists()
    assert (flash / storage.FILE).read_bytes() == old


def test_first_write_cut_gives_empty_store(flash):
    _, new = states(flash)
    (flash / storage.FILE).unlink()
    (flash / storage.NEW).write_bytes(new[:20])
    s = Store()
    assert s.state == proto.STORE_OK and s.count() == 0


def test_rename_that_cannot_replace(flash, monkeypatch):
    # FAT and some littlefs versions refuse to rename over an existing file.
    real = os.rename

    def strict_rename(a, b):
        if os.path.exists(b):
            raise OSError(17, "exists")
        real(a, b)

    monkeypatch.setattr(storage.os, "rename", strict_rename)
    s = Store()
    add_some(s, 3)
    s.delete(0)
    assert [x[0] for x in snapshot(Store())] == ["acct1", "acct2"]


def test_failed_write_changes_nothing(flash, monkeypatch):
    s = Store()
    add_some(s, 2)
    before = (flash / storage.FILE).read_bytes()
    gen = s.generation
    real_open = open

    class Full:
        def __init__(self, f):
            self.f = f

        def __enter__(self):
            return self

        def __exit__(self, *a):
            self.f.close()

        def write(self, data):
            self.f.write(data[: len(data) // 2])
            raise OSError(28, "no space left")

    def full_open(path, mode="r"):
        f = real_open(path, mode)
        return Full(f) if "w" in mode else f

    with monkeypatch.context() as m:
        m.setattr(safefile, "open", full_open, raising=False)
        with pytest.raises(OSError):
            s.add("x", "", b"k" * 10)
    assert s.count() == 2 and s.generation == gen
    assert (flash / storage.FILE).read_bytes() == before
    assert snapshot(Store()) == snapshot(s)  # the half-written file is dropped


def test_failed_rename_leaves_old_or_new(flash, monkeypatch):
    s = Store()
    add_some(s, 2)
    old = snapshot(s)

    def broken(*a):
        raise OSError(5, "I/O error")

    with monkeypatch.context() as m:
        m.setattr(storage.os, "rename", broken)
        with pytest.raises(OSError):
            s.add("x", "", b"k" * 10)
    assert snapshot(s) == old  # in RAM: unchanged
    after = snapshot(Store())
    assert after == old or [a[0] for a in after] == ["acct0", "acct1", "x"]
