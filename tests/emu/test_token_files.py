"""The emulated token's flash holds the OTP secrets in the clear, so only its
owner may read it (issue 22): the folder is 0700 and every file 0600, those
the firmware writes as it runs and those an older otpfob left readable."""

from __future__ import annotations

import os
import stat

from otpfob.emu.testing import random_secret
from otpfob.session import Session
from otpfob.transport import SerialTransport


def modes(folder) -> dict[str, int]:
    return {e.name: stat.S_IMODE(e.stat().st_mode) for e in os.scandir(folder)}


def test_flash_files_are_the_owners_only(make_token, tmp_path):
    flash = tmp_path / "old-flash"
    flash.mkdir(mode=0o755)
    os.chmod(flash, 0o755)
    (flash / "stale.dat").write_bytes(b"x")
    os.chmod(flash / "stale.dat", 0o644)  # as an older otpfob left them
    tok = make_token(flash=flash, rtc_set=True)
    with Session(SerialTransport(tok.port)) as s:
        s._call("add", {"label": "a", "secret": random_secret()})
        s.set_access("flash modes password")
        s.lock()
    assert stat.S_IMODE(os.stat(flash).st_mode) == 0o700
    got = modes(flash)
    assert {"accounts.dat", "access.dat", "stale.dat"} <= set(got), got
    assert set(got.values()) == {0o600}, got
