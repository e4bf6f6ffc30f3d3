"""`--json` on list, code, info, time, verify, provision and config: the keys are
exactly the ones docs/cli.md documents (read from its tables), the values
agree with pyotp and the token, and no secret appears."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
import time

import pyotp
import pytest
from click.testing import CliRunner

import fob
from otpfob import cli, paths
from otpfob.emu.testing import ProtocolClient
from otpfob.errors import EXIT_CLOCK

pytestmark = pytest.mark.emu


def documented() -> dict[str, set[str]]:
    """docs/cli.md's JSON keys per heading: {"list": {"accounts", "accounts[].name", ...}, ...}."""
    out: dict[str, set[str]] = {}
    current: list[str] = []
    for line in (paths.REPO / "docs" / "cli.md").read_text().splitlines():
        if line.startswith("### "):
            current = re.findall(r"`otpfob (\w+) --json`", line)
            for c in current:
                out.setdefault(c, set())
        elif line.startswith("`provision --json` adds"):
            current = ["provision"]
        elif line.startswith("## "):
            current = []
        elif current and (m := re.match(r"\| `([a-z_\[\].]+)` \|", line)):
            for c in current:
                out[c].add(m.group(1))
    return out


def keys(obj: dict, prefix: str = "") -> set[str]:
    """The JSON's keys in the docs' notation: lists of objects as `a[].b`."""
    found = set()
    for k, v in obj.items():
        found.add(prefix + k)
        if isinstance(v, list) and v and all(isinstance(i, dict) for i in v):
            for item in v:
                found |= keys(item, f"{prefix}{k}[].")
    return found


def b32(seed: str) -> str:
    return base64.b32encode(hashlib.sha256(seed.encode()).digest()[:20]).decode()


def test_json_keys_are_the_documented_ones_and_values_are_right(make_token):
    docs = documented()
    assert set(docs) == {"list", "code", "info", "time", "verify", "provision", "config"}
    tok = make_token(rtc_set=True)
    with ProtocolClient(tok.port) as c:  # one clock move on record: `time` lists it
        assert c.call("time_set", time=int(time.time()))["ok"]
    printed = ""

    def run(*args, code=0, input=None):
        nonlocal printed
        r = CliRunner().invoke(cli.main, [*args, "--json", "--port", tok.port], input=input)
        printed += r.stdout + r.stderr
        assert r.exit_code == code, (args, r.stdout, r.stderr)
        data = json.loads(r.stdout)
        assert keys(data) == docs[args[0]], args[0]
        return data

    secrets = {"totp": b32("json totp"), "hotp": b32("json hotp"), "tap": b32("json tap")}
    p = run("provision", "--secret", secrets["totp"], "--label", "alice", "--issuer", "ACME", "--digits", "8")
    assert (p["added"], p["checked"], p["matches"], p["reference"], p["services_accept"]) == (
        True,
        True,
        True,
        "pyotp",
        True,
    )
    assert p["name"] == "ACME:alice" and p["skew_steps"] == 0 and p["warnings"] == []
    p = run("provision", "--uri", f"otpauth://hotp/door?secret={secrets['hotp']}&counter=5")
    assert p["counter"] == 5 and p["skew_seconds"] is None

    def press():
        tok.wait_for_screen(lambda t: "press" in t.lower(), timeout=10)
        tok.press()

    t = threading.Thread(target=press)
    t.start()
    p = run("provision", "--secret", secrets["tap"], "--label", "tap", "--touch")
    t.join()
    assert p["touch"] is True and p["matches"] is True

    listed = run("list")["accounts"]
    assert [(a["name"], a["type"], a["digits"], a["period"], a["counter"], a["touch"]) for a in listed] == [
        ("ACME:alice", "totp", 8, 30, None, False),
        ("door", "hotp", 6, None, 5, False),  # the check compared counter 5 without using it
        ("tap", "totp", 6, 30, None, True),
    ]
    codes = {a["name"]: a for a in run("code")["accounts"]}
    alice = codes["ACME:alice"]
    assert alice["code"] == pyotp.TOTP(secrets["totp"], digits=8).at(alice["time"])
    assert alice["seconds_left"] == 30 - alice["time"] % 30 and abs(alice["time"] - tok.time()) <= 2
    assert codes["door"]["code"] is None and codes["tap"]["code"] is None
    door = run("code", "door")["accounts"]
    assert door[0]["code"] == pyotp.HOTP(secrets["hotp"]).at(5) and door[0]["counter"] == 5

    info = run("info")
    assert (info["version"], info["board"], info["accounts"], info["clock"], info["access"]) == (
        fob.VERSION,
        "sim",
        3,
        "ok",
        False,
    )
    tm = run("time")
    assert tm["clock"] == "ok" and abs(tm["drift"]) <= 1 and tm["services_accept"] is True and tm["set"] is False
    v = run("verify", "alice", "--secret", secrets["totp"])
    assert v["matches"] is True and v["name"] == "ACME:alice" and v["services_accept"] is True

    # A clock 2 minutes off: the codes are right, services would refuse them (exit 3).
    tok.clock.advance(120)
    v = run("verify", "alice", "--secret", secrets["totp"], code=EXIT_CLOCK)
    assert v["matches"] is True and v["services_accept"] is False and v["skew_steps"] in (4, 5)
    tm = run("time", code=EXIT_CLOCK)
    assert tm["services_accept"] is False and 118 <= tm["drift"] <= 122
    tm = run("time", "--set")
    assert tm["set"] is True and abs(tm["new_time"] - time.time()) <= 2

    # The settings: the documented keys, as the token reports them (its own
    # config_get), before and after a change through the CLI.
    with ProtocolClient(tok.port) as c:
        reply = c.call("config_get")
    config = run("config")
    assert config == {**reply["settings"], "screen_locked": reply["screen_locked"]}
    assert (config["timeout"], config["touch_default"], config["wipe_after"]) == (30, False, 0)
    changed = run("config", "set", "contrast", "17", "touch-default", "on")
    assert changed == {**config, "contrast": 17, "touch_default": True}
    with ProtocolClient(tok.port) as c:
        assert c.call("config_get")["settings"] == {k: v for k, v in changed.items() if k != "screen_locked"}
    assert run("info")["screen_locked"] is False and info["wiped"] is False and info["wipe_after"] == 0
    for s in secrets.values():
        assert s not in printed and s.lower() not in printed
