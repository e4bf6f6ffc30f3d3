"""Enrolling several tokens at once, encrypted backups and PSKC files (issue 24),
through the real CLI against emulated tokens (the Unix port, real ptys).

Codes are compared with pyotp at the token's own time, and what the screen
shows is read from the emulated OLED. Backups are opened with python-pskc
itself. Every byte the CLI printed is scanned for every secret at the end of
each test (raw, hex, Base32, Base64).
"""

from __future__ import annotations

import base64
import fcntl
import io
import json
import os
import pty
import random
import re
import select
import stat
import subprocess
import sys
import termios
import threading
import time

import pyotp
import pytest
from pskc import PSKC

from conftest import SEED
from fob import proto
from otpfob import paths
from otpfob.emu import leakscan
from otpfob.emu.testing import grouped, screen_code
from otpfob.errors import EXIT_FAILED, EXIT_OK
from otpfob.session import Session
from otpfob.transport import SerialTransport
from support.cli import Transcript, one_sentence, state

# Random bytes from the run's seed, so OTPFOB_SEED replays them.
_RNG = random.Random(f"{SEED}:{__name__}")

pytestmark = pytest.mark.emu

REPO = paths.REPO
BACKUP_PASSWORD = "a backup password"
HOTP_URI = "urn:ietf:params:xml:ns:keyprov:pskc:hotp"
TOTP_URI = "urn:ietf:params:xml:ns:keyprov:pskc:totp"


class Run(Transcript):
    """`python -m otpfob` as a real process (`Transcript.proc`); keeps every byte printed and the secrets to scan it for."""

    def __init__(self) -> None:
        super().__init__(None)
        self.secrets: list[bytes] = []

    def secret(self, n: int = 20) -> str:
        """A fresh Base32 secret (unpadded), scanned for at the end."""
        key = _RNG.randbytes(n)
        self.secrets.append(key)
        leakscan.add_secret(key)
        return base64.b32encode(key).decode().rstrip("=")

    def __call__(self, *args: str, input: str | None = None, code: int | None = EXIT_OK, env=None):
        return self.proc(*args, input=input, env=env, code=code, timeout=120)

    def scan(self, *files) -> None:
        blob = self.text.encode()
        for f in files:
            blob += f.read_bytes()
        assert self.secrets
        assert leakscan.find(blob, self.secrets) == []
        assert not [k for k in self.secrets if base64.b64encode(k) in blob]


@pytest.fixture
def run():
    r = Run()
    yield r
    r.scan()


@pytest.fixture
def two(make_token):
    """Two emulated tokens with their clocks set."""
    return make_token(rtc_set=True), make_token(rtc_set=True)


def at_terminal(args: list[str], answers: list[tuple[str, str]], timeout: float = 60) -> tuple[int, str, str]:
    """Run otpfob with a terminal as its controlling tty, stdin and stderr (so
    it asks, with hidden input), typing each answer once its prompt shows;
    (exit code, stdout, what the terminal showed)."""
    master, slave = pty.openpty()

    def controlling_tty():
        os.setsid()
        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)

    p = subprocess.Popen(
        [sys.executable, "-m", "otpfob", *args],
        stdin=slave,
        stdout=subprocess.PIPE,
        stderr=slave,
        cwd=REPO,
        text=True,
        preexec_fn=controlling_tty,
    )
    os.close(slave)
    shown = b""
    todo = list(answers)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            shown += chunk
        if todo and todo[0][0].encode() in shown:
            prompt, answer = todo.pop(0)
            shown = shown.replace(prompt.encode(), prompt.encode() + b"<answered>", 1)
            os.write(master, answer.encode() + b"\r")
        if p.poll() is not None and not ready:
            break
    if p.poll() is None:  # still asking: as a person giving up would, end it
        p.kill()
    out = p.stdout.read()
    p.wait(timeout=10)
    os.close(master)
    return p.returncode, out, shown.decode(errors="replace")


def raw(secret: str) -> bytes:
    return base64.b32decode(secret + "=" * (-len(secret) % 8))


def token_code(tok, label: str, issuer: str = ""):
    with Session(SerialTransport(tok.port)) as s:
        return s.code(label, issuer)


def accounts(tok) -> list[tuple[str, str]]:
    with Session(SerialTransport(tok.port)) as s:
        return [(a.issuer, a.label) for a in s.list_accounts()]


