"""`otpfob provision --qr`: QR pictures made with segno and Pillow, read by
zxing-cpp, loaded into the emulated token through the real CLI, and the
token's codes compared with pyotp (or the RFC where pyotp refuses).

AWS's QR code has no issuer (`otpauth://totp/DEVICE@ACCOUNT?secret=...`,
a 64-character Base32 secret); it is tried clean, in a 1280x800
screenshot, scaled x0.5 and x3, turned by 3 degrees and as a JPEG. Bad
pictures (none, two codes, a web address, an export, not an image) give one
sentence, a non-zero exit and an unchanged token.
"""

from __future__ import annotations

import base64

import pyotp
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from otpfob import qr
from otpfob.emu import leakscan
from otpfob.errors import InputError
from otpfob.session import Session
from otpfob.transport import SerialTransport
from support.cli import code_by_label, one_sentence, state, typed_at_terminal
from support.qr_images import blank_page, encode, qr_image, rotated, scaled, screenshot
from support.reference import expected_totp


def aws_uri(key: bytes, device: str = "alice", account: str = "123456789012") -> str:
    """What `aws iam create-virtual-mfa-device --bootstrap-method QRCodePNG` encodes."""
    return f"otpauth://totp/{device}@{account}?secret={base64.b32encode(key).decode()}"


# -- decoding alone (no token) ---------------------------------------------------

PICTURES = {
    "clean": lambda img: encode(img),
    "screenshot": lambda img: encode(screenshot(img, seed=7)),
    "screenshot-jpeg": lambda img: encode(screenshot(img, seed=8), "JPEG"),
    "x0.5": lambda img: encode(scaled(img, 0.5)),
    "x3": lambda img: encode(scaled(img, 3)),
    "turned-3": lambda img: encode(rotated(img, 3)),
    "turned-minus-3": lambda img: encode(rotated(img, -3)),
}


@pytest.mark.parametrize("kind", sorted(PICTURES))
def test_aws_qr_is_read_in_every_picture(kind, rng):
    key = rng.randbytes(40)
    uri = aws_uri(key)
    assert len(uri.split("secret=")[1]) == 64
    found = qr.read_qr(PICTURES[kind](qr_image(uri)))
    assert found.kind == qr.ACCOUNT and found.text == uri
    assert base64.b32encode(key).decode() not in repr(found)


@settings(max_examples=15, deadline=None)
@given(key=st.binary(min_size=10, max_size=64), device=st.from_regex(r"[A-Za-z0-9_.-]{1,20}", fullmatch=True))
def test_any_secret_length_round_trips(key, device):
    uri = aws_uri(key, device)
    assert qr.read_qr(encode(screenshot(qr_image(uri)))).text == uri


# Pictures that are not one account's QR code (made from the test's rng).
BLANK = lambda rng: encode(blank_page())  # noqa: E731  (a lambda: the test ids stay "<lambda>-...")
TWO_CODES = lambda rng: encode(  # noqa: E731
    screenshot(qr_image(aws_uri(rng.randbytes(20))), qr_image(aws_uri(rng.randbytes(20), "bob")))
)
WEB = lambda rng: encode(qr_image("https://example.com/login?next=/mfa"))  # noqa: E731
NOT_ONE_ACCOUNT = [(BLANK, "No QR code was found"), (TWO_CODES, "2 QR codes"), (WEB, "web address")]


@pytest.mark.parametrize(
    "make, words",
    [
        *NOT_ONE_ACCOUNT,
        (lambda rng: encode(qr_image("WIFI:S:home;T:WPA;P:hunter2;;")), "not an otpauth:// account"),
        (lambda rng: b"\x89PNG\r\n\x1a\n" + rng.randbytes(200), "not an image"),
        (lambda rng: b"", "empty"),
    ],
)
def test_bad_pictures_are_one_sentence(make, words, rng):
    with pytest.raises(InputError) as e:
        qr.read_qr(make(rng))
    one_sentence(e.value.message)
    assert words in e.value.message


# -- provision --qr against the emulated token --------------------------------------


def token_code(tok, label: str):
    with Session(SerialTransport(tok.port)) as s:
        return code_by_label(s, label)


@pytest.mark.emu
@pytest.mark.parametrize("kind", ["clean", "screenshot", "x0.5", "x3", "turned-3"])
def test_provision_qr_matches_pyotp(otpfob, tok, tmp_path, kind, rng):
    key = rng.randbytes(40)
    path = tmp_path / "QRCode.png"
    path.write_bytes(PICTURES[kind](qr_image(aws_uri(key, "alice", "123456789012"))))
    r = otpfob("provision", "--qr", str(path), "--keep-qr")
    assert "matches pyotp" in r.stdout
    assert path.exists()
    (acct,) = state(tok)[0]
    assert (acct.label, acct.issuer) == ("alice@123456789012", "")  # AWS's URI has no issuer
    got = token_code(tok, "alice@123456789012")
    assert got.code == pyotp.TOTP(base64.b32encode(key).decode()).at(got.time)
    assert not leakscan.find(otpfob.text.encode(), [key])


