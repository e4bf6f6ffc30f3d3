# Drivers for the token's parts.  Each takes a bus or pin object and never
# builds one: fob.hw is the only module that touches machine.I2C / machine.Pin.
