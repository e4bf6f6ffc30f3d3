"""The README's wiring pictures (docs/img/wiring-pico.png, issue 23 item 14;
docs/img/wiring-battery.png, issue 20) are what host/tools/draw_wiring.py
draws from boards/pico.py."""

from __future__ import annotations

import runpy

from PIL import Image, ImageChops

from conftest import ROOT

TOOL = ROOT / "host" / "tools" / "draw_wiring.py"


def test_the_committed_picture_is_the_scripts(tmp_path):
    tool = runpy.run_path(str(TOOL))
    out = tool["draw"](tmp_path / "wiring.png")
    committed = Image.open(ROOT / "docs" / "img" / "wiring-pico.png").convert("RGB")
    assert ImageChops.difference(Image.open(out).convert("RGB"), committed).getbbox() is None, (
        "docs/img/wiring-pico.png is stale: run host/tools/draw_wiring.py"
    )
    assert "wiring-pico.png" in (ROOT / "README.md").read_text()


def test_the_pins_come_from_the_board_file(tmp_path, monkeypatch):
    tool = runpy.run_path(str(TOOL))
    assert tool["board_pins"]() == {"SDA": 4, "SCL": 5, "BTN": 15}
    base = Image.open(tool["draw"](tmp_path / "a.png")).convert("RGB")
    # Another button pin is another picture (the label next to the Pico's pin).
    draw = tool["draw"]
    draw.__globals__["board_pins"] = lambda: {"SDA": 4, "SCL": 5, "BTN": 14}
    moved = Image.open(draw(tmp_path / "b.png")).convert("RGB")
    assert ImageChops.difference(base, moved).getbbox() is not None


def test_the_committed_battery_picture_is_the_scripts(tmp_path):
    tool = runpy.run_path(str(TOOL))
    out = tool["draw_battery"](tmp_path / "battery.png")
    committed = Image.open(ROOT / "docs" / "img" / "wiring-battery.png").convert("RGB")
    assert ImageChops.difference(Image.open(out).convert("RGB"), committed).getbbox() is None, (
        "docs/img/wiring-battery.png is stale: run host/tools/draw_wiring.py"
    )
    assert "wiring-battery.png" in (ROOT / "README.md").read_text()


def test_the_battery_picture_follows_the_power_pins(tmp_path):
    tool = runpy.run_path(str(TOOL))
    assert tool["power_pins"]() == {"VBUS": 24, "ADC": 29, "DIV": 3}
    base = Image.open(tool["draw_battery"](tmp_path / "a.png")).convert("RGB")
    draw = tool["draw_battery"]
    draw.__globals__["power_pins"] = lambda: {"VBUS": 24, "ADC": 28, "DIV": 3}
    moved = Image.open(draw(tmp_path / "b.png")).convert("RGB")
    assert ImageChops.difference(base, moved).getbbox() is not None
