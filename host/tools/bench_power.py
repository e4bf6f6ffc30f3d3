"""`make bench-power`: otpfob on battery, on the emulated Pico, in emulated
time only.  Writes the "Power on battery" figures of docs/benchmarks.md.

The bridge accounts emulated time per power state (instructions run at
clk_sys, WFI/WFE with the clocks on, XOSC dormant) and the SSD1306 model
the time its panel is lit and its lit pixels; `otpfob.emu.battery.CURRENTS`
turns those into charge with the documented currents (sources in
docs/benchmarks.md).  The Pico runs stepped: emulated time moves only when
this script moves it, button edges and the USB cable are scheduled at
emulated instants, every OLED write is recorded and the screens are decoded
afterwards.

A modelled day on battery is 20 looks (a press wakes the token, the code is
read, the screen blanks, the token sleeps) and one HOTP code (a press, a
press to the HOTP account, a long press), the rest of the day asleep.
Each kind of look is measured on the chip (its charge and how long it
lasts); the day is their sum.  The baseline is the same firmware kept
awake, as a board without power data keeps it (today's token: it never
sleeps and only blanks its screen): the same looks, and the rest of the
day awake with the screen blank.

    bench_power.py              3 looks of each kind, into docs/benchmarks.md
    bench_power.py --check      exit 1 when a goal is not met
    bench_power.py --no-write   print only
"""

from __future__ import annotations

import argparse
import base64
import importlib.util
import random
import sys
import tempfile
import time
from pathlib import Path

import pyotp

from otpfob.emu.battery import CURRENTS
from otpfob.emu.ds3231 import Clock
from otpfob.emu.rp2.image import deployed_image
from otpfob.emu.rp2.pico import EmulatedPico
from otpfob.emu.testing import grouped, screen_code


