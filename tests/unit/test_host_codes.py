"""The host's reference codes and the skew check, against RFC vectors and pyotp."""

from __future__ import annotations

import base64

import pyotp
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from otpfob.codes import check_totp, reference_totp, rfc_hotp
from otpfob.uri import Account

RFC4226 = ["755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"]


def test_rfc4226_vectors():
    assert [rfc_hotp(b"12345678901234567890", c, 6, "sha1") for c in range(10)] == RFC4226


@pytest.mark.parametrize(
    "alg, key, code",
    [
        ("sha1", b"1234567890" * 2, "94287082"),
        ("sha256", b"12345678901234567890123456789012", "46119246"),
        ("sha512", b"1234567890123456789012345678901234567890123456789012345678901234", "90693936"),
    ],
)
def test_rfc6238_vectors(alg, key, code):
    assert rfc_hotp(key, 59 // 30, 8, alg) == code


@settings(max_examples=200, deadline=None)
@given(
    key=st.binary(min_size=14, max_size=64),
    t=st.integers(0, 253_402_300_799),
    digits=st.integers(6, 10),
    period=st.integers(1, 120),
    alg=st.sampled_from(["sha1", "sha256", "sha512"]),
)
def test_rfc_path_equals_pyotp_where_pyotp_works(key, t, digits, period, alg):
    acct = Account(label="x", key=key, digits=digits, period=period, algorithm=alg)
    code, source = reference_totp(acct, t)
    assert source == "pyotp"
    assert code == rfc_hotp(key, t // period, digits, alg)


def test_short_secret_and_long_period_fall_back_to_rfc():
    assert reference_totp(Account(label="x", key=b"k" * 10), 100)[1] == "rfc"
    assert reference_totp(Account(label="x", key=b"k" * 20, period=300), 100)[1] == "rfc"


def test_skew_is_reported_in_steps_and_seconds():
    acct = Account(label="x", key=b"k" * 20)
    ref = pyotp.TOTP(base64.b32encode(acct.key).decode())
    token_t, host_t = 1_700_000_110, 1_700_000_010  # host at a step start
    r = check_totp(acct, ref.at(token_t), token_t, host_t)
    assert r.matches and not r.host_window
    assert (r.skew_seconds, r.skew_steps) == (100, 3)
    r = check_totp(acct, ref.at(host_t + 20), host_t + 20, host_t)
    assert r.matches and r.host_window
    wrong = str((int(ref.at(token_t)) + 1) % 10**6).zfill(6)
    assert not check_totp(acct, wrong, token_t, host_t).matches
