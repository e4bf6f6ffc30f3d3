"""Long replies are written in small pieces (Server.respond), and the pieces
make exactly the line a reply built whole would be (docs/protocol.md), so
the host parses nothing new.

Also, under the MicroPython Unix port: the largest single block of heap any
request needs on a full store (tests/support/mpy_heap_probe.py, figures in
docs/benchmarks.md, "Memory")."""

import json
import subprocess

import pytest

from conftest import SUPPORT, require_micropython
from fob import proto
from support.fw import FIRMWARE, ServerRig

TAG = proto.REPLY_TAG.encode()
ISSUER = "é" * (proto.MAX_ISSUER // 2)


def _label(i: int) -> str:
    return "é" * 14 + "%04d" % i  # 32 UTF-8 bytes


@pytest.fixture
def full(tmp_path, monkeypatch):
    """A server over a full store of the largest accounts."""
    monkeypatch.chdir(tmp_path)
    rig = ServerRig()
    for i in range(proto.MAX_ACCOUNTS):
        rig.store.add(_label(i), ISSUER, bytes([i]) * proto.MAX_KEY, "sha512", 10, 30)
    return rig


def _whole(rig: ServerRig, rid: int, start: int, limit: int) -> bytes:
    # The reply as it was built before streaming: one dict, one json.dumps.
    n = rig.store.count()
    out = {
        "v": proto.VERSION,
        "id": rid,
        "ok": True,
        "total": n,
        "start": start,
        "accounts": [rig.server._describe(i) for i in range(start, min(n, start + limit))],
    }
    return (proto.REPLY_TAG + json.dumps(out) + "\n").encode()


@pytest.mark.parametrize("start,limit", [(0, 100), (0, 25), (75, 25), (99, 100), (100, 5), (0, 1)])
def test_a_streamed_list_is_byte_identical_to_the_whole_reply(full, start, limit):
    req = json.dumps({"v": proto.VERSION, "id": 9, "op": "list", "start": start, "limit": limit}).encode()
    pieces = []
    assert full.server.respond(req, pieces.append) is True
    got = b"".join(pieces)
    assert got == _whole(full, 9, start, limit)
    assert got == full.server.handle_line(req)
    # No piece bigger than one account's object, whatever the page.
    one = len(json.dumps(full.server._describe(0)).encode())
    assert max(len(p) for p in pieces) <= max(one, 200)
    if limit == 100 and start == 0:
        assert len(got) > 10 * one  # the whole page: many times a piece


def test_an_empty_list_and_other_replies_stay_whole(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rig = ServerRig()
    r = rig.ok("list")
    assert r["accounts"] == [] and r["total"] == 0
    assert (
        rig.sent[-1]
        == (
            proto.REPLY_TAG
            + json.dumps({"v": proto.VERSION, "id": rig.n, "ok": True, "total": 0, "start": 0, "accounts": []})
            + "\n"
        ).encode()
    )
    pieces = []
    rig.server.respond(b'{"v":2,"id":3,"op":"info"}', pieces.append)
    assert len(pieces) == 1 and pieces[0].startswith(TAG) and pieces[0].endswith(b"\n")


def test_a_failure_building_the_first_account_is_an_error_reply(full):
    def boom(i):
        raise MemoryError

    full.server._describe = boom
    r = full.call("list")
    assert r["ok"] is False and r["err"] == proto.E_INTERNAL


def test_a_failure_later_ends_the_page_early_but_well_formed(full):
    real = full.server._describe

    def flaky(i):
        if i == 40:
            raise MemoryError
        return real(i)

    full.server._describe = flaky
    r = full.ok("list")
    # The host pages on from start + len(accounts) (otpfob.session).
    assert r["total"] == proto.MAX_ACCOUNTS and len(r["accounts"]) == 40


def test_the_harness_saw_only_small_pieces(full):
    full.ok("list")
    full.ok("info")
    full.ok("code", label=_label(99), issuer=ISSUER)
    full.ok("delete", label=_label(0), issuer=ISSUER)
    assert full.largest_piece < 400


@pytest.mark.upy
def test_no_request_needs_a_large_block_of_heap_on_micropython(tmp_path):
    """Free heap cut into holes of B bytes: each request still works at a
    small B; a list reply built whole would need the whole line."""
    ops = ["info", "list", "list25", "code", "delete", "rename", "add", "list:whole"]
    p = subprocess.run(
        [require_micropython(), "-X", "heapsize=1M", str(SUPPORT / "mpy_heap_probe.py"), *ops],
        env={"MICROPYPATH": str(FIRMWARE)},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 0, p.stderr or p.stdout
    got = {d["op"]: d["largest"] for d in map(json.loads, p.stdout.split("\n")[:-1])}
    for op in ("info", "list", "list25", "code"):
        assert got[op] is not None and got[op] <= 512, got
    for op in ("delete", "rename", "add"):
        assert got[op] is not None and got[op] <= 1024, got  # the store's record list
    # The probe tells: the same page as one string needs a block of KBs.
    assert got["list:whole"] is None or got["list:whole"] > 8192, got


def test_a_failure_building_the_header_is_still_one_error_reply(full, monkeypatch):
    import fob.server as fserver

    real = fserver.json.dumps

    def dumps(obj):
        if isinstance(obj, dict) and "total" in obj:
            raise MemoryError
        return real(obj)

    monkeypatch.setattr(fserver.json, "dumps", dumps)
    pieces = []
    assert full.server.respond(b'{"v":2,"id":4,"op":"list"}', pieces.append) is True
    out = b"".join(pieces)
    assert out.count(b"\n") == 1 and out.startswith(TAG)
    monkeypatch.setattr(fserver.json, "dumps", real)
    r = json.loads(out[len(TAG) :])
    assert r["ok"] is False and r["err"] == proto.E_INTERNAL and r["id"] == 4
