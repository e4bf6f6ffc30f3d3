"""Power cuts on real flash: littlefs on the emulated Pico's NOR flash, cut at
chosen instruction counts inside each operation that writes it.

Each cut is scheduled a number of instructions after the request reaches
the chip (rp2040js counts them); the flash image is kept exactly as it is
at that instruction, and the chip boots from it again.  Half the cuts are
drawn uniformly over the whole operation, half a few hundred instructions
after one of its ROM flash erases or programs begins (the bridge counts them
as they run), so that many land inside one.  After each cut the
token must hold the old state or the new one: never a lost or damaged
store, never accounts without their access password, never an HOTP counter
that went backwards.

Normal run: 9 operations x 2 cuts, one inside a flash erase or program (tests/rel/test_rel_power.py cuts the
store and clock writes 52 times each on the Unix port); `make fuzz`
(OTPFOB_FUZZ=full): x 112.
"""

from __future__ import annotations

import base64
import json
import os
import random
import time

import pytest

from conftest import RP2_LANE_A, SEED, record_cases
from fob import proto
from otpfob.emu.testing import ProtocolClient, random_secret
from otpfob.errors import TokenError
from otpfob.session import Session
from otpfob.transport import SerialTransport
from support.reference import expected_hotp

pytestmark = [pytest.mark.rp2, pytest.mark.fuzz, RP2_LANE_A]

FULL = os.environ.get("OTPFOB_FUZZ") == "full"
CUTS = 112 if FULL else 2
T0 = 1_790_000_000
PASSWORD = "power cut password"
CUT_WAIT = 2.0  # s to wait for a reply that a cut may have prevented
OPS = ["add", "delete", "rename", "time_set", "access_set", "access_clear", "unlock_wrong", "hotp_code", "wipe"]


def unlock(s: Session) -> None:
    """Unlock, waiting out the token's delay after the wrong tries.  The
    host waits that delay on the wall clock; the emulated chip counts it in
    emulated time, which lags the wall clock while the chip is busy, so a
    try can come a little early and be told to wait again."""
    for _ in range(6):
        try:
            s.unlock(PASSWORD, wait=60)
            return
        except TokenError as e:
            if e.code != proto.E_THROTTLED:
                raise
            time.sleep(e.extra.get("retry_ms", 1000) / 1000 + 0.2)
    s.unlock(PASSWORD, wait=60)


