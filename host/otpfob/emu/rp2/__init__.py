"""The emulated Pico: the real rp2 MicroPython in rp2040js (see pico.py)."""
