# Frozen manifest for the otpfob Pico image (`make firmware-pico`,
# host/tools/build_firmware_pico.sh): the emulated Pico's manifest (the rp2
# port's own modules and asyncio) plus otpfob's `fob` package, compiled into
# the firmware so its bytecode runs from flash and leaves the heap free.
# board.py and main.py stay on the filesystem (`otpfob deploy --image` copies
# them), so pins can change without a rebuild.
include("../otpfob/emu/rp2/manifest.py")
package("fob", base_path="../../firmware")
