"""`otpfob deploy` against boards that answer: the emulated Pico (real rp2
MicroPython in rp2040js) and the emulated Cortex-M0 (QEMU).

Both forms of deploy run through the real CLI: the `.mpy` copy onto a
stock MicroPython, and `--image`, which flashes build/firmware-pico's
.uf2 (`make firmware-pico`, fob frozen in) through the BOOTSEL drive the
emulated Pico shows (a folder holding INFO_UF2.TXT, see
otpfob.emu.rp2.pico), then copies board.py and main.py.  After each,
the accounts provisioned before are still there and their codes equal
pyotp's.  Refusals are one sentence, a non-zero exit, no traceback, and
the board's files unchanged.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys

import pytest

from conftest import ROOT, RP2_LANE_A, unavailable
from otpfob import deploy
from otpfob.emu.testing import ProtocolClient, random_secret
from support.reference import expected_totp

pytestmark = [pytest.mark.rp2, RP2_LANE_A]

T0 = 1_790_000_000
LONG_LABEL = "é" * 16  # 32 UTF-8 bytes, MAX_LABEL
LONG_ISSUER = "Ω" * 16


@pytest.fixture(scope="module")
def uf2():
    path = deploy.IMAGE
    if not path.is_file():
        unavailable("the Pico image is not built (make firmware-pico)")
    return path


def otpfob(port, *args, timeout=400):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "host"), str(ROOT / "firmware")]))
    env.pop("OTPFOB_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-m", "otpfob", "--port", port, "deploy", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


def mpremote_exec(port, code, timeout=120):
    p = subprocess.run(
        [sys.executable, "-m", "mpremote", "connect", port, "resume", "exec", code],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert p.returncode == 0, p.stdout + p.stderr
    return p.stdout


LISTING = """
import os
def _walk(p):
    for n in sorted(os.listdir(p)):
        q = (p.rstrip('/') + '/' + n)
        st = os.stat(q)
        if st[0] & 0x4000:
            print('D', q)
            _walk(q)
        else:
            print('F', q, st[6])
