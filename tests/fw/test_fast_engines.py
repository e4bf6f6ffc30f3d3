"""fob.fast, the viper SHA-1/256/512 HMAC engines, against CPython's hashlib,
hmac and pyotp.

Cases are drawn by hypothesis (seeded with the run's seed) and run through
the engines directly, not through fob.otp, so a wrong fast engine cannot hide
behind a correct fallback: on the MicroPython Unix port (x64 native emitter,
64-bit words) and on the emulated Cortex-M0 (Thumb-1, 32-bit words), from
source and from .mpy.  Lengths cluster around the SHA padding edges (55/56
and 111/112 bytes) and the HMAC key-block edges (64/65, 128/129).  Timing is
not asserted here; `make bench` checks the budgets.
"""

from __future__ import annotations

import hashlib
import hmac

import pytest
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from conftest import ROOT, SEED, SUPPORT, record_cases, run_upy
from support.core_cases import answers
from support.reference import expected_hotp

ALGS = ("sha1", "sha256", "sha512")
EDGES = (0, 1, 8, 20, 32, 55, 56, 63, 64, 65, 100, 111, 112, 119, 127, 128, 129, 191, 192, 200)


def _len():
    return st.one_of(st.sampled_from(EDGES), st.integers(0, 260))


def _bytes(min_size=0):
    return _len().filter(lambda n: n >= min_size).flatmap(lambda n: st.binary(min_size=n, max_size=n))


_alg = st.sampled_from(ALGS)
_case = st.one_of(
    st.tuples(st.just("D"), _alg, _bytes()),
    # 8-byte messages take the precomputed per-code path; others the general one.
    st.tuples(st.just("M"), _alg, _bytes(1), st.one_of(st.binary(min_size=8, max_size=8), _bytes())),
    st.tuples(
        st.just("T"),
        st.sampled_from((20, 32, 64)).flatmap(lambda n: st.binary(min_size=n, max_size=n)),
        st.integers(6, 10),
    ),
    st.tuples(
        st.just("O"),
        _alg,
        _bytes(1),
        st.one_of(st.integers(0, 2**64 - 1), st.sampled_from((0, 2**30 - 1, 2**30, 2**31, 2**32))),
        st.integers(6, 10),
    ),
)


def _hex(b: bytes) -> str:
    return b.hex() or "-"


def line(c) -> str:
    k = c[0]
    if k == "D":
        return f"D {c[1]} {_hex(c[2])}"
    if k == "M":
        return f"M {c[1]} {_hex(c[2])} {_hex(c[3])}"
    if k == "T":
        return f"T {_hex(c[1])} {c[2]}"
    return f"O {c[1]} {_hex(c[2])} {c[3]} {c[4]}"


def reference_output(c) -> str:
    k = c[0]
    if k == "D":
        return hashlib.new(c[1], c[2]).hexdigest()
    if k == "M":
        return hmac.new(c[2], c[3], c[1]).hexdigest()
    if k == "T":
        d, digits = c[1], c[2]
        o = d[-1] & 15
        v = int.from_bytes(d[o : o + 4], "big") & 0x7FFFFFFF
        return str(v % 10**digits).zfill(digits)
    return expected_hotp(c[2], c[3], c[4], c[1])[0]


def compare(cases, output: str, label: str) -> int:
    got = answers(output, len(cases), label)
    for i, c in enumerate(cases):
        want = reference_output(c)
        # The message names the case's shape, never the key bytes.
        assert got[i] == want, (
            f"{label} case {i}: kind {c[0]} {c[1] if c[0] != 'T' else ''} "
            f"lengths {[len(x) for x in c if isinstance(x, bytes)]}: got {got[i]} want {want}; "
            f"replay with OTPFOB_SEED={SEED}"
        )
    return len(cases)


def _cases_test(n: int):
    """Decorator: one hypothesis example = a list of n cases, seeded per run."""

    def deco(fn):
        return seed(SEED)(
            settings(
                max_examples=1,
                deadline=None,
                derandomize=False,
                database=None,
                suppress_health_check=list(HealthCheck),
                phases=[Phase.generate],
            )(given(cases=st.lists(_case, min_size=n, max_size=n))(fn))
        )

    return deco


