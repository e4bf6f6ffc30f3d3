# Dormant sleep on the RP2040 (datasheet: XOSC DORMANT, IO_BANK0 DORMANT_WAKE): the crystal
# oscillator stops, and with it every clock, the timer included, so ticks
# stand still while asleep (the DS3231 keeps the time).  A GPIO level wakes
# the chip.  MicroPython's machine.lightsleep() without an argument goes
# dormant, but it has no API for the wake sources: the IO_BANK0 registers
# that enable them are written here, and cleared after the wake.
import machine
from micropython import const

_DORMANT_WAKE_INTE0 = const(0x40014160)  # IO_BANK0: four registers, 8 GPIOs each
_LEVEL_LOW = const(1)  # per GPIO, 4 bits: LEVEL_LOW, LEVEL_HIGH, EDGE_LOW, EDGE_HIGH
_LEVEL_HIGH = const(2)


def dormant(wakes):
    """Sleep until one of ``wakes`` ((gpio, level high?) pairs) holds.  A
    level, not an edge: a press that began just before the sleep still wakes."""
    regs = [0, 0, 0, 0]
    for gpio, high in wakes:
        regs[gpio >> 3] |= (_LEVEL_HIGH if high else _LEVEL_LOW) << ((gpio & 7) * 4)
    for i in range(4):
        machine.mem32[_DORMANT_WAKE_INTE0 + 4 * i] = regs[i]
    try:
        machine.lightsleep()
    finally:
        for i in range(4):
            machine.mem32[_DORMANT_WAKE_INTE0 + 4 * i] = 0
