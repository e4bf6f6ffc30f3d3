"""End to end: the codes a person reads off the emulated token's screen.

One emulated token for the module (real firmware under MicroPython's Unix
port, real pty, real pyserial).  The RTC is frozen and stepped, so period
boundaries come without sleeping.
"""

import pytest

from conftest import running_token
from otpfob.emu.testing import ProtocolClient, grouped, random_secret, screen_code
from support.reference import expected

pytestmark = pytest.mark.emu

T0 = 1_790_000_000  # 2026-09-21, a multiple of 10 s; boundaries at 30 s steps


@pytest.fixture(scope="module")
def token(tmp_path_factory):
    # The screen stays on for the module (blanking: test_token_blank.py).
    with running_token(tmp_path_factory.mktemp("flash"), board_overrides={"BLANK_MS": 600_000}, freeze=T0) as tok:
        yield tok


@pytest.fixture(scope="module")
def client(token):
    with ProtocolClient(token.port) as c:
        c.call("time_set", time=int(token.clock.now()))
        yield c


@pytest.fixture(scope="module")
def accounts(token, client):
    """Two accounts: 6 digits SHA-1 and 8 digits SHA-256."""
    six = {"label": "alice@example", "issuer": "Example", "secret": random_secret(20)}
    eight = {"label": "bob", "issuer": "Bank", "secret": random_secret(32), "digits": 8, "algorithm": "sha256"}
    for a in (six, eight):
        client.call("add", **a)
    return [six, eight]


def expected_shown(acct, unix):
    """The code the screen should show for ``acct`` at ``unix``, grouped."""
    return grouped(expected(acct["secret"], unix, acct.get("digits", 6), algorithm=acct.get("algorithm", "sha1")))


def show(token, label):
    """Press until the account with ``label`` is on screen; returns the text."""
    text = token.wait_for_screen(lambda t: screen_code(t) is not None, 5)
    for _ in range(4):
        if label in text:
            return text
        before = text.splitlines()[:2]
        token.press()
        text = token.wait_for_screen(
            lambda t, before=before: screen_code(t) is not None and t.splitlines()[:2] != before, 5
        )
    raise AssertionError("account %s never shown; screen:\n%s" % (label, text))


def wait_code(token, acct):
    want = expected_shown(acct, token.clock.now())
    text = token.wait_for_screen(lambda t: acct["label"] in t and screen_code(t) == want, timeout=5)
    assert screen_code(text) == expected_shown(acct, token.clock.now())
    return text


@pytest.mark.parametrize("index", [0, 1], ids=["6-digits-sha1", "8-digits-sha256"])
def test_code_on_screen_equals_pyotp_across_period_boundaries(token, client, accounts, index):
    acct = accounts[index]
    show(token, acct["label"])
    seen = set()
    # Just before and just after four consecutive boundaries.
    boundary = (T0 // 30 + 1) * 30 + 30 * 4 * index
    for k in range(4):
        for t in (boundary + 30 * k - 1, boundary + 30 * k):
            token.clock.set(t)
            seen.add(screen_code(wait_code(token, acct)))
    assert len(seen) >= 4  # the code really changed at the boundaries
    assert len(screen_code(wait_code(token, acct)).replace(" ", "")) == acct.get("digits", 6)


def test_short_press_goes_to_the_next_account_and_long_press_back(token, accounts):
    text = token.wait_for_screen(lambda t: screen_code(t) is not None)
    first = "alice@example" if "alice@example" in text else "bob"
    other = "bob" if first == "alice@example" else "alice@example"
    token.press()
    text = token.wait_for_screen(lambda t: other in t)
    assert ("2/2" if other == "bob" else "1/2") in text
    token.hold()
    token.wait_for_screen(lambda t: first in t and other not in t)
    token.hold()  # back again: with two accounts, back from the first is the second
    token.wait_for_screen(lambda t: other in t)
    token.press()
    token.wait_for_screen(lambda t: first in t)


def test_nothing_the_token_wrote_holds_a_secret(token, client, accounts):
    import base64

    client.call("list")
    out = token.serial_log + token.stderr_log
    assert out  # the log did record the replies
    for acct in accounts:
        key = base64.b32decode(acct["secret"] + "=" * (-len(acct["secret"]) % 8))
        for form in (acct["secret"].encode(), key.hex().encode(), base64.b64encode(key)):
            assert form not in out


def test_a_128x32_panel_shows_the_code_too(make_token):
    tok = make_token(board_overrides={"DISPLAY_H": 32}, freeze=T0)
    assert len(tok.screen_pixels()) == 32
    with ProtocolClient(tok.port) as c:
        c.call("time_set", time=T0)
        acct = {"label": "small", "issuer": "Tiny", "secret": random_secret()}
        c.call("add", **acct)
        text = wait_code(tok, acct)
        assert "Tiny" in text
