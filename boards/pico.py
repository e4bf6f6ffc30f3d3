# Raspberry Pi Pico (RP2040).  Data only: fob/hw.py builds the bus and pins,
# with defaults for every name left out (I2C0 at 400 kHz, a DS3231 at 0x68,
# a 128x64 SSD1306 at 0x3C, a button to GND with the pull-up).
# DS3231 and SSD1306 share I2C0 on GP4 (SDA) / GP5 (SCL); button GP15 to GND.
NAME = "pico"
SDA = 4
SCL = 5
BUTTON_PIN = 15
# What `otpfob deploy` compiles for, and checks against what the board
# says it is (sys.platform, the chip after " with " in os.uname().machine,
# and the start of that machine name; "": any board with the chip).
PLATFORM = "rp2"
CHIP = "RP2040"
MACHINE = "Raspberry Pi Pico "
MPY_ARCH = "armv6m"  # mpy-cross -march (Cortex-M0+)
# Who can read the secrets off this board (docs/security.md's table; `otpfob
# info` prints it).  The RP2040's ROM bootloader only starts with BOOTSEL held
# at power-up or reset; MicroPython's RPI_PICO build has no 1200-baud reset.
EXPOSURE = (
    "Flash readable with a hand on BOOTSEL at power-up (picotool), or by any"
    " program on the host over the REPL while no access password is set."
)
# Power (fob/power.py, README "Battery"): USB power sensed on GP24 (VBUS),
# VSYS/3 on ADC3 (GP29, on the board); a battery on VSYS through a Schottky
# diode.  On battery the token goes dormant when the screen blanks: the button
# (GP15 low) or USB power (GP24 high) wakes it.
VBUS_PIN = 24
VSYS_ADC_PIN = 29
VSYS_DIVIDER = 3
BATTERY_DIODE_MV = 300
BATTERY = "lipo"
SLEEP = "rp2-dormant"
