"""Rough edges a new user hit (issue 23, items 3, 4, 11 and 13), through the
real CLI against the emulated token; a pty where a person types.

Codes are compared with pyotp (or the RFC computation where pyotp refuses).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

import pyotp
import pytest

from otpfob import paths
from otpfob.errors import EXIT_FAILED
from support.cli import Transcript, in_pty, one_sentence, state
from support.reference import expected_totp

pytestmark = pytest.mark.emu

TOKEN_PASSWORD = ""


def b32(seed: str, n: int = 20) -> str:
    return base64.b32encode(hashlib.sha256(seed.encode()).digest()[:n]).decode().rstrip("=")


def now_codes(secret: str, t: float) -> set[str]:
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    return {expected_totp(key, int(t) + d, 6, 30, "sha1")[0] for d in (-30, 0, 30)}


def names(tok) -> list[tuple[str, str]]:
    return [(a.issuer, a.label) for a in state(tok)[0]]


# -- item 3: the label first, then the secret, hidden, ended by Enter ----------------------


@pytest.mark.parametrize("secret_option", [[], ["--secret", "-"]])
def test_provision_at_a_terminal_asks_the_label_then_the_hidden_secret(tok, secret_option):
    secret = b32("typed at a terminal")
    code, shown = in_pty(
        ["--port", tok.port, "provision", *secret_option],
        [("Label", "alice@example.com\n"), ("Secret (Base32, input hidden)", secret + "\n")],
    )
    assert code == 0, shown
    assert shown.index("Label") < shown.index("Secret")
    assert secret not in shown  # hidden, never echoed
    assert "Added 'alice@example.com'" in shown and "matches pyotp" in shown
    assert names(tok) == [("", "alice@example.com")]
    run = Transcript(tok.port)
    assert run("code", "-s", "alice@example.com").stdout.strip() in now_codes(secret, tok.time())


def test_provision_without_a_terminal_says_the_label_is_missing_before_reading(tok):
    run = Transcript(tok.port)
    p = run.proc("provision", "--secret", "-", input="")  # no secret either: it must not wait for one
    assert p.returncode == EXIT_FAILED
    assert "--label" in one_sentence(p.stderr)
    assert names(tok) == []


# -- item 4: 80-bit secrets -------------------------------------------------------------


def test_an_80_bit_secret_is_accepted_with_a_note(tok):
    run = Transcript(tok.port)
    secret = b32("eighty", 10)  # 16 Base32 characters, as many services issue
    assert len(secret) == 16
    p = run.proc("provision", "--secret", "-", "--label", "bank", input=secret + "\n")
    assert p.returncode == 0, p.stderr
    note = p.stderr.strip()
    assert note.startswith("Note: the secret is 80 bits") and "\n" not in note and secret not in note
    assert "matches the RFC algorithm" in p.stdout
    assert run("code", "-s", "bank").stdout.strip() in now_codes(secret, tok.time())


def test_a_secret_under_80_bits_is_asked_about_at_a_terminal_and_refused_elsewhere(tok):
    run = Transcript(tok.port)
    short = b32("seventy two", 9)  # 72 bits
    p = run.proc("provision", "--secret", "-", "--label", "cut", input=short + "\n")
    assert p.returncode == EXIT_FAILED
    msg = one_sentence(p.stderr)
    assert "72 bits" in msg and "--force" in msg and short not in msg
    code, shown = in_pty(
        ["--port", tok.port, "provision", "--label", "cut"], [("Secret", short + "\n"), ("Add it anyway?", "n\n")]
    )
    assert code == EXIT_FAILED and "72 bits" in shown and short not in shown
    assert names(tok) == []
    code, shown = in_pty(
        ["--port", tok.port, "provision", "--label", "cut"], [("Secret", short + "\n"), ("Add it anyway?", "y\n")]
    )
    assert code == 0, shown
    assert run("code", "-s", "cut").stdout.strip() in now_codes(short, tok.time())


# -- item 13: ykman's names; item 11: options anywhere ---------------------------------------


def test_add_and_remove_are_provision_and_delete(tok):
    run = Transcript(tok.port)
    secret = b32("alias")
    run("add", "--secret", secret, "--label", "alias", "--issuer", "ACME")
    assert names(tok) == [("ACME", "alias")]
    got = run("code", "-s", "ACME:alias", "--log-level", "debug")  # --log-level after the command too
    assert got.stdout.strip() in {pyotp.TOTP(secret).at(int(tok.time()) + d) for d in (-30, 0, 30)}
    assert "request" in got.stderr and "code" in got.stderr and secret not in got.stderr
    run("remove", "ACME:alias", "-f")
    assert names(tok) == []
    run("provision", "--secret", secret, "--label", "alias")
    run("delete", "alias", "--force")
    assert names(tok) == []


# -- item 5: the press's wait is not clock skew ------------------------------------------------


def test_provision_touch_reports_the_clock_not_the_press_time(tok):
    run = Transcript(tok.port)
    secret = b32("touch skew")
    pressed = []

    def press_late():
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and "press" not in tok.screen_text().lower():
            time.sleep(0.1)
        time.sleep(3.5)  # a person finds the token and presses, seconds later
        tok.press()
        pressed.append(True)

    presser = threading.Thread(target=press_late)
    presser.start()
    r = run("provision", "--secret", secret, "--label", "tap", "--touch", "--json")
    presser.join()
    assert pressed
    out = json.loads(r.stdout)
    assert out["checked"] and out["matches"], out
    assert abs(out["skew_seconds"]) <= 1, out  # the emulated token runs on this computer's clock


# -- item 10: checks use no HOTP counter ------------------------------------------------------


def counter_of(tok, label: str) -> int:
    (acct,) = [a for a in state(tok)[0] if a.label == label]
    return acct.counter


def test_hotp_checks_compare_without_using_a_counter(tok):
    run = Transcript(tok.port)
    secret, wrong = b32("hotp door"), b32("not the door")
    r = run("provision", "--uri", f"otpauth://hotp/Lab:door?secret={secret}&counter=40")
    assert "at counter 40, compared on the token without using it up" in r.stdout
    assert counter_of(tok, "door") == 40
    r = run("verify", "door", "--secret", wrong, code=None)
    assert r.exit_code == EXIT_FAILED and "does not match" in one_sentence(r.stderr)
    r = run("verify", "door", "--secret", secret)
    assert "at counter 40" in r.stdout
    p = run.proc("import", "-", "--all", input=f"otpauth://hotp/Shop:till?secret={secret}&counter=7\n")
    assert p.returncode == 0, p.stderr
    assert (counter_of(tok, "door"), counter_of(tok, "till")) == (40, 7)  # every check left its counter
    # The codes a person uses start at those counters.
    assert run("code", "-s", "Lab:door").stdout.strip() == pyotp.HOTP(secret).at(40)
    assert run("code", "-s", "till").stdout.strip() == pyotp.HOTP(secret).at(7)
    assert (counter_of(tok, "door"), counter_of(tok, "till")) == (41, 8)


# -- item 11: messages that say what was given and what to do -----------------------------------


def test_messages_name_what_was_given(tok):
    run = Transcript(tok.port)
    run("provision", "--secret", b32("msg"), "--label", "alpha", "--issuer", "A")
    run("provision", "--secret", b32("msg2"), "--label", "beta", "--issuer", "A")
    msg = one_sentence(run("code", "alpha", "--two", "--json", code=None).stderr)
    assert "leave out --json." in msg and "--single" not in msg
    msg = one_sentence(run("rename", "A:alpha", "A:beta", code=None).stderr)
    assert "'A:beta'" in msg and "--label" not in msg
    bad = b32("digits")[:10] + "0" + b32("digits")[11:]
    msg = one_sentence(run("provision", "--secret", bad, "--label", "x", code=None).stderr)
    assert "0 is the letter O, 1 the letter I or L, 8 the letter B" in msg and "g?" not in msg
    assert bad not in msg


def test_no_waiting_0_s_line():
    from click.testing import CliRunner

    from otpfob.cli.util import Countdown

    def waits(seconds: int) -> str:
        import click

        @click.command()
        def show() -> None:
            Countdown()(seconds)

        return CliRunner().invoke(show).stderr

    assert waits(0) == ""
    assert waits(7) == "Waiting 7 s for the token's next period...\n"


# -- item 6: Ctrl-C during a touch wait -----------------------------------------------------------


def _interrupted_when_asked(tok, args: list[str]) -> subprocess.CompletedProcess:
    proc = subprocess.Popen(
        [sys.executable, "-m", "otpfob", "--port", tok.port, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=paths.REPO,
    )
    tok.wait_for_screen(lambda t: "Press button" in t, timeout=20)
    proc.send_signal(signal.SIGINT)  # Ctrl-C
    out, err = proc.communicate(timeout=20)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def test_ctrl_c_during_a_touch_wait_cancels_it_on_the_token(tok):
    run = Transcript(tok.port)
    secret = b32("touch, then ctrl-c")
    run("provision", "--secret", secret, "--label", "plain")
    p = _interrupted_when_asked(tok, ["provision", "--secret", secret, "--label", "tap", "--touch"])
    msg = one_sentence(p.stderr.strip().splitlines()[-1])
    assert p.returncode == EXIT_FAILED and msg.startswith("Interrupted: 'tap' is on the token but not checked")
    assert "`otpfob verify tap --secret -`" in msg
    tok.wait_for_screen(lambda t: "Press button" not in t, timeout=2)  # the token stopped asking
    assert names(tok) == [("", "plain"), ("", "tap")]

    p = _interrupted_when_asked(tok, ["code", "tap"])
    assert p.returncode == EXIT_FAILED
    assert one_sentence(p.stderr.strip().splitlines()[-1]).startswith("Interrupted: the token stopped waiting")
    tok.wait_for_screen(lambda t: "Press button" not in t, timeout=2)
    started = time.monotonic()
    assert run("code", "-s", "plain").stdout.strip() in now_codes(secret, tok.time())
    assert time.monotonic() - started < 1.0  # no wait left over on the token


# -- item 12: two tokens told apart --------------------------------------------------------


def test_two_tokens_are_told_apart_by_board_accounts_and_id(make_token, tmp_path, monkeypatch):
    one, two = make_token(rtc_set=True), make_token(rtc_set=True)
    Transcript(two.port)("provision", "--secret", b32("second token"), "--label", "only-on-two")
    run_dir = tmp_path / "run"
    run_dir.mkdir(mode=0o700)
    monkeypatch.setenv("OTPFOB_RUNTIME_DIR", str(run_dir))
    for n, tok in enumerate((one, two)):  # announced as two running `otpfob sim`s are
        (run_dir / f"sim-{n}.json").write_text(json.dumps({"port": tok.port, "pid": os.getpid(), "board": "sim"}))
    ids = []
    for tok in (one, two):
        shown = Transcript(tok.port)("info").stdout
        ids.append(re.search(r"^Token id: +([0-9a-f]{8})$", shown, re.M).group(1))
        assert json.loads(Transcript(tok.port)("info", "--json").stdout)["token_id"] == ids[-1]
    assert ids[0] != ids[1]
    p = subprocess.run(
        [sys.executable, "-m", "otpfob", "list"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=paths.REPO,
        env={k: v for k, v in os.environ.items() if k != "OTPFOB_PORT"},
    )
    msg = one_sentence(p.stderr)
    assert p.returncode != 0 and "choose one with --port" in msg
    assert f"{one.port}: sim, 0 accounts, id {ids[0]}" in msg and f"{two.port}: sim, 1 account, id {ids[1]}" in msg
