"""Deploying this firmware over a Pico that runs the last protocol-1 release
keeps its accounts and their codes (issue 23: an account is now named by
issuer and label, protocol 2, with the store format unchanged).

The old release is the real one: its firmware and host tool are taken from
git (PROTOCOL_1) and its own `otpfob deploy` puts it on a stock MicroPython
Pico; accounts are added over its protocol 1. Then this otpfob, talking to
it, says to deploy; this `otpfob deploy` replaces the firmware, and every
account is listed as before and gives pyotp's code (the HOTP counter where
it was). Two accounts of one label then coexist under two issuers.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys

import pyotp
import pytest

from conftest import ROOT, RP2_LANE_A, unavailable
from otpfob.emu.testing import ProtocolClient, random_secret
from support.reference import expected_totp

pytestmark = [pytest.mark.rp2, RP2_LANE_A]

# The last commit whose firmware speaks protocol 1 (fob/proto.py VERSION = 1).
PROTOCOL_1 = "492490dfebf0cd99f426c5464d2e30bd10cf9179"
T0 = 1_790_000_000


@pytest.fixture(scope="module")
def old_release(tmp_path_factory):
    """The protocol-1 release's firmware, boards and host tool, from git."""
    out = tmp_path_factory.mktemp("protocol1")
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", PROTOCOL_1, "firmware", "boards", "host"], capture_output=True, timeout=120
    )
    if archive.returncode != 0:
        unavailable("the protocol-1 release %s is not in this clone's history" % PROTOCOL_1[:12])
    subprocess.run(["tar", "-x", "-C", str(out)], input=archive.stdout, check=True, timeout=120)
    return out


def otpfob(tree, port, *args, timeout=600):
    """`python -m otpfob --port PORT ARGS` from the source tree ``tree``."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tree / "host"), str(tree / "firmware")]))
    env.pop("OTPFOB_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-m", "otpfob", "--port", port, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=tree,
    )


def v1(client, op, **args):
    """One request in protocol 1, as the old host tool sends it."""
    client._id += 1
    client.ser.write(json.dumps({"v": 1, "id": client._id, "op": op, **args}).encode() + b"\n")
    reply = client.reply()
    while reply.get("id") != client._id:  # a reply to an earlier program's request
        reply = client.reply()
    assert reply.get("ok") and reply["v"] == 1, reply
    return reply


def test_deploy_over_protocol_1_keeps_accounts_and_codes(rp2_built, old_release, tmp_path):
    from otpfob.emu.rp2.image import deploy_cli
    from otpfob.emu.rp2.pico import EmulatedPico

    github, plain, door = random_secret(), random_secret(32), random_secret()
    with EmulatedPico(tmp_path / "pico", rtc_set=True) as pico:
        done = otpfob(old_release, pico.port, "deploy", "--board", "pico")
        assert done.returncode == 0, done.stdout + done.stderr
        with ProtocolClient(pico.port, timeout=10) as c:
            assert v1(c, "info")["proto"] == 1
            v1(c, "time_set", time=T0)
            v1(c, "add", label="alice@example.com", issuer="GitHub", secret=github)
            v1(c, "add", label="plain", secret=plain, algorithm="sha256", digits=8, period=60)
            v1(c, "add", label="door", issuer="Bank", secret=door, type="hotp", counter=41)
            before = v1(c, "list")["accounts"]

        # This otpfob against the old firmware: one sentence, deploy.
        p = otpfob(ROOT, pico.port, "list", timeout=60)
        msg = p.stderr.strip()
        assert p.returncode == 1 and "\n" not in msg and "Traceback" not in msg, p.stderr
        assert "older otpfob firmware" in msg and "`otpfob deploy`" in msg

        done = deploy_cli(pico.port)
        assert done.returncode == 0, done.stdout + done.stderr
        pico.wait_ready(120)
        with ProtocolClient(pico.port, timeout=30) as c:
            info = c.call("info")
            assert info["proto"] == 2 and re.fullmatch("[0-9a-f]{8}", info["token_id"]), info  # from unique_id()
            assert c.call("list")["accounts"] == before  # names, settings and the HOTP counter
            # No settings file yet (issue 26): the defaults, and a change
            # that moves an account keeps every account's code below.
            got = c.call("config_get")
            assert got["settings"]["timeout"] == 30 and got["screen_locked"] is False, got
            c.call("config_set", flip=True)
            c.call("move", label=before[-1]["label"], issuer=before[-1]["issuer"], to=0)
            assert c.call("list")["accounts"] == [before[-1]] + before[:-1]
            got = c.call("code", label="alice@example.com", issuer="GitHub")
            assert (
                got["code"]
                == expected_totp(base64.b32decode(github + "=" * (-len(github) % 8)), got["time"], 6, 30, "sha1")[0]
            )
            got = c.call("code", label="plain")
            key = base64.b32decode(plain + "=" * (-len(plain) % 8))
            assert got["code"] == expected_totp(key, got["time"], 8, 60, "sha256")[0]
            got = c.call("code", label="door", issuer="Bank")
            assert (got["code"], got["counter"]) == (pyotp.HOTP(door).at(41), 41)
            # Protocol 2: another issuer's account of the same label is a new account.
            c.call("add", label="alice@example.com", issuer="GitLab", secret=random_secret())
            assert c.call("info")["accounts"] == 4
        p = otpfob(ROOT, pico.port, "list", "--json", timeout=60)
        assert p.returncode == 0, p.stderr
        assert [(a["issuer"], a["label"]) for a in json.loads(p.stdout)["accounts"]] == [
            ("Bank", "door"),  # moved to the top above
            ("GitHub", "alice@example.com"),
            ("", "plain"),
            ("GitLab", "alice@example.com"),
        ]
        # The old otpfob against the new firmware: one sentence that says why.
        p = otpfob(old_release, pico.port, "list", timeout=60)
        msg = p.stderr.strip()
        assert p.returncode != 0 and "\n" not in msg and "Traceback" not in msg, p.stderr
        assert "speaks protocol version 2 and this otpfob speaks 1" in msg, msg
