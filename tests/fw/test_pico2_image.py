"""The Pico 2 image (`make firmware-pico2`), read back block by block.

Nothing here runs it (no RP2350 emulator): the test checks what a Pico 2's
bootrom reads from the .uf2 and what the firmware says of itself.  The
RP2350-E10 block first (absolute family, at 0x10ffff00, 0xEF bytes, marked
to be ignored), then every block of the RP2350 Arm secure family, numbered
in order, 256-byte payloads at consecutive flash addresses that make up
exactly the built firmware.bin, ending before RPI_PICO2's 3 MB filesystem;
the image definition block the RP2350 bootrom needs to boot in its first
4 KB; `fob` frozen in; and the machine name deploy recognises (boards/pico2.py).
"""

from __future__ import annotations

import struct

import pytest

from conftest import unavailable
from otpfob import deploy, paths
from otpfob.deploy.uf2 import uf2_blocks

FLASH = 0x10000000
FS_START = FLASH + 1024 * 1024  # RPI_PICO2: 4 MB flash, the last 3 MB littlefs
UF2_FLAG_FAMILY, UF2_FLAG_EXTENSION = 0x2000, 0x8000
RP2_IGNORE_BLOCK = 0x9957E304  # pico-sdk boot/uf2.h
PICOBIN_BLOCK_START, PICOBIN_BLOCK_END = 0xFFFFDED3, 0xAB123579  # pico-sdk boot/picobin.h
IMAGE_DEF_ITEM = 0x42  # PICOBIN_BLOCK_ITEM_1BS_IMAGE_TYPE


@pytest.fixture(scope="module")
def image() -> tuple[bytes, bytes]:
    uf2 = deploy.IMAGES["RP2350"]
    if not uf2.is_file():
        unavailable("the Pico 2 image is not built (make firmware-pico2)")
    return uf2.read_bytes(), uf2.with_suffix(".bin").read_bytes()


def test_uf2_blocks_read_back(image):
    data, firmware = image
    blocks = uf2_blocks(data)
    flags, addr, size, no, count, family = blocks[0]
    assert (family, addr, size, no, count) == (0xE48BFF57, 0x10FFFF00, 256, 0, 2)
    assert flags == UF2_FLAG_FAMILY | UF2_FLAG_EXTENSION
    assert data[32 : 32 + 256] == b"\xef" * 256
    assert struct.unpack_from("<I", data, 32 + 256)[0] == RP2_IGNORE_BLOCK

    body = blocks[1:]
    assert {b[5] for b in body} == {0xE48BFF59}  # rp2350-arm-s
    assert [b[3] for b in body] == list(range(len(body)))
    assert {b[4] for b in body} == {len(body)}
    assert {b[0] for b in body} == {UF2_FLAG_FAMILY} and {b[2] for b in body} == {256}
    assert [b[1] for b in body] == [FLASH + 256 * i for i in range(len(body))]
    payload = b"".join(data[512 * i + 32 : 512 * i + 32 + 256] for i in range(1, len(blocks)))
    assert payload[: len(firmware)] == firmware and not payload[len(firmware) :].strip(b"\0")
    assert body[-1][1] + 256 <= FS_START, "the image would overwrite the accounts' filesystem"
    assert deploy.image_chip(deploy.IMAGES["RP2350"]) == "RP2350"


def test_the_firmware_boots_on_an_rp2350_and_says_what_deploy_expects(image):
    _, firmware = image
    # The RP2350 bootrom looks for a block loop holding an IMAGE_DEF in the first 4 KB.
    start = firmware.find(struct.pack("<I", PICOBIN_BLOCK_START), 0, 4096)
    assert start >= 0 and firmware[start + 4] == IMAGE_DEF_ITEM
    assert firmware.find(struct.pack("<I", PICOBIN_BLOCK_END), start, start + 256) > start
    board = paths.board_data("pico2")
    assert f"{board['MACHINE']}with {board['CHIP']}".encode() in firmware  # "Raspberry Pi Pico2 with RP2350"
    assert b"fob/otp.py" in firmware and b"fob/fast.py" in firmware  # fob frozen in
