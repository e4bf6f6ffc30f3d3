"""`make bench-rp2-deploy`: the `.mpy` deploy against the frozen image
(`make firmware-pico`) on the emulated Pico, in emulated time.  Writes the
"Pico: .mpy deploy vs frozen image" section of docs/benchmarks.md.

For each form a Pico is set up the way a user does it (the real
`otpfob deploy`, over the emulated USB), then:
- free heap after boot: `info`'s "free" (gc.collect() then gc.mem_free())
  right after a power-on, no accounts;
- free heap with 100 of the largest accounts (32-byte UTF-8 label and
  issuer, 128-byte key, SHA-512, 10 digits), again after a power-on;
- power-on to the first code: the emulated instant of the I2C write after
  which the SSD1306 model's RAM shows the first account's correct code,
  100 accounts stored.
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pyotp

from otpfob import deploy
from otpfob.emu import screen
from otpfob.emu.rp2.pico import EmulatedPico
from otpfob.emu.testing import ProtocolClient, grouped, screen_code

ROOT = Path(__file__).resolve().parents[2]
T0 = 1_790_000_000
DOC = ROOT / "docs" / "benchmarks.md"
BEGIN = "<!-- bench-rp2-deploy: begin -->"
END = "<!-- bench-rp2-deploy: end -->"
BOOT_WINDOW = 2.5  # emulated seconds given to a power-on with 100 accounts


def cli(port: str, *args: str) -> None:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "host"), str(ROOT / "firmware")]))
    p = subprocess.run(
        [sys.executable, "-m", "otpfob", "--port", port, "deploy", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    if p.returncode != 0:
        raise SystemExit("deploy failed:\n" + p.stdout + p.stderr)


def accounts(n: int = 100) -> list[dict]:
    out = []
    for i in range(n):
        key = bytes((i * 7 + k) & 0xFF for k in range(128))
        out.append(
            dict(
                label="é" * 14 + "%04d" % i,
                issuer="Ω" * 16,
                secret=base64.b32encode(key).decode().rstrip("="),
                digits=10,
                algorithm="sha512",
            )
        )
    return out


def measure(form: str, work: Path) -> dict:
    with EmulatedPico(work, rtc_set=True) as pico:
        if form == "image":
            cli(pico.port, "--board", "pico", "--image", str(deploy.IMAGE), "--drive", str(pico.bootsel_dir))
        else:
            cli(pico.port, "--board", "pico")
        pico.wait_ready(60)
        pico.restart()
        free_boot = pico.wait_ready(60)["free"]
        accts = accounts()
        with ProtocolClient(pico.port, timeout=30) as c:
            c.call("time_set", time=T0)
            for a in accts:
                c.call("add", **a)
        frames: list[tuple[int, list]] = []
        addr = int(pico.board.get("DISPLAY_ADDR", 0x3C))
        pico.on_i2c_write = lambda a, ns: frames.append((ns, pico.oled.pixels())) if a == addr else None
        pico.power_cut()
        frames.clear()
        # From this power-on, emulated time only (bench_rp2.py): the boot
        # runs undisturbed, then `info` reaches the chip where it stands.
        pico.stepped = True
        t_on = pico.emulated_ns()
        pico.restart()
        pico.advance(BOOT_WINDOW, timeout=900)
        with ProtocolClient(pico.port, timeout=600) as c:
            info = pico.exchange(lambda: c.call("info"))
        pico.on_i2c_write = None
        key = accts[0]["secret"]

        def right(text: str, ns: int) -> bool:
            rtc = pico.clock.now() - (pico.emulated_ns() - ns) / 1e9  # the DS3231 at that write
            return screen_code(text) in {
                grouped(pyotp.TOTP(key, digits=10, digest="sha512").at(rtc + d)) for d in (-1, 0)
            }

        first = next((ns for ns, px in frames if right(screen.decode(px, ROOT / "firmware"), ns)), None)
        return {
            "free_boot": free_boot,
            "free_100": info["free"],
            "accounts": info["accounts"],
            "first_code_ms": (first - t_on) / 1e6 if first else float("nan"),
        }


def main() -> int:
    if not deploy.IMAGE.is_file():
        print("the Pico image is not built: run `make firmware-pico`", file=sys.stderr)
        return 1
    res = {}
    for form in ("mpy", "image"):
        work = Path(tempfile.mkdtemp(prefix="otpfob-bench-deploy-"))
        try:
            res[form] = measure(form, work)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        print(form, res[form], flush=True)
    m, i = res["mpy"], res["image"]
    rows = [
        ("free heap after boot (no accounts)", m["free_boot"], i["free_boot"]),
        ("free heap after boot, 100 largest accounts", m["free_100"], i["free_100"]),
    ]
    lines = [BEGIN, "", "| measure | `.mpy` deploy | frozen image | difference |", "|---|---|---|---|"]
    for name, a, b in rows:
        lines.append(f"| {name} | {a / 1024:.1f} KB | {b / 1024:.1f} KB | **{(b - a) / 1024:+.1f} KB** |")
    lines.append(
        f"| power-on → first code on the OLED, 100 accounts | {m['first_code_ms']:.0f} ms | "
        f"{i['first_code_ms']:.0f} ms | {i['first_code_ms'] - m['first_code_ms']:+.0f} ms |"
    )
    lines += ["", END]
    text = "\n".join(lines)
    doc = DOC.read_text()
    if BEGIN in doc and END in doc:
        doc = doc[: doc.index(BEGIN)] + text + doc[doc.index(END) + len(END) :]
    else:
        doc = doc.rstrip("\n") + "\n\n" + text + "\n"
    DOC.write_text(doc)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
