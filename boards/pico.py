# Raspberry Pi Pico (RP2040).  Data only: fob/hw.py builds the bus and pins.
# DS3231 and SSD1306 share I2C0 on GP4 (SDA) / GP5 (SCL); button GP15 to GND.
NAME = "pico"
I2C_ID = 0
SDA = 4
SCL = 5
I2C_FREQ = 400_000
BUTTON_PIN = 15
BUTTON_PULL = "up"
BUTTON_ACTIVE_LOW = True
RTC = "ds3231"  # or "internal": machine.RTC, lost on every power cut
RTC_ADDR = 0x68
DISPLAY_W = 128
DISPLAY_H = 64
DISPLAY_ADDR = 0x3C
# Who can read the secrets off this board (docs/security.md's table; `otpfob
# info` prints it).  The RP2040's ROM bootloader only starts with BOOTSEL held
# at power-up or reset; MicroPython's RPI_PICO build has no 1200-baud reset.
EXPOSURE = ("Flash readable with a hand on BOOTSEL at power-up (picotool), or by any"
            " program on the host over the REPL while no access password is set.")
