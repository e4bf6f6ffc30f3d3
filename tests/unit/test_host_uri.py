"""otpauth:// URI and secret parsing, against pyotp's own URIs and the wild forms."""

from __future__ import annotations

import base64
import hashlib
import re
import string

import pyotp
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from otpfob.errors import InputError
from otpfob.uri import Account, decode_secret, parse_uri

# Printable names without the label separator at the edges; pyotp percent-encodes the rest.
_name_chars = st.characters(codec="utf-8", categories=("L", "N", "P", "S", "Zs"), exclude_characters=":")
names = st.text(_name_chars, min_size=1, max_size=12).map(str.strip).filter(bool)
keys = st.binary(min_size=14, max_size=64)  # pyotp refuses < 112 bits


@settings(max_examples=300, deadline=None)
@given(
    key=keys,
    name=names,
    issuer=st.none() | names,
    digits=st.integers(6, 10),
    period=st.integers(1, 120),
    algorithm=st.sampled_from(["sha1", "sha256", "sha512"]),
)
def test_totp_round_trip_with_pyotp(key, name, issuer, digits, period, algorithm):
    secret = base64.b32encode(key).decode().rstrip("=")
    ref = pyotp.TOTP(
        secret, digits=digits, interval=period, digest=getattr(hashlib, algorithm), name=name, issuer=issuer
    )
    uri = ref.provisioning_uri()
    acct = parse_uri(uri)
    back = pyotp.parse_uri(uri) if digits <= 8 else ref  # pyotp's parser stops at 8 digits
    assert acct.type == "totp"
    assert acct.key == key == back.byte_secret()
    assert acct.label == back.name == name
    assert acct.issuer == (issuer or "")
    assert (acct.digits, acct.period, acct.algorithm) == (digits, period, algorithm)
    # the account it describes gives pyotp's codes (checked via the host's reference)
    from otpfob.codes import reference_totp

    assert reference_totp(acct, 1_700_000_000)[0] == back.at(1_700_000_000)


@settings(max_examples=150, deadline=None)
@given(key=keys, name=names, issuer=st.none() | names, counter=st.integers(0, 2**40), digits=st.integers(6, 8))
def test_hotp_round_trip_with_pyotp(key, name, issuer, counter, digits):
    secret = base64.b32encode(key).decode()
    uri = pyotp.HOTP(secret, digits=digits, name=name, issuer=issuer, initial_count=counter).provisioning_uri()
    acct = parse_uri(uri)
    assert (acct.type, acct.key, acct.label, acct.counter, acct.digits) == ("hotp", key, name, counter, digits)
    assert acct.issuer == (issuer or "")


AWS_KEY = bytes(range(40))
AWS_B32 = base64.b32encode(AWS_KEY).decode()  # 64 characters, no padding needed


@pytest.mark.parametrize(
    "uri",
    [
        f"otpauth://totp/Amazon%20Web%20Services:root@123?secret={AWS_B32}&issuer=Amazon%20Web%20Services",
        f"otpauth://totp/Amazon%20Web%20Services:root@123?secret={AWS_B32.lower()}&issuer=Amazon+Web+Services\n",
        f"  OTPAUTH://TOTP/Amazon%20Web%20Services%3Aroot%40123?issuer=Amazon%20Web%20Services&secret={AWS_B32}  ",
        f"otpauth://totp/Amazon Web Services:root@123?secret={' '.join(AWS_B32[i : i + 4] for i in range(0, 64, 4))}&issuer=Amazon Web Services",
        f"otpauth://totp/Amazon%20Web%20Services:%20root@123?secret={AWS_B32}%3D%3D&algorithm=sha1&digits=6&period=30",
        f"otpauth://totp/Amazon%20Web%20Services:root@123?secret={AWS_B32}====&Algorithm=SHA1",
    ],
)
def test_wild_forms(uri):
    acct = parse_uri(uri)
    assert acct.key == AWS_KEY
    assert acct.label == "root@123"
    assert acct.issuer == "Amazon Web Services"
    assert (acct.algorithm, acct.digits, acct.period, acct.type) == ("sha1", 6, 30, "totp")


def test_lowercase_algorithm_and_short_secret():
    key = b"\x01" * 10  # 80 bits: pyotp refuses it, services hand it out
    b32 = base64.b32encode(key).decode()
    acct = parse_uri(f"otpauth://totp/x?secret={b32}&algorithm=sha512&digits=8&period=60")
    assert (acct.key, acct.algorithm, acct.digits, acct.period) == (key, "sha512", 8, 60)
    with pytest.raises(ValueError):
        pyotp.parse_uri(f"otpauth://totp/x?secret={b32}")  # why we do not lean on pyotp here


