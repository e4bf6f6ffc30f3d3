# Raspberry Pi Pico W: the Pico's pinout (GP23-25, 29 belong to the radio).
NAME = "pico_w"
SDA = 4
SCL = 5
BUTTON_PIN = 15
# What `otpfob deploy` compiles for, and checks against what the board
# says it is (as boards/pico.py; MicroPython names it "Raspberry Pi Pico W with RP2040").
PLATFORM = "rp2"
CHIP = "RP2040"
MACHINE = "Raspberry Pi Pico W "
MPY_ARCH = "armv6m"  # mpy-cross -march (Cortex-M0+)
# As the Pico: the same RP2040 ROM bootloader (docs/security.md).
EXPOSURE = (
    "Flash readable with a hand on BOOTSEL at power-up (picotool), or by any"
    " program on the host over the REPL while no access password is set."
)
# Power (fob/power.py): USB power is sensed through the wireless chip's
# WL_GPIO2.  GP29 (VSYS/3) is shared with the wireless chip's SPI, and a pin
# of the wireless chip cannot wake the RP2040 from dormant: no battery gauge,
# no sleep (README "Battery").
VBUS_PIN = "WL_GPIO2"
