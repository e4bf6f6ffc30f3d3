"""The emulated token's screen blanks after its timeout and wakes on a press."""

import pytest

from conftest import running_token
from otpfob.emu.testing import ProtocolClient, random_secret, screen_code

pytestmark = pytest.mark.emu

BLANK_MS = 1500


@pytest.fixture(scope="module")
def token(tmp_path_factory):
    with running_token(tmp_path_factory.mktemp("flash"), rtc_set=True, board_overrides={"BLANK_MS": BLANK_MS}) as tok:
        with ProtocolClient(tok.port) as c:
            for label in ("one", "two"):
                c.call("add", label=label, secret=random_secret())
        yield tok


def test_screen_blanks_and_the_first_press_only_wakes_it(token):
    token.press()
    text = token.wait_for_screen(lambda t: screen_code(t) is not None)
    label = "one" if "one" in text else "two"
    assert token.display_on
    token.wait_for_screen(lambda t: t == "", timeout=BLANK_MS / 1000 + 3)
    assert not token.display_on
    assert not any(map(any, token.screen_pixels()))
    token.press()
    text = token.wait_for_screen(lambda t: screen_code(t) is not None, 3)
    assert token.display_on and label in text  # woke on the same account
    token.press()
    token.wait_for_screen(lambda t: label not in t and screen_code(t) is not None, 3)
