"""Draw the README's wiring diagrams from boards/pico.py: a Raspberry Pi Pico,
a DS3231 RTC module, an SSD1306 OLED and a push button (`draw`); and its
battery, a LiPo through a charger module and a Schottky diode into VSYS
(`draw_battery`, the README's "Battery" section).

    .venv/bin/python host/tools/draw_wiring.py [OUT.png [BATTERY_OUT.png]]

writes docs/img/wiring-pico.png and docs/img/wiring-battery.png by default
(Pillow only, no fonts needed: Pillow's built-in bitmap font). The pin
numbers come from the board file, so the pictures follow a change of pins
there; tests/unit/test_wiring_diagram.py checks the committed pictures are
what this script draws.
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "docs" / "img" / "wiring-pico.png"
BATTERY_OUT = ROOT / "docs" / "img" / "wiring-battery.png"

W, H = 900, 670
BG, INK, BOARD, PART = (255, 255, 255), (20, 20, 20), (46, 125, 50), (25, 80, 160)
WIRE = {"3V3": (200, 30, 30), "GND": (20, 20, 20), "SDA": (30, 110, 210), "SCL": (230, 150, 0), "BTN": (130, 60, 170)}

# The Pico's physical pins (its datasheet's pinout): GPn on the left header,
# and the power pins used here on the right header.
_LEFT = {0: 1, 1: 2, 2: 4, 3: 5, 4: 6, 5: 7, 6: 9, 7: 10, 8: 11, 9: 12, 10: 14, 11: 15, 12: 16, 13: 17, 14: 19, 15: 20}
PIN_3V3, PIN_GND = 36, 38
PIN_VBUS, PIN_VSYS = 40, 39  # the right header's top pins
BAT = (230, 120, 0)  # the battery's side of the diode


def board_pins() -> dict[str, int]:
    pins = runpy.run_path(str(ROOT / "boards" / "pico.py"))
    return {"SDA": pins["SDA"], "SCL": pins["SCL"], "BTN": pins["BUTTON_PIN"]}


def power_pins() -> dict[str, int]:
    """The Pico's power sensing (both on the board itself, not wired by hand)."""
    pins = runpy.run_path(str(ROOT / "boards" / "pico.py"))
    return {"VBUS": pins["VBUS_PIN"], "ADC": pins["VSYS_ADC_PIN"], "DIV": pins["VSYS_DIVIDER"]}


def _box(d: ImageDraw.ImageDraw, xy: tuple[int, int, int, int], colour, title: str, font) -> None:
    d.rounded_rectangle(xy, radius=8, outline=colour, width=3, fill=(248, 250, 248))
    d.text((xy[0] + 10, xy[1] + 8), title, fill=colour, font=font)


def _pin(d: ImageDraw.ImageDraw, x: int, y: int, text: str, font, *, right: bool = False) -> tuple[int, int]:
    d.ellipse((x - 5, y - 5, x + 5, y + 5), fill=INK)
    tw = d.textlength(text, font=font)
    d.text((x - tw - 10 if right else x + 10, y - 6), text, fill=INK, font=font)
    return x, y


def _wire(d: ImageDraw.ImageDraw, points: list[tuple[int, int]], colour) -> None:
    d.line(points, fill=colour, width=4, joint="curve")