_walk('/')
"""


def files(port):
    return mpremote_exec(port, LISTING)


def restart(pico):
    pico.restart()
    pico.wait_ready(60)


def provision(pico):
    """Set the clock and add two accounts, one of the largest kind."""
    accounts = [
        dict(label="plain", issuer="", secret=random_secret(), digits=6, algorithm="sha1"),
        dict(label=LONG_LABEL, issuer=LONG_ISSUER, secret=random_secret(128), digits=10, algorithm="sha512"),
    ]
    with ProtocolClient(pico.port) as c:
        c.call("time_set", time=T0)
        for a in accounts:
            c.call("add", **a)
    return accounts


def check_codes(pico, accounts):
    with ProtocolClient(pico.port) as c:
        info = c.call("info")
        assert info["accounts"] == len(accounts)
        for a in accounts:
            got = c.call("code", label=a["label"], issuer=a["issuer"])
            key = base64.b32decode(a["secret"] + "=" * (-len(a["secret"]) % 8))
            want = expected_totp(key, got["time"], a["digits"], 30, a["algorithm"])[0]
            assert got["code"] == want, a["label"]
    return info


def fob_origin(pico, reset=True):
    """Where `fob` is imported from on the running board, and its files
    (then reset, as mpremote stopped the app)."""
    out = mpremote_exec(pico.port, "import fob; print('FOB', fob.__file__)\n" + LISTING)
    if reset:
        restart(pico)
    head, listing = out.split("FOB", 1)[1].split("\n", 1)
    return head.strip(), listing


def assert_refusal(p, *words):
    text = (p.stdout + p.stderr).strip()
    assert p.returncode != 0, text
    assert "Traceback" not in text, text
    last = text.splitlines()[-1]
    assert last.count(". ") == 0 and last.endswith("."), last  # one sentence
    for w in words:
        assert w in last, last
    return last


@pytest.mark.slow
def test_mpy_then_image_then_mpy(rp2_built, uf2, tmp_path):
    """A stock MicroPython Pico: .mpy deploy (board picked from its
    description), the image over it (no stale /fob left to shadow the
    frozen one), then .mpy over the image; accounts survive every step."""
    from otpfob.emu.rp2.pico import EmulatedPico

    with EmulatedPico(tmp_path / "pico", rtc_set=True) as pico:
        p = otpfob(pico.port)
        assert p.returncode == 0, p.stdout + p.stderr
        assert "Raspberry Pi Pico with RP2040: deploying --board pico" in p.stdout
        pico.wait_ready(60)
        accounts = provision(pico)
        check_codes(pico, accounts)
        assert fob_origin(pico)[0] == "/otp/fob/__init__.mpy"  # from the filesystem, where deploy switched it in

        p = otpfob(pico.port, "--board", "pico", "--image", str(uf2), "--drive", str(pico.bootsel_dir))
        assert p.returncode == 0, p.stdout + p.stderr
        assert pico.uf2_loads == 1 and not pico.bootsel_dir.exists()
        pico.wait_ready(60)
        check_codes(pico, accounts)
        origin, listing = fob_origin(pico)
        assert "fob" not in listing and "/otp" not in listing and "F /main.py" in listing and "F /board.py" in listing
        assert origin == "fob/__init__.py"  # frozen: its source name, no such file on the board

        p = otpfob(pico.port, "--board", "pico")
        assert p.returncode == 0, p.stdout + p.stderr
        pico.wait_ready(60)
        check_codes(pico, accounts)
        assert fob_origin(pico, reset=False)[0] == "/otp/fob/__init__.mpy"  # main.py puts /otp before .frozen


@pytest.mark.slow
def test_bare_pico_in_bootsel(rp2_built, uf2, tmp_path):
    """A Pico with nothing on it, held in BOOTSEL: `deploy --image` finds the
    drive by its INFO_UF2.TXT, flashes, and sets the token up."""
    from otpfob.emu.rp2.pico import FLASH_BYTES, FLASH_FILE, EmulatedPico

    (tmp_path / "pico").mkdir()
    (tmp_path / "pico" / FLASH_FILE).write_bytes(b"\xff" * FLASH_BYTES)  # erased flash
    with EmulatedPico(tmp_path / "pico", rtc_set=True) as pico:
        pico.bootsel()
        env_search = os.environ.get("OTPFOB_UF2_SEARCH")
        os.environ["OTPFOB_UF2_SEARCH"] = str(pico.flash / "*")  # as /media/$USER/* is searched
        try:
            p = otpfob(pico.port, "--image", str(uf2))
        finally:
            if env_search is None:
                os.environ.pop("OTPFOB_UF2_SEARCH")
            else:
                os.environ["OTPFOB_UF2_SEARCH"] = env_search
        assert p.returncode == 0, p.stdout + p.stderr
        assert "Copying otpfob-pico.uf2 to the RPI-RP2 drive" in p.stdout
        pico.wait_ready(60)
        accounts = provision(pico)
        restart(pico)
        check_codes(pico, accounts)


def test_find_drive_by_info_uf2(tmp_path, monkeypatch):
    (tmp_path / "USB").mkdir()
    (tmp_path / "USB" / "INFO_UF2.TXT").write_text("UF2 Bootloader v1.0\r\nBoard-ID: SAMD21\r\n")
    drive = tmp_path / "RPI-RP2"
    drive.mkdir()
    monkeypatch.setenv("OTPFOB_UF2_SEARCH", str(tmp_path / "*"))
    assert deploy.find_drive() is None
    (drive / "INFO_UF2.TXT").write_text("UF2 Bootloader v3.0\r\nModel: Raspberry Pi RP2\r\nBoard-ID: RPI-RP2\r\n")
    assert deploy.find_drive() == drive
    assert deploy.find_drive(tmp_path / "USB") is None


@pytest.mark.qemu
@pytest.mark.parametrize("board", ["pico", "esp32_devkitc"])
def test_refuses_another_platform(m0, board):
    listing = "print(sorted(_ramfs.files))"
    before = m0.exec(listing)
    m0.release()
    try:
        p = otpfob(m0.port, "--board", board)
    finally:
        m0.reattach()
    assert_refusal(p, f"--board {board}", "'qemu'", "nothing was copied")
    assert m0.exec(listing) == before


@pytest.mark.slow
def test_refuses_full_flash_and_other_mpy(make_pico):
    pico = make_pico()
    # Full flash: a file takes all but 8 blocks.
    mpremote_exec(
        pico.port,
        "import os\ns = os.statvfs('/')\nf = open('/fill.bin', 'wb')\n"
        "b = bytes(4096)\nfor _ in range(s[4] - 8):\n    f.write(b)\nf.close()",
        timeout=300,
    )
    before = files(pico.port)
    p = otpfob(pico.port, "--board", "pico")
    assert_refusal(p, "KB free", "too little", "nothing was copied", "mpremote fs rm")
    assert files(pico.port) == before

    # Another .mpy version: a boot script makes the board report v6.2
    # (MicroPython 1.22) where the probe reads it.
    mpremote_exec(
        pico.port,
        "import os\nos.remove('/fill.bin')\nf = open('/boot.py', 'w')\nf.write('''"
        "import sys\n"
        "class _Impl:\n"
        "    name = 'micropython'\n"
        "    version = (1, 22, 2, '')\n"
        "    _mpy = (sys.implementation._mpy & ~0x3ff) | 0x206\n"
        "class _Sys:\n"
        "    implementation = _Impl\n"
        "    platform = sys.platform\n"
        # The real sys bound here: boot.py and main.py share globals, and
        # main.py's own `import sys` rebinds the name to this shim.
        "    def __getattr__(self, n, _real=sys):\n"
        "        return getattr(_real, n)\n"
        "sys.modules['_real_sys'] = sys\n"
        "sys.modules['sys'] = _Sys()\n"
        "''')\nf.close()",
    )
    restart(pico)
    before = files(pico.port)
    p = otpfob(pico.port, "--board", "pico")
    assert_refusal(p, "MicroPython 1.22.2", "v6.2", "v6.3", "1.23 and later", "nothing was copied")
    assert files(pico.port) == before


@pytest.mark.slow
def test_refuses_the_pico2_builds_on_a_pico(make_pico):
    # The Pico 2's image and its armv7emsp .mpy build, offered to an RP2040:
    # refused after the board is asked, before anything is flashed or copied.
    if not deploy.IMAGES["RP2350"].is_file():
        unavailable("the Pico 2 image is not built (make firmware-pico2)")
    pico = make_pico()
    before = files(pico.port)
    p = otpfob(pico.port, "--board", "pico2", "--image")
    assert_refusal(p, "otpfob-pico2.uf2 is for the RP2350", "Raspberry Pi Pico with RP2040", "nothing was flashed")
    assert "`otpfob deploy --board pico --image`" in p.stderr
    p = otpfob(pico.port, "--board", "pico2")
    assert_refusal(p, "--board pico2 is for the RP2350", "nothing was copied", "`otpfob deploy --board pico`")
    assert files(pico.port) == before
    assert not any(pico.bootsel_dir.glob("*.uf2"))  # never asked into BOOTSEL