def assert_totp_right(tok, secret: str, label: str, issuer: str = "", digits: int = 6):
    got = token_code(tok, label, issuer)
    assert got.code == pyotp.TOTP(secret, digits=digits).at(got.time)
    return got


def screen_shows(tok, secret: str) -> None:
    """The code on the token's screen is pyotp's for its time."""
    tok.press()
    text = tok.wait_for_screen(lambda t: screen_code(t) is not None, timeout=10)
    now = time.time()
    want = {grouped(pyotp.TOTP(secret).at(int(now) + d)) for d in (-30, 0, 30)}
    assert screen_code(text).strip() in want, text


# -- several tokens at once --------------------------------------------------------------


def test_two_tokens_enrolled_together_give_the_same_right_codes(run, two):
    a, b = two
    secret = run.secret()
    r = run("provision", "--secret", secret, "--label", "alice", "--issuer", "Example", "--to", a.port, "--to", b.port)
    assert f"Added 'alice' (Example) to the token on {a.port}." in r.stdout
    assert f"Added 'alice' (Example) to the token on {b.port}." in r.stdout
    assert r.stdout.count("Checked: the token's code for 'alice' matches pyotp") == 2
    for _ in range(3):  # the same step on both, unless a step boundary falls in between
        ca, cb = assert_totp_right(a, secret, "alice", "Example"), assert_totp_right(b, secret, "alice", "Example")
        if ca.time // 30 == cb.time // 30:
            assert ca.code == cb.code
            break
    else:
        pytest.fail("the two tokens never gave a code in the same step")
    for tok in two:
        screen_shows(tok, secret)


def test_all_tokens_finds_both_and_a_second_account_replaces_nothing(run, two, tmp_path):
    a, b = two
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    for n, tok in enumerate(two):  # announced as running `otpfob sim`s are
        (runtime / f"sim-{n}.json").write_text(json.dumps({"port": tok.port, "pid": os.getpid(), "board": "sim"}))
    env = dict(os.environ, OTPFOB_RUNTIME_DIR=str(runtime))
    env.pop("OTPFOB_PORT", None)
    secret = run.secret()
    uri = f"otpauth://hotp/Lab:door?secret={secret}&counter=5"
    r = run("provision", "--uri", uri, "--all-tokens", env=env)
    assert r.stdout.count("Checked: the token's code for 'door' matches pyotp") == 2
    for tok in two:
        got = token_code(tok, "door", "Lab")
        assert got.code == pyotp.HOTP(secret).at(got.counter)
    # Already on both: refused on the first, nothing changed anywhere.
    before = [state(t) for t in two]
    r = run("provision", "--uri", uri, "--all-tokens", env=env, code=EXIT_FAILED)
    assert one_sentence(r.stderr) == (
        f"The token on {a.port} already has an account named 'Lab:door'; add --force to replace it, or choose"
        " another --label; no token was changed."
    )
    assert [state(t) for t in two] == before


def test_a_token_missing_at_the_start_changes_nothing(run, two):
    a, b = two
    b.power_cut()
    before = state(a)
    r = run("provision", "--secret", run.secret(), "--label", "x", "--to", a.port, "--to", b.port, code=EXIT_FAILED)
    one_sentence(r.stderr)
    assert b.port in r.stderr
    assert state(a) == before


def test_a_token_pulled_out_mid_way_is_said_and_the_other_is_undone(run, two):
    """The account is a touch account: while the first token waits for its
    press, the second token loses its power. The first is then checked,
    the second cannot take the account, and the first gives it up again."""
    a, b = two
    secret = run.secret()

    def pull_then_press():
        a.wait_for_screen(lambda t: "press" in t.lower(), timeout=20)
        b.power_cut()
        a.press()

    t = threading.Thread(target=pull_then_press)
    t.start()
    r = run(
        "provision", "--secret", secret, "--label", "tap", "--touch", "--to", a.port, "--to", b.port, code=EXIT_FAILED
    )
    t.join()
    assert f"Added 'tap' to the token on {a.port}." in r.stdout
    assert "Checked: the token's code for 'tap' matches pyotp" in r.stdout
    msg = one_sentence(r.stderr.splitlines()[-1])  # after the request for a press
    assert msg.startswith(f"Stopped at {b.port} (No otpfob firmware answered on {b.port}")
    assert f"whether it took the account 'tap' is not known (see `otpfob list --port {b.port}` once it is back)" in msg
    assert msg.endswith(f"the account 'tap' was removed again from {a.port}; so no other token holds it.")
    assert accounts(a) == []  # as the message says


