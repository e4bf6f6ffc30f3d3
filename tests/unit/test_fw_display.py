"""What the OLED shows, read back from the real SSD1306 driver's frame buffer
(CPython, virtual time): codes of every length grouped and fitted, long
names scrolled in full, Latin-1 names in their own letters, and HOTP codes
on a long press, compared with pyotp."""

import base64

import pyotp
import pytest
from hypothesis import given, settings
from hypothesis import seed as hyp_seed
from hypothesis import strategies as st

from conftest import SEED
from otpfob import paths
from otpfob.emu import glyphs, screen
from otpfob.emu.testing import GROUPS, grouped
from support.fw import AppRig, RecordingI2C, install_framebuf

install_framebuf()
from fob import font, proto, storage  # noqa: E402
from fob import screen as fw_screen  # noqa: E402
from fob import ui as fw_ui  # noqa: E402
from fob.drivers.ssd1306 import SSD1306_I2C  # noqa: E402

T0 = 1_750_000_000
SECRET = base64.b32encode(b"0123456789abcdefghij").decode()
FW = paths.FIRMWARE


def pixels(oled):
    b = oled.buffer
    return [[(b[(y >> 3) * 128 + x] >> (y & 7)) & 1 for x in range(128)] for y in range(oled.height)]


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def make_rig(height=64, **board):
    board.setdefault("BLANK_MS", 600_000)
    rig = AppRig(height=height, **board)
    rig.run(0.1)
    return rig


# ---- codes: every length fits, in readable groups ---------------------------------
def ink_columns(oled, page, x, w):
    """The columns of cell [x, x+w) on pages page..page+2 that have ink."""
    b = oled.buffer
    return [c for c in range(x, x + w) if any(b[(page + p) * 128 + c] for p in range(3))]


def check_code_layout(height, code):
    oled = SSD1306_I2C(128, height, RecordingI2C())
    ui = fw_ui.UI(oled)
    ui.prepare("GitHub", "alice", 0, 2)
    ui.code(code, 17, 30)
    page = 1 if height == 32 else 3
    groups, cells = glyphs.page_code_cells(oled.buffer, 128, page)
    # Every digit is there, in the groups a person reads.
    assert "".join("".join(g) for g in groups) == code
    assert tuple(len(g) for g in groups) == GROUPS[len(code)]
    assert " ".join("".join(g) for g in groups) == grouped(code)
    # It fits: clear of the 32-row screen's bar (columns 126-127).
    right = 124 if height == 32 else 128
    assert cells[0][0] >= 0 and cells[-1][0] + cells[-1][1] <= right
    # One cell width for every digit, the same space between the digits of
    # a group, and a wider gap between groups: measured between the cells
    # and between the ink a person sees.
    assert len({w for _, w in cells}) == 1
    within, between, ink_within, ink_between = [], [], [], []
    k = 0
    for g in groups:
        for j in range(len(g)):
            if k:
                (x0, w0), (x1, _) = cells[k - 1], cells[k]
                gap = x1 - (x0 + w0)
                ink = min(ink_columns(oled, page, x1, w0)) - max(ink_columns(oled, page, x0, w0)) - 1
                (between if j == 0 else within).append(gap)
                (ink_between if j == 0 else ink_within).append(ink)
            k += 1
    assert set(within) == {font.DIGIT_SPACING}
    assert min(between) > font.DIGIT_SPACING
    assert max(ink_within) < min(ink_between), (code, ink_within, ink_between)
    # The whole-screen reader (as the emulated tokens use) reads it too.
    assert grouped(code) in screen.decode(pixels(oled), FW).splitlines()


@pytest.mark.parametrize("height", [64, 32])
@pytest.mark.parametrize("digits", range(proto.MIN_DIGITS, proto.MAX_DIGITS + 1))
def test_worst_codes_fit_and_group(height, digits):
    # All "1": the narrowest ink, the widest gaps inside a group; all "8": the most ink.
    for d in "1807":
        check_code_layout(height, d * digits)


@hyp_seed(SEED)
@settings(max_examples=150, deadline=None)
@given(
    code=st.integers(6, 10).flatmap(lambda n: st.text("0123456789", min_size=n, max_size=n)),
    height=st.sampled_from([64, 32]),
)
def test_every_code_fits_and_groups(code, height):
    check_code_layout(height, code)


