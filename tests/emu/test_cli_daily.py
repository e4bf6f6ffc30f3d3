"""`otpfob` for daily use (issue 11), through the real CLI against the
emulated token: messages that say what happens, `code [QUERY]` and
`list [QUERY]`, exit codes, options after the command, --password-stdin,
the emulated token found without --port, and the warnings that save a login.

Codes are compared with pyotp (or the RFC computation in tests/support/reference.py
where pyotp refuses the input), never with the firmware's own core.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import subprocess
import sys
import threading
import time

import pyotp
import pytest

from otpfob import paths
from otpfob.emu.glyphs import PLACEHOLDER
from otpfob.emu.testing import grouped, screen_code
from otpfob.errors import EXIT_CLOCK, EXIT_FAILED, EXIT_NO_TOKEN, EXIT_OK, EXIT_USAGE
from otpfob.session import Session
from otpfob.transport import SerialTransport
from support.cli import Transcript, in_pty, one_sentence
from support.reference import expected_totp
from support.sim import start_sim, stop_sim

pytestmark = pytest.mark.emu

REPO = paths.REPO
PASSWORD = "daily use, long enough"
TOKEN_PASSWORD = PASSWORD  # conftest's `tok` clears it


def b32(seed: str, n: int = 20) -> str:
    return base64.b32encode(hashlib.sha256(seed.encode()).digest()[:n]).decode()


@pytest.fixture
def otpfob(tok):
    return Transcript(tok.port, port_first=False)


def labels(tok) -> list[tuple[str, str]]:
    with Session(SerialTransport(tok.port)) as s:
        return [(a.issuer, a.label) for a in s.list_accounts()]


def now_codes(secret: str, t: float, digits: int = 6) -> set[str]:
    return {pyotp.TOTP(secret, digits=digits).at(int(t) + d) for d in (-30, 0, 30)}


# -- advice that says what happens ------------------------------------------------------


def test_hotp_advice_matches_what_the_token_shows(otpfob, tok):
    secret = b32("door")
    r = otpfob.p("provision", "--uri", f"otpauth://hotp/Lab:door?secret={secret}&counter=3")
    nxt = next(line for line in r.stdout.splitlines() if line.startswith("Next:"))
    assert "hold the button" in nxt and "otpfob code door" in nxt
    quoted = re.search(r'"([^"]+)"', nxt).group(1)  # what the advice says the screen shows
    tok.press()
    screen = tok.wait_for_screen(lambda t: "door" in t)
    assert quoted.lower() in " ".join(screen.split()).lower(), screen
    # Doing what it says shows the next code (counter 3: the check used none)...
    tok.hold()
    screen = tok.wait_for_screen(lambda t: screen_code(t) is not None)
    assert screen_code(screen) == grouped(pyotp.HOTP(secret).at(3))
    # ...and so does the command it names, with the counter after that.
    assert otpfob.p("code", "-s", "door").stdout.strip() == pyotp.HOTP(secret).at(4)


def test_clock_far_behind_names_the_command_that_works(make_token):
    tok = make_token(rtc_set=True, before_start=lambda t: t.clock.set(time.time() - 601))
    run = Transcript(tok.port, port_first=False)
    secret = b32("skewed")
    r = run.p("provision", "--secret", secret, "--label", "skew", code=EXIT_CLOCK)
    assert "matches pyotp;" not in r.stdout and "601 s behind" in r.stdout
    advice = one_sentence(r.stderr)
    assert "otpfob time --set --force" in advice and "Next:" not in r.stdout
    assert run.p("verify", "skew", "--secret", secret, code=EXIT_CLOCK).stdout
    r = run.p("time", code=EXIT_CLOCK)
    assert "--force" in r.stdout
    # Following the advice works.
    run.p("time", "--set", "--force")
    assert abs(tok.time() - time.time()) < 1.5
    r = run.p("verify", "skew", "--secret", secret)
    assert "matches pyotp" in r.stdout and r.stderr == ""
    run.p("time")


def test_access_set_on_a_token_without_password_and_no_terminal(otpfob, tok):
    r = otpfob.p("access", "set", code=EXIT_FAILED)
    msg = one_sentence(r.stderr)
    assert "locked" not in msg and "--password-stdin" in msg
    with Session(SerialTransport(tok.port)) as s:
        assert s.info().access is False


def test_rename_errors_name_what_rename_takes(otpfob, tok):
    otpfob.p("provision", "--secret", b32("r"), "--label", "keep")
    before = labels(tok)
    for new, words in ((" ", "NEW"), ("x" * 40, "NEW"), ("ACME:" + "y" * 40, "NEW"), ("Z" * 40 + ":ok", "issuer")):
        msg = one_sentence(otpfob.p("rename", "keep", new, code=EXIT_FAILED).stderr)
        assert "--label" not in msg and words in msg, msg
    assert labels(tok) == before


def test_time_on_an_unset_clock_does_not_claim_to_be_in_step(make_token):
    tok = make_token(rtc_set=False)
    r = Transcript(tok.port, port_first=False).p("time", code=EXIT_CLOCK)
    assert "not set" in r.stdout and "in step" not in r.stdout and "Drift" not in r.stdout
    assert "otpfob time --set" in r.stdout


def test_wipe_question_grammar(otpfob, tok):
    otpfob.p("provision", "--secret", b32("w1"), "--label", "w1")
    r = otpfob.p("wipe", input="n\n", code=EXIT_FAILED)
    assert "Remove the token's only account?" in r.stderr and "all 1" not in r.stderr
    otpfob.p("provision", "--secret", b32("w2"), "--label", "w2")
    assert "Remove all 2 accounts" in otpfob.p("wipe", input="n\n", code=EXIT_FAILED).stderr
    assert len(labels(tok)) == 2


def test_piped_secret_without_a_terminal_has_no_getpass_warning(otpfob, tok):
    secret = b32("piped")
    p = otpfob.proc("provision", "--port", tok.port, "--label", "piped", input=secret + "\n")
    assert p.returncode == 0, p.stderr
    assert "Warning" not in p.stderr and "echoed" not in p.stderr and secret not in p.stdout + p.stderr
    assert labels(tok) == [("", "piped")]


def test_touch_account_added_without_a_press_exits_0_and_says_it_is_unchecked(make_token):
    tok = make_token(rtc_set=True, board_overrides={"TOUCH_MS": 1500})
    r = Transcript(tok.port, port_first=False).p(
        "provision", "--secret", b32("touch"), "--label", "tap", "--touch"
    )  # nobody presses
    assert "not checked" in r.stderr and "otpfob verify tap --secret -" in r.stderr
    assert labels(tok) == [("", "tap")]


# -- code [QUERY] and list [QUERY] -------------------------------------------------------


@pytest.fixture
def four(otpfob, tok):
    """Two TOTP accounts, an HOTP one and a touch one; their secrets by label."""
    secrets = {name: b32(name) for name in ("alice", "bob", "door", "tap")}
    otpfob.p("provision", "--secret", secrets["alice"], "--label", "alice@example.com", "--issuer", "GitHub")
    otpfob.p("provision", "--secret", secrets["bob"], "--label", "bob", "--issuer", "AWS", "--digits", "8")
    otpfob.p("provision", "--uri", f"otpauth://hotp/Lab:door?secret={secrets['door']}&counter=0")

    def press_when_asked():
        tok.wait_for_screen(lambda t: "press" in t.lower() or "touch" in t.lower(), timeout=10)
        tok.press()

    t = threading.Thread(target=press_when_asked)
    t.start()
    otpfob.p("provision", "--secret", secrets["tap"], "--label", "tap", "--touch")
    t.join()
    return secrets


def hotp_counter(tok, label: str) -> int:
    with Session(SerialTransport(tok.port)) as s:
        return next(a.counter for a in s.list_accounts() if a.label == label)


def test_code_without_query_lists_totp_codes_and_leaves_hotp_and_touch_alone(otpfob, tok, four):
    counter = hotp_counter(tok, "door")
    r = otpfob.p("code")
    rows = {line.split()[0]: line.split()[1:] for line in r.stdout.splitlines()}
    assert set(rows) == {"GitHub:alice@example.com", "AWS:bob", "Lab:door", "tap"}
    t = tok.time()
    assert rows["GitHub:alice@example.com"][0] in now_codes(four["alice"], t)
    assert rows["AWS:bob"][0] in now_codes(four["bob"], t, 8)
    left = int(rows["AWS:bob"][1])
    assert 1 <= left <= 30
    assert rows["Lab:door"][0] == "[HOTP]" and rows["tap"][0] == "[touch]"
    assert hotp_counter(tok, "door") == counter  # no counter used up


@pytest.mark.parametrize(
    "query, names",
    [
        ("git", ["GitHub:alice@example.com"]),
        ("ALICE", ["GitHub:alice@example.com"]),
        ("aws:b", ["AWS:bob"]),
        ("b", ["GitHub:alice@example.com", "AWS:bob", "Lab:door"]),  # GitHub, bob and Lab hold a b
        ("A", ["GitHub:alice@example.com", "AWS:bob", "Lab:door", "tap"]),
        ("x", ["GitHub:alice@example.com"]),
    ],
)
def test_query_matches_a_case_insensitive_part_of_issuer_label(otpfob, tok, four, query, names):
    listed = otpfob.p("list", query, "--json")
    import json

    assert [a["name"] for a in json.loads(listed.stdout)["accounts"]] == names
    shown = [line.split()[0] for line in otpfob.p("code", query).stdout.splitlines()]
    assert shown == names


def test_one_match_gives_its_code_and_single_prints_only_the_code(otpfob, tok, four):
    r = otpfob.p("code", "alice")
    name, code, left, *_ = r.stdout.split()
    assert name == "GitHub:alice@example.com" and code in now_codes(four["alice"], tok.time())
    assert otpfob.p("code", "-s", "AWS").stdout.strip() in now_codes(four["bob"], tok.time(), 8)
    # a named HOTP account is computed, using up one counter
    before = hotp_counter(tok, "door")
    assert otpfob.p("code", "--single", "door").stdout.strip() == pyotp.HOTP(four["door"]).at(before)
    assert hotp_counter(tok, "door") == before + 1


def test_no_match_says_did_you_mean_and_several_refuse_single(otpfob, tok, four):
    msg = one_sentence(otpfob.p("code", "alcie", code=EXIT_FAILED).stderr)
    assert "did you mean 'GitHub:alice@example.com'" in msg
    msg = one_sentence(otpfob.p("list", "zzzz", code=EXIT_FAILED).stderr)
    assert "no account matching 'zzzz'" in msg
    assert otpfob.p("list", "zzzz", "--json", code=EXIT_FAILED).stdout == ""  # the same exit with --json
    msg = one_sentence(otpfob.p("code", "-s", "b", code=EXIT_FAILED).stderr)
    assert "3 accounts match 'b'" in msg and "AWS:bob" in msg


def test_touch_account_named_waits_for_the_press(otpfob, tok, four):
    t = threading.Thread(target=lambda: (tok.wait_for_screen(lambda s: "press" in s.lower(), timeout=10), tok.press()))
    t.start()
    r = otpfob.p("code", "tap", "-s")
    t.join()
    assert r.stdout.strip() in now_codes(four["tap"], tok.time())
    assert "Press the button" in r.stderr


# -- exit codes ---------------------------------------------------------------------------


def test_exit_codes(otpfob, tok, tmp_path):
    env = dict(os.environ, OTPFOB_RUNTIME_DIR=str(tmp_path / "run"))
    env.pop("OTPFOB_PORT", None)
    p = otpfob.proc("list", env=env)  # nothing on USB here, no sim running
    assert p.returncode == EXIT_NO_TOKEN and "No otpfob token was found" in one_sentence(p.stderr)
    assert otpfob.proc("list", "--bogus", env=env).returncode == EXIT_USAGE
    assert otpfob.proc("code", "--port", tok.port, "nothing-here").returncode == EXIT_FAILED
    assert otpfob.proc("time", "--port", tok.port).returncode == EXIT_OK


# -- options where people type them, passwords --------------------------------------------


def test_options_after_the_command(otpfob, tok):
    secret = b32("placed")
    otpfob("provision", "--secret", secret, "--label", "aws-root", "--issuer", "AWS", "--port", tok.port)
    assert "aws-root" in otpfob("list", "--port", tok.port).stdout
    assert "aws-root" in otpfob("list", "-p", tok.port).stdout
    assert "aws-root" in otpfob("--port", tok.port, "list").stdout
    otpfob("--port", tok.port, "access", "set", "--password-stdin", input=PASSWORD + "\n")
    r = otpfob("code", "--password-stdin", "aws", "--port", tok.port, input=PASSWORD + "\n")
    assert r.stdout.split()[1] in now_codes(secret, tok.time())
    r = otpfob("--password-stdin", "--port", tok.port, "code", "-s", "aws", input=PASSWORD + "\n")
    assert r.stdout.strip() in now_codes(secret, tok.time())
    # --password-stdin's line comes first, the piped secret after it
    other = b32("second")
    otpfob.p("provision", "--password-stdin", "--secret", "-", "--label", "two", input=f"{PASSWORD}\n{other}\n")
    assert otpfob.p("code", "-s", "two", "--password", PASSWORD).stdout.strip() in now_codes(other, tok.time())
    # access clear and access set take it too
    otpfob.p("access", "clear", "--password-stdin", input=PASSWORD + "\n")
    assert PASSWORD not in otpfob.text and secret not in otpfob.text


def test_access_set_changes_a_password_from_two_stdin_lines(otpfob, tok):
    otpfob.p("access", "set", "--password-stdin", input=PASSWORD + "\n")
    otpfob.p("access", "set", "--password-stdin", input=f"{PASSWORD}\nthe new one, long\n")
    otpfob.p("list", "--password", "the new one, long")
    otpfob.p("list", "--password", PASSWORD, code=EXIT_FAILED)
    time.sleep(1.1)  # the token's delay after a wrong password
    otpfob.p("access", "clear", "--password", "the new one, long")


def test_password_given_to_a_token_without_one_is_reported(otpfob, tok):
    r = otpfob.p("list", "--password", "not needed")
    assert "has no access password" in r.stderr and "--password" in r.stderr
    r = otpfob.p("info", env={"OTPFOB_PASSWORD": "not needed"})
    assert "OTPFOB_PASSWORD was not used" in r.stderr
    r = otpfob.p("list", "--password-stdin", input="not needed\n")
    assert "--password-stdin was not used" in r.stderr
    assert "not needed" not in otpfob.text


# -- verify LABEL, rename issuer:label, provision --force -----------------------------------


def test_verify_takes_the_label_as_code_does(otpfob, tok):
    secret = b32("verify")
    otpfob.p("provision", "--secret", secret, "--label", "alice", "--issuer", "ACME")
    otpfob.p("provision", "--secret", b32("other"), "--label", "bob")
    assert "matches pyotp" in otpfob.p("verify", "alice", "--secret", secret).stdout
    assert "matches pyotp" in otpfob.p("verify", "ACME:alice", "--secret", "-", input=secret + "\n").stdout
    msg = one_sentence(otpfob.p("verify", "bob", "--secret", secret, code=EXIT_FAILED).stderr)
    assert "does not match" in msg


def test_rename_sets_the_issuer_with_issuer_colon_label(otpfob, tok):
    otpfob.p("provision", "--secret", b32("ren"), "--label", "alice", "--issuer", "Old")
    otpfob.p("rename", "alice", "New Co:alice@new")
    assert labels(tok) == [("New Co", "alice@new")]
    otpfob.p("rename", "new co:alice", "alice2")  # no colon: the issuer stays
    assert labels(tok) == [("New Co", "alice2")]
    otpfob.p("rename", "alice2", ":alice3")  # an empty issuer removes it
    assert labels(tok) == [("", "alice3")]


def test_provision_force_replaces_an_account_with_the_same_label(otpfob, tok):
    old, new = b32("old"), b32("new")
    otpfob.p("provision", "--secret", old, "--label", "same")
    msg = one_sentence(otpfob.p("provision", "--secret", new, "--label", "same", code=EXIT_FAILED).stderr)
    assert "--force" in msg
    assert otpfob.p("code", "-s", "same").stdout.strip() in now_codes(old, tok.time())
    r = otpfob.p("provision", "--secret", new, "--label", "same", "--force")
    assert "Replaced 'same'" in r.stdout
    assert otpfob.p("code", "-s", "same").stdout.strip() in now_codes(new, tok.time())
    assert labels(tok) == [("", "same")]


# -- warnings that save a login --------------------------------------------------------------


def test_short_secret_is_refused_without_force(otpfob, tok):
    short = b32("short", 5)  # 40 bits: 8 Base32 characters, a likely cut
    assert len(short) == 8
    msg = one_sentence(otpfob.p("provision", "--secret", short, "--label", "cut", code=EXIT_FAILED).stderr)
    assert "40 bits" in msg and "--force" in msg and short not in msg
    assert labels(tok) == []
    r = otpfob.p("provision", "--secret", short, "--label", "cut", "--force")
    assert "matches the RFC algorithm" in r.stdout and "pyotp refuses secrets under 112 bits" in r.stdout
    code = otpfob.p("code", "-s", "cut").stdout.strip()
    key = base64.b32decode(short)
    assert code in {expected_totp(key, int(tok.time()) + d, 6, 30, "sha1")[0] for d in (-30, 0, 30)}
    # 128 bits and more: no question asked, and pyotp is the reference
    r = otpfob.p("provision", "--secret", b32("fine", 16), "--label", "fine")
    assert "matches pyotp" in r.stdout


def show_account(tok, words: str) -> str:
    """Press through the token's accounts until the screen shows ``words``."""
    for _ in range(4):
        tok.press()
        try:
            return tok.wait_for_screen(lambda t: words in t, timeout=3)
        except Exception:
            continue
    raise AssertionError(f"{words!r} never came on the screen: {tok.screen_text()!r}")


