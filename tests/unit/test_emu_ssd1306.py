"""The SSD1306 model executes the command stream as the datasheet says."""

import pytest

from otpfob.emu.ssd1306 import SSD1306

CMD = 0x00  # control byte: Co = 0, D/C# = 0: a stream of commands
DATA = 0x40  # Co = 0, D/C# = 1: a stream of data


def on(oled):
    """The minimum to light a panel: charge pump, remaps for upright, on."""
    oled.i2c_write(bytes([CMD, 0x8D, 0x14, 0xA1, 0xC8, 0xAF]))


def ram(oled, col, page):
    return oled.ram[page * 128 + col]


def test_power_on_state_is_dark_and_ram_is_not_cleared():
    oled = SSD1306()
    assert not oled.display_on and not oled.lit()
    assert oled.mode == 2  # page addressing after reset
    assert oled.contrast == 0x7F
    assert all(v == 0 for row in oled.pixels() for v in row)
    # GDDRAM is not initialised by a reset: a driver must clear it.
    assert any(oled.ram)


def test_horizontal_addressing_wraps_columns_then_pages():
    oled = SSD1306()
    oled.i2c_write(bytes([CMD, 0x20, 0x00, 0x21, 10, 12, 0x22, 1, 2]))
    oled.i2c_write(bytes([DATA]) + bytes(range(1, 8)))
    assert [ram(oled, c, 1) for c in (10, 11, 12)] == [7, 2, 3]  # 7 wrapped to the start
    assert [ram(oled, c, 2) for c in (10, 11, 12)] == [4, 5, 6]


def test_vertical_addressing_wraps_pages_then_columns():
    oled = SSD1306()
    oled.i2c_write(bytes([CMD, 0x20, 0x01, 0x21, 10, 12, 0x22, 1, 2]))
    oled.i2c_write(bytes([DATA]) + bytes(range(1, 7)))
    assert [ram(oled, 10, p) for p in (1, 2)] == [1, 2]
    assert [ram(oled, 11, p) for p in (1, 2)] == [3, 4]
    assert [ram(oled, 12, p) for p in (1, 2)] == [5, 6]


def test_page_addressing_sets_page_and_column_nibbles_and_wraps_in_the_page():
    oled = SSD1306()
    oled.i2c_write(bytes([CMD, 0x20, 0x02, 0xB3, 0x0E, 0x17]))  # page 3, column 0x7E
    oled.i2c_write(bytes([DATA, 0xA1, 0xA2, 0xA3]))
    assert ram(oled, 126, 3) == 0xA1 and ram(oled, 127, 3) == 0xA2
    assert ram(oled, 0, 3) == 0xA3  # wrapped within page 3
    assert oled.page == 3


def test_column_and_page_commands_reset_the_pointer():
    oled = SSD1306()
    oled.i2c_write(bytes([CMD, 0x20, 0x00, 0x21, 0, 127, 0x22, 0, 7]))
    oled.i2c_write(bytes([DATA, 1, 2, 3]))
    oled.i2c_write(bytes([CMD, 0x21, 5, 127, 0x22, 6, 7]))
    oled.i2c_write(bytes([DATA, 9]))
    assert ram(oled, 5, 6) == 9
    assert [ram(oled, c, 0) for c in range(3)] == [1, 2, 3]


def test_co_bit_framing_single_bytes_and_streams():
    oled = SSD1306()
    # Co = 1: one command, then a new control byte; here data (D/C# = 1).
    oled.i2c_write(bytes([0x80, 0x20, 0x80, 0x00, 0x80, 0xB0, 0xC0, 0x5A, 0x80, 0xAF]))
    assert oled.mode == 0 and oled.display_on
    assert ram(oled, 0, 0) == 0x5A
    # A command's parameters may come in later transactions.
    oled.i2c_write(bytes([0x80, 0x81]))
    oled.i2c_write(bytes([0x80, 0x10]))
    assert oled.contrast == 0x10


def test_display_on_off_charge_pump_invert_and_entire_on():
    oled = SSD1306()
    oled.i2c_write(bytes([CMD, 0x20, 0x00, 0x21, 0, 127, 0x22, 0, 7]))
    oled.i2c_write(bytes([DATA]) + bytes(1024))
    oled.i2c_write(bytes([CMD, 0xA1, 0xC8, 0xAF]))
    assert not oled.lit()  # no charge pump, no light
    oled.i2c_write(bytes([CMD, 0x8D, 0x14]))
    assert oled.lit()
    assert sum(map(sum, oled.pixels())) == 0
    oled.i2c_write(bytes([CMD, 0xA7]))
    assert sum(map(sum, oled.pixels())) == 128 * 64
    oled.i2c_write(bytes([CMD, 0xA6, 0xA5]))
    assert sum(map(sum, oled.pixels())) == 128 * 64
    oled.i2c_write(bytes([CMD, 0xA4, 0xAE]))
    assert not oled.lit() and sum(map(sum, oled.pixels())) == 0
    assert oled.i2c_read(1) == b"\x40"  # status: display off


