"""Setup shared by the emulated-Pico tests (the lanes: tests/conftest.py)."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="session", autouse=True)
def _picos_yield_the_cpu():
    """An emulated Pico keeps a core busy, and its tests wait minutes at
    most; the Unix-port token's tests beside them wait seconds (a 3 s reply,
    a 15 s touch).  A worker running a lane is niced (its Picos inherit it),
    so on two cores those short waits come first."""
    os.nice(5)
