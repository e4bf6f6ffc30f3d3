# Runs in MicroPython (the Unix port), in an empty folder: the largest
# single block of heap each request needs on a full store (100 accounts of
# the largest kind), found by cutting the free heap into holes of at most
# B bytes (live separators between them) and searching for the smallest B
# at which the request still gets its whole, correct reply.
#
#   micropython mpy_heap_probe.py [ops...]   -> one JSON line per op
import gc
import json
import os
import sys

from fob import proto, storage
from fob.clock import Clock
from fob.server import Server


class RTC:
    t = 1795000000
    lost = False

    def read(self):
        return self.t, self.lost

    def set_unix(self, t):
        self.t = t


N = proto.MAX_ACCOUNTS
LABEL = "é" * (proto.MAX_LABEL // 2)


def label(i):
    # 32 UTF-8 bytes, multi-byte, unique: "é"*14 + 4 more bytes
    return LABEL[:14] + "%04d" % i


for name in (storage.FILE, storage.FILE + ".new"):
    try:
        os.remove(name)
    except OSError:
        pass
srv = Server(storage.Store(), Clock(RTC(), ticks=lambda: 0), board="probe")
for i in range(N - 1):
    srv.store.add(label(i), LABEL, bytes(range(proto.MAX_KEY)), "sha512", 10, 30)
with open(storage.FILE, "rb") as f:
    NINETY_NINE = f.read()
srv.store.add(label(N - 1), LABEL, bytes(range(proto.MAX_KEY)), "sha512", 10, 30)
with open(storage.FILE, "rb") as f:
    FULL = f.read()
KEY = "ab" * proto.MAX_KEY

REQS = {
    "info": ('{"v":2,"id":1,"op":"info"}', FULL, None),
    "list": ('{"v":2,"id":1,"op":"list"}', FULL, N),
    "list25": ('{"v":2,"id":1,"op":"list","start":75,"limit":25}', FULL, 25),
    "code": ('{"v":2,"id":1,"op":"code","label":"%s","issuer":"%s"}' % (label(N - 1), LABEL), FULL, None),
    "delete": ('{"v":2,"id":1,"op":"delete","label":"%s","issuer":"%s"}' % (label(0), LABEL), FULL, None),
    "rename": (
        '{"v":2,"id":1,"op":"rename","label":"%s","issuer":"%s","new":"%s","new_issuer":"%s"}'
        % (label(3), LABEL, label(N), LABEL),
        FULL,
        None,
    ),
    "add": (
        '{"v":2,"id":1,"op":"add","label":"%s","issuer":"%s","key":"%s","algorithm":"sha512",'
        '"digits":10}' % (label(N - 1), LABEL, KEY),
        NINETY_NINE,
        None,
    ),
}

pieces = [None] * 256  # preallocated: the reply's pieces, kept, not joined
count = [0]


def sink(p):
    pieces[count[0]] = p
    count[0] += 1


def attempt(op, hole, whole):
    line, state, n_acc = REQS[op]
    line = line.encode()
    with open(storage.FILE, "wb") as f:
        f.write(state)
    srv.store.load()
    for i in range(len(pieces)):
        pieces[i] = None
    count[0] = 0
    gc.collect()
    # Fill the free heap with blocks of `hole` bytes, then free every other
    # one: the live ones between keep the freed ones from joining up.
    n = gc.mem_free() // hole + 8
    blocks = [None] * n
    try:
        for i in range(n):
            blocks[i] = bytearray(hole)
    except MemoryError:
        pass
    for i in range(0, n, 2):
        blocks[i] = None
    gc.collect()
    try:
        if whole:
            out = srv.handle_line(line)
            sink(out)
        else:
            srv.respond(line, sink)
        err = None
    except MemoryError:
        err = "oom"
    blocks = None
    gc.collect()
    if err:
        return False
    try:
        r = json.loads(b"".join(pieces[: count[0]])[len(proto.REPLY_TAG) :])
    except Exception:
        return False
    if not r.get("ok"):
        return False
    if n_acc is not None and len(r["accounts"]) != n_acc:
        return False
    return True


def smallest(op, whole):
    lo, hi = 256, 16384  # lists of holes for smaller ones would fragment the heap themselves
    if not attempt(op, hi, whole):
        return None  # more than 16 KB, or more than the heap has
    while hi - lo > 16:
        mid = (lo + hi) // 2
        if attempt(op, mid, whole):
            hi = mid
        else:
            lo = mid
    return hi


ops = sys.argv[1:] or ["info", "list", "list25", "code", "delete", "rename", "add"]
for op in ops:
    whole = op.endswith(":whole")
    name = op.split(":")[0]
    print(json.dumps({"op": op, "largest": smallest(name, whole)}))
