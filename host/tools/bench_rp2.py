"""`make bench-rp2`: otpfob on the real rp2 MicroPython in the emulated Pico,
measured in emulated time only (rp2040js's cycle clock), so the figures are
the same on any host however loaded.  Writes the "Real rp2 port" section of
docs/benchmarks.md.

The emulated Pico runs stepped: emulated time moves only when this script
moves it (``advance``), button edges are scheduled at emulated instants, and
each protocol request reaches the chip at the instant where it stands.  Every
OLED write is recorded with its emulated instant and the SSD1306 model's RAM
after it; the screens are decoded afterwards, never polled against the wall
clock.

The bridge charges I2C wire time at the bus frequency the firmware set (9 bit
times a byte, plus start and stop), and its USB host answers the device only
when it has data, so latency and idle load are the firmware's, not the
emulator's.  "Fully on the OLED" is the emulated instant of the I2C write
after which the SSD1306 model's RAM, decoded glyph by glyph, shows the
expected text.

    bench_rp2.py              5 rounds, medians and spreads into docs/benchmarks.md
    bench_rp2.py --smoke      1 round, no blank-screen share, no HMAC probe, no goal
                              check, nothing written (make test runs it)
    bench_rp2.py --check      exit 1 when a goal is not met
"""

from __future__ import annotations

import argparse
import base64
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyotp

from otpfob.emu import screen
from otpfob.emu.ds3231 import Clock
from otpfob.emu.rp2.image import deployed_image
from otpfob.emu.rp2.pico import EmulatedPico
from otpfob.emu.rp2.probe import hmac_paths
from otpfob.emu.ssd1306 import WIDTH
from otpfob.emu.testing import ProtocolClient, grouped, screen_code

ROOT = Path(__file__).resolve().parents[2]
T0 = 1_790_000_000
DOC = ROOT / "docs" / "benchmarks.md"
BEGIN = "<!-- bench-rp2: begin -->"
END = "<!-- bench-rp2: end -->"
BOOT_WINDOW = 2.0  # emulated seconds given to a power-on (the .mpy boot takes under 1 s)
LATE = 0.4  # emulated seconds watched after a press or a period boundary
CODE_PAGES = (3, 4, 5)  # the code's 8-row pages on the Pico's 128x64 panel (fob/ui.py)

# key: (what, goal, unit, the larger the better)
GOALS = {
    "period": ("new period, same account: new code fully on the OLED", 8.0, "ms", False),
    "press": ("press released → next account fully on the OLED", 20.0, "ms", False),
    "boot_frozen": ("power-on → first code fully on the OLED, frozen image", 250.0, "ms", False),
    "boot_mpy": ("power-on → first code fully on the OLED, `.mpy` deploy", 500.0, "ms", False),
    "busy_code": ("CPU busy share, code shown and counting down", 3.0, "%", False),
    "i2c_code": ("I2C bytes per second, code shown", 150.0, "B/s", False),
    "free_frozen": ("free heap after boot (`info`), frozen image", 185.0, "KB", True),
}


class OledWatch:
    """Records the emulated time of every OLED write and the RAM after it."""

    def __init__(self, pico: EmulatedPico) -> None:
        self.pico = pico
        self.frames: list[tuple[int, bytes]] = []  # (ns, pixels)
        self._texts: dict[bytes, str] = {}
        addr = int(pico.board.get("DISPLAY_ADDR", 0x3C))

        def hook(a: int, ns: int) -> None:
            if a == addr:
                self.frames.append((ns, bytes(b for row in pico.oled.pixels() for b in row)))

        pico.on_i2c_write = hook

    def text(self, pixels: bytes) -> str:
        if pixels not in self._texts:
            grid = [list(pixels[i : i + WIDTH]) for i in range(0, len(pixels), WIDTH)]
            self._texts[pixels] = screen.decode(grid, ROOT / "firmware")
        return self._texts[pixels]

    def first_after(self, t_ns: int, predicate) -> int | None:
        """Emulated ns of the first write at or after ``t_ns`` whose screen
        satisfies ``predicate(text, ns)``."""
        for ns, px in self.frames:
            if ns >= t_ns and predicate(self.text(px), ns):
                return ns
        return None

    def at(self, t_ns: int) -> bytes:
        """The panel after the last write before ``t_ns``."""
        last = b""
        for ns, px in self.frames:
            if ns >= t_ns:
                break
            last = px
        return last

    def pixels_at(self, t_ns: int) -> bytes:
        """The panel after the write at exactly ``t_ns``."""
        return next(px for ns, px in self.frames if ns == t_ns)

    def last_text(self) -> str:
        return self.text(self.frames[-1][1]) if self.frames else ""

    def clear(self) -> None:
        self.frames.clear()


