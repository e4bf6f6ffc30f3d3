"""`otpfob` end to end against the emulated token: the real firmware under the
MicroPython Unix port, its USB serial a real pty, opened with real pyserial.

Codes are checked with pyotp (or, where pyotp refuses valid input such as
80-bit secrets, with the RFC algorithm in tests/support/reference.py), never
with the firmware's own core. Failures must be one sentence on stderr, exit
non-zero, no traceback, and leave the token exactly as it was.
"""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import time

import pyotp
import pytest
import serial

from fob import proto
from otpfob import paths
from otpfob.session import Session
from otpfob.transport import SerialTransport
from support.cli import Transcript, code_by_label, one_sentence, state
from support.reference import expected, rfc_hotp

pytestmark = pytest.mark.emu

REPO = paths.REPO

# -- the token -----------------------------------------------------------------


def token_code(tok, label: str) -> tuple[str, int]:
    with Session(SerialTransport(tok.port)) as s:
        c = code_by_label(s, label)
    return c.code, c.time


# -- provision -> verify with pyotp ----------------------------------------------------

MATRIX = [(alg, digits, period) for alg in ("sha1", "sha256", "sha512") for digits in (6, 8) for period in (30, 60)]


def test_provision_matrix_matches_pyotp(otpfob, tok):
    keys = {}
    for n, (alg, digits, period) in enumerate(MATRIX):
        key = hashlib.sha256(b"matrix %d" % n).digest()[: 20 + n]
        label = f"m{n}-{alg}-{digits}-{period}"
        r = otpfob(
            "provision",
            "--secret",
            base64.b32encode(key).decode().lower(),
            "--label",
            label,
            "--algorithm",
            alg.upper(),
            "--digits",
            str(digits),
            "--period",
            str(period),
        )
        assert "matches pyotp" in r.stdout
        keys[label] = (key, alg, digits, period)
    listed = otpfob("list").stdout
    for label, (key, alg, digits, period) in keys.items():
        code, t = token_code(tok, label)
        assert abs(t - tok.time()) <= 2
        assert code == expected(key, t, digits, period, alg), label
        row = next(line for line in listed.splitlines() if line.startswith(label + " "))
        assert row.split()[3:6] == [alg, str(digits), str(period)]


def test_aws_40_byte_secret_from_uri(otpfob, tok):
    key = hashlib.sha512(b"aws").digest()[:40]
    b32 = base64.b32encode(key).decode()
    assert len(b32) == 64
    uri = f"otpauth://totp/Amazon%20Web%20Services:root@123456789012?secret={b32}&issuer=Amazon%20Web%20Services"
    r = otpfob("provision", "--uri", uri)
    assert "matches pyotp" in r.stdout
    assert "two consecutive codes" in r.stdout
    code, t = token_code(tok, "root@123456789012")
    assert code == pyotp.TOTP(b32).at(t)


