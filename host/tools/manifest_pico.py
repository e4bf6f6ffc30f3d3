# Frozen manifest for the otpfob Pico image (`make firmware-pico`,
# host/tools/build_firmware_pico.sh): the emulated Pico's manifest (the rp2
# port's own modules and asyncio) plus otpfob's `fob` package, compiled into
# the firmware so its bytecode runs from flash and leaves the heap free.
# main.py too: MicroPython runs a frozen main.py before looking on the flash,
# so the boot does not parse it (30 ms) or hold its bytecode in RAM; the copy
# `otpfob deploy --image` leaves on the flash is what a plain MicroPython
# would run.  board.py stays on the filesystem only, so pins can change
# without a rebuild.
include("../otpfob/emu/rp2/manifest.py")
package("fob", base_path="../../firmware")
module("main.py", base_path="../../firmware")
