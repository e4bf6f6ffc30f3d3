"""Hostile import files (issue 22): a tiny export claiming 2**31 - 1 parts,
oversized input, and damaged images each end in one sentence, quickly and
in little memory, never in a traceback or an exception's own name."""

from __future__ import annotations

import base64
import random
import resource
import time
import zlib
from urllib.parse import quote

import pytest

from conftest import SEED, record_cases
from otpfob import migration, qr
from otpfob.errors import InputError
from otpfob.migration_pb2 import MigrationPayload as P
from support.qr_images import encode, qr_image


def export_uri(batch_size: int, batch_index: int = 0) -> str:
    p = P(version=1, batch_size=batch_size, batch_index=batch_index, batch_id=7)
    p.otp_parameters.add(secret=b"k" * 10, name="alice", issuer="Ex", algorithm=1, digits=1, type=2)
    return "otpauth-migration://offline?data=" + quote(base64.b64encode(p.SerializeToString()).decode())


def one_sentence(exc: InputError) -> str:
    text = str(exc)
    assert text.endswith(".") and "\n" not in text and len(text) < 400, text
    return text


@pytest.mark.parametrize("parts", [1001, 20_000_000, 2**31 - 1])
def test_an_export_claiming_too_many_parts_is_one_sentence(parts):
    uri = export_uri(parts)
    assert len(uri) < 120  # the 104-byte file of the finding
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    with pytest.raises(InputError) as e:
        migration.read_text(uri)
    assert time.monotonic() - started < 1
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 50_000  # KB: no list of parts built
    assert one_sentence(e.value) == (
        f"The otpauth-migration:// data says it has {parts:,} parts, and an export has at most 1,000; export the"
        " accounts from the phone app again and give the whole text or QR code."
    )


def test_many_missing_parts_are_counted_not_listed():
    with pytest.raises(InputError) as e:
        migration.read_text(export_uri(1000))
    assert (
        one_sentence(e.value) == "The export is split over 1000 QR codes and 999 of them are missing; give all of them."
    )


def test_input_beyond_the_bound_is_refused_before_reading_it():
    big = "# padding\n" * (migration.MAX_INPUT // 10 + 1)
    for call in (lambda: migration.read_text(big), lambda: migration.read_sources([big.encode()])):
        with pytest.raises(InputError) as e:
            call()
        assert one_sentence(e.value).startswith("The input is larger than 16 MB")


def _mutations(png: bytes, rng: random.Random):
    """Seeded damage to a PNG: flipped bytes, cuts, chunks with lengths and
    CRCs that lie, and the IDAT stream replaced (valid CRCs, bad zlib)."""
    kind = rng.choice((0, 1, 2, 3, 4, 5, 5, 5))
    data = bytearray(png)
    if kind == 0:
        for _ in range(rng.randrange(1, 8)):
            data[rng.randrange(8, len(data))] = rng.randrange(256)
    elif kind == 5:  # the header chunks, read by Image.open itself
        for _ in range(rng.randrange(1, 3)):
            data[rng.randrange(8, 60)] = rng.randrange(256)
    elif kind == 1:
        del data[rng.randrange(8, len(data)) :]
    elif kind == 2:  # a chunk length that lies
        at = 8 + 33 + rng.randrange(0, 8)
        data[at : at + 4] = rng.randrange(2**32).to_bytes(4, "big")
    elif kind == 3:  # a well-formed chunk (right CRC) with a random type and body
        body = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 40)))
        ctype = bytes(rng.choice(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(4))
        chunk = len(body).to_bytes(4, "big") + ctype + body + zlib.crc32(ctype + body).to_bytes(4, "big")
        data[33:33] = chunk
    else:  # IDAT replaced with random bytes under a correct CRC
        at = png.find(b"IDAT") - 4
        n = int.from_bytes(png[at : at + 4], "big")
        body = bytes(rng.randrange(256) for _ in range(n))
        data[at + 8 : at + 8 + n] = body
        data[at + 8 + n : at + 12 + n] = zlib.crc32(b"IDAT" + body).to_bytes(4, "big")
    return bytes(data)


def test_every_damaged_image_is_one_sentence():
    rng = random.Random(SEED)
    png = encode(qr_image("otpauth://totp/Ex:alice?secret=JBSWY3DPEHPK3PXP&issuer=Ex", scale=2))
    sentences = set()
    n = 2000
    for _ in range(n):
        data = _mutations(png, rng)
        try:
            got = qr.read_qr(data)
        except InputError as e:
            sentences.add(one_sentence(e))
        else:
            assert got.kind in (qr.ACCOUNT, qr.EXPORT)  # damage the decoder could read past
    record_cases("damaged-images", n)
    assert not any("unexpectedly" in s or "Error" in s for s in sentences), sentences
