#!/bin/sh
# `make firmware-pico2`: MicroPython 1.25.0's rp2 port for the Pico 2
# (BOARD=RPI_PICO2, the RP2350's Arm cores) from the same Debian 13 sources
# as the Pico image, with otpfob's `fob` frozen in (host/tools/manifest_pico.py).
# Outputs in build/firmware-pico2/ (BUILD overrides "build"):
#   otpfob-pico2.uf2   for a real Pico 2 held in BOOTSEL (copy to the RP2350 drive)
#   otpfob-pico2.bin   flash image from offset 0
#   otpfob-pico2.elf
# The MicroPython tree is build_rp2.sh's and picotool is build_firmware_pico.sh's
# (run first), so nothing is unpacked or fetched twice.  Idempotent: skipped
# when the .uf2 is newer than firmware/ and the manifests.
set -eu
HERE=$(cd "$(dirname "$0")/../.." && pwd)
TOP=${BUILD:-build}
sh "$HERE/host/tools/build_firmware_pico.sh" >/dev/null  # sources, mpy-cross, picotool
R=$(cd "$TOP/rp2" && pwd)
PT=$(cd "$TOP/firmware-pico/picotool" && pwd)/picotool
mkdir -p "$TOP/firmware-pico2"
B=$(cd "$TOP/firmware-pico2" && pwd)
SRC=$(ls -d "$R"/micropython-*/ | head -1); SRC=${SRC%/}
MANIFEST="$HERE/host/tools/manifest_pico.py"
J=$(nproc 2>/dev/null || echo 2)
GIT_CEILING_DIRECTORIES=$R; export GIT_CEILING_DIRECTORIES
: "${SOURCE_DATE_EPOCH:=$(stat -c %Y "$SRC/py/mpconfig.h")}"; export SOURCE_DATE_EPOCH

if [ -f "$B/otpfob-pico2.uf2" ] && [ -z "$(find "$HERE/firmware" "$MANIFEST" "$HERE/host/otpfob/emu/rp2/manifest.py" \
        -newer "$B/otpfob-pico2.uf2" -name '*.py' -print 2>/dev/null | head -1)" ] \
        && [ ! "$HERE/host/tools/build_firmware_pico2.sh" -nt "$B/otpfob-pico2.uf2" ]; then
    touch "$B/otpfob-pico2.uf2"  # for make: newer than its prerequisites
    echo "firmware-pico2: up to date in $B"; exit 0
fi

# 1. The firmware: pico-sdk 2.1.1's rp2350 platform (Cortex-M33, armv8-m.main+fp,
#    softfp), in its own build folder, fob frozen.  picotool_FOUND=0 as for
#    the Pico: the SDK would git-clone picotool; the .uf2 is made below.
FW="$B/build-RPI_PICO2"
# CMAKE_ARGS on make's command line replaces the Makefile's own, which name
# the board: named here, or cmake builds its default, RPI_PICO.
ARGS="-DMICROPY_BOARD=RPI_PICO2 -DMICROPY_BOARD_DIR=$SRC/ports/rp2/boards/RPI_PICO2"
ARGS="$ARGS -DMICROPY_FROZEN_MANIFEST=$MANIFEST -DMICROPY_LIB_DIR=$R/empty-lib -Dpicotool_FOUND=0"
if [ -f "$FW/Makefile" ] && [ "$(cat "$FW/.otpfob-cmake-args" 2>/dev/null)" != "$ARGS" ]; then rm -rf "$FW"; fi
mkdir -p "$FW"; echo "$ARGS" > "$FW/.otpfob-cmake-args"
make -s -C "$SRC/ports/rp2" -j"$J" BOARD=RPI_PICO2 BUILD="$FW" CMAKE_ARGS="$ARGS" >"$B/make.log" 2>&1 \
    || { tail -8 "$B/make.log" >&2; echo "firmware-pico2: the rp2 build failed (see $B/make.log)" >&2; exit 1; }
[ -f "$FW/firmware.bin" ] || { echo "firmware-pico2: build produced no firmware.bin" >&2; exit 1; }
# RPI_PICO2's littlefs takes the last 3 MB of the 4 MB flash
# (MICROPY_HW_FLASH_STORAGE_BYTES): the firmware must end before it.
[ "$(stat -c %s "$FW/firmware.bin")" -le $((1024 * 1024)) ] \
    || { echo "firmware-pico2: firmware.bin is larger than the 1 MB before the filesystem" >&2; exit 1; }

# 2. The .uf2: the RP2350's Arm secure family (rp2350-arm-s), and the
#    RP2350-E10 fix ("UF2 drag & drop doesn't work with partition tables" on
#    the A2 bootrom) that picotool adds with --abs-block, as pico-sdk does
#    while PICO_RP2350_A2_SUPPORTED: a first block of the "absolute" family
#    at 0x10ffff00 that the bootrom is told to ignore (RP2_IGNORE_BLOCK).
"$PT" uf2 convert --quiet "$FW/firmware.elf" -t elf "$B/otpfob-pico2.uf2.tmp" -t uf2 --family rp2350-arm-s --abs-block
cp "$FW/firmware.elf" "$B/otpfob-pico2.elf"
cp "$FW/firmware.bin" "$B/otpfob-pico2.bin"
mv "$B/otpfob-pico2.uf2.tmp" "$B/otpfob-pico2.uf2"
echo "firmware-pico2: built $B/otpfob-pico2.uf2 ($(stat -c %s "$FW/firmware.bin") bytes of firmware)"
