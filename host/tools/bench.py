"""Deterministic OTP benchmark on the emulated Cortex-M0 and Cortex-M4 (`make bench`).

QEMU runs MicroPython's qemu port with `-icount shift=0`: one instruction per
virtual nanosecond, read back through a hardware timer, so the figures are the
same on any host however loaded.  The M0 (nRF51) stands for the RP2040, the
M4 (mps2-an386) for the RP2350's Arm cores.  For each HMAC path (fast, c,
py), algorithm and key length it measures, from source and from `.mpy`
(mpy-cross -march=armv6m on the M0, armv7emsp on the M4):

- instructions and heap of one TOTP code with the account loaded,
- instructions and heap of the first code, key setup included,
- instructions and heap of importing the core.

Two references run in the same session: a plain HMAC-SHA256 TOTP written
around the C hashlib as a user would, and the pure-Python fallback (path py).
Every code is checked against the host's hmac.  Writes each CPU's section
of docs/benchmarks.md (between its markers; the rest of the file is kept).

Exits 1 if a code is wrong or the fast path breaks the budget of issue 5
(SHA-1 <= 75,000 and SHA-256 <= 100,000 instructions, <= 256 heap bytes per
code).  It asserts no wall-clock timing.

    .venv/bin/python host/tools/bench.py [--out docs/benchmarks.md] [--quick] [--cpu m0|m4]
"""

from __future__ import annotations

import argparse
import hmac
import sys
import tempfile
from pathlib import Path

from otpfob.devtools.qemu import M0, M4, Machine, QemuBoard, QemuError, compile_mpy, core_files

REPO = Path(__file__).resolve().parents[2]

ALGS = ("sha1", "sha256", "sha512")
KEYLENS = (20, 40, 64)
DIGITS = 6
PERIOD = 30
T0 = 1_750_000_000  # a 2025 time: already a big int on a 31-bit port
BUDGET = {"sha1": 75_000, "sha256": 100_000}
HEAP_BUDGET = 256

# On the board.  Each measurement: collect, stop the GC, clear the timer,
# then the mem_free and TIMER0 differences around one call.  The same
# harness around a no-op gives the overhead that is subtracted.
_HARNESS = r"""
import gc
def _m(fn, x, y):
    gc.collect()
    gc.disable()
    _tclear()
    f0 = gc.mem_free()
    t0 = _ticks()
    try:
        r = fn(x, y)
    except MemoryError:
        # More garbage than free heap (the slow path): run it again with the
        # GC on; the heap figure becomes "more than f0" (negative).
        gc.enable()
        gc.collect()
        _tclear()
        t0 = _ticks()
        r = fn(x, y)
        t1 = _ticks()
        return r, _ins(t1 - t0), -f0
    t1 = _ticks()
    f1 = gc.mem_free()
    gc.enable()
    return r, _ins(t1 - t0), f0 - f1
def _nop(x, y):
    return x
_B = []
for _i in range(3):
    _B.append(_m(_nop, 0, 0))
_BI = min(b[1] for b in _B)
_BH = min(b[2] for b in _B)
def _mm(fn, x, y):
    r, i, h = _m(fn, x, y)
    return r, i - _BI, (h - _BH) if h >= 0 else h
def _imp_fast(x, y):
    import fob.fast
def _imp_otp(x, y):
    global otp
    from fob import otp as o
    otp = o
def _first(key, t):
    return otp.OtpKey(key, _alg).totp(t, %(digits)d, %(period)d)
def _code(k, t):
    return k.totp(t, %(digits)d, %(period)d)
import hashlib
def plain_totp_sha256(key, t, digits=6, period=30):
    # HMAC-SHA256 TOTP written plainly around the C hashlib.
    msg = (t // period).to_bytes(8, "big")
    if len(key) > 64:
        key = hashlib.sha256(key).digest()
    key = key + bytes(64 - len(key))
    ipad = bytes(b ^ 0x36 for b in key)
    opad = bytes(b ^ 0x5C for b in key)
    inner = hashlib.sha256(ipad + msg).digest()
    h = hashlib.sha256(opad + inner).digest()
    o = h[-1] & 15
    v = ((h[o] & 0x7F) << 24 | h[o + 1] << 16 | h[o + 2] << 8 | h[o + 3]) %% 10 ** digits
    return ("0" * digits + str(v))[-digits:]
def _plain(key, t):
    return plain_totp_sha256(key, t, %(digits)d, %(period)d)
""" % {"digits": DIGITS, "period": PERIOD}


