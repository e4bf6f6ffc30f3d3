"""What the CLI prints of the token's own words: names from the token go to
the terminal escaped (otpfob.names), and `otpfob info` says in one line
who can read the board's flash (its board file's EXPOSURE, docs/security.md).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from fob.storage import Store
from otpfob import cli, paths
from otpfob.emu.parts import load_board
from support import frames as rf

# Names a store written before the name rule could hold, or that anything
# else answering on the port could send: a right-to-left override, an 8-bit
# CSI (clear screen), an OSC that sets the terminal's title, a line break.
OLD_NAMES = (("alice\u202eexe.txt", "Bank\x9b2J"), ("\x1b]0;pwned\x07", "\u2066Evil\u2069"), ("a\u2028b", ""))


def run(port: str, *args: str) -> str:
    r = CliRunner().invoke(cli.main, ["--port", port, *args])
    assert r.exit_code == 0, (args, r.stdout, r.stderr)
    return r.stdout


@pytest.mark.emu
def test_list_escapes_control_and_bidi_characters_from_the_token(tmp_path, make_token, rng):
    flash = tmp_path / "flash"
    flash.mkdir()
    store = Store(str(flash) + "/")
    for label, issuer in OLD_NAMES:
        store.add(label, issuer, rng.randbytes(20))
    store.add("Bänk", "Œuvre", rng.randbytes(20))
    tok = make_token(flash=flash, rtc_set=True)
    out = run(tok.port, "list")
    assert not [c for c in out if rf.name_char_refused(c) and c != "\n"], ascii(out)
    for want in (
        "alice\\u202eexe.txt",
        "Bank\\x9b2J",
        "\\x1b]0;pwned\\x07",
        "\\u2066Evil\\u2069",
        "a\\u2028b",
        "Bänk",
        "Œuvre",
    ):
        assert want in out, (want, out)
    assert len(out.splitlines()) == 1 + len(OLD_NAMES) + 1  # a header and one line per account


@pytest.mark.emu
def test_info_says_who_can_read_the_flash(make_token):
    tok = make_token(rtc_set=True)
    out = run(tok.port, "info")
    exposure = load_board(paths.BOARDS / "sim.py")["EXPOSURE"]
    lines = [line for line in out.splitlines() if line.startswith("Exposure:")]
    assert lines == [f"Exposure:    {exposure} ({paths.doc('security.md')})"]


def test_every_board_states_its_exposure_and_the_docs_have_its_table():
    security = (paths.REPO / "docs" / "security.md").read_text()
    boards = sorted(p for p in Path(paths.BOARDS).glob("*.py") if p.stem != "sim")
    assert {p.stem for p in boards} >= {"pico", "pico_w", "esp32_devkitc", "esp32s3_devkitc"}
    for p in boards:
        exposure = load_board(p).get("EXPOSURE")
        assert isinstance(exposure, str) and "\n" not in exposure and len(exposure) < 200, p
        assert re.search(rf"^### .*`{p.stem}`", security, re.M), f"docs/security.md has no table for {p.stem}"
