"""A deploy never opens a door (issue 22), on the emulated Pico with an
access password set: the real `otpfob deploy` (maintenance boot, mpremote
over the real USB CDC) onto a token laid out as older otpfob left it
(/main.py and /fob at the root), its flash saved at instants spread over the
whole copy (while fob is staged, at the marker, while the entry files go,
during the switch, after it). Each saved flash is a power cut at that
instant: booted normally, it runs otpfob (old or new; the guard would also
do), and mpremote gets no REPL and no file. Then a deploy cut short is
retried from a maintenance boot, and the accounts are still there.

One deploy, flash snapshots instead of one deploy per cut point, keeps the
test's time reasonable (docs/reliability.md)."""

from __future__ import annotations

import subprocess
import sys

import pyotp
import pytest

from conftest import RP2_LANE_A
from otpfob import deploy
from otpfob.emu.testing import ProtocolClient, random_secret
from otpfob.session import Session
from otpfob.transport import SerialTransport

pytestmark = [pytest.mark.rp2, RP2_LANE_A]

PASSWORD = "deploy cut password"

# firmware/main.py as otpfob 0.1 deployed it: no guard, no staging folder.
LEGACY_MAIN = """import micropython
import os
try:
    os.stat("access.dat")
    micropython.kbd_intr(-1)
except OSError:
    pass
from fob import storage
buf = storage.reserve()
import board
from fob import app
app.main(board, buf)
"""

TO_LEGACY = (
    """
import os
os.rename('/otp/fob', '/fob')
os.remove('/otp/complete')
os.rmdir('/otp')
f = open('/main.py', 'w')
f.write(%r)
f.close()
"""
    % LEGACY_MAIN
)


def session(pico) -> Session:
    return Session(SerialTransport(pico.port, timeout=10), min_iterations=1000)


def mpremote(port, *args, timeout=20.0) -> bytes:
    """What mpremote printed (its return code is no evidence: it may hang)."""
    try:
        p = subprocess.run(
            [sys.executable, "-m", "mpremote", "connect", port, *args], capture_output=True, timeout=timeout
        )
    except subprocess.TimeoutExpired as e:  # still waiting for a raw REPL that never comes
        return (e.stdout or b"") + (e.stderr or b"")
    assert p.returncode != 0, p.stdout
    return p.stdout + p.stderr


WAIT = 240  # s: generous, the emulator slows down on a loaded machine


def maintenance_boot(pico):
    pico.power_cut()
    pico.button_down()
    pico.restart()
    info = pico.wait_ready(WAIT)
    pico.button_up()
    assert info["maintenance"] is True and info["access"] is True
    return info


# `make test` boots three of the saved flashes (CI time), `make test-slow` all six.
@pytest.mark.parametrize(
    "every_cut", [pytest.param(False, id="sample"), pytest.param(True, id="all", marks=pytest.mark.slow)]
)
def test_a_deploy_cut_anywhere_keeps_the_repl_closed_and_a_retry_keeps_the_accounts(make_pico, tmp_path, every_cut):
    pico = make_pico(ready=False)
    pico.wait_ready(WAIT)
    secret = random_secret()
    with ProtocolClient(pico.port, timeout=10) as c:
        c.call("add", label="stays", secret=secret)
    with session(pico) as s:
        s.set_access(PASSWORD, iterations=1000)
        s.lock()
    maintenance_boot(pico)
    out = subprocess.run(
        # `resume`: a soft reset takes the USB keyboard, and the serial, off the bus.
        [sys.executable, "-m", "mpremote", "connect", pico.port, "resume", "exec", TO_LEGACY],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    maintenance_boot(pico)  # the legacy layout boots (and keeps Ctrl-C on: button held)

    # The deploy, its flash saved at instants spread over the copy.
    saved: list[tuple[str, bytes]] = []
    build = deploy.build("pico", out_dir=tmp_path / "build")
    n = len(build.files)
    # Staging (1, n // 2), the marker and board.new (n - 2), main.new (n - 1),
    # the switch (n); `make test` saves staging's and the marker's only
    # (time budget), and the flash after the switch.
    at = {1, n // 2, n - 2, n - 1, n} if every_cut else {1, n - 2}

    def copied(done, _bytes, dev):
        if done in at:
            saved.append((f"after {done} of {n} ({dev})", pico.save_flash()))

    # The deploy's own steps (otpfob.deploy.run without its reset check,
    # whose 20 s a loaded machine's emulator can miss): probe, copy, reset.
    deploy.refuse_running_otpfob(pico.port)
    deploy.check_board(deploy.probe(pico.port), "pico", pico.port, files=[p for p, _ in build.files])
    deploy.copy(build, pico.port, copied=copied)
    saved.append(("after the switch", pico.save_flash()))
    assert len(saved) == len(at) + 1
    # Booting the flash saved after the switch is this Pico's restart (the
    # new firmware runs): one Pico at a time, and one boot less (CI time).
    pico.stop()

    for i, (when, flash) in enumerate(saved):
        image = tmp_path / f"cut{i}.bin"
        image.write_bytes(flash)
        cut = make_pico(image=image, ready=False)
        info = cut.wait_ready(WAIT)  # old or new otpfob runs
        assert info["access"] is True and info["maintenance"] is False, when
        got = mpremote(cut.port, "fs", "cat", ":accounts.dat")
        assert b"raw REPL" not in got and b"OTPF" not in got, (when, got[-300:])
        assert b"raw REPL" not in cut.serial_log and b">>>" not in cut.serial_log, when
        if i == 0:
            # A retry of the deploy cut while fob was being staged.
            maintenance_boot(cut)
            deploy.copy(build, cut.port)
            cut.restart()
            cut.wait_ready(WAIT)
            with session(cut) as s:
                s.unlock(PASSWORD)
                got_code = s.code("stays")
                s.lock()
            assert got_code.code == pyotp.TOTP(secret).at(got_code.time)
        cut.stop()
