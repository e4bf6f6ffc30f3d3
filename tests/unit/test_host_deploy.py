"""`otpfob deploy`'s build step with the real mpy-cross, for every board.

The copy step needs a board running MicroPython's raw REPL with a flash
filesystem (mpremote); none is available here, so only the command line it
would run is checked, not a copy.
"""

from __future__ import annotations

import pytest

from otpfob import deploy, paths

REPO = paths.REPO
ARCH_CODE = {"armv6m": 4, "xtensawin": 10}  # MicroPython's MP_NATIVE_ARCH_* numbers in the .mpy header


@pytest.mark.parametrize(
    "board, arch",
    [("pico", "armv6m"), ("pico_w", "armv6m"), ("esp32_devkitc", "xtensawin"), ("esp32s3_devkitc", "xtensawin")],
)
def test_build_for_board(tmp_path, board, arch):
    lines = []
    out = deploy.build(board, out_dir=tmp_path / board, progress=lines.append)
    assert out.arch == arch
    sources = sorted((REPO / "firmware" / "fob").rglob("*.py"))
    devs = [dev for _, dev in out.files]
    assert devs[-1] == "main.py"  # copied last so a half copy does not boot
    assert "board.py" in devs
    assert (out.root / "board.py").read_bytes() == (REPO / "boards" / f"{board}.py").read_bytes()
    assert (out.root / "main.py").read_bytes() == (REPO / "firmware" / "main.py").read_bytes()
    for src in sources:
        rel = src.relative_to(REPO / "firmware").with_suffix(".mpy").as_posix()
        assert rel in devs
    archs = set()
    for local, dev in out.files:
        if dev.endswith(".mpy"):
            head = local.read_bytes()[:3]
            assert head[:2] == b"M\x06"  # mpy version 6, what MicroPython 1.2x loads
            archs.add(head[2] >> 2)
    # native/viper modules carry the board's arch; plain bytecode carries none
    assert archs <= {0, ARCH_CODE[arch]}
    if any("@micropython.viper" in s.read_text() or "@micropython.native" in s.read_text() for s in sources):
        assert ARCH_CODE[arch] in archs
    assert len(lines) == len(sources)


def test_mpremote_plan(tmp_path):
    out = deploy.build("pico", out_dir=tmp_path / "pico")
    args = deploy.mpremote_args(out, "/dev/ttyACM0")
    # resume: no soft reset, which would wipe the emulated M0's RAM filesystem
    assert args[:4] == ["connect", "/dev/ttyACM0", "resume", "exec"]
    assert "accounts" not in " ".join(args)  # the account store is kept
    # Nothing live is touched before the switch (issue 22): fob is staged in
    # /otp.new, marked complete last, the entry files copied beside the live ones.
    cps = [args[i + 4] for i in range(len(args)) if args[i : i + 3] == ["+", "fs", "cp"]]
    fob_devs = [dev for _, dev in out.files if dev.startswith("fob/")]
    assert cps == [f":/otp.new/{dev}" for dev in fob_devs] + [":/board.new", ":/main.new"]
    mkdirs = [args[i + 3] for i in range(len(args)) if args[i : i + 3] == ["+", "fs", "mkdir"]]
    assert mkdirs[:2] == [":/otp.new", ":/otp.new/fob"]
    execs = [args[i + 2] for i in range(len(args)) if args[i : i + 2] == ["+", "exec"]]
    assert "open('/otp.new/complete', 'wb')" in execs[0]  # the marker, after every fob file
    assert args.index(execs[0]) > max(args.index(c) for c in cps if c.startswith(":/otp.new"))
    assert "os.rename('/main.new', '/main.py')" in execs[1] and "os.rename('/otp.new', '/otp')" in execs[1]
    assert "_rm('/fob')" not in args[4]  # the old firmware stays until the switch