def test_import_loads_the_same_accounts_on_both_and_a_failure_says_who_holds_what(run, two, tmp_path):
    a, b = two
    s1, s2 = run.secret(), run.secret()
    uris = tmp_path / "uris.txt"
    uris.write_text(f"otpauth://totp/GitHub:alice?secret={s1}\notpauth://totp/bob?secret={s2}&digits=8\n")
    r = run("import", str(uris), "--all", "--to", a.port, "--to", b.port)
    assert r.stdout.count("Loaded 'alice' (GitHub) on") == 2
    assert f"Loaded 2 accounts on each of {a.port} and {b.port}." in r.stdout
    for tok in two:
        assert_totp_right(tok, s1, "alice", "GitHub")
        assert_totp_right(tok, s2, "bob", digits=8)
    # The second token loses its power while the first one loads: the first
    # keeps what it loaded, and the sentence says so (imports are not undone).
    s3, s4 = run.secret(), run.secret()
    more = tmp_path / "more.txt"
    more.write_text(f"otpauth://totp/carol?secret={s3}\notpauth://totp/dave?secret={s4}\n")
    store = a.flash / "accounts.dat"
    written = store.stat().st_mtime_ns

    def pull_when_the_first_writes():
        deadline = time.monotonic() + 30
        while store.stat().st_mtime_ns == written and time.monotonic() < deadline:
            time.sleep(0.01)
        b.power_cut()

    t = threading.Thread(target=pull_when_the_first_writes)
    t.start()
    r = run("import", str(more), "--all", "--to", a.port, "--to", b.port, code=EXIT_FAILED)
    t.join()
    msg = one_sentence(r.stderr)
    assert msg.startswith(f"Stopped at {b.port} (Loading stopped at 'carol' (")
    assert msg.endswith(f"{a.port} holds the 2 accounts loaded.")
    assert r.stdout.count(f"on {a.port}, TOTP") == 2
    assert {("", "carol"), ("", "dave")} <= set(accounts(a))  # as the sentence says
    b.restart()
    b.wait_ready()
    assert ("", "carol") not in accounts(b) and ("", "dave") not in accounts(b)


def test_a_token_whose_clock_cannot_check_stops_the_import_before_any_write(run, make_token, tmp_path):
    a, b = make_token(rtc_set=True), make_token()  # b's clock was never set
    uris = tmp_path / "uris.txt"
    uris.write_text(f"otpauth://totp/alice?secret={run.secret()}\n")
    before = state(a), state(b)
    r = run("import", str(uris), "--all", "--to", a.port, "--to", b.port, code=EXIT_FAILED)
    assert one_sentence(r.stderr) == (
        f"The token on {b.port}'s clock is not set or not trusted, so no account could be checked on it;"
        f" run `otpfob time --set --port {b.port}` first; no token was changed."
    )
    assert (state(a), state(b)) == before


# -- backups -------------------------------------------------------------------------------


def test_backup_then_wipe_then_import_gives_pyotps_codes(run, two, tmp_path):
    a, b = two
    path = tmp_path / "otp-backup.pskc"
    s1, s2 = run.secret(), run.secret(32)
    pw = BACKUP_PASSWORD + "\n"
    run("provision", "--secret", s1, "--label", "alice", "--issuer", "Ex", "--port", a.port,
        "--backup", str(path), "--backup-password-stdin", input=pw)  # fmt: skip
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    r = run("provision", "--uri", f"otpauth://hotp/Lab:door?secret={s2}&counter=9&algorithm=SHA256", "--port",
            a.port, "--backup", str(path), "--backup-password-stdin", input=pw)  # fmt: skip
    assert f"Added 1 account to the encrypted backup {path} (2 in it now)." in r.stderr
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no temporary file left

    # python-pskc reads it with the password, and only with it.
    doc = PSKC(str(path))
    with pytest.raises(Exception):  # noqa: B017
        doc.keys[0].secret  # noqa: B018
    doc.encryption.derive_key(BACKUP_PASSWORD)
    assert [k.secret for k in doc.keys] == [raw(s) for s in (s1, s2)]

    run("wipe", "--port", a.port, "--yes")
    assert accounts(a) == []
    r = run("import", str(path), "--all", "--pskc-password-stdin", "--to", a.port, "--to", b.port, input=pw)
    assert "Found 2 accounts" in r.stdout
    assert f"Loaded 2 accounts on each of {a.port} and {b.port}." in r.stdout
    for tok in two:
        assert_totp_right(tok, s1, "alice", "Ex")
        got = token_code(tok, "door", "Lab")
        assert got.counter >= 9 and got.code == pyotp.HOTP(s2, digest="sha256").at(got.counter)
    run.scan(path)


