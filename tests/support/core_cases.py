"""One list of OTP cases per run, from the run's seed, for every interpreter.

A case is a dict; `line()` gives the compact text form the MicroPython
runner (tests/support/mpy_case_runner.py) reads.  Expected values come from
reference.py, never from the code under test.
"""

from __future__ import annotations

import random

from .reference import expected_hotp, expected_totp

EDGE_TIMES = (
    0,
    1,
    29,
    30,
    59,
    2**30 - 1,
    2**30,
    2**31 - 1,
    2**31,
    2**32 - 1,
    2**32,
    1111111109,
    1234567890,
    2000000000,
    20000000000,
    2**40 - 1,
    2**40,
)
KEY_LENGTHS = (1, 10, 14, 16, 20, 32, 40, 63, 64, 65, 100, 127, 128)
PERIODS = (1, 15, 30, 60, 90, 120, 121, 300, 3599, 3600)
ALGORITHMS = ("sha1", "sha256", "sha512")

# Arguments the core must refuse with ValueError (kind "E").
BAD_ARGS = (
    ("totp", b"k", 59, 0, 30, "sha1"),  # digits 0
    ("totp", b"k", 59, 11, 30, "sha1"),  # digits 11
    ("totp", b"k", 59, 6, 0, "sha1"),  # period 0
    ("totp", b"k", 59, 6, 3601, "sha1"),  # period over an hour
    ("totp", b"k", -1, 6, 30, "sha1"),  # negative time
    ("totp", b"", 59, 6, 30, "sha1"),  # empty key
    ("totp", b"k", 59, 6, 30, "md5"),  # unknown algorithm
    ("hotp", b"k", -5, 6, 0, "sha256"),  # negative counter
)


def _key(rng: random.Random) -> bytes:
    n = rng.choice(KEY_LENGTHS) if rng.random() < 0.7 else rng.randint(1, 128)
    return bytes(rng.randrange(256) for _ in range(n))


def generate(seed: int, n: int) -> list[dict]:
    rng = random.Random(seed)
    cases = []
    for i in range(n):
        alg = ALGORITHMS[i % 3]
        key = _key(rng)
        digits = rng.randint(6, 10)
        if i % 7 == 6:
            counter = rng.choice((0, 1, 2**31 - 1, 2**32, rng.randrange(2**48)))
            code, src = expected_hotp(key, counter, digits, alg)
            cases.append(dict(kind="H", key=key, n=counter, digits=digits, period=0, alg=alg, code=code, src=src))
            continue
        t = rng.choice(EDGE_TIMES) if rng.random() < 0.4 else rng.randrange(2**40 + 1)
        period = rng.choice(PERIODS) if rng.random() < 0.7 else rng.randint(1, 3600)
        code, src = expected_totp(key, t, digits, period, alg)
        cases.append(dict(kind="T", key=key, n=t, digits=digits, period=period, alg=alg, code=code, src=src))
    return cases


def bad_cases() -> list[dict]:
    out = []
    for fn, key, n, digits, period, alg in BAD_ARGS:
        out.append(
            dict(
                kind="E" + fn[0].upper(),
                key=key,
                n=n,
                digits=digits,
                period=period,
                alg=alg,
                code="ValueError",
                src="spec",
            )
        )
    return out


def line(c: dict) -> str:
    return f"{c['kind']} {c['alg']} {c['digits']} {c['period']} {c['n']} {c['key'].hex() or '-'}"


def answers(output: str, count: int, label: str) -> dict[int, str]:
    """A case runner's output (one `INDEX VALUE` a line) by index; every one
    of the ``count`` cases must be answered."""
    got = {}
    for ln in output.splitlines():
        if ln.strip():
            i, value = ln.split()
            got[int(i)] = value
    assert len(got) == count, f"{label}: {len(got)} answers for {count} cases"
    return got
