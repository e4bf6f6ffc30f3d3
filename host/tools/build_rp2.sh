#!/bin/sh
# Build the emulated Raspberry Pi Pico: MicroPython 1.25.0's rp2 port
# (BOARD=RPI_PICO) from Debian 13's source packages, our stand-in RP2040
# bootrom (host/otpfob/emu/rp2/rom), and rp2040js from npm.  Outputs in
# build/rp2/ (BUILD overrides "build"):
#   firmware.bin firmware.elf   MicroPython, flash image from offset 0
#   bootrom.bin                 16 KB, for RP2040.loadBootrom()
#   romext.bin                  the ROM's float bodies, for flash offset 0xF00000
#   mpy-cross/mpy-cross         the matching mpy-cross
#   js/node_modules/rp2040js    rp2040js, pinned by host/otpfob/emu/rp2/package*.json
#   .ready                      stamp: everything above is there
# Idempotent: each step is skipped when its output already exists.
# Without root a missing Debian package is reported in one line (exit 3).
set -eu
HERE=$(cd "$(dirname "$0")/../.." && pwd)
EMU="$HERE/host/otpfob/emu/rp2"
B=${BUILD:-build}/rp2
mkdir -p "$B"
B=$(cd "$B" && pwd)
# Sources edited since the last build make just their part stale.
newer() { [ -e "$1" ] && [ -n "$(find "$2" -newer "$1" -print 2>/dev/null | head -1)" ]; }
if newer "$B/bootrom.bin" "$EMU/rom"; then rm -f "$B/.ready" "$B/bootrom.bin" "$B/romext.bin"; fi
if newer "$B/firmware.bin" "$EMU/manifest.py"; then rm -f "$B/.ready" "$B/firmware.bin" "$B/firmware.elf"; fi
if newer "$B/js/package-lock.json" "$EMU/package-lock.json"; then rm -rf "$B/.ready" "$B/js"; fi
[ -f "$B/.ready" ] && { echo "rp2 tier: reusing $B"; exit 0; }