def code_for(secret: str, t: float) -> str:
    return grouped(pyotp.TOTP(secret).at(int(t)))


def rtc_at(pico: EmulatedPico, ns: int) -> float:
    """The DS3231's time at emulated instant ``ns`` (it counts emulated time)."""
    return pico.clock.now() - (pico.emulated_ns() - ns) / 1e9


def call(pico: EmulatedPico, op: str, **args) -> dict:
    """One protocol request, answered in emulated time (see EmulatedPico.exchange)."""
    with ProtocolClient(pico.port, timeout=600) as c:
        return pico.exchange(lambda: c.call(op, **args))


def busy_share(pico: EmulatedPico, seconds: float) -> tuple[float, float]:
    """(busy %, I2C bytes/s) over ``seconds`` of emulated time."""
    ns0, wait0, b0 = pico.emulated_ns(), pico.wait_ns, pico.i2c_bytes
    pico.advance(seconds, timeout=600)
    dns = pico.emulated_ns() - ns0
    busy = 100.0 * (dns - (pico.wait_ns - wait0)) / dns
    return busy, (pico.i2c_bytes - b0) / (dns / 1e9)


def hmac_cycles(port: str) -> dict[str, dict]:
    """Cycles per code of each HMAC path (125 MHz), and the chosen one."""
    return {
        alg: {"chosen": chosen, **{k: v * 125 for k, v in us.items()}}
        for alg, (chosen, us) in hmac_paths(port)[0].items()
    }


def provision_round_trip(pico: EmulatedPico, secret: str) -> float:
    """Emulated ms from the `add` request reaching the chip to the end of its reply."""
    done: list[tuple[int, int]] = []

    def on_usb(data: bytes, ns: int) -> None:
        if b"\n" in data:
            done.append((ns, pico.last_input_ns))

    pico.on_usb = on_usb
    call(pico, "add", label="bench2", secret=secret)
    pico.on_usb = None
    call(pico, "delete", label="bench2")
    return (done[-1][0] - done[-1][1]) / 1e6 if done else float("nan")


def power_on(pico: EmulatedPico, watch: OledWatch, secrets: dict[str, str]) -> tuple[float, int]:
    """Cut the power, power on; (ms to the first right code on the OLED, free heap)."""
    pico.power_cut()
    watch.clear()
    t_on = pico.emulated_ns()
    pico.restart()
    pico.advance(BOOT_WINDOW, timeout=900)

    def right_code(text: str, ns: int) -> bool:
        return any(
            label in text and screen_code(text) in {code_for(s, rtc_at(pico, ns) + d) for d in (-1, 0)}
            for label, s in secrets.items()
        )

    t = watch.first_after(t_on, right_code)
    free = call(pico, "info")["free"]
    return ((t - t_on) / 1e6 if t is not None else float("nan")), free


def shown(watch: OledWatch, secrets: dict[str, str]) -> str:
    text = watch.last_text()
    return next((label for label in secrets if label in text), "")


def press_latency(pico: EmulatedPico, watch: OledWatch, secrets: dict[str, str]) -> float:
    """A 100 ms press: ms from the release to the next account's right code."""
    labels = list(secrets)
    target = labels[(labels.index(shown(watch, secrets)) + 1) % len(labels)]
    t_press = pico.emulated_ns() + 5_000_000
    t_release = t_press + 100_000_000
    pico._pin(0, t_press)
    pico._pin(1, t_release)
    pico.advance((t_release - pico.emulated_ns()) / 1e9 + LATE)
    t = watch.first_after(
        t_release,
        lambda s, ns: (
            target in s and screen_code(s) in {code_for(secrets[target], rtc_at(pico, ns) + d) for d in (-1, 0)}
        ),
    )
    return (t - t_release) / 1e6 if t is not None else float("nan")


def wire_floor_ms(old: bytes, new: bytes) -> float:
    """The least wire time that can change ``old``'s code into ``new``'s:
    the bytes that differ in the code's pages (3-5 of a 128x64 panel), a
    column of a page each, at 400 kHz (9 bit times a byte); no addressing
    or commands counted."""
    total = 0
    for page in CODE_PAGES:
        total += sum(
            1
            for x in range(WIDTH)
            if any(old[(8 * page + r) * WIDTH + x] != new[(8 * page + r) * WIDTH + x] for r in range(8))
        )
    return total * 9 / 400e3 * 1e3


