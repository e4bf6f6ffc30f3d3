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

import ast
from pathlib import Path
from typing import Any

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


def read_board(path: Path) -> dict[str, Any]:
    """A board file's upper-case names. Board files are data only: their
    values are read as literals, nothing in them is run."""
    out: dict[str, Any] = {}
    for node in ast.parse(path.read_text(), str(path)).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
            if name.isupper():
                try:
                    out[name] = ast.literal_eval(node.value)
                except ValueError:
                    raise ValueError(f"{path.name}: {name} is not a plain value (board files are data only)") from None
    return out


def board_data(board: str) -> dict[str, Any]:
    """The names in ``board``'s board file (empty when there is none)."""
    path = board_file(board)
    return read_board(path) if path.is_file() else {}


def hardware_boards() -> dict[str, dict[str, Any]]:
    """The boards deploy puts otpfob on, by name: the board files that name
    the `MPY_ARCH` to compile for (the emulated token's `sim` does not)."""
    found = {p.stem: read_board(p) for p in sorted(BOARDS.glob("*.py"))}
    return {name: data for name, data in found.items() if "MPY_ARCH" in data}


def shipped(path: Path) -> bool:
    """Whether the installed otpfob's own file list (its wheel's RECORD)
    names ``path``: then a missing ``path`` was removed after installation."""
    from importlib import metadata

    try:
        files = metadata.files(APP) or []
    except metadata.PackageNotFoundError:
        return False
    want = path.resolve()
    return any(Path(str(f.locate())).resolve() == want for f in files)


def is_checkout() -> bool:
    """Runs from a source checkout (editable install), not from a wheel."""
    return ROOT == REPO


def doc(name: str) -> str:
    """Where a reader finds docs/NAME: its path in a checkout; an installed
    otpfob carries no docs, so then the repository's file is named."""
    if is_checkout():
        return str(DOCS / name)
    return f"docs/{name} in otpfob's source repository"


def data_dir() -> Path:
    """Per-user data that must survive (the emulated tokens' flash):
    ~/.local/share/otpfob on Linux."""
    return platformdirs.user_data_path(APP)


def cache_dir() -> Path:
    """Per-user files otpfob can make again (deploy's builds):
    ~/.cache/otpfob on Linux."""
    return platformdirs.user_cache_path(APP)
