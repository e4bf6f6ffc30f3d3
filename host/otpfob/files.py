"""Reading a file the user named, with one sentence for each way it fails."""

from __future__ import annotations

from pathlib import Path

from .errors import InputError


def read_user_file(
    path: Path,
    *,
    folder_hint: str,
    limit: int | None = None,
    too_big: str = "",
    error: type[InputError] = InputError,
) -> bytes:
    """The bytes of ``path``; ``error`` with one sentence when it cannot be
    read. ``folder_hint`` ends the sentence for a folder given as a file;
    ``limit``: refuse (``too_big``) a larger file before reading it."""
    try:
        if limit is not None and path.stat().st_size > limit:
            raise error(too_big)
        return path.read_bytes()
    except FileNotFoundError:
        raise error(f"There is no file {path}; check the path.") from None
    except IsADirectoryError:
        raise error(f"{path} is a folder; {folder_hint}.") from None
    except PermissionError:
        raise error(f"{path} cannot be read (permission denied).") from None
    except OSError as exc:
        raise error(f"{path} cannot be read ({exc.strerror or type(exc).__name__}).") from None