def test_80_bit_secret_pyotp_refuses(otpfob, tok):
    key = hashlib.sha1(b"short").digest()[:10]
    b32 = base64.b32encode(key).decode()  # 16 characters
    with pytest.raises(ValueError):
        pyotp.TOTP(b32).now()
    spaced = " ".join(b32[i : i + 4] for i in range(0, 16, 4))
    r = otpfob("provision", "--secret", "-", "--label", "short", "--force", input=spaced + "\n")
    assert "matches the RFC algorithm" in r.stdout
    code, t = token_code(tok, "short")
    assert code == rfc_hotp(key, t // 30, 6, "sha1")


def test_hotp_uri(otpfob, tok):
    key = b"12345678901234567890"
    b32 = base64.b32encode(key).decode()
    r = otpfob("provision", "--uri", f"otpauth://hotp/Lab:door?secret={b32}&counter=3&algorithm=sha1")
    assert "at counter 3, compared on the token without using it up" in r.stdout and "hold the button" in r.stdout
    # the check used no counter; the next code over USB is RFC 4226's counter 3
    assert otpfob("code", "-s", "door").stdout.strip() == pyotp.HOTP(b32).at(3) == "969429"
    accounts, _ = state(tok)
    assert [(a.label, a.type, a.counter) for a in accounts] == [("door", "hotp", 4)]


def test_touch_account_released_by_a_press(otpfob, tok):
    import threading

    key = b"k" * 20
    b32 = base64.b32encode(key).decode()

    def presser():
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            time.sleep(0.3)
            if "touch" in tok.screen_text().lower() or "press" in tok.screen_text().lower():
                tok.press()
                return

    t = threading.Thread(target=presser)
    t.start()
    r = otpfob("provision", "--secret", b32, "--label", "touchy", "--touch")
    t.join()
    assert "matches pyotp" in r.stdout
    accounts, _ = state(tok)
    assert [(a.label, a.touch) for a in accounts] == [("touchy", True)]


def test_clock_skew_is_reported_and_fixed(otpfob, tok):
    tok.clock.advance(200)  # under the sim's 10-minute jump tolerance: still "ok"
    r = otpfob("provision", "--secret", "JBSWY3DPEHPK3PXPJBSWY3DP", "--label", "skew", "--force", code=None)
    assert r.exit_code == 3  # added and right, but services would refuse the codes
    assert "ahead of this computer" in r.stdout
    assert "otpfob time --set" in r.stderr and "services will refuse" in r.stderr
    r = otpfob("time", code=None)
    assert r.exit_code == 3 and "ahead" in r.stdout
    otpfob("time", "--set")
    assert abs(tok.time() - time.time()) < 1.5
    r = otpfob("verify", "--label", "skew", "--secret", "JBSWY3DPEHPK3PXPJBSWY3DP")
    assert "matches pyotp" in r.stdout and "Warning" not in r.stderr


def test_time_set_refuses_big_jump_without_force(otpfob, tok):
    tok.clock.advance(400)
    before = tok.time()
    r = otpfob("time", "--set", code=None)
    assert r.exit_code == 1
    assert "--force" in one_sentence(r.stderr)
    assert abs(tok.time() - before) < 2  # not moved
    otpfob("time", "--set", "--force")
    assert abs(tok.time() - time.time()) < 1.5


# -- every other command -------------------------------------------------------------


def test_list_delete_rename_info_code_wipe(otpfob, tok):
    b32 = base64.b32encode(b"x" * 20).decode()
    otpfob("provision", "--secret", b32, "--label", "one", "--issuer", "ACME")
    otpfob("provision", "--secret", b32, "--label", "two", "--digits", "8")
    out = otpfob("list").stdout
    assert "one" in out and "ACME" in out and "two" in out
    info = otpfob("info").stdout
    assert "Accounts:    2 of 100" in info and "Board:       sim" in info and "Free memory" in info
    import fob

    assert f"Firmware:    {fob.VERSION}" in info
    code = otpfob("code", "-s", "two").stdout.strip()
    assert len(code) == 8 and code.isdigit()
    otpfob("rename", "one", "uno")
    assert [a.label for a in state(tok)[0]] == ["uno", "two"]
    otpfob("delete", "uno", input="y\n")
    assert [a.label for a in state(tok)[0]] == ["two"]
    r = otpfob("wipe", input="n\n", code=None)
    assert r.exit_code == 1 and [a.label for a in state(tok)[0]] == ["two"]
    otpfob("wipe", "--yes")
    assert state(tok)[0] == []


def test_verify_wrong_secret_fails(otpfob, tok):
    otpfob("provision", "--secret", base64.b32encode(b"a" * 20).decode(), "--label", "v")
    r = otpfob("verify", "--label", "v", "--secret", base64.b32encode(b"b" * 20).decode(), code=None)
    assert r.exit_code == 1 and "does not match" in one_sentence(r.stderr)


def test_provision_refused_while_clock_unset(make_token):
    tok = make_token(rtc_set=False)
    t = Transcript(tok.port)
    p = t.proc("info")
    assert p.returncode == 0 and "not set" in p.stdout
    p = t.proc("provision", "--secret", SECRET, "--label", "a")
    assert p.returncode == 1 and "time --set" in one_sentence(p.stderr)
    assert state(tok)[0] == []
    assert t.proc("time", "--set").returncode == 0  # an unset clock needs no --force
    assert t.proc("provision", "--secret", SECRET, "--label", "a").returncode == 0


# -- bad input: one sentence, non-zero, token unchanged ---------------------------------------

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # 160 bits: shorter ones need --force
BAD = [
    (["provision", "--secret", "JBSWY3DPEHPK3PX0", "--label", "n"], "Base32"),
    (["provision", "--secret", "JB=SWY3DPEHPK3PXP", "--label", "n"], "Base32"),
    (["provision", "--secret", "", "--label", "n"], "empty"),
    (["provision", "--uri", f"otpauth://totp/n?secret={SECRET}&algorithm=md5"], "algorithm"),
    (["provision", "--uri", f"otpauth://hotp/n?secret={SECRET}"], "counter"),
    (["provision", "--uri", "otpauth://totp/n"], "secret"),
    (["provision", "--uri", f"otp://totp/n?secret={SECRET}"], "otpauth"),
    (["provision", "--secret", SECRET, "--label", "keep"], "already has"),
    (["delete", "ghost", "--yes"], "no account"),
    (["rename", "ghost", "x"], "no account"),
    (["rename", "keep", "other"], "already has"),
    (["code", "ghost"], "no account"),
    (["verify", "--label", "ghost", "--secret", SECRET], "no account"),
]


@pytest.mark.parametrize("args, words", BAD, ids=[" ".join(a[:2]) for a, _ in BAD])
def test_bad_input_changes_nothing(otpfob, tok, args, words):
    otpfob("provision", "--secret", SECRET, "--label", "keep")
    otpfob("provision", "--uri", f"otpauth://hotp/other?secret={SECRET}&counter=7")
    before = state(tok)
    p = otpfob.proc(*args)
    assert p.returncode == 1
    assert words in one_sentence(p.stderr)
    assert state(tok) == before


def test_wrong_port(otpfob, tok):
    before = state(tok)
    p = otpfob.proc("list", port="/dev/pts/otpfob-nonexistent")
    assert p.returncode == 1 and "/dev/pts/otpfob-nonexistent" in one_sentence(p.stderr)
    assert state(tok) == before


def test_busy_port(otpfob, tok):
    otpfob("provision", "--secret", SECRET, "--label", "keep")
    before = state(tok)
    holder = serial.Serial(tok.port, exclusive=True)
    try:
        p = otpfob.proc("delete", "keep", "--yes")
    finally:
        holder.close()
    assert p.returncode == 1 and "busy" in one_sentence(p.stderr)
    assert state(tok) == before


def test_plain_micropython_repl(otpfob, tok):
    from conftest import require_micropython

    master, slave = os.openpty()
    port = os.ttyname(slave)
    repl = subprocess.Popen([require_micropython()], stdin=master, stdout=master, stderr=master)
    try:
        for args in (["info"], ["provision", "--secret", SECRET, "--label", "x"]):
            p = otpfob.proc(*args, port=port)
            assert p.returncode == 1
            msg = one_sentence(p.stderr)
            assert port in msg and "otpfob deploy" in msg
    finally:
        repl.kill()
        repl.wait()
        os.close(master)
        os.close(slave)


# -- secrets never leave -------------------------------------------------------------


def test_secret_never_in_output_or_token_replies(otpfob, tok):
    keys = [hashlib.sha256(b"leak %d" % i).digest()[:n] for i, n in enumerate((10, 20, 40, 64))]
    log_start = len(tok.serial_log)
    for i, key in enumerate(keys):
        b32 = base64.b32encode(key).decode()
        otpfob("provision", "--secret", "-", "--label", f"s{i}", "--algorithm", "sha256", "--force", input=b32 + "\n")
        otpfob("verify", "--label", f"s{i}", "--secret", b32)
        otpfob("verify", "--uri", f"otpauth://totp/s{i}?secret={b32.lower()}&algorithm=SHA256")
        otpfob("provision", "--secret", b32, "--label", f"s{i}", code=None)  # exists: an error path
        otpfob("provision", "--secret", b32 + "1", "--label", "bad", code=None)  # invalid: an error path
        otpfob("provision", "--label", f"p{i}", "--force", input=b32 + "\n")  # no terminal: the piped line
    for cmd in (["list"], ["info"], ["time"], ["code", "s0"], ["rename", "s0", "t0"], ["delete", "t0", "--yes"]):
        otpfob(*cmd)
    printed = otpfob.text.encode()
    replies = tok.serial_log[log_start:]
    assert replies.count(proto.REPLY_TAG.encode()) > 20  # the log really holds the replies
    for key in keys:
        b32 = base64.b32encode(key)
        forms = {b32, b32.rstrip(b"="), b32.lower().rstrip(b"="), key.hex().encode(), key.hex().upper().encode(), key}
        for form in forms:
            assert form not in printed
            assert form not in replies


def test_largest_account_fits_one_line(otpfob, tok):
    key = hashlib.sha512(b"big").digest() * 2  # 128 bytes, proto.MAX_KEY
    label = "Zürich-☃-" + "x" * (proto.MAX_LABEL - len("Zürich-☃-".encode()))
    issuer = "Bänk ☃ " + "y" * (proto.MAX_ISSUER - len("Bänk ☃ ".encode()))
    assert len(label.encode()) == proto.MAX_LABEL and len(issuer.encode()) == proto.MAX_ISSUER
    r = otpfob(
        "provision",
        "--secret",
        base64.b32encode(key).decode(),
        "--label",
        label,
        "--issuer",
        issuer,
        "--algorithm",
        "sha512",
        "--digits",
        "10",
        "--period",
        "3600",
    )
    assert "matches the RFC algorithm" in r.stdout  # pyotp refuses a 3600 s period
    code, t = token_code(tok, label)
    assert code == rfc_hotp(key, t // 3600, 10, "sha512")
    assert [(a.label, a.issuer) for a in state(tok)[0]] == [(label, issuer)]
