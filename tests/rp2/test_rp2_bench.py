"""`make bench-rp2` in its smoke form (one round, no goal check, nothing
written), so the benchmark cannot rot: every figure it reports is measured
in emulated time from recorded OLED writes, and each must come out.  It
also shows the main loop's way of waiting on the real rp2 port: it sleeps
until the next thing due and the button's pin IRQ wakes it, where a loop
polling every 10 ms kept the core 6-7 % busy with a code shown and took
35 ms from a release to the next account."""

from __future__ import annotations

import math

import pytest

from conftest import RP2_LANE_B
from support.pico import load_bench

pytestmark = [pytest.mark.rp2, RP2_LANE_B]


def test_bench_rp2_smoke_measures_every_figure(pico_image, pico_frozen_image):
    bench = load_bench()
    res = bench.measure(1, seed=1, smoke=True)
    for key in ("period", "press", "boot_mpy", "boot_frozen", "provision"):
        (value,) = res[key]
        # NaN: the expected screen never came (a missed frame or a wrong code).
        assert math.isfinite(value) and 0 < value < 5000, (key, value)
    # The new code cannot be on the panel sooner than its changed bytes take on the wire.
    assert 0 < res["period_floor"][0] <= res["period"][0]
    assert 0 < res["busy_code"] < 100
    assert res["i2c_code"] > 0  # the countdown redraws every second
    assert res["free_frozen"][0] > res["free_mpy"][0] > 0
    text = bench.table(res, 1)
    for what, *_ in bench.GOALS.values():
        assert what in text
    assert "not measured" not in text
    # The loop sleeps between events and a press wakes it at once.
    assert res["busy_code"] < 3, res["busy_code"]
    assert res["press"][0] < 25, res["press"]
