# Frozen manifest for the emulated Pico (MicroPython 1.25.0 rp2, RPI_PICO),
# used by host/tools/build_rp2.sh.  Debian's source package has no
# micropython-lib, so the board manifest's require() lines cannot be used:
# this keeps the port's own modules and asyncio (lost: onewire, ds18x20, dht,
# neopixel, which otpfob does not use).
freeze("$(PORT_DIR)/modules")
include("$(MPY_DIR)/extmod/asyncio")