def test_names_the_screen_cannot_show_as_written_are_warned_about(otpfob, tok):
    r = otpfob.p("provision", "--secret", b32("cyr"), "--label", "Жук")
    assert "has no 'Ж', 'у', 'к'" in r.stderr and "placeholder" in r.stderr
    assert labels(tok) == [("", "Жук")]  # accepted as given
    # ...and the screen does show three placeholders.
    assert PLACEHOLDER * 3 in show_account(tok, PLACEHOLDER)
    r = otpfob.p(
        "provision", "--secret", b32("long"), "--label", "alice@example.com", "--issuer", "Amazon Web Services"
    )
    notes = [line for line in r.stderr.splitlines() if line.startswith("Note:")]
    assert len(notes) == 2 and all("scrolls" in n for n in notes), r.stderr
    assert "more than the 12" in notes[0] and "more than the 16" in notes[1]  # beside "2/2"; a line of its own
    # ...and the screen does scroll them: the ends come into view in turn.
    show_account(tok, "Amazon")
    tok.wait_for_screen(lambda t: "Services" in t, timeout=20)
    tok.wait_for_screen(lambda t: "example.com" in t, timeout=20)
    r = otpfob.p("provision", "--secret", b32("plain"), "--label", "bank")
    assert r.stderr == ""


