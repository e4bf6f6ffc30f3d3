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
# Who can read the secrets off this board (docs/security.md's table; `otpfob
# info` prints it).  The USB-serial bridge's DTR/RTS lines drive EN and GPIO0,
# so esptool resets the chip into its ROM download mode from the host.
EXPOSURE = (
    "Any program on the host can read the whole flash, secrets included, with"
    " esptool (DTR/RTS reset into the ROM loader): no button, no password."
)
