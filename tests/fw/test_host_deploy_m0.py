"""`otpfob deploy`'s build and copy steps against the emulated Cortex-M0.

The build is compiled by mpy-cross for the Pico (armv6m) and copied by real
mpremote over the emulator's pty into its RAM filesystem; the test then reads
every file back, checks it byte for byte, and imports the deployed .mpy
firmware on the M0 to compute codes.  The final hard reset and version check
need a board that boots main.py, which this port cannot (no time/select/I2C).
"""

from __future__ import annotations

import hashlib

import pytest

from conftest import SEED, SUPPORT
from otpfob import deploy
from support.core_cases import generate, line


@pytest.mark.qemu
def test_deploy_copies_the_pico_build_with_mpremote(m0, tmp_path):
    out = deploy.build("pico", out_dir=tmp_path / "pico")
    assert all(dev.endswith(".mpy") for _, dev in out.files if dev.startswith("fob/"))
    progress: list[str] = []
    m0.release()
    deploy.copy(out, m0.port, progress=progress.append)
    m0.reattach()
    assert sum(1 for p in progress if p.startswith("[")) == len(out.files)
    # The progress bar's feed: every file counted once, the bytes adding up to the build's.
    seen: list[tuple[int, int, str]] = []
    # A deploy stages the new firmware beside the old (issue 22); the M0's
    # 208 KB heap (host/tools/build_qemu.sh), which is its RAM filesystem here, cannot hold both.
    m0.clear_files()
    m0.release()
    deploy.copy(out, m0.port, copied=lambda files, done, dev: seen.append((files, done, dev)))
    m0.reattach()
    assert [f for f, _, _ in seen] == list(range(1, len(out.files) + 1))
    assert [dev for _, _, dev in seen] == [dev for _, dev in out.files]
    assert seen[-1][1] == sum(local.stat().st_size for local, _ in out.files)

    def live(dev: str) -> str:
        # Where each file ends up once the deploy has switched (transfer.py).
        return f"/otp/{dev}" if dev.startswith("fob/") else f"/{dev}"

    assert m0.exec("import os\nprint(sorted(os.listdir('/')))").strip() == str(
        sorted(["otp", "board.py", "main.py"])
    )  # nothing staged or old is left
    for local, dev in out.files:
        want = hashlib.sha256(local.read_bytes()).hexdigest()
        got = m0.exec(
            "import hashlib, binascii\n_h = hashlib.sha256()\n"
            f"for _c in _ramfs.files['{live(dev)}']:\n    _h.update(_c)\n"
            "print(binascii.hexlify(_h.digest()).decode())"
        ).strip()
        assert got == want, dev

    # The deployed armv6m .mpy core runs on the M0 and agrees with the
    # reference.  The M0's 208 KB heap (host/tools/build_qemu.sh) can't hold the whole tree and load it,
    # so the rest of the firmware is dropped first (it needs I2C and select).
    import fob

    m0.keep_only(("/otp/fob/__init__", "/otp/fob/otp", "/otp/fob/sha", "/otp/fob/fast"))
    m0.exec("import sys\nsys.path.insert(0, '/otp')")  # what firmware/main.py does on a board
    assert m0.exec("import fob; print(fob.VERSION)").strip() == fob.VERSION
    assert "mpy" in m0.exec("import fob.otp; print(fob.otp.__file__)")
    m0.put("mpy_case_runner.py", (SUPPORT / "mpy_case_runner.py").read_bytes())
    cases = generate(SEED + 3, 30)
    got = m0.exec(f"import mpy_case_runner\nmpy_case_runner.run(None, {[line(c) for c in cases]!r})")
    codes = [ln.split()[1] for ln in got.split("\n") if ln.strip()]
    assert codes == [c["code"] for c in cases]
