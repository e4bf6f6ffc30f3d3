"""The suite-wide secret scan (otpfob.emu.leakscan, run by tests/conftest.py
at the end of every pytest process) and the token's constant-time compare.

The scan itself must be able to fail: planted leaks in every form, at every
alignment, are found; output without them gives no hit; and an emulated
token's serial really feeds the registry (its output, and the keys sent to
it, without any test declaring them).
"""

from __future__ import annotations

import base64

import pytest  # noqa: E402
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from fob import access as fw_access
from otpfob.emu import leakscan
from otpfob.emu.testing import ProtocolClient

pytestmark = pytest.mark.emu


@settings(max_examples=300, deadline=None)
@given(
    key=st.binary(min_size=leakscan.MIN_SECRET, max_size=128),
    noise=st.binary(max_size=300),
    form_index=st.integers(0, 6),
    pos=st.integers(0, 300),
    decoy=st.binary(min_size=20, max_size=20),
)
def test_scanner_finds_a_planted_secret_in_any_form(key, noise, form_index, pos, decoy):
    forms = leakscan.forms(key)
    form = forms[form_index % len(forms)]
    assume(not (form == key and all(32 <= b < 127 for b in key)))  # see the test below
    pos = min(pos, len(noise))
    blob = noise[:pos] + form + noise[pos:]
    hits = leakscan.find(blob, [key, decoy])
    assert (key, pos) in hits


def test_forms_cover_raw_hex_and_base32():
    key = bytes(range(20))
    b32 = base64.b32encode(key)
    want = {key, key.hex().encode(), key.hex().upper().encode(), b32, b32.lower()}
    assert want <= set(leakscan.forms(key))
    key = bytes(range(11))  # Base32 with padding: both spellings
    b32 = base64.b32encode(key)
    assert b32.endswith(b"=") and {b32, b32.rstrip(b"=")} <= set(leakscan.forms(key))


def test_scanner_gives_no_hit_without_a_leak(rng):
    keys = [rng.randbytes(n) for n in (10, 16, 20, 40, 64, 128)]
    blob = b"".join(rng.randbytes(997) + b'#otpfob {"v": 2, "ok": true}\n' for _ in range(200))
    assert leakscan.find(blob, keys) == []
    assert leakscan.find(blob, [b"\x00" * 9]) == []  # too short to scan: never reported


def test_keys_are_read_from_requests(rng):
    key = rng.randbytes(20)
    b32 = base64.b32encode(key).decode()
    data = (
        b'{"v":2,"op":"add","label":"a","secret":"%s"}\n' % b32.lower().rstrip("=").encode()
        + b'{"v":2,"op":"add","label":"b","key":"%s"}\n' % rng.randbytes(16).hex().encode()
        + b'{"v":2,"op":"access_set","key":"%s","salt":"00","iterations":1}\n' % (b"ab" * 32)
        + b'{"v":2,"op":"list"}\n'
        + b"\xff garbage \n"
    )
    found = leakscan.secrets_in_requests(data)
    assert key in found and bytes.fromhex("ab" * 32) in found and len(found) == 3


def test_an_emulated_tokens_serial_feeds_the_registry(make_token, rng):
    key = rng.randbytes(24)
    tok = make_token(rtc_set=True)
    with ProtocolClient(tok.port) as c:
        c.call("add", label="scan", key=key.hex())  # not declared anywhere
        c.call("list")
    sent, secrets = leakscan.snapshot()
    assert key in secrets
    assert any(b'"label": "scan"' in blob for blob in sent)
    # Were the token to echo its key, the scan would report it.
    planted = tok.serial_log + key.hex().upper().encode()
    assert leakscan.find(planted, secrets) == [(key, len(tok.serial_log))]


class Counting(bytes):
    """bytes that count how often they are indexed."""

    reads = 0

    def __getitem__(self, i):
        Counting.reads += 1
        return bytes.__getitem__(self, i)


def test_the_tokens_compare_looks_at_every_byte(rng):
    """fob.access.equal (unlock answers) takes the same steps wherever the
    first difference is: no early exit a timing attack could measure."""
    good = rng.randbytes(32)
    steps = []
    for diff_at in (None, 0, 1, 15, 31):
        other = bytearray(good)
        if diff_at is not None:
            other[diff_at] ^= 0x55
        Counting.reads = 0
        result = fw_access.equal(Counting(good), Counting(bytes(other)))
        assert result is (diff_at is None)
        steps.append(Counting.reads)
    assert len(set(steps)) == 1 and steps[0] == 64


def test_made_up_printable_keys_are_searched_as_hex_and_base32_only():
    """b"x" * 20 (a test key) is also part of labels such as "account-001@xxxx...":
    its raw form would be a false hit, its hex and Base32 forms are still found."""
    key = b"x" * 20
    label = b'"label": "account-001@' + b"x" * 20 + b'"'
    assert leakscan.find(label, [key]) == []
    assert leakscan.find(label + key.hex().encode(), [key]) == [(key, len(label))]
    assert leakscan.find(label + base64.b32encode(key), [key]) == [(key, len(label))]