def _bench_rp2():
    """bench_rp2.py beside this script: its OLED recorder and helpers."""
    spec = importlib.util.spec_from_file_location("bench_rp2", Path(__file__).with_name("bench_rp2.py"))
    if spec is None or spec.loader is None:
        raise ImportError("bench_rp2.py is missing beside bench_power.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_rp2 = _bench_rp2()
BOOT_WINDOW, DOC, ROOT, T0 = _rp2.BOOT_WINDOW, _rp2.DOC, _rp2.ROOT, _rp2.T0
OledWatch, call, code_for, commit, median, rtc_at = (
    _rp2.OledWatch,
    _rp2.call,
    _rp2.code_for,
    _rp2.commit,
    _rp2.median,
    _rp2.rtc_at,
)

BEGIN = "<!-- bench-power: begin -->"
END = "<!-- bench-power: end -->"
DAY_S = 86_400
LOOKS = 20  # looks a day (press, read the code, the screen blanks)
CELL_MAH = 1000
BATTERY_MV = 3900  # a LiPo about half charged (fixed: the figures do not drift with the charge)
PRESS_MS = 100
HOLD_MS = 1200  # a long press (HOTP)
ASLEEP_S = 3600  # between looks (cheap: nothing runs while dormant)

# key: (what, goal, unit)
GOALS = {
    "avg_ma": ("average current, modelled day (20 looks, 1 HOTP code)", 1.5, "mA"),
    # Today's token acts on the release of a press on its blank screen.
    "wake_ms": ("press while dormant (today: blank) → right code fully on the OLED", 80.0, "ms"),
    "sleep_ms": ("screen blanks → dormant", 100.0, "ms"),
    "usb_ms": ("USB plugged in while dormant → `info` answered", 1000.0, "ms"),
}


class Watch:
    """bench_rp2's OledWatch (every OLED write and the panel after it),
    plus the instants the panel went dark (display off)."""

    def __init__(self, pico: EmulatedPico) -> None:
        self.frames = OledWatch(pico)
        self.dark_at: list[int] = []
        record = pico.on_i2c_write
        was = [pico.oled.lit()]

        def hook(a: int, ns: int) -> None:
            if record is not None:
                record(a, ns)
            lit = pico.oled.lit()
            if was[0] and not lit:
                self.dark_at.append(ns)
            was[0] = lit

        pico.on_i2c_write = hook

    def first_after(self, t_ns: int, predicate) -> int | None:
        return self.frames.first_after(t_ns, predicate)


def charge(r0: dict, r1: dict) -> tuple[float, float]:
    """(mC drawn, seconds) between two power_report()s."""
    d = {k: r1[k] - r0[k] for k in r1}
    return CURRENTS.charge_mc(d), d["world_ns"] / 1e9


def events(pico: EmulatedPico, kind: str, after_ns: int) -> list[int]:
    return [e["at_ns"] for e in pico.events() if e["event"] == kind and e["at_ns"] >= after_ns]


def until_dormant(pico: EmulatedPico, limit_s: float = 400) -> None:
    waited = 0.0
    while not pico.dormant:
        if waited > limit_s:
            raise RuntimeError("the token did not go dormant within %d s" % limit_s)
        pico.advance(1.0, timeout=600)
        waited += 1.0


def press_at(pico: EmulatedPico, ms: int) -> int:
    t = pico.emulated_ns() + 5_000_000
    pico._pin(0, t)
    pico._pin(1, t + ms * 1_000_000)
    return t


def look(pico: EmulatedPico, watch: Watch, secret: str, sleeps: bool) -> dict:
    """A press that wakes the token (or the blank screen), its code, then
    the blank (and the sleep): ms to the right code, mC, seconds."""
    r0 = pico.power_report()
    t = press_at(pico, PRESS_MS)
    if sleeps:
        pico.advance(1.0, timeout=600)
        until_dormant(pico)
    else:  # awake: the screen blanks 30 s after the press
        pico.advance(1.0, timeout=600)
        while pico.oled.lit():
            pico.advance(1.0, timeout=600)
    r1 = pico.power_report()
    shown = watch.first_after(
        t, lambda s, ns: screen_code(s) in {code_for(secret, rtc_at(pico, ns) + d) for d in (-1, 0)}
    )
    mc, s = charge(r0, r1)
    res = {"wake_ms": (shown - t) / 1e6 if shown is not None else float("nan"), "mc": mc, "s": s}
    if sleeps:
        dark = [n for n in watch.dark_at if n >= t]
        asleep = events(pico, "dormant", t)
        res["sleep_ms"] = (asleep[0] - dark[-1]) / 1e6 if dark and asleep else float("nan")
    return res


def hotp_look(pico: EmulatedPico, watch: Watch, hotp: pyotp.HOTP, counter: int, sleeps: bool) -> dict:
    """Wake, a press to the HOTP account, a long press: its code (checked
    against pyotp), then the blank (and the sleep): mC and seconds."""
    r0 = pico.power_report()
    press_at(pico, PRESS_MS)
    pico.advance(0.5, timeout=600)
    press_at(pico, PRESS_MS)
    pico.advance(0.5, timeout=600)
    t = press_at(pico, HOLD_MS)
    pico.advance(HOLD_MS / 1000 + 0.5, timeout=600)
    if sleeps:
        until_dormant(pico)
    else:
        while pico.oled.lit():
            pico.advance(1.0, timeout=600)
    r1 = pico.power_report()
    right = grouped(hotp.at(counter))
    shown = watch.first_after(t, lambda s, ns: screen_code(s) == right)
    mc, s = charge(r0, r1)
    return {"hotp_ok": shown is not None, "mc": mc, "s": s}


def usb_plug(pico: EmulatedPico) -> float:
    """USB plugged in while dormant: ms from the plug to the end of the `info` reply."""
    lines: list[int] = []

    def on_usb(data: bytes, ns: int) -> None:
        if b"\n" in data:
            lines.append(ns)

    pico.set_usb(True)
    pico.advance(0.001)
    (t_plug,) = events(pico, "plug", 0)[-1:]
    pico.on_usb = on_usb
    info = call(pico, "info")
    pico.on_usb = None
    if info.get("power") != "usb" or not lines:
        return float("nan")
    return (lines[-1] - t_plug) / 1e6


def day(looks: list[dict], hotp: dict, idle_ma: float) -> dict:
    """The modelled day from the measured looks and the current between them."""
    q_look = median([x["mc"] for x in looks])
    s_look = median([x["s"] for x in looks])
    rest = DAY_S - LOOKS * s_look - hotp["s"]
    q_day = LOOKS * q_look + hotp["mc"] + rest * idle_ma
    avg = q_day / DAY_S
    return {
        "avg_ma": avg,
        "look_mc": q_look,
        "hotp_mc": hotp["mc"],
        "days": CELL_MAH * 3600 / q_day,
        "idle_ma": idle_ma,
    }


def run(image: Path, rounds: int, seed: int, sleeps: bool) -> dict:
    rng = random.Random(seed)
    secret = base64.b32encode(rng.randbytes(20)).decode()
    hotp_secret = base64.b32encode(rng.randbytes(20)).decode()
    counter = rng.randrange(0, 1000)
    with tempfile.TemporaryDirectory() as tmp:
        clock = Clock(T0, source=lambda: 0.0)
        pico = EmulatedPico(Path(tmp) / "flash", image=image, clock=clock, rtc_set=True, stepped=True)
        watch = Watch(pico)
        try:
            pico.start()
            pico.advance(BOOT_WINDOW, timeout=900)
            call(pico, "time_set", time=T0)
            call(pico, "add", label="mail", issuer="Bench", secret=secret)
            call(pico, "add", label="door", issuer="Bench", secret=hotp_secret, type="hotp", counter=counter)
            pico.set_battery_mv(BATTERY_MV)
            if sleeps:
                pico.set_usb(False)  # the cable out: on battery from here
                until_dormant(pico)
            else:  # kept awake: only the screen blanks
                while pico.oled.lit():
                    pico.advance(1.0, timeout=600)
            looks = []
            for _ in range(rounds):
                if sleeps:
                    pico.advance(ASLEEP_S, timeout=600)
                looks.append(look(pico, watch, secret, sleeps))
            hotp = hotp_look(pico, watch, pyotp.HOTP(hotp_secret), counter, sleeps)
            if sleeps:
                idle_ma = CURRENTS.dormant_ma + CURRENTS.oled_off_ma
            else:  # awake, screen blank: measured over a minute
                r0 = pico.power_report()
                pico.advance(60, timeout=900)
                mc, s = charge(r0, pico.power_report())
                idle_ma = mc / s
            res = day(looks, hotp, idle_ma)
            res["wake_ms"] = [x["wake_ms"] for x in looks]
            res["hotp_ok"] = hotp["hotp_ok"]
            if sleeps:
                res["sleep_ms"] = [x["sleep_ms"] for x in looks]
                res["usb_ms"] = usb_plug(pico)
            report = pico.power_report()
            res["states"] = {k: report[k] / 1e9 for k in ("run_ns", "wait_ns", "dormant_ns", "oled_on_ns")}
            res["states"]["world"] = report["world_ns"] / 1e9
        finally:
            pico.on_i2c_write = None
            pico.stop()
    return res


def value(x) -> float:
    return median(x) if isinstance(x, list) else x


def text(x, fmt: str = "%.1f") -> str:
    if isinstance(x, list) and len(x) > 1:
        return (fmt + " (" + fmt + "–" + fmt + ")") % (median(x), min(x), max(x))
    return fmt % value(x)


def missed(res: dict) -> list[str]:
    out = []
    for key, (what, goal, unit) in GOALS.items():
        v = value(res["new"].get(key, float("nan")))
        if not v <= goal:  # NaN misses too
            out.append("%s: %.2f %s (goal ≤ %g %s)" % (what, v, unit, goal, unit))
    if not res["new"]["hotp_ok"] or not res["base"]["hotp_ok"]:
        out.append("the HOTP look did not show pyotp's code")
    return out


def table(res: dict, rounds: int) -> str:
    new, base = res["new"], res["base"]
    rows = [
        "Commit %s; %d looks of each kind (median, min–max), emulated time; VSYS from a LiPo at %.1f V."
        % (commit(), rounds, BATTERY_MV / 1000),
        "",
        "| what | today (never sleeps) | on battery (dormant) | goal | met |",
        "| --- | --- | --- | --- | --- |",
    ]
    for key, (what, goal, unit) in GOALS.items():
        v = value(new.get(key, float("nan")))
        b = text(base[key], "%.2f" if key == "avg_ma" else "%.1f") + " " + unit if key in base else "—"
        rows.append(
            "| %s | %s | %s %s | ≤ %g %s | %s |"
            % (
                what,
                b,
                text(new[key], "%.2f" if key == "avg_ma" else "%.1f"),
                unit,
                goal,
                unit,
                "yes" if v <= goal else "**no**",
            )
        )
    rows += [
        "| charge per look (press → blank, or → dormant) | %.1f mC | %.1f mC | | |" % (base["look_mc"], new["look_mc"]),
        "| charge of the HOTP look | %.1f mC | %.1f mC | | |" % (base["hotp_mc"], new["hotp_mc"]),
        "| current between looks | %.2f mA | %.2f mA | | |" % (base["idle_ma"], new["idle_ma"]),
        "| days on a %d mAh cell | %.1f | %.1f | ≥ 28 | %s |"
        % (CELL_MAH, base["days"], new["days"], "yes" if new["days"] >= 28 else "**no**"),
        "| HOTP code on the OLED equal to pyotp's | %s | %s | | |"
        % ("yes" if base["hotp_ok"] else "**no**", "yes" if new["hotp_ok"] else "**no**"),
    ]
    st = new["states"]
    rows += [
        "",
        "Battery run, emulated seconds per power state: running %.2f s, WFI/WFE %.1f s, dormant %.0f s, "
        "OLED lit %.1f s, of %.0f s." % (st["run_ns"], st["wait_ns"], st["dormant_ns"], st["oled_on_ns"], st["world"]),
    ]
    return "\n".join(rows)


def write_doc(body: str) -> None:
    _rp2.write_doc(body, BEGIN, END, "Power on battery (emulated Pico, `make bench-power`)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", "--rounds", type=int, default=3, help="looks of each kind (median and spread shown)")
    ap.add_argument("--seed", type=int, default=1, help="seed of the accounts' secrets (a run is repeatable)")
    ap.add_argument("--check", action="store_true", help="exit 1 when a goal is not met")
    ap.add_argument("--no-write", action="store_true", help="print only; leave docs/ alone")
    args = ap.parse_args(argv)
    started = time.monotonic()
    image = deployed_image()
    res = {
        "new": run(image, args.rounds, args.seed, sleeps=True),
        "base": run(image, args.rounds, args.seed, sleeps=False),
    }
    body = table(res, args.rounds)
    print(body)
    print("(%.0f s wall)" % (time.monotonic() - started))
    if not args.no_write:
        write_doc(body)
        print("written to", DOC.relative_to(ROOT))
    if args.check:
        for line in missed(res):
            print("goal not met:", line, file=sys.stderr)
        return 1 if missed(res) else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