def draw(out: Path = OUT) -> Path:
    pins = board_pins()
    font = ImageFont.load_default()
    img = Image.new("RGB", (W, H), BG)
    d = ImageDraw.Draw(img)
    d.text(
        (20, 14),
        "otpfob on a Raspberry Pi Pico: the OLED and the DS3231 share I2C0; power both from 3.3 V",
        fill=INK,
        font=font,
    )

    # The Pico, with the pins used.
    _box(d, (40, 60, 300, 600), BOARD, "Raspberry Pi Pico (boards/pico.py)", font)
    d.rectangle((60, 90, 110, 120), outline=BOARD, width=2)  # the USB socket
    d.text((72, 99), "USB", fill=BOARD, font=font)
    y = {"SDA": 170, "SCL": 215, "BTN": 520, "3V3": 300, "GND": 345}
    p_sda = _pin(d, 300, y["SDA"], f"GP{pins['SDA']} (pin {_LEFT[pins['SDA']]}) SDA", font, right=True)
    p_scl = _pin(d, 300, y["SCL"], f"GP{pins['SCL']} (pin {_LEFT[pins['SCL']]}) SCL", font, right=True)
    p_3v3 = _pin(d, 300, y["3V3"], f"3V3 OUT (pin {PIN_3V3})", font, right=True)
    p_gnd = _pin(d, 300, y["GND"], f"GND (pin {PIN_GND})", font, right=True)
    p_btn = _pin(d, 300, y["BTN"], f"GP{pins['BTN']} (pin {_LEFT[pins['BTN']]}) button", font, right=True)

    # The OLED and the RTC, each with VCC, GND, SCL, SDA.
    parts = {}
    for name, top, title in (
        ("oled", 60, "SSD1306 OLED 128x64, I2C 0x3C"),
        ("rtc", 280, "DS3231 RTC, I2C 0x68 (CR2032)"),
    ):
        _box(d, (600, top, 860, top + 190), PART, title, font)
        parts[name] = {
            sig: _pin(d, 600, top + 50 + 35 * k, sig, font) for k, sig in enumerate(("VCC", "GND", "SCL", "SDA"))
        }

    # Buses: a vertical rail per signal between the Pico and the parts.
    rails = {"3V3": 400, "GND": 430, "SCL": 460, "SDA": 490}
    for sig, start in (("SDA", p_sda), ("SCL", p_scl), ("3V3", p_3v3), ("GND", p_gnd)):
        x = rails[sig]
        part_sig = "VCC" if sig == "3V3" else sig
        ends = [parts["oled"][part_sig], parts["rtc"][part_sig]]
        _wire(d, [start, (x, start[1])], WIRE[sig])
        top, bottom = min([start[1]] + [e[1] for e in ends]), max([start[1]] + [e[1] for e in ends])
        _wire(d, [(x, top), (x, bottom)], WIRE[sig])
        for e in ends:
            _wire(d, [(x, e[1]), e], WIRE[sig])
            d.ellipse((x - 5, e[1] - 5, x + 5, e[1] + 5), fill=WIRE[sig])

    # The button: GP15 to one leg, the other leg to GND (the internal pull-up is used).
    _box(d, (600, 500, 860, 600), PART, "push button (to GND)", font)
    leg_a, leg_b = (640, 560), (820, 560)
    d.line((leg_a, (690, 560)), fill=INK, width=3)
    d.line(((690, 548), (770, 540)), fill=INK, width=3)  # the open switch
    d.line(((770, 560), leg_b), fill=INK, width=3)
    d.ellipse((685, 555, 695, 565), fill=INK)
    d.ellipse((765, 555, 775, 565), fill=INK)
    _wire(d, [p_btn, (370, p_btn[1]), (370, 615), (leg_a[0], 615), leg_a], WIRE["BTN"])
    x = rails["GND"]
    _wire(d, [(x, p_gnd[1]), (x, 625), (leg_b[0], 625), leg_b], WIRE["GND"])

    # A legend of the wire colours.
    for k, (sig, colour) in enumerate(WIRE.items()):
        d.line(((40 + 110 * k, 650), (70 + 110 * k, 650)), fill=colour, width=4)
        d.text((76 + 110 * k, 644), "button" if sig == "BTN" else sig, fill=INK, font=font)

    out.parent.mkdir(parents=True, exist_ok=True)
    img.save(out, optimize=True)
    return out


def _diode(d: ImageDraw.ImageDraw, x: int, y: int) -> None:
    """A diode conducting to the left (anode right, cathode bar left), centred on (x, y)."""
    d.polygon(((x + 14, y - 14), (x + 14, y + 14), (x - 12, y)), fill=INK)
    d.line(((x - 14, y - 15), (x - 14, y + 15)), fill=INK, width=4)


