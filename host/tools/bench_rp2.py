"""`make bench-rp2`: otpfob on the real rp2 MicroPython in the emulated Pico,
measured in emulated time (rp2040js's cycle clock), so the figures are the
same on any host however loaded.  Writes the "Real rp2 port" section of
docs/benchmarks.md.

The bridge charges I2C wire time at the bus frequency the firmware set (9 bit
times a byte, plus start and stop), and its USB host answers the device only
when it has data, so latency and idle load are the firmware's, not the
emulator's.  "Fully on the OLED" is the emulated instant of the I2C write
after which the SSD1306 model's RAM, decoded glyph by glyph, shows the
expected text.
"""

from __future__ import annotations

import argparse
import base64
import os
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
for p in (ROOT / "host", ROOT / "firmware", ROOT / "tests"):
    sys.path.insert(0, str(p))

import pyotp  # noqa: E402

from otpfob.emu import screen  # noqa: E402
from otpfob.emu.rp2.image import deployed_image  # noqa: E402
from otpfob.emu.rp2.pico import EmulatedPico  # noqa: E402
from otpfob.emu.rp2.probe import hmac_paths  # noqa: E402
from otpfob.emu.testing import ProtocolClient, grouped, screen_code  # noqa: E402

T0 = 1_790_000_000
DOC = ROOT / "docs" / "benchmarks.md"
BEGIN = "<!-- bench-rp2: begin -->"
END = "<!-- bench-rp2: end -->"

GOALS = {
    "period": ("new period, same account: new code fully on the OLED", 12.0, "ms"),
    "press": ("press released → next account fully on the OLED", 26.0, "ms"),
    "boot": ("power-on → first code fully on the OLED", 500.0, "ms"),
    "busy_blank": ("CPU busy share, screen blank", 1.0, "%"),
    "busy_code": ("CPU busy share, code shown and counting down", 4.0, "%"),
    "i2c_code": ("I2C bytes per second, code shown", 300.0, "B/s"),
}


class OledWatch:
    """Records the emulated time of every OLED write and the RAM after it."""

    def __init__(self, pico: EmulatedPico) -> None:
        self.pico = pico
        self.frames: list[tuple[int, int]] = []  # (ns, version)
        self.pixels: dict[int, list[list[int]]] = {}
        addr = int(pico.board.get("DISPLAY_ADDR", 0x3C))

        def hook(a: int, ns: int) -> None:
            if a == addr:
                v = pico.oled.version
                self.frames.append((ns, v))
                self.pixels[v] = pico.oled.pixels()

        pico.on_i2c_write = hook

    def first_after(self, t_ns: int, predicate) -> int | None:
        """Emulated ns of the first write at or after ``t_ns`` whose screen
        satisfies ``predicate(text)``."""
        for ns, v in self.frames:
            if ns >= t_ns and predicate(screen.decode(self.pixels[v], ROOT / "firmware")):
                return ns
        return None

    def clear(self) -> None:
        self.frames.clear()
        self.pixels.clear()


def code_for(secret: str, t: float) -> str:
    return grouped(pyotp.TOTP(secret).at(int(t)))


def busy_share(pico: EmulatedPico, seconds: float) -> tuple[float, float]:
    """(busy %, I2C bytes/s) over ``seconds`` of emulated time."""
    ns0, wait0, b0 = pico.emulated_ns(), pico.wait_ns, pico.i2c_bytes
    pico.advance(seconds)
    dns = pico.emulated_ns() - ns0
    busy = 100.0 * (dns - (pico.wait_ns - wait0)) / dns
    return busy, (pico.i2c_bytes - b0) / (dns / 1e9)


def hmac_cycles(port: str) -> dict[str, dict]:
    """Cycles per code of each HMAC path (125 MHz), and the chosen one."""
    return {alg: {"chosen": chosen, **{k: v * 125 for k, v in us.items()}}
            for alg, (chosen, us) in hmac_paths(port)[0].items()}


def provision_round_trip(pico: EmulatedPico, secret: str) -> float:
    """Emulated ms from the `add` request reaching the chip to the end of its reply."""
    done: list[tuple[int, int]] = []

    def on_usb(data: bytes, ns: int) -> None:
        if b"\n" in data:
            done.append((ns, pico.last_input_ns))

    with ProtocolClient(pico.port) as c:
        pico.on_usb = on_usb
        c.call("add", label="bench2", secret=secret)
        pico.on_usb = None
        c.call("delete", label="bench2")
    return (done[-1][0] - done[-1][1]) / 1e6 if done else float("nan")