@pytest.mark.emu
def test_provision_qr_issuer_option_and_delete(otpfob, tok, tmp_path, rng):
    key = rng.randbytes(40)
    path = tmp_path / "QRCode.png"
    path.write_bytes(encode(qr_image(aws_uri(key, "ci", "210987654321"))))
    r = otpfob("provision", "--qr", str(path), "--issuer", "AWS", "--delete-qr")
    assert not path.exists() and f"Deleted {path}." in r.stderr
    assert "two consecutive codes" in r.stdout  # the AWS advice, now that there is an issuer
    (acct,) = state(tok)[0]
    assert (acct.label, acct.issuer) == ("ci@210987654321", "AWS")


@pytest.mark.emu
def test_provision_qr_from_stdin_short_secret_sha256(otpfob, tok, rng):
    # An 80-bit secret (pyotp refuses it: the RFC reference is used) with
    # every parameter given in the URI.
    key = rng.randbytes(10)
    uri = f"otpauth://totp/Bank:me?secret={base64.b32encode(key).decode()}&issuer=Bank&algorithm=SHA256&digits=8&period=60"
    r = otpfob("provision", "--qr", "-", "--force", input=encode(scaled(qr_image(uri), 3), "JPEG"))
    assert "RFC" in r.stdout
    (acct,) = state(tok)[0]
    assert (acct.label, acct.issuer, acct.algorithm, acct.digits, acct.period) == ("me", "Bank", "sha256", 8, 60)
    got = token_code(tok, "me")
    assert got.code == expected_totp(key, got.time, 8, 60, "sha256")[0]


@pytest.mark.emu
def test_provision_qr_without_a_choice_keeps_the_image_and_says_so(otpfob, tok, tmp_path, rng):
    path = tmp_path / "code.png"
    path.write_bytes(encode(qr_image(aws_uri(rng.randbytes(20)))))
    r = otpfob("provision", "--qr", str(path))
    assert path.exists() and "still holds the secret" in r.stderr


@pytest.mark.emu
@pytest.mark.parametrize(
    "make, words",
    [
        *NOT_ONE_ACCOUNT,
        (lambda rng: encode(qr_image("otpauth-migration://offline?data=CgYKAWESAWI%3D")), "otpfob import"),
        (lambda rng: encode(qr_image("otpauth://totp/x?secret=")), "no secret"),
        (lambda rng: b"GIF89a not really", "not an image"),
    ],
)
def test_bad_qr_changes_nothing(otpfob, tok, tmp_path, make, words, rng):
    otpfob("provision", "--secret", base64.b32encode(rng.randbytes(20)).decode(), "--label", "keep")
    before = state(tok)
    path = tmp_path / "bad.png"
    path.write_bytes(make(rng))
    r = otpfob("provision", "--qr", str(path), code=None)
    assert r.exit_code != 0 and r.stdout == ""
    assert words in one_sentence(r.stderr)
    assert state(tok) == before
    assert path.exists()


@pytest.mark.emu
def test_qr_with_secret_is_refused(otpfob, tok, tmp_path, rng):
    path = tmp_path / "x.png"
    path.write_bytes(encode(qr_image(aws_uri(rng.randbytes(20)))))
    r = otpfob("provision", "--qr", str(path), "--secret", "JBSWY3DPEHPK3PXP", code=None)
    assert r.exit_code != 0 and "--qr alone" in one_sentence(r.stderr)
    r = otpfob("provision", "--qr", str(tmp_path / "missing.png"), code=None)
    assert r.exit_code != 0 and "no file" in one_sentence(r.stderr)
    assert state(tok)[0] == []


@pytest.mark.emu
@pytest.mark.parametrize("answer, deleted", [(b"y\n", True), (b"n\n", False)])
def test_provision_qr_at_a_terminal_offers_to_delete_the_image(tok, tmp_path, answer, deleted, rng):
    key = rng.randbytes(40)
    path = tmp_path / "QRCode.png"
    path.write_bytes(encode(qr_image(aws_uri(key))))
    returncode, out, err = typed_at_terminal(["--port", tok.port, "provision", "--qr", str(path)], answer)
    assert returncode == 0, err
    assert "matches pyotp" in out and "Delete " in err and "holds the secret" in err
    assert path.exists() is not deleted
    assert not leakscan.find((out + err).encode(), [key])