# --- CPython: the fast path is absent and the fallback is clean ------------------


def test_cpython_has_no_fast_path():
    with pytest.raises(ImportError):
        import fob.fast  # noqa: F401  (no micropython module, no viper)
    from fob import otp

    assert "fast" not in otp.PATHS
    with pytest.raises(ValueError):
        otp.use_path("fast")
    assert otp.totp(b"12345678901234567890", 59, 8) == "94287082"  # RFC 6238 B, SHA-1


# --- MicroPython Unix port (x64 native emitter) -----------------------------------


@pytest.mark.upy
def test_unix_port_selects_fast(tmp_path):
    out = run_upy(
        [
            "-c",
            "from fob import otp\nb = 'fast' in otp.PATHS\np = otp.path_for('sha512')\nprint(b, sorted(otp.PATHS), p)",
        ],
        tmp_path,
        [ROOT / "firmware"],
    )
    # fob.fast is loaded at first need: SHA-512, which this port's hashlib lacks.
    assert out.split() == ["False", "['c',", "'fast',", "'py']", "fast"]


@pytest.mark.upy
@_cases_test(400)
def test_unix_port_engines(tmp_path_factory, cases):
    tmp = tmp_path_factory.mktemp("fast")
    (tmp / "cases.txt").write_text("\n".join(line(c) for c in cases))
    out = run_upy([str(SUPPORT / "fast_case_runner.py"), "cases.txt"], tmp, [SUPPORT, ROOT / "firmware"])
    record_cases("micropython-unix/fast-engines", compare(cases, out, "unix/fast"))


@pytest.mark.upy
@_cases_test(120)
def test_unix_port_engines_from_mpy(tmp_path_factory, cases):
    from otpfob.devtools.qemu import compile_mpy, core_files

    tmp = tmp_path_factory.mktemp("fastmpy")
    compile_mpy(ROOT / "firmware", core_files(), tmp / "lib", march="x64")
    (tmp / "cases.txt").write_text("\n".join(line(c) for c in cases))
    out = run_upy([str(SUPPORT / "fast_case_runner.py"), "cases.txt"], tmp, [SUPPORT, tmp / "lib"])
    record_cases("micropython-unix/fast-engines-mpy", compare(cases, out, "unix-mpy/fast"))


# --- Emulated Cortex-M0 (Thumb-1, 32-bit words, 31-bit small ints) -----------------


def _m0_run(board, cases) -> str:
    board.forget_modules("fob")
    board.exec("import sys\nsys.modules.pop('fast_case_runner', None)\nimport fast_case_runner")
    assert board.exec("import sys; print(sys.maxsize)").strip() == "2147483647"
    out = []
    lines = [line(c) for c in cases]
    for i in range(0, len(lines), 10):
        out.append(board.exec(f"fast_case_runner.run({lines[i : i + 10]!r}, {i})", timeout=600))
    return "".join(out)


@pytest.mark.qemu
@_cases_test(200)
def test_m0_engines_from_source(m0, cases):
    from otpfob.devtools.qemu import core_files

    m0.clear_files()
    m0.put_files(ROOT / "firmware", core_files())
    m0.put("fast_case_runner.py", (SUPPORT / "fast_case_runner.py").read_bytes())
    record_cases("cortex-m0-source/fast-engines", compare(cases, _m0_run(m0, cases), "m0/fast"))


@pytest.mark.qemu
@_cases_test(200)
def test_m0_engines_from_mpy(m0, tmp_path_factory, cases):
    from otpfob.devtools.qemu import compile_mpy, core_files

    tmp = tmp_path_factory.mktemp("m0mpy")
    compile_mpy(ROOT / "firmware", core_files(), tmp, march="armv6m")
    m0.clear_files()
    for f in sorted(tmp.rglob("*.mpy")):
        m0.put(f.relative_to(tmp).as_posix(), f.read_bytes())
    m0.put("fast_case_runner.py", (SUPPORT / "fast_case_runner.py").read_bytes())
    m0.forget_modules("fob")
    assert m0.exec("from fob import fast; print(fast.__file__)").strip().endswith(".mpy")
    record_cases("cortex-m0-mpy/fast-engines", compare(cases, _m0_run(m0, cases), "m0-mpy/fast"))
