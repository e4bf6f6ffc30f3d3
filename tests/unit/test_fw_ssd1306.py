"""SSD1306 driver: the bytes it puts on the bus, checked against the datasheet."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from support.fw import RecordingI2C, install_framebuf

install_framebuf()
from fob.drivers import ssd1306  # noqa: E402


# Power-up sequence written out from the SSD1306 datasheet (rev 1.1,
# section 9 command table, section 10 descriptions, and the application
# note's "software initialization" flow), for a 128xN panel on the internal
# charge pump.  Each command byte travels with control byte 0x80 (Co=1, D/C#=0).
def datasheet_init(height):
    return [
        0xAE,  # 10.1.12 display OFF
        0x20,
        0x00,  # 10.1.3 memory addressing mode = horizontal
        0x40,  # 10.1.6 display start line 0
        0xA1,  # 10.1.8 segment re-map: column 127 -> SEG0
        0xA8,
        height - 1,  # 10.1.11 multiplex ratio N-1
        0xC8,  # 10.1.14 COM output scan direction remapped
        0xD3,
        0x00,  # 10.1.15 display offset 0
        0xDA,
        0x12 if height == 64 else 0x02,  # 10.1.18 COM pins: alternative / sequential
        0xD5,
        0x80,  # 10.1.16 clock divide ratio / oscillator frequency (reset value)
        0xD9,
        0xF1,  # 10.1.17 pre-charge: phase 1 = 1, phase 2 = 15 DCLK (charge pump)
        0xDB,
        0x30,  # 10.1.19 VCOMH deselect ~0.83 x VCC
        0x81,
        0xFF,  # 10.1.7 contrast
        0xA4,  # 10.1.9 resume to RAM content
        0xA6,  # 10.1.10 normal display
        0x8D,
        0x14,  # charge pump setting: enable (application note)
        0x2E,  # 10.2.3 deactivate scroll
        0xAF,  # 10.1.12 display ON
    ]


def commands(log, addr=0x3C):
    out = []
    for _kind, a, data in log:
        assert a == addr
        if data[0] == 0x80:
            assert len(data) == 2, "Co=1 carries exactly one command byte"
            out.append(data[1])
        elif data[0] == 0x00:  # Co=0, D/C#=0: the rest is commands
            out.extend(data[1:])
    return out


def panel_ram(log, ram=None, pages=8):
    """The GDDRAM after the logged transfers, in horizontal mode (10.1.3):
    the column/page window commands, then data walking the window."""
    ram = bytearray(128 * pages) if ram is None else ram
    win = [0, 127, 0, pages - 1]
    col = page = 0
    for _, _, data in log:
        if data[0] == 0x00:
            c = list(data[1:])
            while c:
                if c[0] in (0x21, 0x22):
                    if c[0] == 0x21:
                        win[0], win[1] = c[1], c[2]
                        col = c[1]
                    else:
                        win[2], win[3] = c[1], c[2]
                        page = c[1]
                    c = c[3:]
                else:
                    c = c[1:]
        elif data[0] == 0x80 and data[1] in (0x21, 0x22):
            raise AssertionError("window commands go in one Co=0 transfer")
        elif data[0] == 0x40:
            for b in data[1:]:
                ram[page * 128 + col] = b
                if col >= win[1]:
                    col = win[0]
                    page = win[2] if page >= win[3] else page + 1
                else:
                    col += 1
    return ram


def data_writes(log):
    return [data[1:] for _, _, data in log if data[0] == 0x40]


@pytest.mark.parametrize("height", [64, 32])
def test_init_sequence_and_first_frame(height):
    bus = RecordingI2C()
    oled = ssd1306.SSD1306_I2C(128, height, bus)
    pages = height // 8
    cmds = commands(bus.log)
    window = [0x21, 0, 127, 0x22, 0, pages - 1]  # 10.1.4 / 10.1.5 column and page range
    assert cmds == datasheet_init(height) + window
    frames = data_writes(bus.log)
    assert frames == [bytes(128 * pages)]  # a cleared RAM, written once (whatever it held)
    assert oled.width == 128 and oled.height == height


@pytest.mark.parametrize("height", [64, 32])
def test_show_sends_only_the_changed_spans(height):
    bus = RecordingI2C()
    oled = ssd1306.SSD1306_I2C(128, height, bus)
    pages = height // 8
    ram = panel_ram(bus.log, pages=pages)
    bus.log.clear()
    # Pixels at known places: GDDRAM byte = page * 128 + column, bit = row % 8
    # (datasheet 8.7, figure 8-13: horizontal addressing walks columns then pages).
    spots = [(0, 0), (127, 0), (5, 9), (64, height - 1), (127, height - 1)]
    for x, y in spots:
        oled.pixel(x, y, 1)
    oled.show()
    expect = bytearray(128 * pages)
    for x, y in spots:
        expect[(y // 8) * 128 + x] |= 1 << (y % 8)
    assert panel_ram(bus.log, ram, pages) == expect == oled.buffer
    # Page 0's two ends, 4 columns each (spans are rounded up to 4 columns;
    # the 120 unchanged columns between cost more on the wire than a second
    # window), 4 columns from column 5 on page 1, and the last page's two
    # pixels 63 columns apart the same way: not the whole frame.
    assert sorted(len(f) for f in data_writes(bus.log)) == [4] * 5
    assert bus.log[-1][2][0] == 0x40  # each window is set before its data
    # Nothing changed: nothing sent.
    bus.log.clear()
    oled.show()
    assert bus.log == []
    # One pixel: one window, 4 columns from it.
    oled.pixel(40, 20, 1)
    oled.show()
    assert commands(bus.log) == [0x21, 40, 43, 0x22, 2, 2]
    assert data_writes(bus.log) == [bytes(oled.buffer[256 + 40 : 256 + 44])]
    assert panel_ram(bus.log, ram, pages) == oled.buffer
    # At the right edge the 4 columns end at the last one.
    bus.log.clear()
    oled.pixel(127, 20, 1)
    oled.show()
    assert commands(bus.log) == [0x21, 124, 127, 0x22, 2, 2]
    assert panel_ram(bus.log, ram, pages) == oled.buffer


def test_a_codes_three_pages_share_one_window():
    """Digits changed over the same columns of pages 3-5 (a new period's
    code) go out in one window, not three: a transfer a page, the panel's
    RAM pointer walking the window (datasheet 10.1.3)."""
    bus = RecordingI2C()
    oled = ssd1306.SSD1306_I2C(128, 64, bus)
    ram = panel_ram(bus.log)
    bus.log.clear()
    oled.fill_rect(20, 24, 30, 24, 1)  # columns 20-49, rows 24-47: pages 3, 4, 5
    oled.show()
    assert commands(bus.log) == [0x21, 20, 51, 0x22, 3, 5]  # 30 columns rounded up to 32
    assert [len(f) for f in data_writes(bus.log)] == [32, 32, 32]
    assert panel_ram(bus.log, ram) == oled.buffer


@settings(max_examples=200, deadline=None)
@given(
    height=st.sampled_from([64, 32]),
    frames=st.lists(
        st.lists(
            st.tuples(st.integers(0, 127), st.integers(0, 63), st.integers(1, 40), st.integers(1, 24)), max_size=6
        ),
        min_size=1,
        max_size=4,
    ),
)
def test_the_panel_holds_the_frame_after_every_show(height, frames):
    """Whatever changed, wherever (one page, neighbours merged or not), the
    panel's RAM decoded from the bytes sent equals the frame buffer, and
    exactly the changed pages are sent."""
    bus = RecordingI2C()
    oled = ssd1306.SSD1306_I2C(128, height, bus)
    pages = height // 8
    ram = panel_ram(bus.log, pages=pages)
    for rects in frames:
        before = bytes(oled.buffer)
        bus.log.clear()
        for x, y, w, h in rects:
            oled.fill_rect(x, y % height, w, h, 1 if (x + y) % 3 else 0)
        oled.show()
        assert panel_ram(bus.log, ram, pages) == oled.buffer
        changed = {p for p in range(pages) if before[p * 128 : p * 128 + 128] != oled.buffer[p * 128 : p * 128 + 128]}
        cmds = commands(bus.log)
        sent = set()
        for i in range(0, len(cmds), 6):
            assert cmds[i] == 0x21 and cmds[i + 3] == 0x22
            sent.update(range(cmds[i + 4], cmds[i + 5] + 1))
        assert sent == changed


def test_buffer_allocated_once():
    bus = RecordingI2C()
    oled = ssd1306.SSD1306_I2C(128, 64, bus)
    ram = panel_ram(bus.log)
    buf = oled.buffer
    oled.fill(1)
    oled.show()
    oled.show()
    assert oled.buffer is buf
    assert panel_ram(bus.log, ram) == b"\xff" * 1024


def test_failed_transfer_resends_the_whole_frame():
    bus = RecordingI2C()
    oled = ssd1306.SSD1306_I2C(128, 64, bus)
    oled.pixel(3, 3, 1)
    oled.i2c = RecordingI2C(fail=True)
    with pytest.raises(OSError):
        oled.show()
    oled.i2c = bus
    bus.log.clear()
    oled.show()
    assert data_writes(bus.log) == [bytes(oled.buffer)]


def test_contrast_power_invert():
    bus = RecordingI2C()
    oled = ssd1306.SSD1306_I2C(128, 64, bus)
    bus.log.clear()
    oled.contrast(0x7F)
    oled.poweroff()
    oled.poweron()
    oled.invert(True)
    oled.invert(False)
    assert commands(bus.log) == [0x81, 0x7F, 0xAE, 0xAF, 0xA7, 0xA6]


def test_missing_panel_raises_oserror():
    # hw.build turns this into "display missing" instead of a crash.
    with pytest.raises(OSError):
        ssd1306.SSD1306_I2C(128, 64, RecordingI2C(fail=True))


def test_unsupported_size():
    with pytest.raises(ValueError):
        ssd1306.SSD1306_I2C(96, 16, RecordingI2C())
