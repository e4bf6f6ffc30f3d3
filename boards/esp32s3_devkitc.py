# ESP32-S3-DevKitC-1.  I2C0 on GPIO8 (SDA) / GPIO9 (SCL); the button is a
# key from GPIO4 to GND (the internal pull-up).
NAME = "esp32s3_devkitc"
SDA = 8
SCL = 9
BUTTON_PIN = 4  # not GPIO0: held at reset it selects the ROM bootloader
# What `otpfob deploy` compiles for, and checks against what the board
# says it is (sys.platform, the chip after " with " in os.uname().machine,
# and the start of that machine name; "": any board with the chip).
PLATFORM = "esp32"
CHIP = "ESP32S3"
MACHINE = ""
MPY_ARCH = "xtensawin"  # mpy-cross -march (Xtensa LX7, windowed ABI)
# Who can read the secrets off this board (docs/security.md's table; `otpfob
# info` prints it).  Both USB ports reset the chip into its ROM download mode
# from the host: the UART port's bridge by DTR/RTS on EN and GPIO0, the native
# port by the same DTR/RTS sequence (USB-Serial/JTAG in hardware, or
# MicroPython's TinyUSB CDC calling machine.bootloader()).
EXPOSURE = (
    "Any program on the host can read the whole flash, secrets included, with"
    " esptool (USB or DTR/RTS reset into the ROM loader): no button, no password."
)
