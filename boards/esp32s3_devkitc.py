# ESP32-S3-DevKitC-1.  I2C0 on GPIO8 (SDA) / GPIO9 (SCL); the button is the
# board's BOOT key (GPIO0).
NAME = "esp32s3_devkitc"
I2C_ID = 0
SDA = 8
SCL = 9
I2C_FREQ = 400_000
BUTTON_PIN = 4  # not GPIO0: held at reset it selects the ROM bootloader
BUTTON_PULL = "up"
BUTTON_ACTIVE_LOW = True
RTC = "ds3231"
RTC_ADDR = 0x68
DISPLAY_W = 128
DISPLAY_H = 64
DISPLAY_ADDR = 0x3C
# Who can read the secrets off this board (docs/security.md's table; `otpfob
# info` prints it).  Both USB ports reset the chip into its ROM download mode
# from the host: the UART port's bridge by DTR/RTS on EN and GPIO0, the native
# port by the same DTR/RTS sequence (USB-Serial/JTAG in hardware, or
# MicroPython's TinyUSB CDC calling machine.bootloader()).
EXPOSURE = ("Any program on the host can read the whole flash, secrets included, with"
            " esptool (USB or DTR/RTS reset into the ROM loader): no button, no password.")
