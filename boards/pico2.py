# Raspberry Pi Pico 2 (RP2350, its Arm Cortex-M33 cores).  Data only: the
# Pico's header pinout, so the same wiring (fob/hw.py's defaults for the rest).
# DS3231 and SSD1306 share I2C0 on GP4 (SDA) / GP5 (SCL); button GP15 to GND.
NAME = "pico2"
SDA = 4
SCL = 5
BUTTON_PIN = 15
# What `otpfob deploy` compiles for, and checks against what the board says
# it is: MicroPython 1.25's RPI_PICO2 names itself "Raspberry Pi Pico2 with
# RP2350" (MICROPY_HW_BOARD_NAME, no space; its RISC-V build says
# "RP2350-RISCV", which deploy refuses by name).
PLATFORM = "rp2"
CHIP = "RP2350"
MACHINE = "Raspberry Pi Pico2 "
# mpy-cross -march: what the rp2 port's Arm build reports in
# sys.implementation._mpy (Thumb-2 with the single-precision FPU).
MPY_ARCH = "armv7emsp"
# Who can read the secrets off this board (docs/security.md's table; `otpfob
# info` prints it).  The RP2350's bootrom, like the RP2040's, starts its USB
# drive and PICOBOOT with BOOTSEL held at power-up; MicroPython's RPI_PICO2
# build has no 1200-baud reset.  Its OTP secure boot and flash protections
# are not enabled by otpfob (docs/security.md).
EXPOSURE = (
    "Flash readable with a hand on BOOTSEL at power-up (picotool), or by any"
    " program on the host over the REPL while no access password is set."
)
# Power (fob/power.py, README "Battery"): as the Pico, USB power sensed on
# GP24 (VBUS) and VSYS/3 on ADC3 (GP29); a battery on VSYS through a Schottky
# diode.  No SLEEP: fob/sleep_rp2.py writes the RP2040's IO_BANK0 dormant-wake
# registers, which sit elsewhere on the RP2350, so the Pico 2 stays awake.
VBUS_PIN = 24
VSYS_ADC_PIN = 29
VSYS_DIVIDER = 3
BATTERY_DIODE_MV = 300
BATTERY = "lipo"
