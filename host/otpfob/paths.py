"""Where the source checkout's folders are: the one place that computes them.

otpfob runs from its source checkout (`make venv` installs it editable): the
firmware, the board files and build/ sit beside the host package.
"""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FIRMWARE = REPO / "firmware"
BOARDS = REPO / "boards"
BUILD = REPO / "build"
DOCS = REPO / "docs"
