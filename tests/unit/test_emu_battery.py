"""The emulated Pico's battery side (issue 20): the LiPo model, the VSYS/3
reading ADC3 gives of it (read back through the firmware's own
conversion, fob.hw.PowerSense), the charge per power state, and the
SSD1306 model's lit time and lit pixels from timestamped commands."""

from hypothesis import given
from hypothesis import strategies as st

from fob.hw import PowerSense
from otpfob.emu.battery import CURRENTS, LIPO_OCV_MV, Battery, adc_counts, ocv_mv
from otpfob.emu.ssd1306 import SSD1306

CMD, DATA = 0x00, 0x40


class Adc:
    """machine.ADC on an RP2040: read_u16 scales the 12-bit result to 16 bits."""

    def __init__(self, counts: int) -> None:
        self.counts = counts

    def read_u16(self) -> int:
        return (self.counts << 4) | (self.counts >> 8)


@given(st.integers(min_value=1800, max_value=5500))
def test_the_firmware_reads_back_the_vsys_the_model_gives(mv):
    sense = PowerSense(vbus=None, adc=Adc(adc_counts(mv)), divider=3)
    # One ADC step is 3300/4095 mV at the pin, times the divider; the
    # firmware's integer arithmetic rounds down once more.
    assert abs(sense.vsys_mv() - mv) <= 3 * 3300 / 4095 + 3


def test_adc_counts_clamp_at_the_reference():
    assert adc_counts(0) == 0
    assert adc_counts(3 * 3300) == 4095
    assert adc_counts(12_000) == 4095


def test_the_cell_follows_its_curve_and_falls_with_the_charge_drawn():
    assert [round(ocv_mv(k / 10)) for k in range(11)] == list(LIPO_OCV_MV)
    cell = Battery(capacity_mah=1000)
    volts = [cell.mv(drawn) for drawn in range(0, 1001, 50)]
    assert volts == sorted(volts, reverse=True) and volts[0] == LIPO_OCV_MV[-1] and volts[-1] == LIPO_OCV_MV[0]
    assert cell.mv(2000) == LIPO_OCV_MV[0]  # empty stays empty
    assert Battery(fixed_mv=3900).mv(999) == 3900


def test_charge_per_power_state():
    second = 1_000_000_000
    zero = dict.fromkeys(("run_ns", "wait_ns", "dormant_ns", "oled_on_ns", "oled_lit_pixel_ns", "oled_off_ns"), 0)
    assert CURRENTS.charge_mc({**zero, "run_ns": second}) == CURRENTS.awake_ma
    assert CURRENTS.charge_mc({**zero, "dormant_ns": 10 * second}) == 10 * CURRENTS.dormant_ma
    full = CURRENTS.charge_mc({**zero, "oled_on_ns": second, "oled_lit_pixel_ns": 8192 * second})
    assert abs(full - (1.444 + 5.4124)) < 1e-9  # the fit at 100 % lit


def test_the_oled_counts_lit_time_and_pixels_from_timestamped_commands():
    now = [0]
    oled = SSD1306()
    oled.now = lambda: now[0]
    oled.i2c_write(bytes([CMD, 0x20, 0x00]))  # horizontal addressing
    oled.i2c_write(bytes([DATA]) + bytes(1024))  # a dark frame
    oled.i2c_write(bytes([DATA, 0xFF, 0x0F]) + bytes(1022))  # 12 pixels lit
    now[0] = 1000
    oled.i2c_write(bytes([CMD, 0x8D, 0x14, 0xAF]))  # pump on, display on
    now[0] = 3000
    oled.i2c_write(bytes([CMD, 0xAE]))  # display off
    now[0] = 3500
    oled.i2c_write(bytes([CMD, 0x8D, 0x10]))  # pump off
    now[0] = 4000
    r = oled.power_report()
    assert r["oled_on_ns"] == 2000
    assert r["oled_lit_pixel_ns"] == 12 * 2000
    assert r["oled_off_ns"] == 2000
    assert r["oled_pump_ns"] == 2500