# -- the emulated token, found without --port -----------------------------------------------


def test_a_running_sim_is_found_without_port(tmp_path):
    env = dict(os.environ, OTPFOB_RUNTIME_DIR=str(tmp_path / "run"))
    env.pop("OTPFOB_PORT", None)
    run = Transcript(None)
    first, port1 = start_sim(tmp_path / "one", env=env)
    try:
        p = run.proc("info", env=env)
        assert p.returncode == 0 and f"Port:        {port1}" in p.stdout, p.stderr
        second, port2 = start_sim(tmp_path / "two", env=env)
        try:
            p = run.proc("list", env=env)
            assert p.returncode == EXIT_FAILED
            msg = one_sentence(p.stderr)
            assert port1 in msg and port2 in msg and "--port" in msg
        finally:
            stop_sim(second)
        p = run.proc("list", env=env)
        assert p.returncode == 0, p.stderr
    finally:
        stop_sim(first)
    assert list((tmp_path / "run").glob("sim-*")) == []  # announcements withdrawn
    assert run.proc("list", env=env).returncode == EXIT_NO_TOKEN


# -- shell completion (documented in the README) --------------------------------------------


def test_shell_completion_scripts(tmp_path):
    readme = (REPO / "README.md").read_text()
    for shell in ("bash", "zsh", "fish"):
        assert f"_OTPFOB_COMPLETE={shell}_source otpfob" in readme
        p = subprocess.run(
            [sys.executable, "-m", "otpfob"],
            env=dict(os.environ, _OTPFOB_COMPLETE=f"{shell}_source"),
            capture_output=True,
            text=True,
            timeout=30,
            cwd=REPO,
        )
        assert p.returncode == 0 and "_OTPFOB_COMPLETE" in p.stdout, p.stderr
    # and completing a command name works
    p = subprocess.run(
        [sys.executable, "-m", "otpfob"],
        env=dict(os.environ, _OTPFOB_COMPLETE="bash_complete", COMP_WORDS="otpfob co", COMP_CWORD="1"),
        capture_output=True,
        text=True,
        timeout=30,
        cwd=REPO,
    )
    assert "plain,code" in p.stdout