def key_of(n: int) -> bytes:
    return bytes((i * 73 + 41) & 0xFF for i in range(n))


def ref_totp(key: bytes, t: int, alg: str) -> str:
    mac = hmac.new(key, (t // PERIOD).to_bytes(8, "big"), alg).digest()
    o = mac[-1] & 15
    v = int.from_bytes(mac[o : o + 4], "big") & 0x7FFFFFFF
    return str(v % 10**DIGITS).zfill(DIGITS)


def core_form(root: Path, files: list[Path]) -> dict[str, bytes]:
    """{path on the board: contents} for the core's files under `root`."""
    return {f.relative_to(root).as_posix(): f.read_bytes() for f in files}


def parse(out: str):
    # Lines "tag|code|instructions|heap".
    rows = {}
    for ln in out.strip().splitlines():
        tag, code, ins, heap = ln.split("|")
        rows[tag] = (code, int(ins), int(heap))
    return rows


# Per CPU: the board, the mpy-cross -march its .mpy files are made with, and
# the sentence saying what it stands for.
CPUS = {
    "m0": (M0, "armv6m", "QEMU `microbit` (nRF51, Cortex-M0), Thumb-1 native emitter on (as on an RP2040)"),
    "m4": (
        M4,
        "armv7emsp",
        "QEMU `mps2-an386` (Cortex-M4 with its single-precision FPU), Thumb-2 native emitter, .mpy arch"
        " armv7emsp (what MicroPython's RP2350 Arm build loads; the RP2350's Cortex-M33 runs the same"
        " Thumb-2 code, its cycle counts are not modelled)",
    ),
}


def run_form(form: str, files: dict[str, bytes], ncodes: dict[str, int], machine: Machine = M0) -> dict:
    res: dict = {"rows": [], "import": {}, "plain": []}
    with QemuBoard(icount=True, machine=machine) as b:
        for name, data in files.items():
            b.put(name, data)
        info = b.exec("import sys\nprint(sys.implementation._machine, sys.version)").strip()
        res["board"] = info
        b.exec(_HARNESS)
        # Imports: the package first, then the fast core alone, then the rest.
        b.exec("import fob")
        out = b.exec(
            "r = _mm(_imp_fast, 0, 0)\nprint('fast|-|%d|%d' % r[1:])\n"
            "r = _mm(_imp_otp, 0, 0)\nprint('otp|-|%d|%d' % r[1:])\n"
            "otp.load_fast()\nprint(sorted(otp.PATHS))"
        )
        lines = out.strip().splitlines()
        res["paths"] = lines[-1]
        res["import"] = parse("\n".join(lines[:-1]))
        for path in ("fast", "c", "py"):
            for alg in ALGS:
                avail = b.exec(f"print(({path!r} in otp.PATHS) and ({alg!r} in otp.PATHS[{path!r}]))").strip()
                if avail != "True":
                    continue
                for kl in KEYLENS:
                    n = ncodes[path]
                    code = [
                        f"otp.use_path({path!r})",
                        f"_alg = {alg!r}",
                        f"_key = {key_of(kl)!r}",
                        f"r = _mm(_first, _key, {T0})",
                        "print('first|%s|%d|%d' % r)",
                        f"_k = otp.OtpKey(_key, {alg!r})",
                        f"assert _k.path == {path!r}, _k.path",
                        f"for j in range({n}):",
                        f"    r = _mm(_code, _k, {T0} + {PERIOD} * (j + 1))",
                        "    print('c%d|%s|%d|%d' % ((j,) + r))",
                        "otp.use_path(None)",
                    ]
                    rows = parse(b.exec("\n".join(code)))
                    res["rows"].append((path, alg, kl, rows))
        for kl in KEYLENS:
            out = b.exec(
                f"_key = {key_of(kl)!r}\n"
                "for j in range(4):\n"
                f"    r = _mm(_plain, _key, {T0} + {PERIOD} * j)\n"
                "    print('c%d|%s|%d|%d' % ((j,) + r))\n"
            )
            res["plain"].append((kl, parse(out)))
    return res


def summarize(form: str, res: dict, errors: list[str]) -> list[dict]:
    out = []
    for path, alg, kl, rows in res["rows"]:
        first = rows.pop("first")
        if first[0] != ref_totp(key_of(kl), T0, alg):
            errors.append(f"{form} {path} {alg} key {kl}: first code is wrong")
        per = []
        for tag, (code, ins, heap) in sorted(rows.items()):
            j = int(tag[1:])
            if code != ref_totp(key_of(kl), T0 + PERIOD * (j + 1), alg):
                errors.append(f"{form} {path} {alg} key {kl}: code {j} is wrong")
            per.append((ins, heap))
        out.append(_row(form, path, alg, kl, per, first))
    for kl, rows in res["plain"]:
        per = []
        for tag, (code, ins, heap) in sorted(rows.items()):
            j = int(tag[1:])
            if code != ref_totp(key_of(kl), T0 + PERIOD * j, "sha256"):
                errors.append(f"{form} plain reference key {kl}: code is wrong")
            per.append((ins, heap))
        # The plain reference has no separate key setup: every code is a first code.
        out.append(_row(form, "plain C ref", "sha256", kl, per, (None, per[0][0], per[0][1])))
    return out


def _row(form, path, alg, kl, per, first):
    ins = [p[0] for p in per]
    heap = [p[1] for p in per]
    return {
        "form": form,
        "path": path,
        "alg": alg,
        "key": kl,
        "ins": max(ins),
        "ins_min": min(ins),
        "first": first[1],
        "first_heap": first[2],
        "heap": _heap_mean(heap),
        "heap_peak": _heap_peak(heap),
        "n": len(per),
    }


def _heap_mean(heap):
    # A negative figure means "more than -h bytes": the code ran out of heap
    # with the GC stopped, so the GC had to run.
    if any(h < 0 for h in heap):
        return min(heap)
    return sum(heap) // len(heap)


def _heap_peak(heap):
    return min(heap) if any(h < 0 for h in heap) else max(heap)


def check_budget(rows: list[dict], errors: list[str]) -> None:
    for r in rows:
        if r["path"] != "fast" or r["alg"] not in BUDGET:
            continue
        if r["ins"] > BUDGET[r["alg"]]:
            errors.append(
                f"{r['form']} fast {r['alg']} key {r['key']}: {r['ins']} instructions per code > {BUDGET[r['alg']]}"
            )
        if r["heap_peak"] < 0 or r["heap_peak"] > HEAP_BUDGET:
            errors.append(
                f"{r['form']} fast {r['alg']} key {r['key']}: {r['heap_peak']} heap bytes per code > {HEAP_BUDGET}"
            )


def fmt(n) -> str:
    if n is None:
        return "-"
    return f"> {-n:,} (GC ran)" if n < 0 else f"{n:,}"


def table(rows: list[dict]) -> str:
    head = (
        "| form | path | algorithm | key bytes | instructions / code | first code (key setup) "
        "| heap B / code (mean) | heap B / code (peak) | heap B first code |\n"
        "|---|---|---|---:|---:|---:|---:|---:|---:|\n"
    )
    body = "".join(
        f"| {r['form']} | {r['path']} | {r['alg']} | {r['key']} | {fmt(r['ins'])} | {fmt(r['first'])} "
        f"| {fmt(r['heap'])} | {fmt(r['heap_peak'])} | {fmt(r['first_heap'])} |\n"
        for r in rows
    )
    return head + body


def import_table(results: dict) -> str:
    s = "| form | import | instructions | heap bytes |\n|---|---|---:|---:|\n"
    for form, res in results.items():
        for tag, what in (
            ("fast", "fob.fast (viper engines)"),
            ("otp", "fob.otp (fob.fast already loaded; fob.sha is loaded by the py path only)"),
        ):
            _, ins, heap = res["import"][tag]
            s += f"| {form} | {what} | {fmt(ins)} | {fmt(heap)} |\n"
    return s


def bench_cpu(cpu: str, quick: bool, errors: list[str]) -> str | None:
    """Measure on one CPU; its doc section, or None when the board did not run."""
    machine, march, what = CPUS[cpu]
    ncodes = {"fast": 8, "c": 8, "py": 2}
    forms = {}
    with tempfile.TemporaryDirectory() as tmp:
        if not quick:
            forms["mpy"] = core_form(Path(tmp), compile_mpy(REPO / "firmware", core_files(), Path(tmp), march=march))
        forms["source"] = core_form(REPO / "firmware", core_files())
        results = {}
        for form, files in forms.items():
            print(f"bench: {form} on the emulated {machine.name} ...", file=sys.stderr, flush=True)
            try:
                results[form] = run_form(form, files, ncodes, machine)
            except QemuError as e:
                print(f"bench: {e}", file=sys.stderr)
                return None

    rows = []
    for form, res in results.items():
        rows += summarize(form, res, errors)
    order = {"fast": 0, "c": 1, "py": 2, "plain C ref": 3}
    rows.sort(key=lambda r: (ALGS.index(r["alg"]), r["key"], order[r["path"]], r["form"]))
    before = len(errors)
    check_budget(rows, errors)
    errors[before:] = [f"{machine.name}: {e}" for e in errors[before:]]

    board = next(iter(results.values()))["board"]
    first = cpu == "m0"  # the M0's section opens the document
    h1, h2 = ("# ", "## ") if first else ("## ", "### ")
    return (
        f"{h1}{'Benchmarks: one' if first else 'One'} TOTP code on the emulated {machine.name}\n\n"
        f"Made by `make bench` (`.venv/bin/python host/tools/bench.py --cpu {cpu}`). {what}; "
        "with `-icount shift=0` QEMU runs one instruction per virtual "
        "nanosecond, and the counts are read from a hardware timer, so they are the same on any host. "
        f"Board: `{board}`, `hashlib` with sha256 only, 31-bit small ints.\n\n"
        f"Each code: `OtpKey.totp(t, {DIGITS}, {PERIOD})` at t = {T0:,} + {PERIOD}*j, a big int "
        "on this board, checked against the host's `hmac`. *instructions / code* is the most "
        "over the codes measured with the account already loaded (8 codes; 2 for the slow "
        "py path); *first code* includes `OtpKey(key, algorithm)` (the key setup). Heap is "
        "the `gc.mem_free()` difference with `gc.disable()`; *mean* and *peak* over the same "
        "codes; *> N (GC ran)* means the code churned more than the N bytes of free heap, so "
        "it was measured again with the GC on (its instructions then include the collections). "
        "The harness overhead (an empty call measured the same way) is subtracted. "
        f"*form*: `mpy` = the core imported from `.mpy` files made by `mpy-cross -march={march}`; "
        "`source` = imported from `.py`.\n\n"
        "Paths: **fast** = `fob.fast` (viper SHA engines, HMAC states kept per key); "
        "**c** = HMAC around the C `hashlib` (sha256 only here); **py** = `fob.sha`, the "
        "portable pure-Python fallback (reference); **plain C ref** = an HMAC-SHA256 TOTP "
        "written plainly around the C `hashlib`, as a user would (reference; no key setup to "
        "separate, so its first code is just its first code).\n\n"
        f"Budget (issue 5), fast path: SHA-1 <= {BUDGET['sha1']:,} and SHA-256 <= "
        f"{BUDGET['sha256']:,} instructions, <= {HEAP_BUDGET} heap bytes per code. "
        "`make bench` exits non-zero if a code is wrong or a budget is exceeded.\n\n"
        f"{h2}Per code\n\n" + table(rows) + f"\n{h2}Import\n\n" + import_table(results)
    )


def markers(cpu: str) -> tuple[str, str]:
    """The comments around a CPU's section of the doc, so a run replaces only its own."""
    return f"<!-- bench.py --cpu {cpu} -->", f"<!-- end bench.py --cpu {cpu} -->"


def write_section(doc: Path, cpu: str, text: str) -> None:
    begin, end = markers(cpu)
    block = f"{begin}\n{text.rstrip()}\n{end}"
    old = doc.read_text() if doc.exists() else ""
    if begin in old and end in old:
        new = old[: old.index(begin)] + block + old[old.index(end) + len(end) :]
    elif cpu == "m0":
        new = block + "\n\n" + old
    else:  # after the M0's section
        m0_end = markers("m0")[1]
        at = old.index(m0_end) + len(m0_end) if m0_end in old else len(old)
        new = old[:at].rstrip("\n") + "\n\n" + block + old[at:]
    doc.write_text(new)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=str(REPO / "docs" / "benchmarks.md"))
    ap.add_argument("--quick", action="store_true", help="source form only, fewer codes; no doc written")
    ap.add_argument("--cpu", choices=sorted(CPUS), action="append", help="the CPU to measure (default: all)")
    args = ap.parse_args()

    errors: list[str] = []
    texts = {}
    for cpu in args.cpu or sorted(CPUS):
        text = bench_cpu(cpu, args.quick, errors)
        if text is None:
            return 2
        print(text)
        texts[cpu] = text
    if errors:
        print("\n".join("bench: FAIL " + e for e in errors), file=sys.stderr)
    elif not args.quick:
        for cpu, text in texts.items():
            write_section(Path(args.out), cpu, text)
        print(
            f"bench: wrote {Path(args.out).relative_to(REPO) if Path(args.out).is_relative_to(REPO) else args.out}",
            file=sys.stderr,
        )
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
