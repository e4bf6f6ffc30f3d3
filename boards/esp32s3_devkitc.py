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
# On battery (README "Battery", fob/power.py): light sleep, woken by the
# button (GPIO4 is an RTC GPIO: ext0) or by USB power arriving (ext1).
# The LiPo feeds 3V3 through its own LDO, so the 5V pin is live only on USB.
SLEEP = "esp32-light"
# The dividers below are not on the board: until they are wired, GPIO5
# floats and the token could think it runs on battery and sleep.  Set this to
# True once they are (README "Battery").
BATTERY_WIRED = False
VBUS_PIN = 5  # the 5V pin through 100k over 150k to GND (3.0 V); RTC GPIO
VSYS_ADC_PIN = 6  # the battery through 100k over 100k to GND: ADC1_CH5
VSYS_DIVIDER = 2
BATTERY = "lipo"
# Who can read the secrets off this board (docs/security.md's table; `otpfob
# info` prints it).  Both USB ports reset the chip into its ROM download mode
# from the host: the UART port's bridge by DTR/RTS on EN and GPIO0, the native
# port by the same DTR/RTS sequence (USB-Serial/JTAG in hardware, or
# MicroPython's TinyUSB CDC calling machine.bootloader()).
EXPOSURE = (
    "Any program on the host can read the whole flash, secrets included, with"
    " esptool (USB or DTR/RTS reset into the ROM loader): no button, no password."
)
