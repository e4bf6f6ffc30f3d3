"""The whole token on the real rp2 MicroPython, in an emulated RP2040.

Each Pico boots MicroPython's own rp2 firmware (built from Debian's
sources) in rp2040js, with otpfob put on its littlefs by the real
`otpfob deploy` (tests/conftest.py: pico_image).  The host side is the real
CLI or pyserial over a pty bridged to the emulated USB CDC; codes are read
from the SSD1306 model's RAM and compared with pyotp.
"""

from __future__ import annotations

import random
import subprocess
import sys
import threading
import time

import pytest

from conftest import RP2_LANE_B, SEED, record_cases
from otpfob.emu.rp2.probe import hmac_paths
from otpfob.emu.testing import ProtocolClient, grouped, random_secret, screen_code
from otpfob.errors import EXIT_CLOCK
from support.cli import code_by_label, run_at, wipe_holding_the_button
from support.pico import see_clock_notice
from support.reference import expected

pytestmark = [pytest.mark.rp2, RP2_LANE_B]

T0 = 1_790_000_000  # 2026-09-21, a multiple of 10 s
# A Pico at T0 is far from this computer's clock: provision adds and checks the
# account, then exits with EXIT_CLOCK (services would refuse its codes).
ADDED = EXIT_CLOCK


def run(pico, *args, input=None):
    return run_at(pico.port, *args, input=input)


def set_time(pico, t):
    """Set the token's DS3231 over USB, as `otpfob time --set` does (moving
    the model's clock behind the firmware's back would be a clock jump,
    which the real board file refuses to trust)."""
    with ProtocolClient(pico.port) as c:
        reply = c.call("time_set", time=t)
    see_clock_notice(pico, reply)


def pico_at(make_pico, t=T0, **kwargs):
    """A Pico whose clock was set to ``t``; it runs on in emulated time."""
    pico = make_pico(**kwargs)
    set_time(pico, t)
    return pico


def wait_code(pico, secret, digits=6, period=30, algorithm="sha1", timeout=20):
    """Wait for the screen to show the code for the RTC's time; the text."""

    def ok(text):
        now = pico.clock.now()
        return screen_code(text) in {grouped(expected(secret, now + d, digits, period, algorithm)) for d in (-1, 0)}

    return pico.wait_for_screen(ok, timeout)


def shown_label(text):
    """The account name on a code screen: the first word of the line above
    the code (the label sits under the issuer when there is one)."""
    lines = text.splitlines()
    code = screen_code(text)
    k = lines.index(code) if code in lines else 1
    above = lines[k - 1].split() if k >= 1 else []
    return above[0] if above else ""