def test_backup_password_asked_twice_at_a_terminal_then_once_to_restore(run, make_token, tmp_path):
    tok = make_token(rtc_set=True)
    path = tmp_path / "b.pskc"
    secret = run.secret()
    args = ["provision", "--port", tok.port, "--secret", secret, "--label", "alice", "--backup", str(path)]
    code, out, shown = at_terminal(
        args, [("Backup password for", BACKUP_PASSWORD), ("Repeat for confirmation", BACKUP_PASSWORD)]
    )
    run.text += out + shown
    assert code == EXIT_OK, (out, shown)
    assert "is a new backup: choose a password for it (not the token's access password" in shown
    assert BACKUP_PASSWORD not in out + shown  # hidden input
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert f"Added 1 account to the encrypted backup {path} (1 in it now)." in shown

    # Two different entries: nothing is written, nothing added.
    other = tmp_path / "c.pskc"
    args = ["provision", "--port", tok.port, "--secret", run.secret(), "--label", "bob", "--backup", str(other)]
    code, out, shown = at_terminal(
        args,
        [("Backup password for", BACKUP_PASSWORD), ("Repeat for confirmation", "something else")],
        timeout=15,
    )
    run.text += out + shown
    assert "do not match" in shown.lower() and code != EXIT_OK  # asked again, then given up
    assert not other.exists() and ("", "bob") not in accounts(tok)

    with Session(SerialTransport(tok.port)) as s:
        s.wipe()
    code, out, shown = at_terminal(
        ["import", str(path), "--all", "--port", tok.port], [("Password of", BACKUP_PASSWORD)]
    )
    run.text += out + shown
    assert code == EXIT_OK, (out, shown)
    assert "Loaded 'alice'" in out and BACKUP_PASSWORD not in out + shown
    assert_totp_right(tok, secret, "alice")
    run.scan(path)


def _vendor(keys: list[dict], psk: bytes | None = None) -> bytes:
    doc = PSKC()
    for k in keys:
        doc.add_key(**k)
    if psk is not None:
        doc.encryption.setup_preshared_key(key=psk, algorithm="aes128-cbc")
    out = io.BytesIO()
    doc.write(out)
    return out.getvalue()


@pytest.mark.parametrize("encrypted", [False, True], ids=["plaintext", "preshared-key"])
def test_a_vendors_pskc_file_loads_and_checks(run, make_token, tmp_path, encrypted):
    tok = make_token(rtc_set=True)
    t_secret, h_secret = run.secret(), run.secret()
    keys = [
        dict(id="TOTP-0001", secret=raw(t_secret), algorithm=TOTP_URI, response_length=8,
             time_interval=60, algorithm_suite="HMAC-SHA256", key_userid="alice@example.com", issuer="ACME VPN"),
        dict(id="HOTP-0002", serial="000123", secret=raw(h_secret), algorithm=HOTP_URI,
             response_length=6, counter=12, friendly_name="door token"),
    ]  # fmt: skip
    psk = _RNG.randbytes(16)
    path = tmp_path / "tokens.pskc"
    path.write_bytes(_vendor(keys, psk if encrypted else None))
    extra = ["--pskc-key", psk.hex()] if encrypted else []
    if encrypted:
        before = state(tok)
        r = run("import", str(path), "--all", "--port", tok.port, code=EXIT_FAILED)
        assert "--pskc-key" in one_sentence(r.stderr)
        r = run(
            "import", str(path), "--all", "--port", tok.port, "--pskc-key", _RNG.randbytes(16).hex(), code=EXIT_FAILED
        )
        assert one_sentence(r.stderr).endswith("nothing was loaded.")
        assert state(tok) == before
    r = run("import", str(path), "--all", "--port", tok.port, *extra)
    assert "alice@example.com" in r.stdout and "door token" in r.stdout
    assert ("is not encrypted: anyone who can read it can read its secrets" in r.stderr) != encrypted
    got = token_code(tok, "alice@example.com", "ACME VPN")
    assert got.code == pyotp.TOTP(t_secret, digits=8, interval=60, digest="sha256").at(got.time)
    got = token_code(tok, "door token")
    assert got.counter >= 12 and got.code == pyotp.HOTP(h_secret).at(got.counter)


