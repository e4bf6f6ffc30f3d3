"""Fuzzing the protocol handler: random and mutated frames (tests/support/frames.py).

Three runs, each checked frame by frame against an independent model of
the framing rules (docs/protocol.md):
  - CPython, straight into fob.server.Server over a real Store on disk;
  - CPython, the same with an access password set and the link locked;
  - the emulated token over its real pty, byte streams with partial frames,
    blank lines and floods, each reply compared with a CPython Server that
    holds a copy of the token's flash (a differential test of MicroPython
    against CPython).
Checked: exactly one reply per line (none for a blank line), the id echoed
(null where the frame's id is unusable), the error code the model predicts
(a repeated member name is bad_frame; a name with a control or bidi
character, a blank label or a counter past 2**63-1 is never carried out),
fob.frame.valid's verdict equal to the model's on every CPython frame, no
change to any stored file after an error reply, no reply holding key
material, no reply slower than a second, and the token alive afterwards
with its accounts byte-for-byte as before.

Counts: OTPFOB_FUZZ=full (make fuzz) runs 100,000 CPython frames and 5,000
over the pty; otherwise 5,000 and 600 (an integer in OTPFOB_FUZZ sets the
CPython count and a twentieth of it, at least 600, over the pty).
"""

from __future__ import annotations

import base64
import os
import random
import shutil
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from conftest import SEED, record_cases
from fob import frame, proto
from fob.access import Access
from fob.clock import Clock
from fob.server import Server
from fob.storage import Store
from otpfob.emu import leakscan
from otpfob.emu.testing import ProtocolClient
from support import frames as rf
from support import fw

pytestmark = [pytest.mark.emu, pytest.mark.fuzz]

_MODE = os.environ.get("OTPFOB_FUZZ", "")
if _MODE == "full":
    CPY_N, PTY_N, FLOOD = 100_000, 5_000, 100_000
