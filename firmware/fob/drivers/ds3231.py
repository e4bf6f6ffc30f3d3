# DS3231 real-time clock over I2C (Maxim/Analog Devices datasheet 19-5170).
#
# The chip keeps UTC here: time registers 0x00-0x06 in BCD, 24-hour mode.
# Century choice: the chip counts years 00-99 and toggles the century bit
# (month register bit 7) when 99 rolls over.  This driver writes years
# 2000-2099 with the bit clear and reads a set bit as 2100-2199, so a clock
# that rolled over is reported (and refused as out of range by fob.clock)
# rather than silently showing 2000.
# Status register 0x0F bit 7 (OSF) is set when the oscillator stopped (first
# power-up, battery gone): the time is then not trustworthy until it is set.
# Aging offset register 0x10 (two's complement): about 0.1 ppm per LSB at
# 25 degrees C, a positive value slows the oscillator; it takes effect at the
# next temperature conversion, which setting CONV (control bit 5) starts.

try:
    from micropython import const
except ImportError:  # CPython, for the tests

    def const(x):
        return x


from fob import timeutil

_REG_SECONDS = const(0x00)
_REG_CONTROL = const(0x0E)
_REG_STATUS = const(0x0F)
_REG_AGING = const(0x10)
_CENTURY = const(0x80)  # month register bit 7
_HOUR_12H = const(0x40)  # hours register bit 6: 12-hour mode
_HOUR_PM = const(0x20)
_CTRL_EOSC = const(0x80)  # control register bit 7: 1 stops the oscillator on battery
_CTRL_CONV = const(0x20)  # control register bit 5: convert the temperature now
_STATUS_OSF = const(0x80)

AGING_MAX = 127  # the register's range: -128..127, used symmetrically
PPB_PER_AGING = 100  # about 0.1 ppm per LSB at 25 degrees C (datasheet)

MIN_YEAR = 2000
MAX_YEAR = 2099


def bcd2bin(v):
    return (v >> 4) * 10 + (v & 0x0F)


def bin2bcd(v):
    return ((v // 10) << 4) | (v % 10)


def encode(y, mo, d, h, mi, s, wd):
    """Registers 0x00-0x06 for a date (weekday Monday = 0 stored as 1-7)."""
    if not MIN_YEAR <= y <= MAX_YEAR:
        raise ValueError("year out of range")
    if not timeutil.valid_date(y, mo, d) or not (0 <= h < 24 and 0 <= mi < 60 and 0 <= s < 60):
        raise ValueError("invalid date")
    return bytes(
        (
            bin2bcd(s),
            bin2bcd(mi),
            bin2bcd(h),  # bit 6 clear: 24-hour mode
            wd % 7 + 1,
            bin2bcd(d),
            bin2bcd(mo),  # century bit clear: 20xx
            bin2bcd(y - 2000),
        )
    )


def decode(regs):
    """(y, mo, d, h, mi, s) from registers 0x00-0x06; ValueError if invalid."""
    s = bcd2bin(regs[0] & 0x7F)
    mi = bcd2bin(regs[1] & 0x7F)
    hr = regs[2]
    if hr & _HOUR_12H:
        h = bcd2bin(hr & 0x1F) % 12 + (12 if hr & _HOUR_PM else 0)
    else:
        h = bcd2bin(hr & 0x3F)
    d = bcd2bin(regs[4] & 0x3F)
    mo = bcd2bin(regs[5] & 0x1F)
    y = 2000 + bcd2bin(regs[6]) + (100 if regs[5] & _CENTURY else 0)
    if not timeutil.valid_date(y, mo, d) or h > 23 or mi > 59 or s > 59:
        raise ValueError("RTC registers hold no valid date")
    return y, mo, d, h, mi, s


class DS3231:
    def __init__(self, i2c, addr=0x68):
        self.i2c = i2c
        self.addr = addr
        self._regs = bytearray(16)  # 0x00-0x0F read in one transfer
        self._one = bytearray(1)

    def read_raw(self):
        """Registers 0x00-0x0F in one burst (time, alarms, control, status)."""
        self.i2c.readfrom_mem_into(self.addr, _REG_SECONDS, self._regs)
        return self._regs

    def second(self):
        """The seconds (0-59) from the seconds register alone: a 1-byte
        read, cheap enough to watch for the next second."""
        self.i2c.readfrom_mem_into(self.addr, _REG_SECONDS, self._one)
        return bcd2bin(self._one[0] & 0x7F)

    def datetime(self):
        """(year, month, day, hour, minute, second) in UTC."""
        return decode(self.read_raw())

    def read(self):
        """(unix seconds, oscillator stopped) from one consistent burst.

        Raises OSError on a bus fault and ValueError on impossible contents.
        """
        regs = self.read_raw()
        lost = bool(regs[_REG_STATUS] & _STATUS_OSF)
        y, mo, d, h, mi, s = decode(regs)
        return timeutil.to_unix(y, mo, d, h, mi, s), lost

    def unix(self):
        return self.read()[0]

    def lost_power(self):
        """True when OSF is set: the time cannot be trusted."""
        self.i2c.readfrom_mem_into(self.addr, _REG_STATUS, self._one)
        return bool(self._one[0] & _STATUS_OSF)

    def set_datetime(self, y, mo, d, h, mi, s):
        wd = timeutil.from_unix(timeutil.to_unix(y, mo, d, h, mi, s))[6]
        self.i2c.writeto_mem(self.addr, _REG_SECONDS, encode(y, mo, d, h, mi, s, wd))
        # Keep the oscillator running on battery (EOSC = 0), then clear OSF:
        # only a clock that was just set is trusted again.
        self.i2c.readfrom_mem_into(self.addr, _REG_CONTROL, self._one)
        if self._one[0] & _CTRL_EOSC:
            self._one[0] &= ~_CTRL_EOSC & 0xFF
            self.i2c.writeto_mem(self.addr, _REG_CONTROL, self._one)
        self.i2c.readfrom_mem_into(self.addr, _REG_STATUS, self._one)
        self._one[0] &= ~_STATUS_OSF & 0xFF
        self.i2c.writeto_mem(self.addr, _REG_STATUS, self._one)

    def set_unix(self, t):
        y, mo, d, h, mi, s, _ = timeutil.from_unix(t)
        self.set_datetime(y, mo, d, h, mi, s)

    def aging(self):
        """The aging offset register, signed."""
        self.i2c.readfrom_mem_into(self.addr, _REG_AGING, self._one)
        v = self._one[0]
        return v - 256 if v > 127 else v

    def set_aging(self, v):
        """Write the aging offset (-AGING_MAX..AGING_MAX) and start a
        temperature conversion, so it applies now rather than within 64 s."""
        if not -AGING_MAX <= v <= AGING_MAX:
            raise ValueError("aging out of range")
        self._one[0] = v & 0xFF
        self.i2c.writeto_mem(self.addr, _REG_AGING, self._one)
        self.i2c.readfrom_mem_into(self.addr, _REG_CONTROL, self._one)
        self._one[0] |= _CTRL_CONV
        self.i2c.writeto_mem(self.addr, _REG_CONTROL, self._one)
