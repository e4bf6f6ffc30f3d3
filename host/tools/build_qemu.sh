#!/bin/sh
# Build MicroPython's qemu port from Debian's source package, twice:
#   firmware.elf     nRF51 "microbit" board, Cortex-M0, Thumb-1 native
#                    emitter on, like the RP2040 build
#   firmware-m4.elf  mps2-an386, Cortex-M4 with its FPU (host/tools/qemu_m4/),
#                    .mpy arch armv7emsp like the RP2350's Arm build
# Idempotent: each step is skipped when its output already exists.
set -eu
HERE=$(cd "$(dirname "$0")/../.." && pwd)
B=${BUILD:-build}/qemu
mkdir -p "$B"
B=$(cd "$B" && pwd)
ELF="$B/firmware.elf"
M4_ELF="$B/firmware-m4.elf"
M4_BOARD="$HERE/host/tools/qemu_m4"
# A 208 KB GC heap (the port's default is 140 KB of the machine's 256 KB):
# the deploy tests keep the whole firmware in a RAM filesystem on that heap,
# and a Pico's is 240 KB.  The build is redone when this line changes.
HEAP=212992
CONFIG="heap=$HEAP thumb=1"
m4_fresh() { [ -f "$M4_ELF" ] && [ -z "$(find "$M4_BOARD" -newer "$M4_ELF" -print | head -1)" ]; }
[ -f "$ELF" ] && [ "$(cat "$B/config" 2>/dev/null)" = "$CONFIG" ] && m4_fresh && { touch "$ELF" "$M4_ELF"; echo "qemu tier: reusing $ELF and $M4_ELF"; exit 0; }

need_apt=""
command -v qemu-system-arm >/dev/null || need_apt="$need_apt qemu-system-arm"
command -v arm-none-eabi-gcc >/dev/null || need_apt="$need_apt gcc-arm-none-eabi libnewlib-arm-none-eabi"
[ -e /usr/lib/arm-none-eabi/newlib/thumb/v6-m/nofp/libc.a ] || need_apt="$need_apt libnewlib-arm-none-eabi"
if [ -n "$need_apt" ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "qemu tier: cannot install$need_apt without root" >&2; exit 3
    fi
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need_apt >/dev/null
fi

SRC=$(ls -d "$B"/micropython-*/ 2>/dev/null | head -1 || true)
if [ -z "$SRC" ]; then
    # Debian 13 carries ports/qemu in its source tarball; fetch it with a
    # private apt state so the machine's own sources stay untouched.  The
    # mirror comes from this machine's apt configuration.
    D="$B/apt"
    mkdir -p "$D/lists/partial"
    MIRROR=$(apt-get indextargets --format '$(REPO_URI) $(RELEASE)' | awk '$2=="bookworm"||$2=="trixie"{print $1; exit}')
    [ -n "$MIRROR" ] || { echo "qemu tier: no Debian mirror configured for apt" >&2; exit 3; }
    echo "deb-src $MIRROR trixie main" > "$D/src.list"
    O="-o Dir::Etc::SourceList=$D/src.list -o Dir::Etc::SourceParts=/dev/null -o Dir::State::Lists=$D/lists -o Debug::NoLocking=1"
    apt-get $O update -qq
    (cd "$D" && apt-get $O source --download-only micropython >/dev/null)
    tar xf "$D"/micropython_*.orig.tar.xz -C "$B"
    SRC=$(ls -d "$B"/micropython-*/ | head -1)
fi
SRC=${SRC%/}
J=$(nproc 2>/dev/null || echo 2)
# build/ sits inside the otpfob checkout: keep MicroPython's version script
# from taking otpfob's git hash for its own.
GIT_CEILING_DIRECTORIES=$B; export GIT_CEILING_DIRECTORIES
if [ ! -f "$ELF" ] || [ "$(cat "$B/config" 2>/dev/null)" != "$CONFIG" ]; then
    rm -rf "$SRC/ports/qemu/build-MICROBIT" "$SRC/ports/qemu/build"
    make -s -C "$SRC/ports/qemu" -j"$J" BOARD=MICROBIT FROZEN_MANIFEST= MICROPY_HEAP_SIZE=$HEAP \
        CFLAGS_EXTRA="-DMICROPY_EMIT_THUMB=1 -DMICROPY_EMIT_THUMB_ARMV7M=0 -DMICROPY_EMIT_INLINE_THUMB=1" >/dev/null
    for f in "$SRC/ports/qemu/build-MICROBIT/firmware.elf" "$SRC/ports/qemu/build/firmware.elf"; do [ -f "$f" ] && cp "$f" "$ELF" && break; done
    [ -f "$ELF" ] || { echo "qemu tier: build produced no firmware.elf" >&2; exit 1; }
    echo "$CONFIG" > "$B/config"
    echo "qemu tier: built $ELF"
fi
# The Cortex-M4: the same source tree and heap, our board folder (the port's
# MPS2_AN385 board with the M4's FPU), so the M0 build above is left alone.
if ! m4_fresh; then
    rm -rf "$SRC/ports/qemu/build-M4"
    make -s -C "$SRC/ports/qemu" -j"$J" BOARD=M4 BOARD_DIR="$M4_BOARD" BUILD=build-M4 FROZEN_MANIFEST= \
        MICROPY_HEAP_SIZE=$HEAP >/dev/null
    [ -f "$SRC/ports/qemu/build-M4/firmware.elf" ] || { echo "qemu tier: build produced no Cortex-M4 firmware.elf" >&2; exit 1; }
    cp "$SRC/ports/qemu/build-M4/firmware.elf" "$M4_ELF"
    echo "qemu tier: built $M4_ELF"
fi
