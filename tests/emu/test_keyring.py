"""`otpfob access remember` / `forget` with a real keyring backend: keyrings.alt's
file backend (PlaintextKeyring, made for tests; there is no desktop keyring
in CI), chosen the way a user would, with PYTHON_KEYRING_BACKEND, and kept in
this test's own folder. Every command runs as a real `otpfob` process, so
the keyring package reads its configuration as it does for a user.
"""

from __future__ import annotations

import base64
import configparser
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pyotp
import pytest

from otpfob import paths
from otpfob.errors import EXIT_FAILED
from otpfob.session import Session
from otpfob.transport import SerialTransport

pytestmark = pytest.mark.emu

PASSWORD = "remember me, please"
SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"


@pytest.fixture
def tok(make_token):
    return make_token(rtc_set=True)


@pytest.fixture
def keyring_env(tmp_path):
    env = dict(
        os.environ,
        PYTHON_KEYRING_BACKEND="keyrings.alt.file.PlaintextKeyring",
        XDG_DATA_HOME=str(tmp_path / "data"),
        HOME=str(tmp_path / "home"),
    )
    for name in ("OTPFOB_PASSWORD", "OTPFOB_PORT"):
        env.pop(name, None)
    return env


def run(tok, env, *args, input=None):
    return subprocess.run(
        [sys.executable, "-m", "otpfob", *args, "--port", tok.port],
        input=input,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=paths.REPO,
        env=env,
    )


def keyring_file(env) -> Path:
    return Path(env["XDG_DATA_HOME"]) / "python_keyring" / "keyring_pass.cfg"


def stored(env) -> str:
    """Everything the file backend holds, its values decoded (it keeps them in base64)."""
    path = keyring_file(env)
    if not path.exists():
        return ""
    cfg = configparser.RawConfigParser()
    cfg.read(path)
    raw = path.read_text()
    values = [base64.b64decode(v.replace("\n", "")).decode() for sec in cfg.sections() for _, v in cfg.items(sec)]
    return raw + "\n".join(values)


def derived_key(tok) -> bytes:
    """The key the token holds, derived here from the password and the token's salt."""
    with Session(SerialTransport(tok.port)) as s:
        salt, iterations = s.access_params()
    return hashlib.pbkdf2_hmac("sha256", PASSWORD.encode(), salt, iterations, dklen=32)


def test_remember_unlocks_later_commands_and_forget_stops_it(tok, keyring_env):
    env = keyring_env
    assert run(tok, env, "provision", "--secret", SECRET, "--label", "kr").returncode == 0
    assert run(tok, env, "access", "set", "--password-stdin", input=PASSWORD + "\n").returncode == 0
    p = run(tok, env, "list")
    assert p.returncode == EXIT_FAILED and "access remember" in p.stderr  # locked, and says how
    p = run(tok, env, "info")
    assert p.returncode == 0 and "Remembered:  no" in p.stdout, p.stdout
    p = run(tok, env, "access", "remember", "--password-stdin", input=PASSWORD + "\n")
    assert p.returncode == 0, p.stderr
    # The backend is named, and a plain-text one is warned about, with its file (issue 23, item 9).
    assert "Remembered" in p.stdout and "(keyrings.alt.file.PlaintextKeyring)" in p.stdout
    warning = p.stderr.strip()
    assert warning.startswith("Warning: this keyring is not encrypted") and "\n" not in warning
    assert str(keyring_file(env)) in warning
    p = run(tok, env, "info")
    assert "Remembered:  yes" in p.stdout and "PlaintextKeyring" in p.stdout, p.stdout
    assert json.loads(run(tok, env, "info", "--json").stdout)["key_remembered"] is True
    # The keyring holds the derived key, never the password.
    stored_text = stored(env)
    assert PASSWORD not in stored_text and derived_key(tok).hex() in stored_text
    # Later commands unlock without being given a password, and lock again at the end.
    p = run(tok, env, "code", "-s", "kr")
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() in {pyotp.TOTP(SECRET).at(time.time() + d) for d in (-30, 0, 30)}
    with Session(SerialTransport(tok.port)) as s:
        assert s.info().unlocked is False
    p = run(tok, env, "access", "forget")
    assert p.returncode == 0 and "Forgot" in p.stdout
    assert derived_key(tok).hex() not in stored(env)
    p = run(tok, env, "list")
    assert p.returncode == EXIT_FAILED and "locked" in p.stderr
    assert json.loads(run(tok, env, "info", "--json").stdout)["key_remembered"] is False
    p = run(tok, env, "access", "forget")
    assert p.returncode == 0 and "No key was remembered" in p.stdout


def test_a_wrong_password_is_not_remembered(tok, keyring_env):
    run(tok, keyring_env, "access", "set", "--password-stdin", input=PASSWORD + "\n")
    p = run(tok, keyring_env, "access", "remember", "--password-stdin", input="wrong one\n")
    assert (
        p.returncode == EXIT_FAILED
        and p.stderr.strip() == "The access password is wrong, or this is not the token it was set on."
    )
    assert "key" not in stored(keyring_env)


def test_a_new_password_forgets_the_old_key(tok, keyring_env):
    env = keyring_env
    run(tok, env, "access", "set", "--password-stdin", input=PASSWORD + "\n")
    assert run(tok, env, "access", "remember", "--password-stdin", input=PASSWORD + "\n").returncode == 0
    old = derived_key(tok).hex()
    p = run(tok, env, "access", "set", "--password-stdin", input="a brand new password\n")  # unlocked by the keyring
    assert p.returncode == 0, p.stderr
    assert "forgotten" in p.stdout and old not in stored(env)
    assert run(tok, env, "list").returncode == EXIT_FAILED  # asks again: nothing stale is tried


def test_no_usable_keyring_is_one_sentence(tok, keyring_env):
    env = dict(keyring_env, PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
    run(tok, env, "access", "set", "--password-stdin", input=PASSWORD + "\n")
    p = run(tok, env, "access", "remember", "--password-stdin", input=PASSWORD + "\n")
    assert p.returncode == EXIT_FAILED
    msg = p.stderr.strip()
    assert "\n" not in msg and msg.startswith("No usable keyring") and msg.endswith(".")
    # the token was not touched with a try: the next right password works at once
    p = run(tok, env, "list", "--password-stdin", input=PASSWORD + "\n")
    assert p.returncode == 0, p.stderr


def test_remember_on_a_token_without_password(tok, keyring_env):
    p = run(tok, keyring_env, "access", "remember", "--password-stdin", input=PASSWORD + "\n")
    assert p.returncode == EXIT_FAILED and "no access password" in p.stderr
