"""Helpers for tests that drive an emulated Pico (tests/rp2)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "host" / "tools" / "bench_rp2.py"


def load_bench():
    """host/tools/bench_rp2.py as a module (it is a script, not a package)."""
    spec = importlib.util.spec_from_file_location("bench_rp2", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def see_clock_notice(pico, reply: dict) -> None:
    """A clock set back by more than a step shows a one-time notice
    (issue 21); press it away, as its owner would, so the test sees codes.
    ``reply``: the token's answer to the `time_set` that moved the clock."""
    previous = reply.get("previous")
    if previous is not None and previous - reply["time"] > 30:
        pico.wait_for_screen(lambda t: "Clock set back" in t, 60)
        pico.press()
        pico.wait_for_screen(lambda t: "Clock set back" not in t, 60)
