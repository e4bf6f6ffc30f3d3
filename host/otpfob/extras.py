"""The optional parts of otpfob (pyproject.toml's extras) and the exact
command that adds one to the installation the user is running.

    sim: MicroPython's Unix port and Pillow, for `otpfob sim`
    aws: boto3, for moving AWS MFA devices
"""

from __future__ import annotations

import sys
from pathlib import Path

from . import paths


def _pipx_venv(prefix: Path) -> bool:
    # pipx keeps each tool in <PIPX_HOME>/venvs/<name>, PIPX_HOME being
    # ~/.local/share/pipx or (older pipx) ~/.local/pipx.
    return prefix.parent.name == "venvs" and "pipx" in prefix.parent.parent.name


def install_command(extra: str, prefix: Path | None = None) -> str:
    """The shell command that installs otpfob with ``extra``: `make venv` in
    a source checkout (it installs every extra), pipx's when pipx installed
    this otpfob, else pip's (into the running environment)."""
    if paths.is_checkout():
        return "make venv"
    prefix = Path(sys.prefix) if prefix is None else prefix
    if _pipx_venv(prefix):
        return f"pipx install --force 'otpfob[{extra}]'"
    return f"pip install 'otpfob[{extra}]'"
