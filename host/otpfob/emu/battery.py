"""The token's battery and what its parts draw: a LiPo cell whose voltage
falls with the charge drawn, the VSYS/3 reading the RP2040's ADC gives of
it, and the currents of each power state (documented figures, sources in
docs/benchmarks.md "Power on battery").

    battery = Battery(capacity_mah=1000)           # full cell
    battery.mv(drawn_mah=100)                      # open-circuit voltage after 100 mAh
    Battery(fixed_mv=3900).mv(500)                 # a bench supply: always 3.9 V
    adc_counts(3900)                               # ADC3's 12-bit value for VSYS = 3.9 V
    CURRENTS.charge_mc(report)                     # mC drawn over a pico.power_report()
"""

from __future__ import annotations

from dataclasses import dataclass

# Open-circuit voltage (mV) at 0, 10, ... 100 % state of charge: Zephyr's
# BATTERY_OCV_CURVE_LITHIUM_ION_POLYMER_DEFAULT (Panasonic NCR18650BF,
# include/zephyr/dt-bindings/battery/battery.h), rounded to mV.
LIPO_OCV_MV = (2502, 3146, 3372, 3449, 3532, 3602, 3680, 3764, 3842, 3936, 4032)

ADC_REF_MV = 3300  # the Pico's ADC reference (3.3 V through R7/R9 filter)
ADC_BITS = 12
VSYS_DIVIDER = 3  # the Pico's R5/R6 divider on VSYS into GPIO29 (ADC3)


def ocv_mv(soc: float) -> float:
    """Open-circuit voltage at state of charge ``soc`` (0..1), interpolated."""
    x = min(max(soc, 0.0), 1.0) * 10
    i = min(int(x), 9)
    lo, hi = LIPO_OCV_MV[i], LIPO_OCV_MV[i + 1]
    return lo + (hi - lo) * (x - i)


def adc_counts(vsys_mv: float, divider: int = VSYS_DIVIDER) -> int:
    """The 12-bit value ADC3 converts for this VSYS (clamped to 0..4095)."""
    full = (1 << ADC_BITS) - 1
    return max(0, min(full, round(vsys_mv / divider * full / ADC_REF_MV)))


class Battery:
    """A LiPo cell of ``capacity_mah`` starting at ``soc``, or a fixed
    voltage (``fixed_mv``: a bench supply on VSYS)."""

    def __init__(self, capacity_mah: float = 1000.0, soc: float = 1.0, fixed_mv: float | None = None) -> None:
        if capacity_mah <= 0:
            raise ValueError("capacity_mah must be positive")
        self.capacity_mah = capacity_mah
        self.soc = soc
        self.fixed_mv = fixed_mv

    def state_of_charge(self, drawn_mah: float) -> float:
        return max(0.0, self.soc - drawn_mah / self.capacity_mah)

    def mv(self, drawn_mah: float = 0.0) -> float:
        """VSYS with ``drawn_mah`` taken from the cell since it was set."""
        if self.fixed_mv is not None:
            return self.fixed_mv
        return ocv_mv(self.state_of_charge(drawn_mah))


@dataclass(frozen=True)
class Currents:
    """mA drawn from VSYS per state (sources: docs/benchmarks.md)."""

    awake_ma: float = 21.0  # a Pico running MicroPython at 125 MHz (micropython #8770)
    wait_ma: float = 20.0  # WFI with the clocks on (rp-rs/rp-hal #659: "WFI only")
    dormant_ma: float = 0.9  # a Pico in lightsleep() with no argument (micropython #8770)
    oled_base_ma: float = 1.444  # SSD1306 128x64 lit, no pixel on (hsel.co.uk, contrast 0x7F)
    oled_pixel_ma: float = 0.054124 / 81.92  # each lit pixel (same fit: 0.054124 mA per % of 8192)
    oled_off_ma: float = 0.010  # display off, controller asleep (SSD1306 datasheet: < 10 uA)
    rtc_ma: float = 0.0  # the DS3231 runs on its own coin cell (about 3 uA, datasheet)

    def charge_mc(self, report: dict) -> float:
        """Charge in mC (mA x s) over a ``power_report()``."""
        ns = 1e-9
        return (
            report["run_ns"] * ns * self.awake_ma
            + report["wait_ns"] * ns * self.wait_ma
            + report["dormant_ns"] * ns * self.dormant_ma
            + report["oled_on_ns"] * ns * self.oled_base_ma
            + report["oled_lit_pixel_ns"] * ns * self.oled_pixel_ma
            + report["oled_off_ns"] * ns * self.oled_off_ma
        )


CURRENTS = Currents()