need_apt=""
command -v arm-none-eabi-gcc >/dev/null || need_apt="$need_apt gcc-arm-none-eabi"
[ -e /usr/lib/arm-none-eabi/newlib/thumb/v6-m/nofp/libc.a ] || need_apt="$need_apt libnewlib-arm-none-eabi"
command -v cmake >/dev/null || need_apt="$need_apt cmake"
command -v make >/dev/null || need_apt="$need_apt make"
command -v node >/dev/null || command -v nodejs >/dev/null || need_apt="$need_apt nodejs"
command -v npm >/dev/null || need_apt="$need_apt npm"
if [ -n "$need_apt" ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "rp2 tier: cannot install$need_apt without root" >&2; exit 3
    fi
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need_apt >/dev/null
fi
NODE=$(command -v node || command -v nodejs)
J=$(nproc 2>/dev/null || echo 2)
# build/ sits inside the otpfob checkout: keep MicroPython's version script
# from taking otpfob's git hash for its own (it then reports v1.25.0).
GIT_CEILING_DIRECTORIES=$B; export GIT_CEILING_DIRECTORIES

# 1. Sources, fetched with a private apt state so the machine's own sources
#    stay untouched; the mirror comes from this machine's apt configuration.
#    micropython's lib/ submodules are stripped by Debian: pico-sdk and
#    tinyusb come from their arch:all "-source" packages (apt-get source
#    tinyusb 404s), mbedtls from its source package.
D="$B/apt"
if ! ls "$D"/micropython_*.orig.tar.xz "$D"/mbedtls_*.orig.tar.* \
        "$D"/pico-sdk-source_*.deb "$D"/tinyusb-source_*.deb >/dev/null 2>&1; then
    mkdir -p "$D/lists/partial"
    MIRROR=$(apt-get indextargets --format '$(REPO_URI) $(RELEASE)' | awk '$2=="bookworm"||$2=="trixie"{print $1; exit}')
    [ -n "$MIRROR" ] || { echo "rp2 tier: no Debian mirror configured for apt" >&2; exit 3; }
    printf 'deb-src %s trixie main\ndeb %s trixie main\n' "$MIRROR" "$MIRROR" > "$D/src.list"
    O="-o Dir::Etc::SourceList=$D/src.list -o Dir::Etc::SourceParts=/dev/null -o Dir::State::Lists=$D/lists -o Debug::NoLocking=1 -o APT::Architecture=amd64"
    apt-get $O update -qq
    (cd "$D" && apt-get $O source --download-only micropython mbedtls >/dev/null 2>&1 \
        && apt-get $O download pico-sdk-source tinyusb-source >/dev/null 2>&1) \
        || { echo "rp2 tier: could not download the trixie sources" >&2; exit 1; }
fi
if [ ! -d "$B/pkg/usr/src/pico-sdk" ] || [ ! -d "$B/pkg/usr/src/tinyusb" ]; then
    mkdir -p "$B/pkg"
    for deb in "$D"/pico-sdk-source_*.deb "$D"/tinyusb-source_*.deb; do dpkg-deb -x "$deb" "$B/pkg"; done
fi
MBED=$(ls -d "$B"/mbedtls-*/ 2>/dev/null | head -1 || true)
if [ -z "$MBED" ]; then
    tar xf "$(ls "$D"/mbedtls_*.orig.tar.* | head -1)" -C "$B"
    MBED=$(ls -d "$B"/mbedtls-*/ | head -1)
fi
SRC=$(ls -d "$B"/micropython-*/ 2>/dev/null | head -1 || true)
if [ -z "$SRC" ]; then
    tar xf "$D"/micropython_*.orig.tar.xz -C "$B"
    SRC=$(ls -d "$B"/micropython-*/ | head -1)
fi
SRC=${SRC%/}; MBED=${MBED%/}
# A reproducible build date in the banner: the release's own.
: "${SOURCE_DATE_EPOCH:=$(stat -c %Y "$SRC/py/mpconfig.h")}"; export SOURCE_DATE_EPOCH
for pair in "pico-sdk:$B/pkg/usr/src/pico-sdk" "tinyusb:$B/pkg/usr/src/tinyusb" "mbedtls:$MBED"; do
    name=${pair%%:*}; target=${pair#*:}
    [ -L "$SRC/lib/$name" ] && continue
    rmdir "$SRC/lib/$name" 2>/dev/null || rm -rf "$SRC/lib/$name"
    ln -s "$target" "$SRC/lib/$name"
done
[ -f "$SRC/lib/pico-sdk/README.md" ] || touch "$SRC/lib/pico-sdk/README.md"  # the rp2 Makefile checks for it

# 2. mpy-cross (the firmware build needs it too).
if [ ! -x "$B/mpy-cross/mpy-cross" ]; then
    make -s -C "$SRC/mpy-cross" -j"$J" >/dev/null
    mkdir -p "$B/mpy-cross"
    cp "$SRC/mpy-cross/build/mpy-cross" "$B/mpy-cross/mpy-cross"
fi

# 3. The firmware.  Debian has no micropython-lib, so our own manifest and
#    an empty MICROPY_LIB_DIR; both go through CMAKE_ARGS (FROZEN_MANIFEST on
#    make's command line leaks into the mpy-cross sub-make).  picotool would
#    be git-cloned by pico-sdk 2.x: skipped (no .uf2; the .elf/.bin are made).
if [ ! -f "$B/firmware.bin" ] || [ ! -f "$B/firmware.elf" ]; then
    mkdir -p "$B/empty-lib"
    [ -f "$B/empty-lib/README.md" ] || echo "Empty on purpose: Debian's micropython source has no micropython-lib." > "$B/empty-lib/README.md"
    FW="$SRC/ports/rp2/build-RPI_PICO"
    ARGS="-DMICROPY_FROZEN_MANIFEST=$EMU/manifest.py -DMICROPY_LIB_DIR=$B/empty-lib -Dpicotool_FOUND=0"
    # The rp2 Makefile runs cmake only when its Makefile is missing: remove
    # it when the arguments differ from the last configure, and the frozen
    # modules' C file (makemanifest.py keeps it when no frozen file is newer,
    # even for another manifest).  The objects are kept: build_firmware_pico.sh
    # builds here too, with its own manifest.
    if [ "$(cat "$FW/.otpfob-cmake-args" 2>/dev/null)" != "$ARGS" ]; then
        rm -f "$FW/Makefile" "$FW/frozen_content.c"
    fi
    mkdir -p "$FW"
    echo "$ARGS" > "$FW/.otpfob-cmake-args"
    make -s -C "$SRC/ports/rp2" -j"$J" BOARD=RPI_PICO CMAKE_ARGS="$ARGS" >/dev/null
    [ -f "$FW/firmware.bin" ] || { echo "rp2 tier: build produced no firmware.bin" >&2; exit 1; }
    cp "$FW/firmware.elf" "$B/firmware.elf"
    cp "$FW/firmware.bin" "$B/firmware.bin"
fi

# 4. Our bootrom (16 KB at 0) and its float bodies (flash offset 0xF00000).
if [ ! -f "$B/bootrom.bin" ] || [ ! -f "$B/romext.bin" ]; then
    make -s -C "$EMU/rom" OUT="$B/rom" >/dev/null
    cp "$B/rom/bootrom.bin" "$B/rom/romext.bin" "$B/"
fi

# 5. rp2040js, exactly as locked (the lock has no registry addresses: npm
#    takes the one configured here).
JS="$B/js"
if [ ! -d "$JS/node_modules/rp2040js" ]; then
    mkdir -p "$JS"
    cp "$EMU/package.json" "$EMU/package-lock.json" "$EMU/.npmrc" "$JS/"
    (cd "$JS" && npm ci --no-audit --no-fund >/dev/null 2>&1) \
        || { echo "rp2 tier: npm ci failed in $JS" >&2; exit 1; }
fi
(cd "$JS" && "$NODE" -e "require('rp2040js').RP2040" >/dev/null 2>&1 \
    && "$NODE" --input-type=module -e "import { RP2040 } from 'rp2040js'; if (!RP2040) process.exit(1);" >/dev/null 2>&1) \
    || { echo "rp2 tier: rp2040js does not load with $NODE ($("$NODE" --version))" >&2; exit 1; }

for f in firmware.bin firmware.elf bootrom.bin romext.bin mpy-cross/mpy-cross; do
    [ -s "$B/$f" ] || { echo "rp2 tier: $B/$f missing" >&2; exit 1; }
done
touch "$B/.ready"
echo "rp2 tier: built $B"
