# Raspberry Pi Pico W: the Pico's pinout (GP23-25, 29 belong to the radio).
NAME = "pico_w"
I2C_ID = 0
SDA = 4
SCL = 5
I2C_FREQ = 400_000
BUTTON_PIN = 15
BUTTON_PULL = "up"
BUTTON_ACTIVE_LOW = True
RTC = "ds3231"
RTC_ADDR = 0x68
DISPLAY_W = 128
DISPLAY_H = 64
DISPLAY_ADDR = 0x3C
# As the Pico: the same RP2040 ROM bootloader (docs/security.md).
EXPOSURE = ("Flash readable with a hand on BOOTSEL at power-up (picotool), or by any"
            " program on the host over the REPL while no access password is set.")
