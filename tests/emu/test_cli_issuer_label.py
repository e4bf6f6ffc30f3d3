"""An account is named by its issuer and label together (issue 23, item 1),
through the real CLI against the emulated token: GitHub's and GitLab's
alice@example.com are two accounts; --force replaces only the same
issuer:label; import, code, delete, rename and --json all name accounts so.

Codes are compared with pyotp.
"""

from __future__ import annotations

import base64
import hashlib
import json

import pyotp
import pytest

from otpfob.errors import EXIT_FAILED
from support.cli import Transcript, one_sentence

pytestmark = pytest.mark.emu

TOKEN_PASSWORD = ""  # conftest's `tok`: no password is set here
ALICE = "alice@example.com"


def b32(seed: str) -> str:
    return base64.b32encode(hashlib.sha256(seed.encode()).digest()[:20]).decode()


def now_codes(secret: str, t: float) -> set[str]:
    return {pyotp.TOTP(secret).at(int(t) + d) for d in (-30, 0, 30)}


def names(run: Transcript) -> list[tuple[str, str]]:
    listed = json.loads(run("list", "--json").stdout)["accounts"]
    return [(a["issuer"], a["label"]) for a in listed]


def test_two_issuers_one_label(tok):
    run = Transcript(tok.port)
    hub, lab = b32("github"), b32("gitlab")
    run("provision", "--uri", f"otpauth://totp/GitHub:{ALICE}?secret={hub}&issuer=GitHub")
    r = run("provision", "--uri", f"otpauth://totp/GitLab:{ALICE}?secret={lab}&issuer=GitLab")
    assert "Added" in r.stdout
    assert names(run) == [("GitHub", ALICE), ("GitLab", ALICE)]
    # Each code is its own account's.
    assert run("code", "-s", f"GitHub:{ALICE}").stdout.strip() in now_codes(hub, tok.time())
    assert run("code", "-s", f"GitLab:{ALICE}").stdout.strip() in now_codes(lab, tok.time())
    got = json.loads(run("code", "--json", f"GitLab:{ALICE}").stdout)["accounts"]
    assert [(a["name"], a["issuer"], a["label"]) for a in got] == [(f"GitLab:{ALICE}", "GitLab", ALICE)]
    assert got[0]["code"] in now_codes(lab, tok.time())
    # The label alone names both: the CLI asks which.
    msg = one_sentence(run("code", "-s", ALICE, code=None).stderr)
    assert f"GitHub:{ALICE}" in msg and f"GitLab:{ALICE}" in msg

    # The same issuer:label again is refused; --force replaces that one only.
    new = b32("gitlab, new")
    uri = f"otpauth://totp/GitLab:{ALICE}?secret={new}&issuer=GitLab"
    r = run("provision", "--uri", uri, code=None)
    assert r.exit_code == EXIT_FAILED
    msg = one_sentence(r.stderr)
    assert f"GitLab:{ALICE}" in msg and "--force" in msg
    assert "Replaced" in run("provision", "--uri", uri, "--force").stdout
    assert names(run) == [("GitHub", ALICE), ("GitLab", ALICE)]
    assert run("code", "-s", f"GitHub:{ALICE}").stdout.strip() in now_codes(hub, tok.time())
    assert run("code", "-s", f"GitLab:{ALICE}").stdout.strip() in now_codes(new, tok.time())

    # Rename and delete touch only the account named.
    run("rename", f"GitLab:{ALICE}", "alice")
    assert names(run) == [("GitHub", ALICE), ("GitLab", "alice")]
    r = run("rename", "GitLab:alice", f"GitHub:{ALICE}", code=None)
    msg = one_sentence(r.stderr.strip().splitlines()[-1])  # after the note on the long label
    assert f"GitHub:{ALICE}" in msg
    run("delete", f"GitHub:{ALICE}", "--yes")
    assert names(run) == [("GitLab", "alice")]
    assert run("code", "-s", "GitLab:alice").stdout.strip() in now_codes(new, tok.time())


def test_the_key_uri_specs_example_is_stored_with_its_issuer(tok):
    run = Transcript(tok.port)
    secret = b32("bigco")
    run("provision", "--uri", f"otpauth://totp/Big%20Corporation%3A%20alice%40bigco.com?secret={secret}")
    assert names(run) == [("Big Corporation", "alice@bigco.com")]
    assert run("code", "-s", "Big Corporation:alice@bigco.com").stdout.strip() in now_codes(secret, tok.time())
