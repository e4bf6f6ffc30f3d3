"""Per token, the most PBKDF2 rounds it asked for at an unlock: the floor
below which the host refuses to derive a key for that token again.

A fake token that asks for fewer rounds makes every offline guess at the
password cheaper (docs/security.md); the host never accepts fewer than
`access.MIN_ITERATIONS`, and never fewer than this token (named by its
access salt, as `keystore` names it) offered before. Kept in a small JSON
file in the per-user data folder, readable by its owner only. No CLI code.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from .keystore import token_id

FILE = "iterations.json"


class IterationFloors:
    """The remembered floors, in ``path`` (a JSON object: token id -> rounds)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _load(self) -> dict[str, int]:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict):
            return {}
        return {str(k): v for k, v in data.items() if isinstance(v, int) and not isinstance(v, bool)}

    def floor(self, salt: bytes) -> int:
        """The most rounds the token with this salt offered before (0: never seen)."""
        return self._load().get(token_id(salt), 0)

    def remember(self, salt: bytes, iterations: int) -> None:
        """Raise this token's floor to ``iterations`` (never lowers it)."""
        data = self._load()
        name = token_id(salt)
        if data.get(name, 0) >= iterations:
            return
        data[name] = iterations
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(data, f)
        os.replace(tmp, self.path)


def default() -> IterationFloors:
    """The user's floors, in the per-user data folder."""
    from .paths import data_dir

    return IterationFloors(data_dir() / FILE)