def run(n: int) -> dict:
    image = deployed_image()
    secret = base64.b32encode(os.urandom(20)).decode()
    other = base64.b32encode(os.urandom(20)).decode()
    res: dict = {"boot": [], "press": [], "period": [], "provision": []}
    with tempfile.TemporaryDirectory() as tmp:
        pico = EmulatedPico(Path(tmp) / "flash", image=image, rtc_set=True, paced=False)
        watch = OledWatch(pico)
        pico.start()
        pico.wait_ready(60)
        with ProtocolClient(pico.port) as c:
            c.call("time_set", time=T0)
            c.call("add", label="bench", issuer="Pico", secret=secret)
            c.call("add", label="other", issuer="Pico", secret=other)
        free_boot = None
        for _ in range(n):
            # Power-on -> first code fully on the OLED.
            pico.power_cut()
            watch.clear()
            t_on = pico.emulated_ns()
            pico.restart()
            info = pico.wait_ready(60)
            free_boot = info["free"]
            pico.wait_for_screen(lambda t: screen_code(t) is not None, 60)
            t = watch.first_after(t_on, lambda s: screen_code(s) in {
                code_for(secret, pico.clock.now() + d) for d in (-2, -1, 0)})
            res["boot"].append((t - t_on) / 1e6)
            # Press -> the next account fully on the OLED.
            text = pico.screen_text()
            target = "other" if "bench" in text else "bench"
            watch.clear()
            t_press = pico.emulated_ns() + 5_000_000
            pico._pin(0, t_press)
            t_release = t_press + 100_000_000
            pico._pin(1, t_release)
            pico.wait_emulated(t_release + 200_000_000)
            key = other if target == "other" else secret
            t = watch.first_after(t_release, lambda s, k=key: target in s and screen_code(s) in {
                code_for(k, pico.clock.now() + d) for d in (-2, -1, 0)})
            res["press"].append((t - t_release) / 1e6 if t else float("nan"))
            # A new period on the same account.
            text = pico.screen_text()
            key = other if "other" in text else secret
            now = pico.clock.now()
            boundary = (int(now) // 30 + 1) * 30
            t_b = pico.emulated_ns() + int((boundary - now) * 1e9)
            watch.clear()
            pico.wait_emulated(t_b + 300_000_000)
            t = watch.first_after(t_b, lambda s, k=key, b=boundary: screen_code(s) == code_for(k, b))
            res["period"].append((t - t_b) / 1e6 if t else float("nan"))
            res["provision"].append(provision_round_trip(pico, base64.b32encode(os.urandom(20)).decode()))
        pico.press()  # keep the code up while it is measured
        res["busy_code"], res["i2c_code"] = busy_share(pico, 5)
        pico.advance(35)  # the screen blanks after 30 s
        res["busy_blank"], res["i2c_blank"] = busy_share(pico, 10)
        res["free_boot"] = free_boot
        pico.on_i2c_write = None
        res["hmac"] = hmac_cycles(pico.port)
        pico.stop()
    return res


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2]


def table(res: dict) -> str:
    rows = ["| what | measured | goal | met |", "| --- | --- | --- | --- |"]
    for key, (what, goal, unit) in GOALS.items():
        v = res[key] if not isinstance(res[key], list) else median(res[key])
        rows.append("| %s | %.1f %s | ≤ %g %s | %s |" % (what, v, unit, goal, unit,
                                                        "yes" if v <= goal else "**no**"))
    rows.append("| `otpfob provision`'s `add`: request in → reply out | %.1f ms | | |"
                % median(res["provision"]))
    rows.append("| I2C bytes per second, screen blank | %.1f B/s | | |" % res["i2c_blank"])
    rows.append("| free heap after boot (`info`) | %d bytes | | |" % res["free_boot"])
    rows.append("")
    rows.append("Cycles per code (125 MHz; one 6-digit TOTP, key prepared; `*` = chosen):")
    rows.append("")
    rows.append("| algorithm | fast (viper) | c (hashlib) | py |")
    rows.append("| --- | --- | --- | --- |")
    for alg, d in res["hmac"].items():
        cells = []
        for p in ("fast", "c", "py"):
            cells.append(("%d%s" % (d[p], " *" if d["chosen"] == p else "")) if p in d else "—")
        rows.append("| %s | %s |" % (alg, " | ".join(cells)))
    return "\n".join(rows)


def write_doc(text: str) -> None:
    doc = DOC.read_text()
    section = "%s\n%s\n%s" % (BEGIN, text, END)
    if BEGIN in doc:
        doc = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: section, doc, flags=re.S)
    else:
        doc += "\n## Real rp2 port (emulated Pico, `make bench-rp2`)\n\n" + section + "\n"
    DOC.write_text(doc)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=3, help="repetitions of each latency (median shown)")
    ap.add_argument("--no-write", action="store_true", help="print only; leave docs/ alone")
    args = ap.parse_args()
    started = time.monotonic()
    res = run(args.n)
    text = table(res)
    print(text)
    print("(%.0f s wall)" % (time.monotonic() - started))
    if not args.no_write:
        write_doc(text)
        print("written to", DOC.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
