# Raspberry Pi Pico 2 W (RP2350): the Pico 2's pinout (GP23-25, 29 belong to the radio).
NAME = "pico2_w"
SDA = 4
SCL = 5
BUTTON_PIN = 15
# What `otpfob deploy` compiles for, and checks against what the board
# says it is (as boards/pico2.py; MicroPython names it "Raspberry Pi Pico 2 W
# with RP2350", with the space the Pico 2's name lacks).
PLATFORM = "rp2"
CHIP = "RP2350"
MACHINE = "Raspberry Pi Pico 2 W "
MPY_ARCH = "armv7emsp"  # mpy-cross -march (Cortex-M33, single-precision FPU)
# As the Pico 2: the same RP2350 bootrom (docs/security.md).
EXPOSURE = (
    "Flash readable with a hand on BOOTSEL at power-up (picotool), or by any"
    " program on the host over the REPL while no access password is set."
)
# Power (fob/power.py): as the Pico W, USB power is sensed through the
# wireless chip's WL_GPIO2, and GP29 (VSYS/3) is shared with its SPI: no
# battery gauge, no sleep (README "Battery").
VBUS_PIN = "WL_GPIO2"