# -- bad input: one sentence, nothing loaded ------------------------------------------------


def _flip(text: str) -> str:
    m = re.search(r"<pskc:Secret>.*?<xenc:CipherValue>([^<]+)<", text, re.S)
    raw = bytearray(base64.b64decode(m.group(1)))
    raw[-20] ^= 0x80
    return text[: m.start(1)] + base64.b64encode(bytes(raw)).decode() + text[m.end(1) :]


def test_bad_backups_and_files_load_nothing(run, make_token, tmp_path):
    tok = make_token(rtc_set=True)
    secret = run.secret()
    path = tmp_path / "b.pskc"
    run("provision", "--secret", secret, "--label", "keep", "--port", tok.port, "--backup", str(path),
        "--backup-password-stdin", input=BACKUP_PASSWORD + "\n")  # fmt: skip
    good = path.read_text()
    cases = {
        "wrong password": (good, "wrong password 1", "The password for {f} is wrong; nothing was loaded."),
        "changed secret": (_flip(good), BACKUP_PASSWORD, "Key 1 of {f} fails its MAC check"),
        "cut short": (good[: len(good) * 2 // 3], BACKUP_PASSWORD, "{f} is not a PSKC file, or it is cut short"),
        "unknown algorithm": (good.replace("pskc:totp", "pskc:OCRA-1"), BACKUP_PASSWORD, "Key 1 of {f} uses the algorithm"),
    }  # fmt: skip
    before = state(tok)
    for name, (text, pw, expected) in cases.items():
        f = tmp_path / (name.replace(" ", "-") + ".pskc")
        f.write_text(text)
        r = run("import", str(f), "--all", "--pskc-password-stdin", "--port", tok.port, input=pw + "\n", code=None)
        assert r.returncode == EXIT_FAILED, (name, r.stdout, r.stderr)
        assert one_sentence(r.stderr).startswith(expected.format(f=f)), (name, r.stderr)
        assert "Found" not in r.stdout
        assert state(tok) == before, name
    long_key = tmp_path / "long.pskc"
    long_key.write_bytes(_vendor([dict(id="K", secret=_RNG.randbytes(proto.MAX_KEY + 1), algorithm=TOTP_URI)]))
    r = run("import", str(long_key), "--all", "--port", tok.port, code=EXIT_FAILED)
    assert one_sentence(r.stderr) == (
        f"Key 1 of {long_key} has a {proto.MAX_KEY + 1}-byte secret and the token holds at most {proto.MAX_KEY} bytes;"
        " nothing was loaded."
    )
    assert state(tok) == before
    # A wrong password for --backup stops provision before the token is touched.
    r = run("provision", "--secret", run.secret(), "--label", "new", "--port", tok.port, "--backup", str(path),
            "--backup-password-stdin", input="not the password\n", code=EXIT_FAILED)  # fmt: skip
    assert one_sentence(r.stderr) == f"The password for {path} is wrong; nothing was loaded."
    assert state(tok) == before and path.read_text() == good
    # A new backup's password must be long enough.
    r = run("provision", "--secret", run.secret(), "--label", "new", "--port", tok.port, "--backup",
            str(tmp_path / "new.pskc"), "--backup-password-stdin", input="short\n", code=EXIT_FAILED)  # fmt: skip
    assert "at least 8 characters" in one_sentence(r.stderr)
    assert state(tok) == before and not (tmp_path / "new.pskc").exists()
    run.scan(path)


def test_naming_the_tokens_badly_is_one_sentence(run, make_token):
    tok = make_token(rtc_set=True)
    before = state(tok)
    for args, words in [
        (["--to", tok.port, "--all-tokens"], "Give --to PORT for each token, or --all-tokens, not both."),
        (["--to", tok.port, "--to", tok.port], f"The port {tok.port} is named twice; give each token once."),
        (["--backup-password-stdin"], "--backup-password-stdin is for --backup FILE; give the file too."),
    ]:
        r = run("provision", "--secret", run.secret(), "--label", "x", *args, input="a password\n", code=EXIT_FAILED)
        assert one_sentence(r.stderr) == words
    assert state(tok) == before