def test_the_1_is_as_wide_as_its_cell_suggests():
    # The old "1" was three columns at the right of its cell: "081 419"
    # read as "08 14 19".  Its ink is now centred and at least half the cell.
    for name, (w, _) in font.FONTS.items():
        rows = glyphs.vlsb_cell(bytes(font.digit_glyph(name, 1)[2]), w, font.DIGIT_H)
        cols = [x for x in range(w) if any(r[x] for r in rows)]
        assert cols[-1] - cols[0] + 1 >= w // 2
        assert abs((cols[0] + cols[-1]) / 2 - (w - 1) / 2) <= 1


# ---- names: scrolled, never cut ---------------------------------------------------
def scroll_frames(rig, lines, ms):
    """Sample the name rows every 50 virtual ms for ``ms``; check that the
    code's pages never change meanwhile."""
    code_pages = slice(128, 4 * 128) if rig.oled.height == 32 else slice(3 * 128, 6 * 128)
    code_px = bytes(rig.oled.buffer[code_pages])
    frames = []
    for _ in range(ms // 50):
        rig.run(0.05)
        text = rig.text()
        frames.append(tuple(text[p][:cols] for p, cols in lines))
        assert bytes(rig.oled.buffer[code_pages]) == code_px  # the digits never move
    return frames


def covered(name, windows, cols):
    """Which of name's characters the windows showed; each window must be
    a piece of the name (or its whole, when it fits)."""
    seen = set()
    padded = name + " " * cols
    for w in windows:
        w = w.ljust(cols)
        at = padded.find(w)
        assert w.strip() and 0 <= at <= max(0, len(name) - cols), (w, name)  # never past the end
        seen.update(range(at, min(at + cols, len(name))))
    return seen


@pytest.mark.parametrize("height", [64, 32])
def test_long_names_show_every_character_within_one_scroll_cycle(folder, height):
    issuer = "Amazon Web Services Éire"
    label = "ölaf.långnäm@example-corp.com"  # 32 UTF-8 bytes, the most a label has
    assert len(label.encode()) <= proto.MAX_LABEL
    rig = make_rig(height)
    rig.rtc.t = T0 - T0 % 30 + 3  # 27 s left: no new code during the cycle
    rig.app.clock.set(rig.rtc.t)
    assert rig.call(op="add", label=label, issuer=issuer, secret=SECRET)["ok"]
    assert rig.call(op="add", label="b", secret=SECRET)["ok"]
    rig.run(0.2)
    code = rig.code()
    assert code == grouped(pyotp.TOTP(SECRET).at(rig.rtc.t))
    if height == 64:
        names, lines = [issuer, label], [(0, 12), (1, 16)]  # "1/2" on the right of the issuer
    else:
        names, lines = [issuer + ":" + label], [(0, 9)]  # "1/2 27" on the right
    cycle = max(len(n) - c for n, (_, c) in zip(names, lines, strict=True)) + 2 * fw_ui.PAUSE
    frames = scroll_frames(rig, lines, cycle * fw_screen.SCROLL_MS + 100)
    for k, (name, (_, cols)) in enumerate(zip(names, lines, strict=True)):
        windows = [f[k] for f in frames]
        assert covered(name, windows, cols) == set(range(len(name))), name
        assert windows[0] == name[:cols]
        assert len(set(windows)) == len(name) - cols + 1  # one character a step
    assert rig.code() == code


def test_a_name_that_fits_stays_still(folder):
    rig = make_rig()
    rig.call(op="add", label="alice@example.com", issuer="GitHub", secret=SECRET)  # 17: one too many
    rig.call(op="add", label="bob", issuer="GitLab", secret=SECRET)
    rig.press()
    frames = scroll_frames(rig, [(0, 16), (1, 16)], 3000)
    assert set(frames) == {("GitLab       2/2", "bob")}
    rig.press()
    frames = scroll_frames(rig, [(0, 16), (1, 16)], 8000)
    assert {f[0] for f in frames} == {"GitHub       1/2"}
    assert covered("alice@example.com", [f[1] for f in frames], 16) == set(range(17))


# ---- Latin-1 ----------------------------------------------------------------------
LATIN_NAMES = [
    "Bänk",
    "Bönk",
    "Åsa Ødegård",
    "Çelik Ñandú",
    "Zoë Dvořák",
    "Œuvre Škoda Žiga",
    "ÀÁÂÃÄÅÆÇÈÉÊËÌÍ",
    "ÎÏÐÑÒÓÔÕÖ×ØÙÚ",
    "ÛÜÝÞßàáâãäåæçè",
    "éêëìíîïðñòóôõö",
    "÷øùúûüýþÿœšž",
]


def shown_as(name):
    """The name as the font draws it: one placeholder for each character it lacks."""
    return "".join(ch if ch in font.small_chars() else glyphs.PLACEHOLDER for ch in name)


def test_latin1_names_decode_to_their_own_letters(folder):
    rig = make_rig()
    for i, name in enumerate(LATIN_NAMES):
        assert rig.call(op="add", label=name, issuer="I%d" % i, secret=SECRET)["ok"], name
    listed = [a["label"] for a in rig.call(op="list")["accounts"]]
    assert listed == LATIN_NAMES  # the store keeps them as given
    for name in LATIN_NAMES:
        rig.run(0.1)
        assert rig.text()[1] == shown_as(name)
        assert screen.decode(pixels(rig.oled), FW).splitlines()[1] == shown_as(name)
        rig.press()
    assert shown_as("Zoë Dvořák") == "Zoë Dvo\ufffdák"  # ř: not in the font, one placeholder


def test_every_small_glyph_is_distinct_and_drawn():
    cells = {}
    for ch in font.small_chars():
        cell = bytes(font.small_glyph(ch))
        assert ch == " " or any(cell), ch
        assert cell not in cells, (ch, cells.get(cell))
        cells[cell] = ch
    placeholder = bytes(font.small_glyph("\u65e5"))
    assert placeholder not in cells and placeholder == bytes(font.small_glyph("\x7f"))
    for ch in "\u0141\u20ac\u2028\U0001f600":  # Ł, €, a separator, an emoji: one placeholder each
        assert font.index(ord(ch)) == font.PLACEHOLDER


def test_cancel_ends_a_touch_wait_and_its_prompt(folder):
    """Issue 23, item 6: the host's Ctrl-C sends `cancel`; the token stops
    asking for the press at once, and the waiting code never comes."""
    rig = make_rig(TOUCH_MS=60_000)
    rig.call(op="add", label="tap", issuer="Lab", secret=SECRET, touch=True)
    rid = rig.send(op="code", label="tap", issuer="Lab")
    rig.run(0.1)
    assert rig.text()[1:3] == ["Press button to", "release code for"]
    r = rig.call(op="cancel")
    assert r["ok"] and r["cancelled"] is True
    rig.run(0.2)
    assert "Press button to" not in rig.text() and "tap" in " ".join(rig.text())
    rig.press()  # a press now releases nothing
    rig.run(0.2)
    assert [x for x in rig.replies() if x.get("id") == rid] == []
    assert rig.call(op="cancel")["cancelled"] is False
    rig.send(op="code", label="tap", issuer="Lab")  # a new request waits for its own press
    rig.run(0.1)
    assert rig.text()[1:3] == ["Press button to", "release code for"]


def test_touch_screen_wraps_a_long_label(folder):
    label = "ölaf.långnäm@example-corp.com"
    rig = make_rig(TOUCH_MS=60_000)
    rig.call(op="add", label=label, secret=SECRET, touch=True)
    rid = rig.send(op="code", label=label)
    rig.run(0.1)
    text = rig.text()
    assert text[1:3] == ["Press button to", "release code for"]
    assert text[3] == "" and text[4] + text[5] == label  # wrapped onto a second line, whole
    rig.press()
    (r,) = rig.replies()
    assert r["id"] == rid and r["code"] == pyotp.TOTP(SECRET).at(r["time"])


# ---- HOTP on the button --------------------------------------------------------------
def stored_counter(label, issuer="Bank"):
    s = storage.Store()
    return s.params(s.find(label, issuer)).counter


@pytest.mark.parametrize("height", [64, 32])
def test_hotp_code_on_a_long_press(folder, height):
    rig = make_rig(height, HOTP_SHOW_MS=4000)
    c = 41
    rig.call(op="add", label="vpn", issuer="Bank", secret=SECRET, type="hotp", counter=c, digits=8)
    rig.call(op="add", label="t", secret=SECRET)
    rig.run(0.1)
    hotp = pyotp.HOTP(SECRET, digits=8)
    first = 1 if height == 32 else 3
    assert [t.strip() for t in rig.text()[first : first + 2]] == list(fw_ui.MSG_HOTP)  # the gesture, on screen
    assert rig.code() == ""
    # Moving past the HOTP account, both ways, uses no counter.
    rig.press()
    rig.press(400)
    rig.press()
    rig.press()
    assert rig.text()[0].startswith("Bank") and stored_counter("vpn") == c
    # A long press: the counter is stored first, then the code is drawn.
    real = rig.app.store.set_counter

    def set_counter(i, counter):
        assert rig.code() == ""  # nothing shown before the write
        real(i, counter)

    rig.app.store.set_counter = set_counter
    rig.press(400)
    assert rig.code() == grouped(hotp.at(c))
    assert stored_counter("vpn") == c + 1
    assert rig.text()[0].startswith("Bank")
    # It stays up HOTP_SHOW_MS, counting down, then goes.
    secs = [int(rig.text()[0 if height == 32 else 7].split()[-1][-1])]
    for _ in range(3):
        rig.run(1.0)
        assert rig.code() == grouped(hotp.at(c))
        secs.append(int(rig.text()[0 if height == 32 else 7].split()[-1][-1]))
    assert secs == [4, 3, 2, 1]
    rig.run(1.1)
    assert rig.code() == "" and rig.text()[first].strip() == fw_ui.MSG_HOTP[0]
    # The next long press: the next counter.  A short press moves on, and the
    # code does not come back.
    rig.press(400)
    assert rig.code() == grouped(hotp.at(c + 1))
    rig.press()
    rig.press()
    assert rig.text()[0].startswith("Bank") and rig.code() == ""
    assert stored_counter("vpn") == c + 2
    # Over USB the counter goes on from there.
    assert rig.call(op="code", label="vpn", issuer="Bank")["code"] == hotp.at(c + 2)


def test_hotp_code_goes_with_the_screen(folder):
    rig = make_rig(BLANK_MS=2000, HOTP_SHOW_MS=60_000)
    rig.call(op="add", label="vpn", secret=SECRET, type="hotp")
    rig.press(400)
    assert rig.code() == grouped(pyotp.HOTP(SECRET).at(0))
    rig.run(2.5)
    assert not rig.app.screen.ui.awake
    rig.press()  # wakes: the code is not shown again
    assert rig.app.screen.ui.awake and rig.code() == ""
    rig.press(400)
    assert rig.code() == grouped(pyotp.HOTP(SECRET).at(1))


def test_hotp_press_without_the_clock(folder):
    # HOTP needs no clock: the code is shown while TOTP accounts say "Clock not set".
    rig = make_rig()
    rig.rtc.lost = True
    rig.call(op="add", label="vpn", secret=SECRET, type="hotp", counter=7, digits=6)
    rig.run(0.2)
    rig.press(400)
    assert rig.code() == grouped(pyotp.HOTP(SECRET).at(7))


def test_font_holds_the_drawn_glyphs():
    # tests/support/font_art.py is the readable source of the added bitmaps.
    from support import font_art

    assert font.EXTRA == font_art.extra_bytes()
    assert len(font.EXTRA) == 8 * len(font_art.extra_chars())
    assert [font.index(ord(c)) for c in font_art.extra_chars()] == list(range(96, font.N_GLYPHS))
    for name, art in (("large", font_art.ONE_LARGE), ("narrow", font_art.ONE_NARROW)):
        assert bytes(font.digit_glyph(name, 1)[2]) == font_art.rows_to_vlsb_tall(art)


def test_settings_the_panel_already_has_send_nothing():
    # Power-on applies the settings: the panel's own orientation and
    # contrast must not send the whole frame again (23 ms at 400 kHz).
    bus = RecordingI2C()
    ui = fw_ui.UI(SSD1306_I2C(128, 64, bus))
    bus.log.clear()
    ui.configure(False, 255)
    assert bus.log == []
    ui.configure(True, 255)  # turned: segment remap and COM scan, then the frame again
    data = [d for _, _, d in bus.log if d[0] == 0x40]
    cmds = [d[1] for _, _, d in bus.log if d[0] == 0x80]
    assert cmds == [0xA0, 0xC0] and len(data) == 1 and len(data[0]) == 1 + 1024
    bus.log.clear()
    ui.configure(True, 7)  # only the contrast
    assert [d for _, _, d in bus.log] == [b"\x80\x81", b"\x80\x07"]