# -- questions at a terminal ------------------------------------------------------------------


def test_at_a_terminal_provision_offers_to_set_a_far_off_clock(make_token):
    tok = make_token(rtc_set=True, before_start=lambda t: t.clock.set(time.time() - 601))
    code, seen = in_pty(
        ["provision", "--port", tok.port, "--secret", b32("asked"), "--label", "asked"],
        [("Set the token's clock", "y\n")],
    )
    assert code == EXIT_OK, seen
    assert "601 s behind" in seen and "Set the token's clock to" in seen and "Next:" in seen
    assert abs(tok.time() - time.time()) < 1.5


def test_at_a_terminal_several_tokens_are_offered_to_choose_from(tmp_path):
    env = dict(os.environ, OTPFOB_RUNTIME_DIR=str(tmp_path / "run"))
    env.pop("OTPFOB_PORT", None)
    first, port1 = start_sim(tmp_path / "one", env=env)
    second, port2 = start_sim(tmp_path / "two", env=env)
    try:
        code, seen = in_pty(["info"], [("Which one", "2\n")], env=env)
    finally:
        stop_sim(second)
        stop_sim(first)
    assert code == EXIT_OK, seen
    assert port1 in seen and port2 in seen
    # Each told by its board, account count and id (issue 23, item 12).
    second_listed = re.search(r"^ *2\. (\S+): sim, 0 accounts, id [0-9a-f]{8}$", seen, re.M).group(1)
    assert re.search(r"Port: +(\S+)", seen).group(1) == second_listed  # the one chosen
