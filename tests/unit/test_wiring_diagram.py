"""The README's wiring picture (docs/img/wiring-pico.png) is what
host/tools/draw_wiring.py draws from boards/pico.py (issue 23, item 14)."""

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
