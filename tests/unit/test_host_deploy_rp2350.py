"""`otpfob deploy` and the Pico 2 (RP2350): which board a description
settles, what is refused and why, and which image and BOOTSEL drive go with
which chip.

No RP2350 runs here (rp2040js has no RP2350), so the boards are described
exactly as MicroPython 1.25's rp2 port describes them: `os.uname().machine`
is MICROPY_HW_BOARD_NAME + " with " + MICROPY_HW_MCU_NAME (RPI_PICO2's
"Raspberry Pi Pico2", RPI_PICO2_W's "Raspberry Pi Pico 2 W"; "RP2350", or
"RP2350-RISCV" for the RISC-V build), and `sys.implementation._mpy` is the
.mpy version 6.3 with the arch its compiler flags give (armv7emsp, 7, for
pico-sdk's -mcpu=cortex-m33 -mfloat-abi=softfp; rv32imc, 11, for RISC-V).
tests/fw/test_pico2_image.py finds the same machine name in the built image.
"""

from __future__ import annotations

import struct

import pytest

from otpfob import deploy, paths
from otpfob.deploy.board import ARCH_CODE
from otpfob.errors import DeployError

PORT = "/dev/ttyACM0"
MPY_6_3 = 6 | 3 << 8
FS = (4096, 768, 700, 0)  # RPI_PICO2's 3 MB littlefs, mostly free


def described(machine: str, arch: int, platform: str = "rp2") -> deploy.BoardInfo:
    return deploy.BoardInfo("micropython", (1, 25, 0), MPY_6_3 | arch << 10, platform, machine, FS)


PICO2 = described("Raspberry Pi Pico2 with RP2350", 7)
PICO2_W = described("Raspberry Pi Pico 2 W with RP2350", 7)
PICO2_RISCV = described("Raspberry Pi Pico2 with RP2350-RISCV", 11)
PICO = described("Raspberry Pi Pico with RP2040", 4)


def one_sentence(err: pytest.ExceptionInfo) -> str:
    msg = str(err.value)
    assert "\n" not in msg and msg.endswith(".") and "Traceback" not in msg
    return msg


def test_the_rp2350_boards_are_settled_by_their_own_description():
    assert deploy.board_from(PICO2) == "pico2"
    assert deploy.board_from(PICO2_W) == "pico2_w"
    assert deploy.board_from(PICO) == "pico"  # "Raspberry Pi Pico " does not take the Pico 2s
    assert ARCH_CODE["armv7emsp"] == 7
    for info, board in ((PICO2, "pico2"), (PICO2_W, "pico2_w"), (PICO2_W, "pico2")):
        deploy.check_board(info, board, PORT)  # the same chip and .mpy arch: accepted


@pytest.mark.parametrize(
    "info, board, fix",
    [
        (PICO2, "pico", "run `otpfob deploy --board pico2`"),
        (PICO2_W, "pico_w", "run `otpfob deploy --board pico2_w`"),
        (PICO, "pico2", "run `otpfob deploy --board pico`"),
    ],
)
def test_the_wrong_chip_is_refused_naming_the_board_that_fits(info, board, fix):
    with pytest.raises(DeployError) as err:
        deploy.check_board(info, board, PORT)
    msg = one_sentence(err)
    assert info.machine in msg and "nothing was copied" in msg and fix in msg


def test_an_rp2350_running_armv6m_native_code_is_refused():
    # A Pico 2 whose MicroPython was built for the Cortex-M0+ (armv6m) arch code.
    with pytest.raises(DeployError) as err:
        deploy.check_board(described("Raspberry Pi Pico2 with RP2350", 4), "pico2", PORT)
    assert "not armv7emsp (7)" in one_sentence(err)


def test_the_risc_v_build_is_refused_by_name():
    assert deploy.board_from(PICO2_RISCV) is None
    for board in ("pico2", "pico", "esp32_devkitc"):
        with pytest.raises(DeployError) as err:
            deploy.check_board(PICO2_RISCV, board, PORT)
        msg = one_sentence(err)
        assert "RISC-V build" in msg and "RP2350-RISCV" in msg and "nothing was copied" in msg
        assert "`otpfob deploy --board pico2 --image`" in msg


def test_build_for_the_pico2_is_armv7emsp(tmp_path):
    out = deploy.build("pico2", out_dir=tmp_path / "pico2")
    assert out.arch == "armv7emsp"
    archs = {local.read_bytes()[2] >> 2 for local, dev in out.files if dev.endswith(".mpy")}
    assert archs == {0, 7}  # plain bytecode carries no arch; the viper engines carry armv7emsp's


