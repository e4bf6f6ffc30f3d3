"""The OTP core in CPython: RFC vectors, then generated cases against pyotp."""

from __future__ import annotations

import base64
import random

import pytest
from hypothesis import given, settings
from hypothesis import seed as hyp_seed
from hypothesis import strategies as st

from conftest import SEED, record_cases
from fob import otp
from support.core_cases import EDGE_TIMES, bad_cases
from support.reference import expected_hotp, expected_totp

PATHS = sorted(otp.PATHS)  # every path this interpreter has


@pytest.fixture(params=PATHS)
def path(request):
    otp.use_path(request.param)
    yield request.param
    otp.use_path(None)


RFC4226 = ["755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"]

# RFC 6238 Appendix B, with the per-algorithm seeds of the errata.
SEEDS = {
    "sha1": b"12345678901234567890",
    "sha256": b"12345678901234567890123456789012",
    "sha512": b"1234567890123456789012345678901234567890123456789012345678901234",
}
RFC6238 = [
    (59, "94287082", "46119246", "90693936"),
    (1111111109, "07081804", "68084774", "25091201"),
    (1111111111, "14050471", "67062674", "99943326"),
    (1234567890, "89005924", "91819424", "93441116"),
    (2000000000, "69279037", "90698825", "38618901"),
    (20000000000, "65353130", "77737706", "47863826"),
]


def test_rfc4226_vectors(path):
    assert [otp.hotp(SEEDS["sha1"], c) for c in range(10)] == RFC4226


@pytest.mark.parametrize("row", RFC6238, ids=lambda r: str(r[0]))
def test_rfc6238_vectors(path, row):
    t, *codes = row
    for alg, code in zip(("sha1", "sha256", "sha512"), codes, strict=True):
        if otp.path_for(alg):
            assert otp.totp(SEEDS[alg], t, 8, 30, alg) == code


def test_sha256_needs_its_own_seed(path):
    # The classic bug: the 20-byte seed for SHA-256 gives another code.
    assert otp.totp(SEEDS["sha1"], 59, 8, 30, "sha256") != "46119246"


keys = st.one_of(
    st.sampled_from((10, 20, 32, 40, 64, 65, 128)).flatmap(lambda n: st.binary(min_size=n, max_size=n)),
    st.binary(min_size=1, max_size=200),
)
times = st.one_of(st.sampled_from(EDGE_TIMES), st.integers(0, 2**40))


@hyp_seed(SEED)
@settings(max_examples=1200, deadline=None)
@given(
    key=keys,
    t=times,
    digits=st.integers(6, 10),
    period=st.one_of(st.sampled_from((30, 60, 1, 120, 121, 3600)), st.integers(1, 3600)),
    alg=st.sampled_from(("sha1", "sha256", "sha512")),
)
def test_totp_matches_reference(key, t, digits, period, alg):
    want, _ = expected_totp(key, t, digits, period, alg)
    for p in PATHS:
        otp.use_path(p)
        try:
            if otp.path_for(alg):
                assert otp.totp(key, t, digits, period, alg) == want, p
        finally:
            otp.use_path(None)
    record_cases("cpython", 1)


@hyp_seed(SEED)
@settings(max_examples=300, deadline=None)
@given(
    key=keys,
    counter=st.one_of(st.integers(0, 2**32), st.integers(0, 2**64 - 1)),
    digits=st.integers(6, 10),
    alg=st.sampled_from(("sha1", "sha256", "sha512")),
)
def test_hotp_matches_reference(key, counter, digits, alg):
    want, _ = expected_hotp(key, counter, digits, alg)
    assert otp.hotp(key, counter, digits, alg) == want
    record_cases("cpython", 1)


def test_otpkey_reuses_state_across_codes(path):
    rng = random.Random(SEED)
    key = bytes(rng.randrange(256) for _ in range(40))  # an AWS-sized key
    k = otp.OtpKey(key, "sha1")
    for t in (0, 29, 30, 2**31, 2**40):
        assert k.totp(t) == expected_totp(key, t, 6, 30, "sha1")[0]


@pytest.mark.parametrize(
    "case", bad_cases(), ids=lambda c: f"{c['kind']}-{c['digits']}-{c['period']}-{c['n']}-{c['alg']}"
)
def test_bad_arguments_raise_valueerror(case):
    with pytest.raises(ValueError) as e:
        if case["kind"] == "EH":
            otp.hotp(case["key"], case["n"], case["digits"], case["alg"])
        else:
            otp.totp(case["key"], case["n"], case["digits"], case["period"], case["alg"])
    assert str(e.value)  # says what was wrong


@pytest.mark.parametrize("bad", [59.0, "59", None, True])
def test_time_must_be_an_int(bad):
    with pytest.raises(ValueError, match="unix_time must be an int"):
        otp.totp(b"k" * 20, bad)


def _mangle(text: str, rng: random.Random) -> str:
    s = text
    if rng.random() < 0.5:
        s = s.lower()
    if rng.random() < 0.5:  # groups of four, as many sites print them
        sep = rng.choice(" -")
        s = sep.join(s[i : i + 4] for i in range(0, len(s), 4))
    pad = rng.choice(("", "=", "==", "%3D", "%3d%3D", "======"))
    return s.rstrip("=") + pad + rng.choice(("", "\n", " "))


@hyp_seed(SEED)
@settings(max_examples=300, deadline=None)
@given(raw=st.binary(min_size=1, max_size=128), salt=st.integers(0, 2**32))
def test_b32decode_accepts_what_services_hand_out(raw, salt):
    text = base64.b32encode(raw).decode()
    assert otp.b32decode(_mangle(text, random.Random(salt))) == raw


@pytest.mark.parametrize(
    "text,problem",
    [
        ("", "empty"),
        ("  ==  ", "empty"),
        ("JBSWY3DPEHPK3PX1", "not Base32"),
        ("JBSWY3DP0HPK3PXP", "0 is the letter O"),
        ("JBSW=Y3DPEHPK3PXP", "middle"),
        ("JBSWY3DPE", "length"),
        ("JBSWY3DPÉHPK3PXP", "not Base32"),
    ],
)
def test_b32decode_rejects_with_a_message(text, problem):
    with pytest.raises(ValueError, match=problem):
        otp.b32decode(text)


def test_b32decode_error_never_contains_the_secret():
    secret = "JBSWY3DPEHPK3PX1JBSWY3DPEHPK3PXP"
    with pytest.raises(ValueError) as e:
        otp.b32decode(secret)
    assert secret[:8] not in str(e.value)
