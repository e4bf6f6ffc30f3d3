# The emulated token (MicroPython Unix port): fob/hw.py takes the bus and
# the button pin from the emulator's simlink module instead of machine.
NAME = "sim"
BUS = "sim"
SDA = 0
SCL = 1
BUTTON_PIN = 0
# The emulated DS3231 can be frozen and advanced by hand while the ticks run
# on: only a move of more than 10 minutes against the ticks counts as a jump
# (a real board's default is fob.clock.JUMP_TOLERANCE_MS).
CLOCK_JUMP_MS = 600_000
# Who can read the secrets (docs/security.md): the flash is a host folder.
EXPOSURE = "Emulated token: its flash is a folder on this computer, readable by anything that can read your files."
# Optional names any board file may set (fob/app.py, fob/hw.py and fob/server.py read them
# with defaults): BLANK_MS (30000), HOTP_SHOW_MS (20000), LONG_PRESS_MS (800), DEBOUNCE_MS (30),
# TOUCH_MS (15000), CLOCK_JUMP_MS (5000), I2C_ID = None for SoftI2C, EXPOSURE (what
# the hardware lets a host read; `info` reports it).
# Power (fob/power.py): none sensed, as on USB.  A token on the emulator's
# supply model (EmulatedToken.set_usb / set_battery_mv, `otpfob sim
# --battery`) adds POWER_BOARD (otpfob/emu/token.py): VBUS_PIN = "sim",
# SLEEP = "sim"; on battery it then sleeps when the screen blanks.