def uf2_block(family: int, addr: int, no: int, count: int, flags: int = 0x2000, fill: int = 0) -> bytes:
    head = struct.pack("<8I", 0x0A324655, 0x9E5D5157, flags, addr, 256, no, count, family)
    return head + bytes([fill]) * 476 + struct.pack("<I", 0x0AB16F30)


def test_the_image_chip_is_read_from_its_uf2_family(tmp_path):
    e10 = uf2_block(0xE48BFF57, 0x10FFFF00, 0, 2, flags=0xA000, fill=0xEF)
    images = {
        "rp2040.uf2": b"".join(uf2_block(0xE48BFF56, 0x10000000 + 256 * i, i, 3) for i in range(3)),
        "rp2350.uf2": e10 + b"".join(uf2_block(0xE48BFF59, 0x10000000 + 256 * i, i, 3) for i in range(3)),
    }
    for name, data in images.items():
        (tmp_path / name).write_bytes(data)
    assert deploy.image_chip(tmp_path / "rp2040.uf2") == "RP2040"
    assert deploy.image_chip(tmp_path / "rp2350.uf2") == "RP2350"  # the E10 block left aside

    (tmp_path / "riscv.uf2").write_bytes(e10 + uf2_block(0xE48BFF5A, 0x10000000, 0, 1))
    (tmp_path / "text.uf2").write_text("not an image\n")
    for name, says in (("riscv.uf2", "for the RP2350's RISC-V cores"), ("text.uf2", "is not a UF2 image")):
        with pytest.raises(DeployError) as err:
            deploy.image_chip(tmp_path / name)
        msg = one_sentence(err)
        assert says in msg and "nothing was flashed" in msg and "`make firmware-pico2`" in msg


def test_each_chip_has_its_image_and_the_board_must_match_it(tmp_path):
    assert deploy.image_for("pico2") == deploy.IMAGES["RP2350"] == deploy.image_for("pico2_w")
    assert deploy.image_for("pico2").name == "otpfob-pico2.uf2"
    assert deploy.image_for("pico") == deploy.IMAGE == deploy.image_for(None)
    out = deploy.image_build("pico2", tmp_path / "out", chip="RP2350")
    assert [dev for _, dev in out.files] == ["board.py", "main.py"]
    with pytest.raises(DeployError) as err:
        deploy.image_build("pico", tmp_path / "out", chip="RP2350")
    msg = one_sentence(err)
    assert "for the RP2350" in msg and "--board pico2 or pico2_w" in msg
    with pytest.raises(DeployError) as err:
        deploy.image_for("esp32s3_devkitc")
    assert "Pico and Pico 2 (RP2040, RP2350)" in one_sentence(err)


def test_the_rp2350_bootsel_drive_is_found_by_its_info_uf2(tmp_path, monkeypatch):
    # What each bootrom writes in INFO_UF2.TXT (the RP2040's as the emulated Pico shows it).
    rp2040 = tmp_path / "RPI-RP2"
    rp2350 = tmp_path / "RP2350"
    for drive, text in (
        (rp2040, "UF2 Bootloader v3.0\r\nModel: Raspberry Pi RP2\r\nBoard-ID: RPI-RP2\r\n"),
        (rp2350, "UF2 Bootloader v1.0\r\nModel: Raspberry Pi RP2350\r\nBoard-ID: RP2350\r\n"),
    ):
        drive.mkdir()
        (drive / "INFO_UF2.TXT").write_text(text)
    monkeypatch.setenv("OTPFOB_UF2_SEARCH", str(tmp_path / "*"))
    assert deploy.find_drive(chip="RP2350") == rp2350
    assert deploy.find_drive(chip="RP2040") == rp2040
    assert deploy.find_drive(rp2040, chip="RP2350") is None  # a Pico's drive never takes a Pico 2 image
    assert deploy.find_drive(rp2350) is None


def test_the_pico2_boards_are_wired_as_the_pico_and_never_sleep_the_rp2040_way():
    pico = paths.board_data("pico")
    for name in ("pico2", "pico2_w"):
        board = paths.board_data(name)
        assert (board["SDA"], board["SCL"], board["BUTTON_PIN"]) == (pico["SDA"], pico["SCL"], pico["BUTTON_PIN"])
    # fob/sleep_rp2.py writes the RP2040's IO_BANK0 registers: no other chip may name it.
    for name, board in paths.hardware_boards().items():
        if board.get("SLEEP") == "rp2-dormant":
            assert board["CHIP"] == "RP2040", name