def test_contrast_dims_the_picture():
    oled = SSD1306()
    on(oled)
    oled.i2c_write(bytes([CMD, 0xA5, 0x81, 0xFF]))
    bright = oled_image_level(oled)
    oled.i2c_write(bytes([CMD, 0x81, 0x01]))
    assert oled.contrast == 1
    assert oled_image_level(oled) < bright


def oled_image_level(oled):
    from otpfob.emu import screen

    return screen.image(oled).getpixel((0, 0))[0]


def _one_pixel(oled, col, line):
    oled.i2c_write(bytes([CMD, 0x20, 0x00, 0x21, 0, 127, 0x22, 0, 7]))
    buf = bytearray(1024)
    buf[(line // 8) * 128 + col] = 1 << (line % 8)
    oled.i2c_write(bytes([DATA]) + buf)


def _lit(oled):
    return [(x, y) for y, row in enumerate(oled.pixels()) for x, v in enumerate(row) if v]


@pytest.mark.parametrize(
    "remap, expect",
    [
        ((0xA1, 0xC8), (3, 5)),  # the usual init: upright
        ((0xA0, 0xC8), (124, 5)),  # no segment remap: mirrored left-right
        ((0xA1, 0xC0), (3, 58)),  # normal COM scan: upside down
    ],
)
def test_segment_and_com_remaps(remap, expect):
    oled = SSD1306()
    oled.i2c_write(bytes([CMD, 0x8D, 0x14, 0xAF, *remap]))
    _one_pixel(oled, 3, 5)
    assert _lit(oled) == [expect]


def test_segment_remap_moves_only_what_is_written_after_it():
    # Datasheet 10.1.8: A0h/A1h "only affects subsequent data input"; the COM
    # scan direction (C0h/C8h) acts on the picture at once.
    oled = SSD1306()
    oled.i2c_write(bytes([CMD, 0x8D, 0x14, 0xAF, 0xA1, 0xC8]))
    _one_pixel(oled, 3, 5)
    oled.i2c_write(bytes([CMD, 0xA0]))
    assert _lit(oled) == [(3, 5)]
    oled.i2c_write(bytes([CMD, 0xC0]))
    assert _lit(oled) == [(3, 58)]
    _one_pixel(oled, 3, 5)  # rewritten under A0h: now turned 180 degrees
    assert _lit(oled) == [(124, 58)]


def test_multiplex_offset_and_start_line():
    oled = SSD1306()
    on(oled)
    _one_pixel(oled, 0, 10)
    assert _lit(oled) == [(0, 10)]
    oled.i2c_write(bytes([CMD, 0x40 | 4]))  # start line 4: the picture moves up
    assert _lit(oled) == [(0, 6)]
    oled.i2c_write(bytes([CMD, 0x40, 0xD3, 2]))  # offset 2
    assert _lit(oled) == [(0, 8)]
    oled.i2c_write(bytes([CMD, 0xD3, 0, 0xA8, 15]))  # 16 mux: rows 16+ dark
    oled.i2c_write(bytes([CMD, 0xA5]))
    lit_rows = {y for _, y in _lit(oled)}
    assert len(lit_rows) == 16


def test_128x32_panel_with_sequential_com_pins():
    oled = SSD1306(height=32)
    oled.i2c_write(bytes([CMD, 0xA8, 31, 0xDA, 0x02, 0x8D, 0x14, 0xA1, 0xC8, 0xAF]))
    _one_pixel(oled, 7, 20)
    assert len(oled.pixels()) == 32
    assert _lit(oled) == [(7, 20)]
    # The wrong COM layout for this module interleaves the rows.
    oled.i2c_write(bytes([CMD, 0xDA, 0x12]))
    assert _lit(oled) != [(7, 20)]


def test_power_cycle_forgets_state():
    oled = SSD1306()
    on(oled)
    oled.i2c_write(bytes([CMD, 0x81, 0x22, 0x20, 0x00]))
    oled.power_on()
    assert not oled.lit() and oled.contrast == 0x7F and oled.mode == 2
