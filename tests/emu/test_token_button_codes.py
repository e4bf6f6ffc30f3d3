"""End to end on the emulated token: HOTP codes on the button, read off the
decoded screen and compared with pyotp, across power cuts (no code is ever
shown twice); and names beyond ASCII, as `otpfob list` prints them and as
the screen draws them."""

import random
import time

import pyotp
import pytest
from click.testing import CliRunner

from conftest import SEED
from otpfob import cli
from otpfob.emu.glyphs import PLACEHOLDER
from otpfob.emu.testing import ProtocolClient, grouped, random_secret, screen_code

pytestmark = pytest.mark.emu

T0 = 1_795_000_000
LONG_MS = 800  # the sim board's long press (fob/hw.py's default)


def otpfob(port, *args, input=None):
    r = CliRunner().invoke(cli.main, ["--port", port, *args], input=input)
    assert r.exit_code == 0, (args, r.stdout, r.stderr)
    return r.stdout


def counter_of(port, label):
    with ProtocolClient(port) as client:
        (acct,) = [a for a in client.call("list")["accounts"] if a["label"] == label]
        return acct["counter"]


def watch_codes(tok, seconds):
    """Every code the screen shows during ``seconds`` (polled)."""
    seen = []
    end = time.monotonic() + seconds
    while time.monotonic() < end and tok.running:
        code = screen_code(tok.screen_text())
        if code and (not seen or seen[-1] != code):
            seen.append(code)
        time.sleep(0.02)
    return seen


def test_hotp_on_the_button_never_shows_a_code_twice(make_token):
    rnd = random.Random(SEED)
    tok = make_token(freeze=T0)
    secret = random_secret()
    start = rnd.randrange(0, 1000)
    digits = rnd.choice([6, 8, 10])
    otpfob(
        tok.port,
        "provision",
        "--secret",
        "-",
        "--label",
        "door",
        "--issuer",
        "Lab",
        "--type",
        "hotp",
        "--counter",
        str(start),
        "--digits",
        str(digits),
        input=secret + "\n",
    )
    hotp = pyotp.HOTP(secret, digits=digits)
    counter = counter_of(tok.port, "door")
    assert counter == start  # provision's check compared the code without using a counter
    text = tok.wait_for_screen(lambda t: "Hold the button" in t and "for a new code" in t)
    assert screen_code(text) is None and "Lab" in text and "door" in text
    shown = []
    for round_ in range(4):
        if round_ % 2 == 0:
            # A long press; the power goes once the code is up.
            tok.hold(LONG_MS + 400)
            text = tok.wait_for_screen(lambda t: screen_code(t) is not None)
            shown.append(screen_code(text))
            assert shown[-1] == grouped(hotp.at(counter))
            assert counter_of(tok.port, "door") == counter + 1  # stored, as the screen shows it
            tok.power_cut()
        else:
            # The power goes while the button is held, at any moment around
            # the long press (maybe mid-write): whatever was shown counts.
            tok.button_down()
            shown += watch_codes(tok, (LONG_MS + rnd.randrange(-50, 300)) / 1000)
            tok.power_cut()
            tok.button_up()
        tok.restart()
        tok.wait_ready()
        counter = counter_of(tok.port, "door")
        tok.wait_for_screen(lambda t: "Hold the button" in t)  # no code comes back
    tok.hold(LONG_MS + 400)
    shown.append(screen_code(tok.wait_for_screen(lambda t: screen_code(t) is not None)))
    assert len(shown) == len(set(shown)), shown  # never the same code twice
    assert shown[-1] == grouped(hotp.at(counter))
    firsts = {grouped(hotp.at(k)): k for k in range(start, counter + 1)}
    ks = [firsts[c] for c in shown]  # every one pyotp's code at a stored counter
    assert ks == sorted(ks)
    # Over USB the next counter follows the last one shown.
    with ProtocolClient(tok.port) as client:
        assert client.call("code", label="door", issuer="Lab")["code"] == hotp.at(counter + 1)


def test_moving_past_an_hotp_account_uses_no_counter(make_token):
    tok = make_token(freeze=T0)
    secret = random_secret()
    with ProtocolClient(tok.port) as client:
        client.call("time_set", time=T0)
        client.call("add", label="door", secret=secret, type="hotp", counter=5)
        client.call("add", label="mail", secret=random_secret())
    tok.wait_for_screen(lambda t: "Hold the button" in t)
    for _ in range(4):
        tok.press()
        tok.wait_for_screen(lambda t: "mail" in t and screen_code(t) is not None)
        tok.press()
        tok.wait_for_screen(lambda t: "Hold the button" in t)
    assert counter_of(tok.port, "door") == 5
    tok.hold()
    text = tok.wait_for_screen(lambda t: screen_code(t) is not None)
    assert screen_code(text) == grouped(pyotp.HOTP(secret).at(5))


NAMES = [("Bänk", "Zürich"), ("Bönk", "Åland"), ("Çelik", "Ñandú S.A."), ("Łódź", "Œuvre")]


def test_names_beyond_ascii_listed_as_given_and_drawn(make_token):
    tok = make_token(rtc_set=True)  # on this computer's time, so provision's check passes
    for label, issuer in NAMES:
        otpfob(
            tok.port, "provision", "--secret", "-", "--label", label, "--issuer", issuer, input=random_secret() + "\n"
        )
    listed = otpfob(tok.port, "list")
    for label, issuer in NAMES:
        assert label in listed and issuer in listed
    for i, (label, issuer) in enumerate(NAMES):
        # Ł and ź are not in the font: one placeholder each, the rest as given.
        want = label.replace("Ł", PLACEHOLDER).replace("ź", PLACEHOLDER)
        text = tok.wait_for_screen(lambda t, i=i: "%d/%d" % (i + 1, len(NAMES)) in t and screen_code(t) is not None)
        lines = text.splitlines()
        assert lines[0].startswith(issuer) and lines[1] == want, text
        tok.press()
