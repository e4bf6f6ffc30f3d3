"""Where otpfob's files are: the one place that computes them.

What otpfob reads, the firmware (``firmware/main.py``, ``firmware/fob/``)
and the board files (``boards/``), is found under ROOT, with the same layout
in both cases: a source checkout, or an installed wheel, which carries a copy
of both trees as package data in ``otpfob/bundled/`` (see pyproject.toml).
Deploy, the emulated tokens and the screen decoder all go through FIRMWARE
and BOARDS, so an installed otpfob and a checkout work the same way.

What otpfob writes goes to per-user folders (platformdirs): never the
current directory, never the installed package.

REPO and BUILD are the source checkout and its build/ folder: what `make`
builds there (the emulated Cortex-M0 and Pico, the Pico image) exists only
in a checkout, and the code that needs it says so when it is missing.
"""

from __future__ import annotations

from pathlib import Path

import platformdirs

_PACKAGE = Path(__file__).resolve().parent
_BUNDLED = _PACKAGE / "bundled"  # only in a built wheel

REPO = _PACKAGE.parents[1]
ROOT = _BUNDLED if _BUNDLED.is_dir() else REPO
FIRMWARE = ROOT / "firmware"
BOARDS = ROOT / "boards"
BUILD = REPO / "build"
DOCS = REPO / "docs"

APP = "otpfob"  # the per-user folders' name


def board_file(board: str) -> Path:
    """The board file for ``board`` (it may be missing: callers check)."""
    return BOARDS / f"{board}.py"


def is_checkout() -> bool:
    """Runs from a source checkout (editable install), not from a wheel."""
    return ROOT == REPO


def data_dir() -> Path:
    """Per-user data that must survive (the emulated tokens' flash):
    ~/.local/share/otpfob on Linux."""
    return platformdirs.user_data_path(APP)


def cache_dir() -> Path:
    """Per-user files otpfob can make again (deploy's builds):
    ~/.cache/otpfob on Linux."""
    return platformdirs.user_cache_path(APP)
