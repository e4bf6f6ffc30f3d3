"""Heap use per frame, measured in MicroPython (the Unix port), GC off.

Redrawing the code screen (draw into the frame buffer, one show()) must not
allocate: buffers and digit bitmaps are made once.  A DS3231 read allocates
only its result (a Unix time is a big int on a 32-bit board anyway).  The
app's loop, which looks every 10 ms for something new to draw, allocates
nothing when nothing changed."""

import subprocess

import pytest

from conftest import ROOT, SUPPORT, require_micropython

pytestmark = pytest.mark.upy


@pytest.mark.parametrize("height", [64, 32])
def test_redrawing_the_code_screen_does_not_allocate(height, tmp_path):
    p = subprocess.run(
        [require_micropython(), str(SUPPORT / "mpy_alloc_probe.py"), str(height)],
        env={"MICROPYPATH": str(ROOT / "firmware")},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert p.returncode == 0, p.stderr or p.stdout
    got = {k: int(v) for k, v in (ln.split() for ln in p.stdout.split("\n") if ln)}
    assert got["ui6"] == 0 and got["ui8"] == 0, got
    assert got["rtc"] <= 256, got  # the time registers' decode, not a buffer per read
    assert got["idle"] == 0, got  # a loop turn with nothing new to show
    assert got["scroll"] == 0, got  # a step of a long name's scroll
    assert got["scroll_idle"] == 0, got  # loop turns while a long name scrolls
    assert got["scroll_steps"] >= 200, got  # ... and it did scroll, every turn
    assert got["serve"] == 0, got  # a loop turn's serial poll
    assert got["step_blank"] == 0 and got["step_awake"] == 0, got  # whole loop turns
    assert got["tick"] <= 1024, got  # a new second: redraw, not a buffer per frame