def test_the_key_uri_specs_example_names_its_issuer():
    # The Key URI format's own example has no issuer=: the prefix is the issuer.
    acct = parse_uri(f"otpauth://totp/Big%20Corporation%3A%20alice%40bigco.com?secret={AWS_B32}")
    assert (acct.issuer, acct.label) == ("Big Corporation", "alice@bigco.com")
    acct = parse_uri(f"otpauth://totp/a%3Ab?secret={AWS_B32}")
    assert (acct.issuer, acct.label) == ("a", "b")


def test_encoded_colon_inside_name_stays_when_issuer_differs():
    acct = parse_uri(f"otpauth://totp/a%3Ab?secret={AWS_B32}&issuer=Other")
    assert (acct.label, acct.issuer) == ("a:b", "Other")
    acct = parse_uri(f"otpauth://totp/Other:a%3Ab?secret={AWS_B32}")  # after a literal colon
    assert (acct.label, acct.issuer) == ("a:b", "Other")


SECRET = "JBSWY3DPEHPK3PXP"


@pytest.mark.parametrize(
    "uri, words",
    [
        ("http://totp/x?secret=" + SECRET, "otpauth://"),
        ("otpauth://motp/x?secret=" + SECRET, "totp or hotp"),
        ("otpauth://totp/x?issuer=A", "no secret"),
        ("otpauth://totp/x?secret=", "no secret"),
        ("otpauth://totp/x?secret=" + SECRET + "&secret=" + SECRET, "more than once"),
        ("otpauth://totp/A:x?secret=" + SECRET + "&issuer=B", "same"),
        ("otpauth://totp/x?secret=JBSWY3DPEHPK3PX1", "Base32"),
        ("otpauth://totp/x?secret=JBSW=Y3DPEHPK3PXP", "Base32"),
        ("otpauth://totp/x?secret=" + SECRET + "&algorithm=md5", "algorithm"),
        ("otpauth://totp/x?secret=" + SECRET + "&digits=six", "whole number"),
        ("otpauth://totp/x?secret=" + SECRET + "&period=1.5", "whole number"),
        ("otpauth://hotp/x?secret=" + SECRET, "counter"),
        ("otpauth://hotp/x?secret=" + SECRET + "&counter=-", "whole number"),
    ],
)
def test_bad_uris_are_one_sentence_without_the_secret(uri, words):
    with pytest.raises(InputError) as info:
        parse_uri(uri)
    msg = str(info.value)
    assert words in msg
    assert msg.endswith(".") and "\n" not in msg
    assert SECRET not in msg and "JBSWY3DPEHPK3PX1" not in msg


@pytest.mark.parametrize(
    "acct, words",
    [
        (Account(label="x" * 33, key=b"k"), "label is 33 bytes"),
        (Account(label="", key=b"k"), "no label"),
        (Account(label="x", key=b"k", issuer="i" * 40), "issuer"),
        (Account(label="x", key=b"k", digits=5), "digits"),
        (Account(label="x", key=b"k", digits=11), "digits"),
        (Account(label="x", key=b"k", period=0), "period"),
        (Account(label="x", key=b"k", period=3601), "period"),
        (Account(label="x", key=b"k" * 129), "129 bytes"),
        (Account(label="x", key=b"k", algorithm="md5"), "algorithm"),
    ],
)
def test_account_limits(acct, words):
    with pytest.raises(InputError, match=words):
        acct.check()


def test_key_never_in_repr():
    acct = Account(label="x", key=b"super-secret-key")
    assert "super-secret" not in repr(acct)


@given(st.text(alphabet=string.ascii_letters + string.digits + " -=", max_size=80))
def test_decode_secret_agrees_with_stdlib_or_refuses(text):
    norm = text.upper().replace(" ", "").replace("-", "").rstrip("=")
    try:
        got = decode_secret(text)
    except InputError as exc:
        # The message may depend on the input's shape (length, where a bad
        # character sits, which kind it is), never on its content: the same
        # input with every letter and valid digit masked gives the same one.
        masked = re.sub(r"[a-z]", "a", re.sub(r"[A-Z]", "A", re.sub(r"[2-7]", "2", text)))
        with pytest.raises(InputError) as again:
            decode_secret(masked)
        assert str(exc) == str(again.value)
        return
    padded = norm + "=" * (-len(norm) % 8)
    assert got == base64.b32decode(padded)
