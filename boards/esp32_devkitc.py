# ESP32-DevKitC (ESP32-WROOM-32).  I2C0 on the usual GPIO21 (SDA) / GPIO22
# (SCL); the button is a key from GPIO27 to GND (the internal pull-up).
NAME = "esp32_devkitc"
SDA = 21
SCL = 22
BUTTON_PIN = 27  # not GPIO0: held at reset it selects the ROM bootloader
# What `otpfob deploy` compiles for, and checks against what the board
# says it is (sys.platform, the chip after " with " in os.uname().machine,
# and the start of that machine name; "": any board with the chip).
PLATFORM = "esp32"
CHIP = "ESP32"
MACHINE = ""
MPY_ARCH = "xtensawin"  # mpy-cross -march (Xtensa LX6, windowed ABI)
# On battery (README "Battery", fob/power.py): light sleep, woken by the
# button (GPIO27 is an RTC GPIO: ext0) or by USB power arriving (ext1).
# The LiPo feeds 3V3 through its own LDO, so the 5V pin is live only on USB.
SLEEP = "esp32-light"
# The dividers below are not on the board: until they are wired, GPIO34
# floats and the token could think it runs on battery and sleep.  Set this to
# True once they are (README "Battery").
BATTERY_WIRED = False
VBUS_PIN = 34  # the 5V pin through 100k over 150k to GND (3.0 V); input-only RTC GPIO
VSYS_ADC_PIN = 35  # the battery through 100k over 100k to GND: ADC1_CH7
VSYS_DIVIDER = 2
BATTERY = "lipo"
# Who can read the secrets off this board (docs/security.md's table; `otpfob
# info` prints it).  The USB-serial bridge's DTR/RTS lines drive EN and GPIO0,
# so esptool resets the chip into its ROM download mode from the host.
EXPOSURE = (
    "Any program on the host can read the whole flash, secrets included, with"
    " esptool (DTR/RTS reset into the ROM loader): no button, no password."
)
