# ESP32-DevKitC (ESP32-WROOM-32).  I2C0 on the usual GPIO21 (SDA) / GPIO22
# (SCL); the button is the board's BOOT key (GPIO0, pulled up on the board).
NAME = "esp32_devkitc"
I2C_ID = 0
SDA = 21
SCL = 22
I2C_FREQ = 400_000
BUTTON_PIN = 27  # not GPIO0: held at reset it selects the ROM bootloader
BUTTON_PULL = "up"
BUTTON_ACTIVE_LOW = True
RTC = "ds3231"
RTC_ADDR = 0x68
DISPLAY_W = 128
DISPLAY_H = 64
DISPLAY_ADDR = 0x3C
# Who can read the secrets off this board (docs/security.md's table; `otpfob
# info` prints it).  The USB-serial bridge's DTR/RTS lines drive EN and GPIO0,
# so esptool resets the chip into its ROM download mode from the host.
EXPOSURE = ("Any program on the host can read the whole flash, secrets included, with"
            " esptool (DTR/RTS reset into the ROM loader): no button, no password.")
