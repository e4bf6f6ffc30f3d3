#!/bin/sh
# `make firmware-pico`: MicroPython 1.25.0's rp2 port (BOARD=RPI_PICO) from
# the same Debian 13 sources as the emulated Pico, with otpfob's `fob`
# package frozen in through host/tools/manifest_pico.py.  Outputs in
# build/firmware-pico/ (BUILD overrides "build"):
#   otpfob-pico.uf2   for a real Pico held in BOOTSEL (copy to RPI-RP2)
#   otpfob-pico.bin   flash image from offset 0 (the emulated Pico loads it)
#   otpfob-pico.elf
#   picotool/picotool built from Debian trixie's picotool source, no libusb
# The MicroPython source tree and its build folder are build_rp2.sh's
# (build/rp2/micropython-*/ports/rp2/build-RPI_PICO): reconfigured with
# otpfob's manifest, only the frozen modules are compiled again and the rest
# is linked as it is (a second build from clean took minutes of CI's time);
# build/rp2/firmware.* are copies and stay as they are.  Idempotent: skipped
# when the outputs are newer than firmware/ and the manifests.
set -eu
HERE=$(cd "$(dirname "$0")/../.." && pwd)
TOP=${BUILD:-build}
sh "$HERE/host/tools/build_rp2.sh" >/dev/null  # sources, mpy-cross, empty-lib
R=$(cd "$TOP/rp2" && pwd)
mkdir -p "$TOP/firmware-pico"
B=$(cd "$TOP/firmware-pico" && pwd)
SRC=$(ls -d "$R"/micropython-*/ | head -1); SRC=${SRC%/}
MANIFEST="$HERE/host/tools/manifest_pico.py"
J=$(nproc 2>/dev/null || echo 2)
GIT_CEILING_DIRECTORIES=$R; export GIT_CEILING_DIRECTORIES
: "${SOURCE_DATE_EPOCH:=$(stat -c %Y "$SRC/py/mpconfig.h")}"; export SOURCE_DATE_EPOCH

if [ -f "$B/otpfob-pico.uf2" ] && [ -z "$(find "$HERE/firmware" "$MANIFEST" "$HERE/host/otpfob/emu/rp2/manifest.py" \
        "$R/firmware.bin" -newer "$B/otpfob-pico.uf2" -name '*.py' -print 2>/dev/null | head -1)" ] \
        && [ ! "$R/firmware.bin" -nt "$B/otpfob-pico.uf2" ]; then
    touch "$B/otpfob-pico.uf2"  # for make: newer than this script
    echo "firmware-pico: up to date in $B"; exit 0
fi

# 1. picotool, for the .uf2: Debian trixie's source (the orig tarball; the
#    mirror may no longer hold the .dsc of that exact revision), built
#    without libusb (only its file conversions are used).
PT="$B/picotool"
if [ ! -x "$PT/picotool" ]; then
    D="$B/apt"
    if ! ls "$D"/picotool_*.orig.tar.* >/dev/null 2>&1; then
        mkdir -p "$D/lists/partial"
        MIRROR=$(apt-get indextargets --format '$(REPO_URI) $(RELEASE)' | awk '$2=="bookworm"||$2=="trixie"{print $1; exit}')
        [ -n "$MIRROR" ] || { echo "firmware-pico: no Debian mirror configured for apt" >&2; exit 3; }
        printf 'deb-src %s trixie main\n' "$MIRROR" > "$D/src.list"
        O="-o Dir::Etc::SourceList=$D/src.list -o Dir::Etc::SourceParts=/dev/null -o Dir::State::Lists=$D/lists -o Debug::NoLocking=1 -o APT::Architecture=amd64"
        apt-get $O update -qq
        (cd "$D" && apt-get $O source --download-only picotool >/dev/null 2>&1) || true
        ls "$D"/picotool_*.orig.tar.* >/dev/null 2>&1 \
            || { echo "firmware-pico: could not download trixie's picotool source" >&2; exit 1; }
    fi
    rm -rf "$B/picotool-src" "$PT"; mkdir -p "$B/picotool-src" "$PT"
    tar xf "$(ls "$D"/picotool_*.orig.tar.* | head -1)" -C "$B/picotool-src" --strip-components=1
    (cd "$PT" && cmake -S "$B/picotool-src" -B . -DPICO_SDK_PATH="$R/pkg/usr/src/pico-sdk" \
        -DPICOTOOL_NO_LIBUSB=1 -DPICOTOOL_FLAT_INSTALL=1 >cmake.log 2>&1 && make -j"$J" picotool >make.log 2>&1) \
        || { tail -5 "$PT/make.log" "$PT/cmake.log" >&2 2>/dev/null; echo "firmware-pico: picotool did not build" >&2; exit 1; }
fi

# 2. The firmware with fob frozen in, in build_rp2.sh's build folder: the
#    same sources and flags, only another manifest.  Without the Makefile the
#    rp2 Makefile runs cmake again, which keeps the objects; the frozen
#    modules' C file goes too (makemanifest.py would keep it when no frozen
#    file is newer than it, even for another manifest).
FW="$SRC/ports/rp2/build-RPI_PICO"
ARGS="-DMICROPY_FROZEN_MANIFEST=$MANIFEST -DMICROPY_LIB_DIR=$R/empty-lib -Dpicotool_FOUND=0"
if [ "$(cat "$FW/.otpfob-cmake-args" 2>/dev/null)" != "$ARGS" ]; then rm -f "$FW/Makefile" "$FW/frozen_content.c"; fi
mkdir -p "$FW"; echo "$ARGS" > "$FW/.otpfob-cmake-args"
make -s -C "$SRC/ports/rp2" -j"$J" BOARD=RPI_PICO CMAKE_ARGS="$ARGS" >"$B/make.log" 2>&1 \
    || { tail -8 "$B/make.log" >&2; echo "firmware-pico: the rp2 build failed (see $B/make.log)" >&2; exit 1; }
[ -f "$FW/firmware.bin" ] || { echo "firmware-pico: build produced no firmware.bin" >&2; exit 1; }
# RPI_PICO's littlefs takes the last 1408 KB of the 2 MB flash: the firmware
# must end before it, or flashing the image would overwrite the accounts.
[ "$(stat -c %s "$FW/firmware.bin")" -le $((640 * 1024)) ] \
    || { echo "firmware-pico: firmware.bin is larger than the 640 KB before the filesystem" >&2; exit 1; }

# 3. The .uf2 (RP2040 family), from the .elf.
"$PT/picotool" uf2 convert --quiet "$FW/firmware.elf" -t elf "$B/otpfob-pico.uf2.tmp" -t uf2 --family rp2040
cp "$FW/firmware.elf" "$B/otpfob-pico.elf"
cp "$FW/firmware.bin" "$B/otpfob-pico.bin"
mv "$B/otpfob-pico.uf2.tmp" "$B/otpfob-pico.uf2"
echo "firmware-pico: built $B/otpfob-pico.uf2 ($(stat -c %s "$FW/firmware.bin") bytes of firmware)"
