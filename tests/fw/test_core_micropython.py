"""The OTP core on MicroPython: the Unix port and the emulated Cortex-M0 and M4.

All run the run's generated cases (core_cases.py) on every path the
interpreter has, forced one at a time, and compare with pyotp/RFC values
computed here in CPython.  The M0 has no hashlib.sha1 and 31-bit small ints,
like a plain Pico; it runs the cases from source and from .mpy files made by
mpy-cross -march=armv6m, the form deployed to an RP2040.  The M4 (Thumb-2,
the FPU's .mpy arch armv7emsp) is the same for a Pico 2: it runs the cases
from the .mpy files deployed to an RP2350's Arm cores.
"""

from __future__ import annotations

import pytest

from conftest import ROOT, SEED, SUPPORT, record_cases, run_upy
from support.core_cases import answers, bad_cases, generate, line

UNIX_CASES = 400
M0_CASES = 240
# The pure-Python fallback costs 4-30 million M0 instructions a code (the
# fast path about 0.1 million), so on the M0 it checks a generated subset.
M0_PY_CASES = 80
# The M4 checks what differs from the M0 (make test's budget): the native
# code of the Pico 2's .mpy form (fast) and the C hashlib path (c); the
# portable py path is the same bytecode the M0 runs.
M4_CASES = 160
M4_PATHS = ("fast", "c")


def _compare(cases, output: str, label: str) -> int:
    got = answers(output, len(cases), label)
    checked = 0
    for i, c in enumerate(cases):
        if got[i] == "skip":
            continue
        assert got[i] == c["code"], (
            f"{label} case {i}: {line(c).rsplit(' ', 1)[0]} keylen={len(c['key'])} "
            f"got {got[i]} want {c['code']} ({c['src']}); replay with OTPFOB_SEED={SEED}"
        )
        checked += 1
    return checked


def _paths_of(run_snippet) -> list[str]:
    out = run_snippet("from fob import otp; otp.load_fast(); print(' '.join(sorted(otp.PATHS)))")
    return out.split()


# --- Unix port ---------------------------------------------------------------


@pytest.mark.upy
def test_unix_port_all_paths(tmp_path):
    cases = generate(SEED, UNIX_CASES) + bad_cases()
    (tmp_path / "cases.txt").write_text("\n".join(line(c) for c in cases))
    dirs = [SUPPORT, ROOT / "firmware"]
    paths = run_upy(
        ["-c", "from fob import otp; otp.load_fast(); print(' '.join(sorted(otp.PATHS)))"], tmp_path, dirs
    ).split()
    assert {"c", "py"} <= set(paths)
    for p in paths:
        out = run_upy([str(SUPPORT / "mpy_case_runner.py"), p, "cases.txt"], tmp_path, dirs)
        n = _compare(cases, out, f"unix/{p}")
        assert n >= UNIX_CASES * 0.6, f"unix/{p}: only {n} cases had the path"
        record_cases(f"micropython-unix/{p}", n)


@pytest.mark.upy
def test_unix_port_from_mpy(tmp_path):
    from otpfob.devtools.qemu import compile_mpy, core_files

    compile_mpy(ROOT / "firmware", core_files(), tmp_path / "lib", march="x64")
    cases = generate(SEED + 1, 100) + bad_cases()
    (tmp_path / "cases.txt").write_text("\n".join(line(c) for c in cases))
    assert not list((tmp_path / "lib").rglob("*.py"))
    out = run_upy([str(SUPPORT / "mpy_case_runner.py"), "py", "cases.txt"], tmp_path, [tmp_path / "lib"])
    record_cases("micropython-unix/mpy", _compare(cases, out, "unix-mpy/py"))


# --- Emulated Cortex-M0 --------------------------------------------------------


def _m0_run_cases(board, cases, path: str) -> str:
    out = []
    lines = [line(c) for c in cases]
    for i in range(0, len(lines), 20):
        batch = lines[i : i + 20]
        out.append(board.exec(f"mpy_case_runner.run({path!r}, {batch!r}, {i})", timeout=600))
    return "".join(out)


def _m0_check(board, label: str, cases, *, cpu: str = "cortex-m0", arch: int = 4, only: tuple[str, ...] = ()) -> None:
    board.forget_modules("fob")
    board.exec("import sys\nsys.modules.pop('mpy_case_runner', None)\nimport mpy_case_runner")
    info = board.exec(
        "import sys, hashlib; print(sys.maxsize, hasattr(hashlib, 'sha1'), sys.implementation._mpy >> 10)"
    )
    # 31-bit small ints, no SHA-1 in C, and the .mpy arch of a Pico (armv6m) or Pico 2 (armv7emsp)
    assert info.split() == ["2147483647", "False", str(arch)], f"the {cpu} tier must look like a plain Pico"
    paths = _paths_of(board.exec)
    assert {"c", "py"} <= set(paths) and set(only) <= set(paths)
    for p in [p for p in paths if p in only] if only else paths:
        subset = cases[:M0_PY_CASES] + [c for c in cases if c["kind"][0] == "E"] if p == "py" else cases
        n = _compare(subset, _m0_run_cases(board, subset, p), f"{cpu}-{label}/{p}")
        record_cases(f"{cpu}-{label}/{p}", n)


@pytest.mark.qemu
def test_m0_from_source(m0):
    from otpfob.devtools.qemu import core_files

    m0.clear_files()
    m0.put_files(ROOT / "firmware", core_files())
    m0.put("mpy_case_runner.py", (SUPPORT / "mpy_case_runner.py").read_bytes())
    _m0_check(m0, "source", generate(SEED, M0_CASES) + bad_cases())


@pytest.mark.qemu
def test_m0_from_mpy(m0, tmp_path):
    _put_core_mpy(m0, tmp_path, "armv6m")
    _m0_check(m0, "mpy", generate(SEED + 2, M0_CASES) + bad_cases())


def _put_core_mpy(machine, tmp_path, march: str) -> None:
    """The OTP core compiled for ``march``, alone on the machine's filesystem with the case runner."""
    from otpfob.devtools.qemu import compile_mpy, core_files

    compile_mpy(ROOT / "firmware", core_files(), tmp_path, march=march)
    machine.clear_files()
    for f in sorted(tmp_path.rglob("*.mpy")):
        machine.put(f.relative_to(tmp_path).as_posix(), f.read_bytes())
    machine.put("mpy_case_runner.py", (SUPPORT / "mpy_case_runner.py").read_bytes())


# --- Emulated Cortex-M4: the RP2350's Arm build's .mpy ---------------------------


@pytest.mark.qemu
def test_m4_from_armv7emsp_mpy(m4, tmp_path):
    _put_core_mpy(m4, tmp_path, "armv7emsp")
    assert "mpy" in m4.exec("import fob.otp; print(fob.otp.__file__)")
    _m0_check(m4, "mpy", generate(SEED + 4, M4_CASES) + bad_cases(), cpu="cortex-m4", arch=7, only=M4_PATHS)
