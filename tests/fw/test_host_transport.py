"""Transport and session over real ptys with real pyserial.

The other end is either a small fake token (tests/support/fake_token.py: it can
misbehave on purpose) or the real MicroPython Unix REPL (a non-otpfob device).
The end-to-end evidence against the firmware is tests/emu/test_cli_e2e.py.
"""

from __future__ import annotations

import errno
import os
import subprocess
import time

import pytest
import serial

from fob import proto
from otpfob.errors import NoTokenError, TokenError, TransportError
from otpfob.session import Session
from otpfob.transport import SerialTransport, _open_error
from otpfob.uri import Account
from support.fake_token import FakeToken


def test_round_trip_and_resync_after_noise():
    with FakeToken(mode="noise") as fake, Session(SerialTransport(fake.port)) as s:
        # noise, a broken tagged line and a stale reply id come first each time
        assert s.info().board == "fake"
        s.add(Account(label="a", key=b"k" * 20))
        assert [a.label for a in s.list_accounts()] == ["a"]
        assert len(s.code("a").code) == 6


def test_a_reply_with_a_repeated_name_is_not_taken():
    # CPython's json keeps the last of a repeated name; the host refuses such a
    # line, as the token refuses such a request, and waits for the real reply.
    with FakeToken(mode="repeated") as fake, Session(SerialTransport(fake.port)) as s:
        assert s.info().version


def test_session_sends_info_before_any_key():
    with FakeToken() as fake, Session(SerialTransport(fake.port)) as s:
        s.add(Account(label="a", key=b"k" * 20))
        assert [r["op"] for r in fake.requests] == ["info", "add"]


def test_error_reply_becomes_token_error():
    with FakeToken() as fake, Session(SerialTransport(fake.port)) as s:
        with pytest.raises(TokenError) as info:
            s.delete("nope")
        assert info.value.code == proto.E_NOT_FOUND
        assert "'nope'" in str(info.value) and str(info.value).endswith(".")


@pytest.mark.parametrize("mode", ["garbage", "silent"])
def test_no_firmware_times_out_with_one_sentence(mode):
    with FakeToken(mode=mode) as fake:
        t = SerialTransport(fake.port, timeout=0.5)
        start = time.monotonic()
        with pytest.raises(NoTokenError) as info:
            Session(t).info()
        assert time.monotonic() - start < 2
        assert fake.port in str(info.value) and "otpfob deploy" in str(info.value)
        t.close()


def test_slow_but_within_timeout_is_fine_and_too_slow_is_not():
    with FakeToken(delay=0.4) as fake:
        with Session(SerialTransport(fake.port, timeout=2)) as s:
            assert s.info().version
        with Session(SerialTransport(fake.port, timeout=0.2)) as s, pytest.raises(NoTokenError):
            s.info()


def test_device_going_away_mid_command():
    with FakeToken(mode="vanish") as fake:
        with Session(SerialTransport(fake.port, timeout=2)) as s, pytest.raises(TransportError) as info:
            s.info()
        assert "went away" in str(info.value) and fake.port in str(info.value)


def test_missing_port():
    with pytest.raises(TransportError, match="There is no serial port /dev/otpfob-missing"):
        SerialTransport("/dev/otpfob-missing").ensure_connected()


def test_busy_port():
    with FakeToken() as fake:
        holder = serial.Serial(fake.port, exclusive=True)
        try:
            with pytest.raises(TransportError, match="busy"):
                SerialTransport(fake.port).ensure_connected()
        finally:
            holder.close()


def test_not_a_serial_port(tmp_path):
    f = tmp_path / "file"
    f.write_text("")
    with pytest.raises(TransportError, match="not a serial port"):
        SerialTransport(str(f)).ensure_connected()


def test_permission_denied_mentions_dialout():
    # As root the kernel never refuses, so check the mapping of pyserial's error too.
    err = _open_error("/dev/ttyACM0", serial.SerialException(errno.EACCES, "could not open port: [Errno 13]"))
    assert "dialout" in str(err) and "/dev/ttyACM0" in str(err)
    if os.geteuid() != 0:
        with FakeToken() as fake:
            os.chmod(fake.port, 0)
            with pytest.raises(TransportError, match="dialout"):
                SerialTransport(fake.port).ensure_connected()


@pytest.mark.upy
def test_plain_micropython_repl_is_not_a_token_and_never_sees_the_key(monkeypatch):
    from conftest import require_micropython

    written = bytearray()
    real_write = serial.Serial.write
    monkeypatch.setattr(serial.Serial, "write", lambda self, data: (written.extend(data), real_write(self, data))[1])
    master, slave = os.openpty()
    port = os.ttyname(slave)
    repl = subprocess.Popen([require_micropython()], stdin=master, stdout=master, stderr=master)
    key = b"REPL-must-not-see"
    try:
        with Session(SerialTransport(port, timeout=1.0)) as s, pytest.raises(NoTokenError) as info:
            s.add(Account(label="a", key=key))
        assert port in str(info.value)
        # The REPL echoes everything it receives: read it back and look for the key.
        with serial.Serial(port, timeout=0.5) as ser:
            ser.write(b"\r\n")
            echoed = ser.read(65536)
        assert b">>>" in echoed  # it really was the REPL answering
        assert b'"op":"info"' in written and b'"op":"add"' not in written
        assert key.hex().encode() not in written and key not in written
    finally:
        repl.kill()
        repl.wait()
        os.close(master)
        os.close(slave)