class Rig:
    def __init__(self, pico, op: str) -> None:
        self.pico = pico
        self.op = op
        self.rnd = random.Random("%d-%s" % (SEED, op))
        self.hotp_key = self.rnd.randbytes(20)
        self.hotp_used: list[int] = []  # counters whose codes the host has seen
        self.password_set = False
        self.cutting = False

    def session(self) -> Session:
        # A cheap password (1,000 rounds): the host's floor lowered to match.
        return Session(SerialTransport(self.pico.port, timeout=10), min_iterations=1000)

    def call(self, op: str, **args) -> dict:
        with ProtocolClient(self.pico.port, timeout=10) as c:
            return c.call(op, **args)

    def unlocked(self, s: Session) -> Session:
        if self.password_set:
            unlock(s)
        return s

    # -- the state before each cut ------------------------------------------
    def prepare(self) -> None:
        """Bring the token to the op's starting state (with full power)."""
        if self.op in ("access_set", "access_clear"):  # a cut may have left either
            with ProtocolClient(self.pico.port, timeout=10) as c:
                self.password_set = c.call("info")["access"]
        with self.unlocked(self.session()) as s:
            labels = [a.label for a in s.list_accounts()]
            for lbl in ("keep", "target"):
                if lbl not in labels:
                    s._call(proto.OP_ADD, {"label": lbl, "secret": random_secret()})
            for lbl in labels:
                if lbl in ("renamed", "added"):
                    s.delete(lbl)
            if self.op == "hotp_code" and "hotp" not in labels:
                s._call(
                    proto.OP_ADD,
                    {"label": "hotp", "type": "hotp", "counter": 0, "secret": base64.b32encode(self.hotp_key).decode()},
                )
            want_pw = self.op in ("access_clear", "unlock_wrong")
            if want_pw and not self.password_set:
                s.set_access(PASSWORD, iterations=1000)
                self.password_set = True
            if not want_pw and self.password_set:
                s.clear_access()
                self.password_set = False

    def state(self) -> dict:
        with ProtocolClient(self.pico.port, timeout=10) as c:
            info = c.call("info")
        assert info["store"] == proto.STORE_OK, info
        self.password_set = info["access"]
        st = {"access": info["access"], "time": info.get("time")}
        with self.unlocked(self.session()) as s:
            st["labels"] = sorted(a.label for a in s.list_accounts())
        return st

    # -- the operation ---------------------------------------------------------
    def request(self, client: ProtocolClient, op: str, **args) -> dict | None:
        """The reply, or None once the power has gone (no waiting it out)."""
        if not self.cutting:
            return client.request(op, **args)
        client.ser.write(json.dumps({"v": proto.VERSION, "id": 1, "op": op, **args}).encode() + b"\n")
        buf = b""
        deadline = time.monotonic() + 20
        while self.pico.running and time.monotonic() < deadline:
            buf += client.ser.read(client.ser.in_waiting or 1)
            tag = proto.REPLY_TAG.encode()
            if buf.startswith(tag) and buf.endswith(b"\n"):
                return json.loads(buf[len(tag) :])
        return None

    def send(self, client: ProtocolClient) -> None:
        """Send the op's request (its reply may never come: the power goes)."""
        req = {
            "add": ("add", {"label": "added", "secret": random_secret()}),
            "delete": ("delete", {"label": "target"}),
            "rename": ("rename", {"label": "target", "new_label": "renamed"}),
            "time_set": ("time_set", {"time": T0 + 100_000}),
            "wipe": ("wipe", {}),
        }
        if self.op in req:
            op, args = req[self.op]
            self.request(client, op, **args)
        elif self.op == "hotp_code":
            reply = self.request(client, "code", label="hotp")
            if reply and reply.get("ok"):
                self.hotp_used.append(self.hotp_counter(reply["code"]))
        else:
            raise AssertionError(self.op)

    # The request that writes the flash, for ops the host session drives.
    FINAL = {
        "access_set": ("access_set", None),
        "access_clear": ("access_clear", None),
        "unlock_wrong": ("unlock", "response"),
    }

    def schedule(self, cut) -> None:
        if isinstance(cut, tuple):  # (n-th flash erase/program, instructions into it)
            self.pico.cut_in_flash_op(*cut)
        else:
            self.pico.cut_after_input(cut)

    def run_op(self, cut_after) -> None:
        """The op, through the host session where it needs one; the cut is
        scheduled just before the request that writes."""
        try:
            if self.op in self.FINAL:
                final_op, final_arg = self.FINAL[self.op]
                with self.session() as s:
                    forward = s.transport.call

                    def call(op, args=None, **kw):
                        if (
                            cut_after is not None
                            and op == final_op
                            and (final_arg is None or (args and final_arg in args))
                        ):
                            self.schedule(cut_after)
                            kw["timeout"] = CUT_WAIT  # the reply may never come
                        return forward(op, args, **kw)

                    s.transport.call = call
                    if self.op == "access_set":
                        s.set_access(PASSWORD, iterations=1000)
                    elif self.op == "access_clear":
                        unlock(s)
                        s.clear_access()
                    else:
                        # A wrong answer, as another program sends one (otpfob
                        # itself answers nothing to a token whose proof fails).
                        try:
                            challenge = s._call(proto.OP_UNLOCK)["challenge"]
                            s._call(proto.OP_UNLOCK, {"response": "%064x" % (int(challenge, 16) + 1)})
                        except Exception:
                            pass
            else:
                if cut_after is not None:
                    self.schedule(cut_after)
                self.cutting = cut_after is not None
                with ProtocolClient(self.pico.port, timeout=10) as c:
                    self.send(c)
        except Exception:
            if cut_after is None:
                raise  # an uncut op must work

    def hotp_counter(self, code: str) -> int:
        for n in range(0, 400):
            if expected_hotp(self.hotp_key, n, 6, "sha1")[0] == code:
                return n
        raise AssertionError("HOTP code for no counter under 400")

    # -- after a cut ------------------------------------------------------------------
    def check(self, before: dict) -> str:
        after = self.state()
        old, new = before["labels"], None
        if self.op == "add":
            new = sorted(old + ["added"])
        elif self.op == "delete":
            new = [x for x in old if x != "target"]
        elif self.op == "rename":
            new = sorted([x for x in old if x != "target"] + ["renamed"])
        elif self.op == "wipe":
            new = []
        else:
            new = old
        assert after["labels"] in (old, new), (self.op, before, after)
        if self.op not in ("access_set", "access_clear"):
            assert after["access"] == before["access"], (self.op, before, after)
        if self.password_set:  # the password still opens it: the key is intact
            with self.session() as s:
                unlock(s)
                assert sorted(a.label for a in s.list_accounts()) == after["labels"]
        if self.op == "time_set":
            t = after["time"]
            assert abs(t - (T0 + 100_000)) < 60 or abs(t - before["time"]) < 60, (before, after)
            self.call("time_set", time=T0)
        if self.op == "hotp_code":
            with self.unlocked(self.session()) as s:
                got = s.code("hotp")
            n = self.hotp_counter(got.code)
            # Never backwards: no counter the host has seen comes again.
            assert not self.hotp_used or n > max(self.hotp_used), (n, self.hotp_used)
            self.hotp_used.append(n)
        return "new" if after["labels"] == new and after != before else "old"


@pytest.mark.parametrize("op", OPS)
def test_power_cuts_inside_each_write_keep_the_old_or_the_new_state(make_pico, op):
    # Otpfob frozen into the firmware: a third of the .mpy deploy's boot,
    # and the flash holds only the store and the board file, as on a product.
    # I2C wire time is not charged here: cuts need no bus timing, and the
    # core's busy-wait on the bus would only make each boot slower to emulate.
    pico = make_pico(frozen=True, wire_time=False)
    rig = Rig(pico, op)
    rig.call("time_set", time=T0)
    rig.prepare()
    # Once uncut: how long the op runs, and where its flash erases/programs begin.
    rig.run_op(None)
    span = max(pico.reply_after, 1000)  # request in -> reply out, in instructions
    flash_ops = len(pico.flash_ops)  # erases and programs the op makes
    landed_inside = 0
    outcomes = {"old": 0, "new": 0}
    for k in range(CUTS):
        rig.prepare()
        before = rig.state()
        if k % 2 or not flash_ops:
            at = rig.rnd.randrange(span)
        else:
            at = (rig.rnd.randrange(flash_ops), rig.rnd.randrange(800))
        rig.run_op(at)
        try:
            pico.wait_off(5)
        except TimeoutError:  # the op made fewer erases than the uncut run: cut after it
            pico.power_cut()
        landed_inside += bool(pico.last_off.get("inFlashOp"))
        pico.restart()
        # Booted when the app has drawn its first screen (polling `info` while
        # it boots would make the chip collect its heap over and over).
        pico.wait_for_screen(lambda t: t.strip() != "", 60)
        outcomes[rig.check(before)] += 1
    record_cases("rp2-power-cuts", CUTS)
    record_cases("rp2-power-cuts-in-flash-op", landed_inside)
    assert sum(outcomes.values()) == CUTS