elif _MODE.isdigit():
    CPY_N, PTY_N, FLOOD = int(_MODE), max(600, int(_MODE) // 20), 20_000
else:
    CPY_N, PTY_N, FLOOD = 5_000, 600, 20_000
PER_EXAMPLE = 50  # frames per hypothesis example

_KEYS = random.Random(f"{SEED}:fuzz-keys")  # this run's keys, from the run's seed
SECRET = _KEYS.randbytes(20)  # this run's fuzz key; registered with the leak scanner
SECRET_B32 = base64.b32encode(SECRET).decode().rstrip("=")
KEY2 = _KEYS.randbytes(32)
PASSWORD_KEY, PASSWORD_SALT = _KEYS.randbytes(32), _KEYS.randbytes(16)
leakscan.add_secret(SECRET)
leakscan.add_secret(KEY2)
BASES = rf.base_requests(SECRET_B32, KEY2.hex())


def _settings(n: int):
    return settings(
        max_examples=max(1, n // PER_EXAMPLE),
        deadline=None,
        database=None,
        phases=(Phase.generate,),
        suppress_health_check=list(HealthCheck),
    )


def _forms(key: bytes) -> list[bytes]:
    b32 = base64.b32encode(key)
    return [key, key.hex().encode(), key.hex().upper().encode(), b32.rstrip(b"="), b32.lower().rstrip(b"=")]


class FakeRTC:
    def __init__(self) -> None:
        self.t = rf.T0
        self.lost = False

    def read(self):
        return self.t, self.lost

    def set_unix(self, t):
        self.t = t
        self.lost = False


def read_files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


class Rig:
    """A Server over a Store and an Access record in a folder, reset at will
    to the snapshot taken when it was built."""

    def __init__(self, folder: Path, accounts: bool = True, password: bool = False) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        if accounts:
            st_ = Store(str(folder) + "/")
            st_.add("alpha", "Issuer", SECRET)
            st_.add("beta", "", KEY2, "sha1", 6, 30, True, 7)
            st_.add("gamma", "G", KEY2, "sha512", 8, 60)
        if password:
            Access(str(folder) + "/").set(PASSWORD_KEY, PASSWORD_SALT, 1000)
        self.keys = [SECRET, KEY2]
        self.snapshot = read_files(folder)
        self.rebuild()

    def rebuild(self) -> None:
        for p in self.folder.iterdir():
            if p.name not in self.snapshot:
                p.unlink()
        for name, data in self.snapshot.items():
            (self.folder / name).write_bytes(data)
        self.rtc = FakeRTC()
        self.clock = Clock(self.rtc, ticks=lambda: 0)
        d = str(self.folder) + "/"
        self.store = Store(d)
        self.server = Server(self.store, self.clock, board="fuzz", access=Access(d, ticks=lambda: 0), ticks=lambda: 0)

    def feed(self, line: bytes) -> tuple[dict, bytes, float]:
        t = time.perf_counter()
        out = self.server.handle_line(line)
        took = time.perf_counter() - t
        assert out is not None, line  # no touch accounts here: never deferred
        return rf.parse_reply(out), out, took


def _no_key_material(out: bytes, keys: list[bytes], what: object) -> None:
    low = out.lower()
    for key in keys:
        for form in _forms(key):
            assert form.lower() not in low, ("key material in a reply", what)


def _run_cpython(rig: Rig, data, n: int, locked: bool, stats: dict) -> None:
    for _ in range(n):
        line = data.draw(rf.frame(BASES))
        want = rf.expect(line)
        # The strict frame check against the model, before the port's json
        # can hide a difference (CPython's json refuses what it let through).
        assert frame.valid(line) == rf.strict_ok(line), line
        before = read_files(rig.folder)
        t_before = rig.rtc.t
        reply, out, took = rig.feed(line)
        stats["frames"] += 1
        stats["slowest"] = max(stats["slowest"], took)
        assert took < 1.0, ("slow", line)
        rf.check_reply(reply, want, line)
        _no_key_material(out, rig.keys, line)
        after = read_files(rig.folder)
        if not reply["ok"]:
            stats["errors"] += 1
            if locked:  # a wrong unlock answer is counted on flash, by design
                before.pop("access.dat", None)
                after.pop("access.dat", None)
            assert after == before, ("a refused request changed the flash", line, reply)
            assert rig.rtc.t == t_before, line
            continue
        if locked:
            assert want.op in (proto.OP_INFO, proto.OP_TIME_GET, proto.OP_LOCK, proto.OP_UNLOCK, proto.OP_CANCEL), (
                line,
                reply,
            )
            assert not rig.server.unlocked, line
        if want.op in rf.READ_ONLY:
            assert after == before, line
        else:
            stats["accepted"] += 1
            rig.rebuild()  # a valid frame that changed something: start again


@pytest.mark.parametrize("locked", [False, True], ids=["open", "locked"])
def test_fuzz_server_in_cpython(tmp_path, locked):
    rig = Rig(tmp_path / "flash", password=locked)
    n = CPY_N if not locked else max(PER_EXAMPLE, CPY_N // 5)
    stats = {"frames": 0, "errors": 0, "accepted": 0, "slowest": 0.0}

    @_settings(n)
    @seed(SEED)
    @given(st.data())
    def run(data):
        _run_cpython(rig, data, PER_EXAMPLE, locked, stats)

    run()
    assert stats["frames"] >= n - PER_EXAMPLE
    assert stats["errors"] > stats["frames"] // 2  # most mutants are bad frames
    record_cases("fuzz-cpython" + ("-locked" if locked else ""), stats["frames"])
    print(
        f"\nfuzz-cpython{'-locked' if locked else ''}: {stats['frames']} frames, {stats['errors']} error replies,"
        f" {stats['accepted']} valid changes undone, slowest {stats['slowest'] * 1000:.1f} ms"
    )


def test_fuzz_line_reader_and_server_in_cpython(tmp_path):
    """The firmware's LineReader + Server on byte streams (partial frames,
    blank lines, floods), against the framing model."""
    fw.install_framebuf()
    from fob.link import LineReader, blank_line

    rig = Rig(tmp_path / "flash")
    stats = {"lines": 0}

    @_settings(CPY_N // 5)
    @seed(SEED)
    @given(st.data())
    def run(data):
        chunks = data.draw(rf.stream(BASES, PER_EXAMPLE, flood=3000))
        raw = b"".join(chunks) + b"\n"
        want, rest = rf.split_lines(raw)
        assert rest == b""
        reader = LineReader()
        got = []
        for b in raw:
            line = reader.feed(b)
            if line is True:
                got.append(None)
            elif line is not None and not blank_line(line):
                got.append(line)
        assert got == want
        for line in got:
            if line is None:
                reply = rf.parse_reply(rig.server.too_long())
            else:
                reply, _, _ = rig.feed(line)
                if reply["ok"] and rf.expect(line).op not in rf.READ_ONLY:
                    rig.rebuild()
            rf.check_reply(reply, rf.expect(line), line)
            stats["lines"] += 1

    run()
    record_cases("fuzz-cpython-stream", stats["lines"])


# -- over the pty, against the emulated token ------------------------------------------


def _read_replies(client: ProtocolClient, n: int, timeout: float) -> list[dict]:
    tag = proto.REPLY_TAG.encode()
    out: list[dict] = []
    buf = b""
    deadline = time.monotonic() + timeout
    while len(out) < n:
        assert time.monotonic() < deadline, f"the token answered {len(out)} of {n} lines"
        chunk = client.ser.read(client.ser.in_waiting or 1)
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            assert line.startswith(tag), ("the token wrote something that is not a reply", line[:200])
            out.append(rf.parse_reply(line + b"\n"))
    time.sleep(0.05)
    assert not client.ser.in_waiting, "more replies than lines"
    return out


def test_fuzz_emulated_token_over_the_pty(tmp_path, make_token):
    tok = make_token(rtc_set=True, freeze=rf.T0)
    client = ProtocolClient(tok.port)
    stats = {"inputs": 0, "lines": 0, "errors": 0, "dropped": 0, "bytes": 0, "floods": 0}
    try:
        client.call("add", label="alpha", issuer="Issuer", secret=SECRET_B32)
        client.call("add", label="beta", key=KEY2.hex(), type="hotp", counter=7)
        client.call("add", label="gamma", issuer="G", key=KEY2.hex(), algorithm="sha512", digits=8, period=60)
        listed = client.call("list")["accounts"]
        before = read_files(tok.flash)
        assert set(before) == {"accounts.dat"}
        oracle_dir = tmp_path / "oracle"
        oracle_dir.mkdir()
        shutil.copy(tok.flash / "accounts.dat", oracle_dir / "accounts.dat")
        oracle = Rig(oracle_dir, accounts=False)
        assert oracle.store.count() == 3

        @_settings(int(PTY_N * 1.15) + PER_EXAMPLE)  # ~10 % are valid changes, not sent
        @seed(SEED)
        @given(st.data())
        def run(data):
            chunks = data.draw(rf.stream(BASES, PER_EXAMPLE, flood=FLOOD))
            stats["inputs"] += len(chunks)
            raw = b"".join(chunks) + b"\n"
            parts = raw.split(b"\n")[:-1]
            stats["floods"] += sum(len(p) > 4 * proto.MAX_LINE for p in parts)
            keep, want, oracle_replies, dropped = rf.against_oracle(parts, oracle)
            stats["dropped"] += dropped
            stats["inputs"] -= dropped
            payload = b"".join(p + b"\n" for p in keep)
            client.ser.write(payload)
            got = _read_replies(client, len(want), 10 + len(payload) / 20_000)
            stats["errors"] += rf.check_replies(keep, want, got, oracle_replies)[1]
            stats["lines"] += len(want)
            stats["bytes"] += len(payload)
            assert tok.running

        run()
        assert tok.running, tok.stderr_log[-2000:]
        assert client.call("info")["store"] == proto.STORE_OK
        assert read_files(tok.flash) == before  # byte for byte
        assert client.call("list")["accounts"] == listed
        t = client.call("time_get")
        assert (t["time"], t["clock"]) == (rf.T0, proto.CLOCK_OK)
        assert tok.stderr_log == b""
    finally:
        client.close()
    assert stats["inputs"] >= PTY_N
    record_cases("fuzz-pty", stats["inputs"])
    print(
        f"\nfuzz-pty: {stats['inputs']} inputs sent, {stats['lines']} lines answered ({stats['bytes']} bytes, {stats['floods']} floods),"
        f" {stats['errors']} error replies, {stats['dropped']} valid changing frames not sent"
    )
