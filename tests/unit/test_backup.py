"""otpfob.backup: encrypted backups and vendor PSKC files, checked with python-pskc itself.

Every file here is made by python-pskc (vendor files) or by otpfob.backup
(backups) and read back by the other where it matters: a backup must be a
PSKC file that python-pskc decrypts with the password and only with it.
Most cases use a low PBKDF2 count to stay fast; one uses the real one.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import random
import re
import stat
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pskc import PSKC

from conftest import SEED
from fob import proto
from otpfob import backup
from otpfob.emu import leakscan
from otpfob.errors import InputError
from otpfob.uri import HOTP, TOTP, Account

# Random bytes from the run's seed, so OTPFOB_SEED replays them.
_RNG = random.Random(f"{SEED}:{__name__}")

FAST = 1000  # PBKDF2 rounds for the cases that are not about the cost
PASSWORD = "correct horse battery"
HOTP_URI = "urn:ietf:params:xml:ns:keyprov:pskc:hotp"
TOTP_URI = "urn:ietf:params:xml:ns:keyprov:pskc:totp"


def account(label="alice", **kw) -> Account:
    kw.setdefault("key", _RNG.randbytes(20))
    return Account(label=label, **kw)


def leaks(blob: bytes, keys: list[bytes]) -> list:
    """Any of ``keys`` in ``blob``: raw, hex, Base32 (leakscan's forms) or Base64 (PSKC's own)."""
    hits = leakscan.find(blob, keys)
    hits += [(k, blob.find(base64.b64encode(k))) for k in keys if base64.b64encode(k) in blob]
    return hits


def one_sentence(exc: pytest.ExceptionInfo) -> str:
    text = str(exc.value)
    assert "\n" not in text and text.endswith(".") and "Traceback" not in text, text
    return text


accounts_strategy = st.lists(
    st.builds(
        Account,
        label=st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=20),
        key=st.binary(min_size=1, max_size=proto.MAX_KEY),
        issuer=st.sampled_from(["", "Example", "Bank"]),
        type=st.sampled_from([TOTP, HOTP]),
        algorithm=st.sampled_from(["sha1", "sha256", "sha512"]),
        digits=st.integers(proto.MIN_DIGITS, proto.MAX_DIGITS),
        period=st.integers(proto.MIN_PERIOD, proto.MAX_PERIOD),
        counter=st.integers(0, 2**40),
    ),
    min_size=1,
    max_size=4,
)


def _normal(a: Account) -> tuple:
    return (
        a.label,
        a.issuer,
        a.type,
        a.algorithm,
        a.digits,
        a.key,
        a.period if a.type == TOTP else None,
        a.counter if a.type == HOTP else None,
    )


@settings(max_examples=25, deadline=None)
@given(accounts=accounts_strategy)
def test_a_backup_reads_back_as_written(accounts):
    data = backup.encode(accounts, PASSWORD, iterations=FAST)
    got = backup.read(data, "b.pskc", password=PASSWORD)
    assert got.protection == backup.PASSWORD
    assert [_normal(e.account) for e in got.entries] == [_normal(a) for a in accounts]
    assert not leaks(data, [a.key for a in accounts if len(a.key) >= leakscan.MIN_SECRET])


def test_python_pskc_decrypts_a_backup_only_with_its_password():
    accounts = [account("alice", issuer="Example"), account("bob", type=HOTP, counter=7, algorithm="sha256")]
    data = backup.encode(accounts, PASSWORD)  # the real cost
    text = data.decode()
    assert f"<IterationCount>{backup.ITERATIONS}</IterationCount>" in text
    assert 'PRF Algorithm="http://www.w3.org/2001/04/xmldsig-more#hmac-sha256"' in text
    assert text.count("aes256-cbc") == 3  # the MAC key and both secrets
    assert "PlainValue" in text and not leaks(data, [a.key for a in accounts])

    doc = PSKC(io.BytesIO(data))
    with pytest.raises(Exception):  # noqa: B017 -- python-pskc's own DecryptionError, whatever its wording
        doc.keys[0].secret  # noqa: B018
    doc.encryption.derive_key(PASSWORD)
    assert [k.secret for k in doc.keys] == [a.key for a in accounts]
    assert [k.key_userid for k in doc.keys] == ["alice", "bob"]
    assert doc.keys[1].counter == 7

    # The key is PBKDF2-HMAC-SHA256(password, salt, 600000, 32), computed here independently.
    salt = base64.b64decode(re.search(r"<Specified>([^<]+)</Specified>", text).group(1))
    doc2 = PSKC(io.BytesIO(data))
    doc2.encryption.key = hashlib.pbkdf2_hmac("sha256", PASSWORD.encode(), salt, backup.ITERATIONS, 32)
    assert doc2.keys[0].secret == accounts[0].key

    for wrong in ("correct horse batterY", PASSWORD + " ", "x"):
        doc3 = PSKC(io.BytesIO(data))
        doc3.encryption.derive_key(wrong)
        with pytest.raises(Exception):  # noqa: B017
            doc3.keys[0].secret  # noqa: B018


def test_a_wrong_password_is_one_sentence():
    data = backup.encode([account()], PASSWORD, iterations=FAST)
    for wrong in ("correct horse batterY", "another password"):
        with pytest.raises(backup.BackupError) as exc:
            backup.read(data, "b.pskc", password=wrong)
        assert one_sentence(exc) == "The password for b.pskc is wrong; nothing was loaded."


def _flip_secret(text: str, n: int = 0) -> str:
    """Change one byte of the n-th secret's ciphertext (keeping it Base64)."""
    values = list(re.finditer(r"<pskc:Secret>\s*<pskc:EncryptedValue>.*?<xenc:CipherValue>([^<]+)<", text, re.S))
    m = values[n]
    raw = bytearray(base64.b64decode(m.group(1)))
    raw[len(raw) // 2] ^= 0x01
    return text[: m.start(1)] + base64.b64encode(bytes(raw)).decode() + text[m.end(1) :]


@pytest.mark.parametrize(
    "tamper, expected",
    [
        (lambda t: _flip_secret(t, 1), "Key 2 of b.pskc fails its MAC check"),
        (lambda t: re.sub(r"<pskc:ValueMAC>[^<]+</pskc:ValueMAC>", "", t, count=1), "Key 1 of b.pskc has no MAC"),
        (lambda t: t[: len(t) // 2], "b.pskc is not a PSKC file, or it is cut short or damaged"),
        (lambda t: t[:-30], "b.pskc is not a PSKC file, or it is cut short or damaged"),
        (lambda t: "", "b.pskc is not a PSKC file, or it is cut short or damaged"),
        (
            lambda t: re.sub(r"<IterationCount>\d+</IterationCount>", "<IterationCount>999999999</IterationCount>", t),
            "b.pskc asks for a PBKDF2 iteration count outside",
        ),
        (lambda t: re.sub(r"<pskc:MACKey>.*?</pskc:MACKey>", "", t, flags=re.S), "b.pskc has no encrypted MAC key"),
        (lambda t: t.replace("pskc:totp", "pskc:ocra"), "Key 1 of b.pskc uses the algorithm"),
        (lambda t: t.replace("HMAC-SHA1", "HMAC-MD5"), "Key 1 of b.pskc uses the algorithm 'HMAC-MD5'"),
        (lambda t: t.replace('Encoding="DECIMAL"', 'Encoding="HEXADECIMAL"'), "Key 1 of b.pskc gives 'HEXADECIMAL'"),
        (lambda t: t.replace("<pskc:PlainValue>30<", "<pskc:PlainValue>thirty<"), "b.pskc is not a PSKC file"),
    ],
)
def test_a_changed_or_cut_backup_loads_nothing(tamper, expected):
    accounts = [account("alice"), account("bob")]
    text = backup.encode(accounts, PASSWORD, iterations=FAST).decode()
    with pytest.raises(backup.BackupError) as exc:
        backup.read(tamper(text).encode(), "b.pskc", password=PASSWORD)
    assert one_sentence(exc).startswith(expected)
    assert one_sentence(exc).endswith("nothing was loaded.")
    assert not leaks(str(exc.value).encode(), [a.key for a in accounts])


def test_a_secret_swapped_for_a_plain_one_is_refused():
    text = backup.encode([account()], PASSWORD, iterations=FAST).decode()
    plain = base64.b64encode(_RNG.randbytes(20)).decode()
    swapped = re.sub(
        r"<pskc:Secret>.*?</pskc:Secret>",
        f"<pskc:Secret><pskc:PlainValue>{plain}</pskc:PlainValue></pskc:Secret>",
        text,
        flags=re.S,
    )
    with pytest.raises(backup.BackupError) as exc:
        backup.read(swapped.encode(), "b.pskc", password=PASSWORD)
    assert "holds its secret in the clear" in one_sentence(exc)


def _vendor(keys: list[dict], *, psk: bytes | None = None, algorithm: str = "aes128-cbc") -> bytes:
    doc = PSKC()
    for k in keys:
        doc.add_key(**k)
    if psk is not None:
        doc.encryption.setup_preshared_key(key=psk, algorithm=algorithm)
    out = io.BytesIO()
    doc.write(out)
    return out.getvalue()


def _vendor_keys():
    seeds = [_RNG.randbytes(20), _RNG.randbytes(32), _RNG.randbytes(20)]
    keys = [
        dict(
            id="K1",
            serial="987654321",
            secret=seeds[0],
            algorithm=HOTP_URI,
            response_length=8,
            counter=42,
            manufacturer="Vendor",
            key_userid="alice@example.com",
            issuer="Example",
        ),
        dict(
            id="K2",
            secret=seeds[1],
            algorithm=TOTP_URI,
            response_length=6,
            response_encoding="DECIMAL",
            time_interval=60,
            algorithm_suite="HMAC-SHA256",
            friendly_name="VPN token",
        ),
        dict(id="SN-0003", secret=seeds[2], algorithm="urn:ietf:params:xml:ns:keyprov:pskc#totp"),
    ]
    return keys, seeds


def _check_vendor(got: backup.Contents, seeds: list[bytes]) -> None:
    a, b, c = (e.account for e in got.entries)
    assert (a.label, a.issuer, a.type, a.digits, a.counter, a.algorithm, a.key) == (
        "alice@example.com",
        "Example",
        HOTP,
        8,
        42,
        "sha1",
        seeds[0],
    )
    assert (b.label, b.issuer, b.type, b.digits, b.period, b.algorithm, b.key) == (
        "VPN token",
        "",
        TOTP,
        6,
        60,
        "sha256",
        seeds[1],
    )
    assert (c.label, c.type, c.digits, c.period, c.algorithm, c.key) == ("SN-0003", TOTP, 6, 30, "sha1", seeds[2])


def test_a_vendors_plaintext_file():
    keys, seeds = _vendor_keys()
    data = _vendor(keys)
    assert backup.looks_like_pskc(data) and backup.protection(data, "v.pskc") == backup.PLAIN
    got = backup.read(data, "v.pskc")
    assert got.protection == backup.PLAIN
    _check_vendor(got, seeds)


@pytest.mark.parametrize("algorithm, length", [("aes128-cbc", 16), ("aes256-cbc", 32), ("kw-aes128", 16)])
def test_a_vendors_file_encrypted_with_a_preshared_key(algorithm, length):
    keys, seeds = _vendor_keys()
    psk = _RNG.randbytes(length)
    data = _vendor(keys, psk=psk, algorithm=algorithm)
    assert backup.protection(data, "v.pskc") == backup.PRESHARED
    assert not leaks(data, seeds)
    _check_vendor(backup.read(data, "v.pskc", psk=backup.parse_psk(psk.hex().upper())), seeds)

    with pytest.raises(backup.BackupError) as exc:
        backup.read(data, "v.pskc")
    assert "--pskc-key" in one_sentence(exc)
    with pytest.raises(backup.BackupError) as exc:
        backup.read(data, "v.pskc", psk=_RNG.randbytes(length))
    text = one_sentence(exc)
    assert "wrong key" in text or "--pskc-key is not its key" in text, text
    assert text.endswith("nothing was loaded.")
    with pytest.raises(backup.BackupError) as exc:
        backup.read(data, "v.pskc", psk=_RNG.randbytes(length + 8))
    assert one_sentence(exc).startswith(
        f"The pre-shared key is {length + 8} bytes and v.pskc's encryption needs {length} bytes"
    )


def test_a_preshared_key_given_badly():
    for text in ("xyz", "12 3", ""):
        with pytest.raises(InputError):
            backup.parse_psk(text)
    assert backup.parse_psk("00:11 22") == bytes.fromhex("001122")


def test_a_vendor_key_that_the_token_cannot_take():
    too_long = _vendor([dict(id="K", secret=_RNG.randbytes(proto.MAX_KEY + 1), algorithm=TOTP_URI)])
    with pytest.raises(backup.BackupError) as exc:
        backup.read(too_long, "v.pskc")
    assert one_sentence(exc) == (
        f"Key 1 of v.pskc has a {proto.MAX_KEY + 1}-byte secret and the token holds at most {proto.MAX_KEY} bytes;"
        " nothing was loaded."
    )
    ocra = _vendor([dict(id="K", secret=_RNG.randbytes(20), algorithm="urn:ietf:params:xml:ns:keyprov:pskc#OCRA-1")])
    with pytest.raises(backup.BackupError) as exc:
        backup.read(ocra, "v.pskc")
    assert one_sentence(exc).startswith(
        "Key 1 of v.pskc uses the algorithm 'urn:ietf:params:xml:ns:keyprov:pskc#OCRA-1'"
    )
    # What the token's screen cannot show is listed and skipped, as for phone-app exports.
    four = _vendor([dict(id="K", secret=_RNG.randbytes(20), algorithm=HOTP_URI, response_length=4)])
    (entry,) = backup.read(four, "v.pskc").entries
    assert entry.account is None and "digits" in entry.problem


def test_not_xml_and_xml_bombs_are_refused():
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
        b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><KeyContainer Version="1.0">&c;</KeyContainer>'
    )
    for data in (b"\x89PNG\r\n", b"otpauth://totp/x?secret=JBSWY3DPEHPK3PXP", bomb):
        with pytest.raises(backup.BackupError) as exc:
            backup.read(data, "f")
        assert one_sentence(exc).startswith("f is not a PSKC file")


def test_the_file_is_written_0600_through_a_temporary_file(tmp_path):
    os.umask(0o022)
    path = tmp_path / "backup.pskc"
    path.write_bytes(b"old")
    os.chmod(path, 0o644)
    accounts = [account("alice"), account("bob")]
    data = backup.encode(accounts, PASSWORD, iterations=FAST)
    backup.write_file(path, data)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes() == data
    assert sorted(p.name for p in tmp_path.iterdir()) == ["backup.pskc"]  # no temporary file left
    for p in tmp_path.iterdir():
        assert not leaks(p.read_bytes(), [a.key for a in accounts])


def test_a_failed_write_leaves_what_was_there_and_no_temporary_file(tmp_path):
    path = tmp_path / "backup.pskc"
    path.mkdir()  # the rename over it fails (even as root)
    (path / "kept").write_bytes(b"old")
    with pytest.raises(backup.BackupError) as exc:
        backup.write_file(path, b"new")
    assert one_sentence(exc).startswith(f"The backup {path} could not be written (")
    assert (path / "kept").read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["backup.pskc"]
    with pytest.raises(backup.BackupError) as exc:
        backup.write_file(tmp_path / "missing" / "b.pskc", b"new")
    assert one_sentence(exc).startswith("The backup cannot be written in")


def test_backup_file_adds_and_replaces(tmp_path):
    path = tmp_path / "b.pskc"
    with pytest.raises(InputError):
        backup.BackupFile.open(path, "short")
    first = backup.BackupFile.open(path, PASSWORD)
    assert first.is_new
    a, b = account("alice", issuer="A"), account("bob")
    assert first.add([a], iterations=FAST) == 1
    again = backup.BackupFile.open(path, PASSWORD)
    assert [x.key for x in again.accounts] == [a.key]
    a2 = account("alice", issuer="A")
    assert again.add([b, a2], iterations=FAST) == 2
    # Another otpfob wrote meanwhile: its account is kept.
    other = backup.BackupFile.open(path, PASSWORD)
    c = account("carol")
    first.add([c], iterations=FAST)
    other.add([account("dave")], iterations=FAST)
    names = [x.label for x in backup.BackupFile.open(path, PASSWORD).accounts]
    assert names == ["alice", "bob", "carol", "dave"]
    assert backup.BackupFile.open(path, PASSWORD).accounts[0].key == a2.key
    with pytest.raises(backup.BackupError) as exc:
        backup.BackupFile.open(path, "wrong password")
    assert one_sentence(exc) == f"The password for {path} is wrong; nothing was loaded."


def test_a_vendor_file_is_not_a_backup_to_add_to(tmp_path):
    path = tmp_path / "v.pskc"
    path.write_bytes(_vendor(_vendor_keys()[0]))
    with pytest.raises(backup.BackupError) as exc:
        backup.BackupFile.open(path, PASSWORD)
    assert "is not a password-protected backup" in one_sentence(exc)


def test_rfc_6030_figure_7_password_based_file():
    """RFC 6030's own example of password-based encryption (section 6.2,
    figure 7): password "qwerty", PBKDF2-HMAC-SHA1, AES-128-CBC, HMAC-SHA1."""
    data = (Path(__file__).parent / "data" / "rfc6030-figure7.pskcxml").read_bytes()
    got = backup.read(data, "figure7", password="qwerty")
    (entry,) = got.entries
    acct = entry.account
    assert got.protection == backup.PASSWORD
    assert (acct.label, acct.issuer, acct.type, acct.digits, acct.counter) == ("123456", "Example-Issuer", HOTP, 8, 0)
    assert acct.key == b"12345678901234567890"  # the RFC's secret
    with pytest.raises(backup.BackupError) as exc:
        backup.read(data, "figure7", password="qwertz")
    assert one_sentence(exc) == "The password for figure7 is wrong; nothing was loaded."