def settled(pico, text, timeout=10):
    """The screen once a redraw is over: the OLED is updated in several
    transfers (only what changed), so a read can fall between two."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(0.15)
        again = pico.screen_text()
        if again == text:
            return text
        text = again
    return text


def show(pico, label, tries=16):
    """Press until ``label``'s code is on the screen; returns the text.
    (A name longer than its line scrolls: a piece of 8 or more characters
    is matched.)"""
    text = settled(pico, pico.wait_for_screen(lambda t: screen_code(t) is not None, 20))
    for _ in range(tries):
        name = shown_label(text)
        if name and (name == label or (len(name) >= 8 and name in label)):
            return text
        before = text.splitlines()[:2]
        pico.press()
        text = settled(
            pico,
            pico.wait_for_screen(
                lambda t, before=before: screen_code(t) is not None and t.splitlines()[:2] != before, 20
            ),
        )
    raise AssertionError("account %s never shown; screen:\n%s" % (label, text))


def test_boots_to_the_first_code_on_the_screen(make_pico):
    pico = pico_at(make_pico)
    secret = random_secret()
    with ProtocolClient(pico.port) as c:
        c.call("add", label="boot", issuer="Pico", secret=secret)
    # pico_at set the clock back: its one-time notice is seen first, as an
    # owner would, so the boot below is timed to the code alone.
    wait_code(pico, secret, timeout=60)
    pico.power_cut()
    t_off = pico.emulated_ns()
    pico.restart()
    text = wait_code(pico, secret, timeout=60)
    assert "boot" in text and "Pico" in text
    first_code_ms = (pico.emulated_ns() - t_off) / 1e6
    assert first_code_ms < 5000, first_code_ms  # upper bound; make bench-rp2 measures it


def test_info_reports_the_real_port_and_its_free_heap(make_pico):
    pico = make_pico()
    code, out, err = run(pico, "info")
    assert code == 0, err
    line = next(ln for ln in out.splitlines() if ln.startswith("Free memory:"))
    free = int(line.split()[2])
    # The rp2 port's GC heap is about 240 KB on a fresh REPL; what the app
    # leaves after boot is gc.mem_free() on the chip, not a constant.
    assert 40_000 < free < 240_000, free
    with ProtocolClient(pico.port) as c:
        info = c.call("info")
    assert info["board"] == "pico" and abs(info["free"] - free) < 20_000
    record_cases("rp2-free-heap-after-boot", 1)


MATRIX = [(alg, digits, period) for alg in ("sha1", "sha256", "sha512") for digits in (6, 8) for period in (30, 60)]


def test_provision_matrix_code_over_usb_and_on_screen_equals_pyotp(make_pico):
    pico = pico_at(make_pico)
    rng = random.Random(SEED)
    accounts = []
    for n, (alg, digits, period) in enumerate(MATRIX):
        secret = random_secret(rng.choice((10, 20, 32, 64)))
        label = "m%02d" % n
        how = n % 3
        if how == 0:
            args = ("provision", "--secret", secret, "--label", label)
            stdin = None
        elif how == 1:
            args = ("provision", "--secret", "-", "--label", label)
            stdin = secret + "\n"
        else:
            args = (
                "provision",
                "--uri",
                "otpauth://totp/Issuer%d:%s?secret=%s&algorithm=%s&digits=%d&period=%d"
                % (n, label, secret, alg.upper(), digits, period),
            )
            stdin = None
        if how != 2:
            args += ("--algorithm", alg, "--digits", str(digits), "--period", str(period))
        args += ("--force",)  # 80-bit secrets are refused without it
        code, out, err = run(pico, *args, input=stdin)
        assert code == ADDED, (args[:2], out, err)
        assert secret not in out + err
        accounts.append((label, secret, alg, digits, period))
    # AWS: a 40-byte secret, SHA-1, 6 digits, 30 s, label device@account.
    aws = random_secret(40)
    code, out, err = run(pico, "provision", "--uri", "otpauth://totp/MyDevice@123456789012?secret=%s" % aws)
    assert code == ADDED, err
    accounts.append(("MyDevice@123456789012", aws, "sha1", 6, 30))
    record_cases("rp2-provision", len(accounts))

    from otpfob.session import Session
    from otpfob.transport import SerialTransport

    # Over USB, either side of a period boundary.
    boundary = (T0 // 60 + 2) * 60
    times = set()
    for t in (boundary - 2, boundary):
        set_time(pico, t)
        with Session(SerialTransport(pico.port)) as s:
            for label, secret, alg, digits, period in accounts:
                got = code_by_label(s, label)
                assert got.code == expected(secret, got.time, digits, period, alg), label
                assert t <= got.time <= t + 2
                times.add(got.time // 30)
    assert len(times) >= 2  # both sides of the boundary
    # On the screen: every account, read from the SSD1306 model's RAM.
    checked = 0
    for label, secret, alg, digits, period in rng.sample(accounts, 5):
        show(pico, label)
        wait_code(pico, secret, digits, period, alg)
        checked += 1
    record_cases("rp2-screen-codes", checked)


def test_screen_follows_period_boundaries(make_pico):
    pico = pico_at(make_pico)
    secret = random_secret(20)
    with ProtocolClient(pico.port) as c:
        c.call("add", label="step", secret=secret, digits=8, algorithm="sha256")
    # Emulated time runs to the next boundaries (advance: no wall-clock wait).
    seen = set()
    for _ in range(3):
        now = pico.clock.now()
        wait = (int(now) // 30 + 1) * 30 - now + 0.5
        pico.advance(wait / 2)
        pico.press()  # keeps the screen from blanking (30 s idle)
        pico.advance(wait / 2 - 0.15)
        seen.add(screen_code(wait_code(pico, secret, 8, 30, "sha256")))
    assert len(seen) == 3


def test_buttons_move_between_accounts_and_the_screen_blanks_and_wakes(make_pico):
    pico = pico_at(make_pico)
    with ProtocolClient(pico.port) as c:
        for label in ("one", "two", "three"):
            c.call("add", label=label, secret=random_secret())
    text = pico.wait_for_screen(lambda t: screen_code(t) is not None, 20)
    first = next(lbl for lbl in ("one", "two", "three") if lbl in text)
    order = ["one", "two", "three"]
    nxt = order[(order.index(first) + 1) % 3]
    pico.press()  # a short press on the GPIO: the next account
    pico.wait_for_screen(lambda t: nxt in t, 20)
    pico.hold()  # a long press: back
    pico.wait_for_screen(lambda t: first in t, 20)
    # Idle for the blanking time (30 s on a real board): emulated, not waited.
    assert pico.display_on
    pico.advance(31)
    pico.wait_for_screen(lambda t: not pico.display_on, 20)
    pico.press()  # the first press only wakes it
    text = pico.wait_for_screen(lambda t: pico.display_on and screen_code(t) is not None, 20)
    assert first in text


def test_no_code_while_the_clock_is_unset_or_its_oscillator_stopped(make_pico):
    pico = make_pico(rtc_set=False)  # a new DS3231: OSF set
    with ProtocolClient(pico.port) as c:
        info = c.call("info")
        assert info["clock"] != "ok"
        c.call("add", label="osf", secret=random_secret())
        text = pico.wait_for_screen(lambda t: "clock" in t.lower() or "set" in t.lower(), 20)
        assert screen_code(text) is None
        c.call("time_set", time=T0)
        pico.wait_for_screen(lambda t: screen_code(t) is not None, 20)
        pico.rtc.set_osf()  # the oscillator stopped (battery flat)
        text = pico.wait_for_screen(lambda t: screen_code(t) is None, 20)
        assert c.call("info")["clock"] != "ok"
        assert c.request("code", label="osf")["ok"] is False


# A boot per cut: `make test` samples 3 (CI time), `make test-slow` takes 6.
@pytest.mark.parametrize("cuts", [pytest.param(3, id="3-cuts"), pytest.param(6, id="6-cuts", marks=pytest.mark.slow)])
def test_power_cut_in_the_middle_of_add_keeps_the_old_or_the_new_store(make_pico, cuts):
    """Cut at random instruction counts inside `add`: littlefs on the
    emulated NOR flash must hold the old store or the new one."""
    pico = pico_at(make_pico)
    rng = random.Random(SEED ^ 0xADD)
    with ProtocolClient(pico.port) as c:
        c.call("add", label="keep", secret=random_secret())
        before = pico.instructions
        c.call("add", label="probe", secret=random_secret())
        span = pico.instructions - before  # about what one add costs, idle loop included
        c.call("delete", label="probe")
    outcomes = {"old": 0, "new": 0}
    for k in range(cuts):
        label = "cut%d" % k
        start = pico.instructions
        pico.power_cut(at_instruction=start + rng.randrange(span // 8, span), wait=False)
        with ProtocolClient(pico.port, timeout=2) as c:
            try:
                c.request("add", label=label, secret=random_secret())
            except TimeoutError:
                pass  # the power went before the reply
        pico.wait_off(120)
        pico.restart()
        pico.wait_ready(120)  # the first screen, then one info: no queue of requests during boot
        with ProtocolClient(pico.port, timeout=30) as c:
            labels = [a["label"] for a in c.call("list")["accounts"]]
        assert "keep" in labels
        outcomes["new" if label in labels else "old"] += 1
        if label in labels:
            with ProtocolClient(pico.port) as c:
                c.call("delete", label=label)
    record_cases("rp2-power-cuts", cuts)
    assert sum(outcomes.values()) == cuts


def test_access_password_locks_the_real_repl_out(make_pico, tmp_path):
    """With a password set, mpremote over the emulated USB CDC gets no REPL
    and no file: the firmware's Ctrl-C lockout meets the real USB stack."""
    pico = pico_at(make_pico)
    secret = random_secret()
    assert run(pico, "provision", "--secret", secret, "--label", "locked")[0] == ADDED
    password = "correct horse battery staple"
    code, out, err = run(pico, "access", "set", "--password-stdin", input=password + "\n")
    assert code == 0, err
    for args in (["exec", "print('repl' + 'open')"], ["fs", "cat", ":accounts.dat"]):
        try:
            p = subprocess.run(
                [sys.executable, "-m", "mpremote", "connect", pico.port, *args],
                capture_output=True,
                text=True,
                timeout=20,
            )
        except subprocess.TimeoutExpired as e:  # still waiting for a raw REPL that never comes
            out = e.stdout or b""
        else:
            assert p.returncode != 0
            out = p.stdout.encode()
        assert b"replopen" not in out and b"raw REPL" not in out
    assert secret.encode() not in pico.serial_log
    # The token still works for its owner afterwards.
    code, out, err = run(pico, "--password", password, "code", "-s", "locked")
    now = pico.clock.now()
    # Its clock is T0, far from this computer's: the code with a warning, exit 3.
    assert code == EXIT_CLOCK and out.strip() in {expected(secret, now + d) for d in (-2, -1, 0)}, err


