# simpower: the emulated token's USB power, battery and sleep (fob/hw.py
# loads it for a board with VBUS_PIN = "sim"; otpfob/emu/token.py's Supply
# answers).  Apart from simlink so a token without it compiles less on its
# small heap.
import simlink
from micropython import const

_OP_POWER = const(0x56)  # "V"  USB power (1 byte) and VSYS in mV (2 bytes, LE; 0xFFFF: not wired)
_OP_SLEEP = const(0x5A)  # "Z"  sleep: the reply comes on a press (pin addr), USB power or host bytes


class Power:
    """fob.hw's power sense for the emulated token (otpfob/emu/token.py's
    supply model), and its sleep: the parent answers when the button goes
    down or USB power comes."""

    def __init__(self):
        import board

        self._button = getattr(board, "BUTTON_PIN", 0)

    def usb(self):
        simlink._send(_OP_POWER, 0, 0, 3)
        simlink._reply()
        return simlink._rbuf[0] == 1

    def vsys_mv(self):
        simlink._send(_OP_POWER, 0, 0, 3)
        simlink._reply()
        mv = simlink._rbuf[1] | (simlink._rbuf[2] << 8)
        return None if mv == 0xFFFF else mv

    def sleep(self):
        simlink._send(_OP_SLEEP, self._button, 0, 0)
        simlink._reply()
