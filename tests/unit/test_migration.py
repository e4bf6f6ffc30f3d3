"""Phone-app exports decoded without a token: generated MigrationPayloads
(protobuf, from our migration.proto) come back as the accounts they hold,
whatever the split into QR codes and their order; any other bytes give one
InputError sentence, never another exception."""

from __future__ import annotations

import base64
import random
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from otpfob import migration
from otpfob.errors import InputError
from otpfob.migration_pb2 import MigrationPayload as P

ALGS = [(P.ALGORITHM_SHA1, "sha1"), (P.ALGORITHM_SHA256, "sha256"), (P.ALGORITHM_SHA512, "sha512")]
NAMES = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0x2FF, blacklist_characters=":").filter(str.isprintable),
    min_size=1,
    max_size=20,
)

account = st.fixed_dictionaries(
    {
        "secret": st.binary(min_size=1, max_size=64),
        "name": NAMES.filter(lambda s: s.strip()),
        "issuer": st.one_of(st.just(""), NAMES.filter(lambda s: s.strip())),
        "alg": st.sampled_from(ALGS),
        "digits": st.sampled_from([(P.DIGIT_COUNT_UNSPECIFIED, 6), (P.DIGIT_COUNT_SIX, 6), (P.DIGIT_COUNT_EIGHT, 8)]),
        "hotp": st.booleans(),
        "counter": st.integers(0, 2**40),
    }
)


def uri_of(payload: P) -> str:
    return "otpauth-migration://offline?data=" + quote(base64.b64encode(payload.SerializeToString()).decode(), safe="")


def export(accounts: list[dict], parts: int, batch_id: int) -> list[str]:
    size = -(-len(accounts) // parts)
    chunks = [accounts[i : i + size] for i in range(0, len(accounts), size)]
    out = []
    for index, chunk in enumerate(chunks):
        payload = P(version=1, batch_size=len(chunks), batch_index=index, batch_id=batch_id)
        for a in chunk:
            p = payload.otp_parameters.add(secret=a["secret"], name=a["name"], issuer=a["issuer"])
            p.algorithm, p.digits = a["alg"][0], a["digits"][0]
            p.type = P.OTP_TYPE_HOTP if a["hotp"] else P.OTP_TYPE_TOTP
            p.counter = a["counter"]
        out.append(uri_of(payload))
    return out


@settings(max_examples=150, deadline=None)
@given(accounts=st.lists(account, min_size=1, max_size=40), parts=st.integers(1, 5), seed=st.integers(0, 2**32))
def test_exports_decode_to_their_accounts_in_any_order(accounts, parts, seed):
    uris = export(accounts, parts, batch_id=seed % 1000)
    random.Random(seed).shuffle(uris)
    entries = migration.read_text("\n".join(uris))
    assert len(entries) == len(accounts)
    for e, a in zip(entries, accounts, strict=True):
        assert (e.label, e.issuer) == (a["name"].strip(), a["issuer"].strip())
        assert (e.algorithm, e.digits, e.type) == (a["alg"][1], a["digits"][1], "hotp" if a["hotp"] else "totp")
        if e.account is not None:
            assert e.account.key == a["secret"]
            assert e.account.counter == (a["counter"] if a["hotp"] else 0)
        else:  # only what the token cannot hold: a label or issuer over 32 bytes
            assert max(len(e.label.encode()), len(e.issuer.encode())) > 32 and "32" in e.problem


def test_md5_and_unknown_digits_are_kept_with_the_reason():
    payload = P(batch_size=1)
    payload.otp_parameters.add(secret=b"k" * 20, name="a", algorithm=P.ALGORITHM_MD5)
    payload.otp_parameters.add(secret=b"k" * 20, name="b", digits=7)
    payload.otp_parameters.add(secret=b"k" * 20, name="c", type=9)
    payload.otp_parameters.add(secret=b"k" * 20, name="Issuer:d", issuer="Issuer")
    payload.otp_parameters.add(secret=b"k" * 20, name="GitHub:e")
    a, b, c, d, e = migration.read_text(uri_of(payload))
    assert a.account is None and "MD5" in a.problem
    assert b.account is None and "digit count" in b.problem
    assert c.account is None and "neither TOTP nor HOTP" in c.problem
    assert d.account is not None and (d.label, d.issuer) == ("d", "Issuer")
    assert e.account is not None and (e.label, e.issuer) == ("e", "GitHub")


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=300))
def test_any_bytes_are_an_export_or_one_sentence(data):
    try:
        entries = migration.read_text("otpauth-migration://offline?data=" + quote(base64.b64encode(data).decode()))
    except InputError as e:
        assert "\n" not in e.message and e.message.endswith(".")
    else:
        assert entries and all(e.account is not None or e.problem for e in entries)


@pytest.mark.parametrize(
    "text, words",
    [
        ("otpauth-migration://offline?data=", "no data="),
        ("otpauth-migration://offline?data=AAAA%", "not valid Base64"),
        ("otpauth-migration://offline?data=CgY", "cut short"),
    ],
)
def test_bad_data_is_one_sentence(text, words):
    with pytest.raises(InputError) as e:
        migration.read_text(text)
    assert words in e.value.message


def test_two_parts_disagreeing_and_the_same_part_twice():
    accounts = [
        {
            "secret": b"s%d" % i * 8,
            "name": f"n{i}",
            "issuer": "",
            "alg": ALGS[0],
            "digits": (0, 6),
            "hotp": False,
            "counter": 0,
        }
        for i in range(4)
    ]
    one, two = export(accounts, 2, batch_id=5)
    assert len(migration.read_text("\n".join([one, two, one]))) == 4  # a code scanned twice counts once
    other = export(list(reversed(accounts)), 2, batch_id=5)[0]
    with pytest.raises(InputError, match="both say they are part 1"):
        migration.read_text("\n".join([one, two, other]))