def test_touch_account_waits_for_the_button_on_the_gpio(make_pico):
    pico = pico_at(make_pico)
    secret = random_secret()
    code, out, err = run(pico, "provision", "--secret", secret, "--label", "touchy", "--touch")
    from otpfob.session import Session
    from otpfob.transport import SerialTransport

    presser = threading.Timer(1.5, pico.press)
    presser.start()
    try:
        with Session(SerialTransport(pico.port, timeout=30)) as s:
            got = s.code("touchy")
    finally:
        presser.join()
    assert got.code == expected(secret, got.time)


def test_factory_wipe_needs_the_button_held(make_pico):
    pico = pico_at(make_pico)
    assert run(pico, "provision", "--secret", random_secret(), "--label", "gone")[0] == ADDED
    password = "a password nobody remembers"
    assert run(pico, "access", "set", "--password-stdin", input=password + "\n")[0] == 0
    code, out, err = run(pico, "wipe", "--factory", "--yes")
    assert code != 0  # nobody holds the button
    code, out, err = wipe_holding_the_button(pico)
    assert code == 0, err
    code, out, err = run(pico, "list")
    assert code == 0 and "gone" not in out, err


@pytest.mark.slow
def test_hmac_path_chosen_on_the_real_port_is_the_fastest(make_pico):
    """Which HMAC path fob.otp picks per algorithm on rp2, and the cycles of
    each (emulated time: the same on any host): C hashlib where the port
    has the algorithm (fob.fast's 5 KB of heap is then never loaded), and
    it costs at most 15 % more than the quickest path; the viper engines
    for SHA-512, which the port's hashlib lacks."""
    pico = make_pico()
    paths, output = hmac_paths(pico.port, timeout=120)
    assert len(paths) == 3, output
    for alg, (chosen, us) in paths.items():
        fastest = min(us, key=us.get)
        assert chosen == ("c" if "c" in us else "fast"), (alg, chosen, us)
        assert us[chosen] <= us[fastest] * 1.15, (alg, chosen, us)
    pico.restart()  # mpremote's Ctrl-C stopped the app: a reset brings it back
    pico.wait_ready(60)