def draw_battery(out: Path = BATTERY_OUT) -> Path:
    pins = power_pins()
    font = ImageFont.load_default()
    img = Image.new("RGB", (W, 560), BG)
    d = ImageDraw.Draw(img)
    d.text(
        (20, 14),
        "otpfob on battery (Pico): a LiPo through a charger module and a Schottky diode into VSYS",
        fill=INK,
        font=font,
    )

    # The Pico: the three power pins used, and what its own board does.
    _box(d, (40, 60, 330, 470), BOARD, "Raspberry Pi Pico (boards/pico.py)", font)
    p_vbus = _pin(d, 330, 110, f"VBUS (pin {PIN_VBUS}) USB 5 V", font, right=True)
    p_vsys = _pin(d, 330, 190, f"VSYS (pin {PIN_VSYS})", font, right=True)
    p_gnd = _pin(d, 330, 270, f"GND (pin {PIN_GND})", font, right=True)
    adc = pins["ADC"] - 26  # GP26-29 are ADC0-3
    for k, line in enumerate(
        (
            "On the board, nothing to wire:",
            f"- VBUS sensed on GP{pins['VBUS']}: USB or battery",
            f"- VSYS/{pins['DIV']} on ADC{adc} (GP{pins['ADC']}): the battery voltage",
            "- VBUS feeds VSYS through its own diode,",
            "  so USB and the battery can both be connected",
        )
    ):
        d.text((56, 330 + 18 * k), line, fill=BOARD, font=font)

    # The charger (TP4056 with protection): fed from VBUS, charging the cell.
    _box(d, (560, 60, 860, 320), PART, "LiPo charger, e.g. TP4056 + protection", font)
    c_in = _pin(d, 560, 110, "IN+", font)
    c_out = _pin(d, 560, 190, "OUT+", font)
    c_in_gnd = _pin(d, 560, 250, "IN-", font)
    c_out_gnd = _pin(d, 560, 290, "OUT-", font)
    c_bplus, c_bminus = (660, 320), (780, 320)
    for (x, y), name in ((c_bplus, "B+"), (c_bminus, "B-")):
        d.ellipse((x - 5, y - 5, x + 5, y + 5), fill=INK)
        d.text((x - 6, y - 24), name, fill=INK, font=font)
    _box(d, (600, 390, 860, 470), PART, "LiPo cell, 1 S (3.0-4.2 V)", font)
    cell_plus, cell_minus = (660, 390), (780, 390)
    d.text((668, 420), "+", fill=INK, font=font)
    d.text((788, 420), "-", fill=INK, font=font)

    _wire(d, [p_vbus, c_in], WIRE["3V3"])
    _wire(d, [c_out, (470, c_out[1])], BAT)
    _diode(d, 455, c_out[1])
    _wire(d, [(440, p_vsys[1]), p_vsys], BAT)
    d.text((400, 150), "Schottky diode", fill=INK, font=font)
    d.text((400, 164), "(e.g. 1N5817)", fill=INK, font=font)
    _wire(d, [p_gnd, (500, p_gnd[1])], WIRE["GND"])
    _wire(d, [(500, c_in_gnd[1]), (500, c_out_gnd[1])], WIRE["GND"])
    _wire(d, [(500, c_in_gnd[1]), c_in_gnd], WIRE["GND"])
    _wire(d, [(500, c_out_gnd[1]), c_out_gnd], WIRE["GND"])
    d.ellipse((495, p_gnd[1] - 5, 505, p_gnd[1] + 5), fill=WIRE["GND"])
    _wire(d, [c_bplus, cell_plus], BAT)
    _wire(d, [c_bminus, cell_minus], WIRE["GND"])

    d.text(
        (40, 492),
        "Or 3 x AAA (4.5 V) in a holder: + through the same diode to VSYS, - to GND; no charger"
        ' (board BATTERY = "aaa3").',
        fill=INK,
        font=font,
    )
    for k, (name, colour) in enumerate((("USB 5 V", WIRE["3V3"]), ("battery", BAT), ("GND", WIRE["GND"]))):
        d.line(((40 + 130 * k, 530), (70 + 130 * k, 530)), fill=colour, width=4)
        d.text((76 + 130 * k, 524), name, fill=INK, font=font)

    out.parent.mkdir(parents=True, exist_ok=True)
    img.save(out, optimize=True)
    return out


if __name__ == "__main__":
    print(draw(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT))
    print(draw_battery(Path(sys.argv[2]) if len(sys.argv) > 2 else BATTERY_OUT))