def period_latency(pico: EmulatedPico, watch: OledWatch, secrets: dict[str, str]) -> tuple[float, float]:
    """ms from the next 30 s boundary of the RTC to the new code of the
    account shown, and the wire-time floor of that change (wire_floor_ms)."""
    now = pico.clock.now()
    boundary = (int(now) // 30 + 1) * 30
    if boundary - now > 20:  # the screen blanks 30 s after the last press: press once more
        pico._pin(0, pico.emulated_ns() + 5_000_000)
        pico._pin(1, pico.emulated_ns() + 105_000_000)
        pico.advance(0.5)
        now = pico.clock.now()
        boundary = (int(now) // 30 + 1) * 30
    label = shown(watch, secrets)
    t_b = pico.emulated_ns() + int((boundary - now) * 1e9)
    pico.advance((t_b - pico.emulated_ns()) / 1e9 + LATE, timeout=600)
    t = watch.first_after(t_b, lambda s, ns: label in s and screen_code(s) == code_for(secrets[label], boundary))
    if t is None:
        return float("nan"), float("nan")
    return (t - t_b) / 1e6, wire_floor_ms(watch.at(t_b), watch.pixels_at(t))


def run(image: Path, rounds: int, seed: int, full: bool = True, blank: bool = True) -> dict:
    """``rounds`` power-ons (and, ``full``, a press, a period boundary and an
    `add` after each), then the busy share and I2C load with a code shown
    (and, ``blank``, with the screen blank); emulated time only."""
    rng = random.Random(seed)
    secrets = {label: base64.b32encode(rng.randbytes(20)).decode() for label in ("bench", "other")}
    res: dict = {"boot": [], "free": [], "press": [], "period": [], "period_floor": [], "provision": []}
    with tempfile.TemporaryDirectory() as tmp:
        # The RTC at T0 exactly when the chip first powers on (no wall time in it).
        clock = Clock(T0, source=lambda: 0.0)
        pico = EmulatedPico(Path(tmp) / "flash", image=image, clock=clock, rtc_set=True, stepped=True)
        watch = OledWatch(pico)
        try:
            pico.start()
            pico.advance(BOOT_WINDOW, timeout=900)
            call(pico, "time_set", time=T0)
            for label, secret in secrets.items():
                call(pico, "add", label=label, issuer="Pico", secret=secret)
            for _ in range(rounds):
                boot, free = power_on(pico, watch, secrets)
                res["boot"].append(boot)
                res["free"].append(free)
                if not full:
                    continue
                res["press"].append(press_latency(pico, watch, secrets))
                period, floor = period_latency(pico, watch, secrets)
                res["period"].append(period)
                res["period_floor"].append(floor)
                res["provision"].append(provision_round_trip(pico, base64.b32encode(rng.randbytes(20)).decode()))
            if full:
                # Keep the code up while it is measured: a press, then 29 s
                # (the screen blanks 30 s after it), so one period boundary,
                # as in any 30 s of a code shown, and its new code's frame.
                pico._pin(0, pico.emulated_ns() + 5_000_000)
                pico._pin(1, pico.emulated_ns() + 105_000_000)
                pico.advance(0.5)
                res["busy_code"], res["i2c_code"] = busy_share(pico, 29)
                if blank:
                    pico.advance(5, timeout=600)  # the screen blanks 30 s after the press
                    res["busy_blank"], res["i2c_blank"] = busy_share(pico, 10)
        finally:
            pico.on_i2c_write = None
            pico.stop()
    return res


def hmac_run(image: Path) -> dict:
    """Cycles per code of each HMAC path; timed on the chip, so run unstepped."""
    with tempfile.TemporaryDirectory() as tmp:
        with EmulatedPico(Path(tmp) / "flash", image=image, rtc_set=True, paced=False) as pico:
            pico.wait_ready(120)
            return hmac_cycles(pico.port)


def median(xs: list[float]) -> float:
    xs = sorted(xs)
    return xs[len(xs) // 2]


def figure(xs) -> tuple[float, str]:
    """(median, "median (min–max)") of a list; a single value as it is."""
    if not isinstance(xs, list):
        return xs, "%.1f" % xs
    if len(xs) == 1:
        return xs[0], "%.1f" % xs[0]
    return median(xs), "%.1f (%.1f–%.1f)" % (median(xs), min(xs), max(xs))


def measure(rounds: int, seed: int, smoke: bool = False) -> dict:
    mpy = run(deployed_image(), rounds, seed, blank=not smoke)  # blank: 30 s more of a code shown
    res = {k: v for k, v in mpy.items() if k not in ("boot", "free")}
    res["boot_mpy"] = mpy["boot"]
    res["free_mpy"] = [f / 1024 for f in mpy["free"]]
    from otpfob.deploy import IMAGE

    if IMAGE.is_file():
        frozen = run(deployed_image(frozen=True), rounds, seed, full=False)
        res["boot_frozen"] = frozen["boot"]
        res["free_frozen"] = [f / 1024 for f in frozen["free"]]
    if not smoke:
        res["hmac"] = hmac_run(deployed_image())
    return res


def missed(res: dict) -> list[str]:
    out = []
    for key, (what, goal, unit, larger) in GOALS.items():
        if key not in res:
            out.append("%s: not measured" % what)
            continue
        v, _ = figure(res[key])
        if not (v >= goal if larger else v <= goal):  # NaN misses too
            out.append("%s: %.1f %s (goal %s %g %s)" % (what, v, unit, "≥" if larger else "≤", goal, unit))
    return out


def commit() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        return "unknown"
    return head + (" + working tree" if dirty else "") if head else "unknown"


def table(res: dict, rounds: int) -> str:
    rows = [
        "Commit %s; median of %d rounds (min–max), emulated time." % (commit(), rounds),
        "",
        "| what | measured | goal | met |",
        "| --- | --- | --- | --- |",
    ]
    for key, (what, goal, unit, larger) in GOALS.items():
        if key not in res:
            rows.append("| %s | not measured | %s %g %s | **no** |" % (what, "≥" if larger else "≤", goal, unit))
            continue
        v, text = figure(res[key])
        ok = v >= goal if larger else v <= goal
        rows.append(
            "| %s | %s %s | %s %g %s | %s |"
            % (what, text, unit, "≥" if larger else "≤", goal, unit, "yes" if ok else "**no**")
        )
    rows.append(
        "| floor of the new period: the changed digits' bytes at 400 kHz (data only) | %s ms | | |"
        % figure(res["period_floor"])[1]
    )
    rows.append("| `otpfob provision`'s `add`: request in → reply out | %s ms | | |" % figure(res["provision"])[1])
    if "busy_blank" in res:
        rows.append("| CPU busy share, screen blank | %.1f %% | | |" % res["busy_blank"])
        rows.append("| I2C bytes per second, screen blank | %.1f B/s | | |" % res["i2c_blank"])
    rows.append("| free heap after boot (`info`), `.mpy` deploy | %s KB | | |" % figure(res["free_mpy"])[1])
    if "hmac" in res:
        rows += [
            "",
            "Cycles per code (125 MHz; one 6-digit TOTP, key prepared; `*` = chosen):",
            "",
            "| algorithm | fast (viper) | c (hashlib) | py |",
            "| --- | --- | --- | --- |",
        ]
        for alg, d in res["hmac"].items():
            cells = [
                ("%d%s" % (d[p], " *" if d["chosen"] == p else "")) if p in d else "—" for p in ("fast", "c", "py")
            ]
            rows.append("| %s | %s |" % (alg, " | ".join(cells)))
    return "\n".join(rows)


def write_doc(
    text: str, begin: str = BEGIN, end: str = END, heading: str = "Real rp2 port (emulated Pico, `make bench-rp2`)"
) -> None:
    """Put ``text`` between the ``begin`` and ``end`` markers of
    docs/benchmarks.md, or at its end under ``heading`` the first time."""
    doc = DOC.read_text()
    section = "%s\n%s\n%s" % (begin, text, end)
    if begin in doc:
        doc = re.sub(re.escape(begin) + ".*?" + re.escape(end), lambda _: section, doc, flags=re.S)
    else:
        doc += "\n## %s\n\n%s\n" % (heading, section)
    DOC.write_text(doc)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", "--rounds", type=int, default=5, help="rounds of each latency (median and spread shown)")
    ap.add_argument("--seed", type=int, default=1, help="seed of the accounts' secrets (a run is repeatable)")
    ap.add_argument(
        "--smoke", action="store_true", help="one round, no blank screen, no HMAC probe, no goal check, nothing written"
    )
    ap.add_argument("--check", action="store_true", help="exit 1 when a goal is not met")
    ap.add_argument("--no-write", action="store_true", help="print only; leave docs/ alone")
    args = ap.parse_args(argv)
    rounds = 1 if args.smoke else args.rounds
    started = time.monotonic()
    res = measure(rounds, args.seed, smoke=args.smoke)
    text = table(res, rounds)
    print(text)
    print("(%.0f s wall)" % (time.monotonic() - started))
    if not (args.no_write or args.smoke):
        write_doc(text)
        print("written to", DOC.relative_to(ROOT))
    if args.check and not args.smoke:
        for line in missed(res):
            print("goal not met:", line, file=sys.stderr)
        return 1 if missed(res) else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
