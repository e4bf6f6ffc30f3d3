"""`otpfob deploy` for daily use: the port is found before anything is
compiled, a port that will never take the copy is given up on with one
sentence instead of a hang, and the help names `--board NAME`."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from otpfob import deploy, paths
from otpfob.errors import EXIT_FAILED, EXIT_NO_TOKEN, TransportError

REPO = paths.REPO


def otpfob(*args: str, env=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "otpfob", *args], capture_output=True, text=True, timeout=120, cwd=REPO, env=env
    )


def test_no_token_is_found_before_anything_is_compiled(tmp_path):
    env = dict(os.environ, OTPFOB_RUNTIME_DIR=str(tmp_path / "run"), XDG_CACHE_HOME=str(tmp_path / "cache"))
    env.pop("OTPFOB_PORT", None)
    start = time.monotonic()
    p = otpfob("deploy", "--board", "pico", env=env)
    assert p.returncode == EXIT_NO_TOKEN, p.stderr
    assert "mpy-cross" not in p.stdout + p.stderr and p.stdout == ""
    assert time.monotonic() - start < 20
    assert not list(tmp_path.rglob("*.mpy"))


def test_help_names_board_name():
    p = otpfob("deploy", "--help")
    assert "--board NAME" in p.stdout and "BOARD" not in p.stdout


@pytest.mark.emu
def test_deploy_to_the_emulated_token_is_refused_at_once(make_token):
    tok = make_token(rtc_set=True)
    start = time.monotonic()
    p = otpfob("deploy", "--board", "pico", "--port", tok.port)
    assert p.returncode == EXIT_FAILED
    msg = p.stderr.strip()
    assert "\n" not in msg and "emulated token" in msg and tok.port in msg
    assert time.monotonic() - start < 20


def test_a_copy_nobody_answers_is_given_up_on(tmp_path):
    # A pty whose other end never answers mpremote: the copy stops after the stall time.
    master, slave = os.openpty()
    port = os.ttyname(slave)
    out = deploy.image_build("pico", tmp_path / "build")
    start = time.monotonic()
    try:
        with pytest.raises(TransportError) as err:
            deploy.copy(out, port, stall=3.0)
    finally:
        os.close(master)
        os.close(slave)
    msg = str(err.value)
    assert "stopped answering" in msg and "0 of 2 files" in msg and port in msg and "\n" not in msg
    assert time.monotonic() - start < 30
