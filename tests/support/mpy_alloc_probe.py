# Runs in MicroPython: heap bytes allocated per frame by the code screen
# (UI drawing + SSD1306 show) and by one DS3231 time read, GC off.
import gc
import sys

from fob.drivers.ds3231 import DS3231
from fob.drivers.ssd1306 import SSD1306_I2C
from fob.ui import UI


class Bus:
    # Stands in for the I2C bus with both parts answering: writes are taken,
    # the DS3231's time registers read back as 2026-11-28 12:34:56, OSF clear.
    REGS = bytes((0x56, 0x34, 0x12, 0x07, 0x28, 0x11, 0x26)) + bytes(12)

    def writeto(self, addr, buf, stop=True):
        return 1

    def writevto(self, addr, bufs, stop=True):
        return 1

    def readfrom_mem_into(self, addr, reg, buf):
        for i in range(len(buf)):
            buf[i] = self.REGS[(reg + i) % len(self.REGS)]

    def writeto_mem(self, addr, reg, buf):
        pass


def per_frame(fn, n):
    fn(0)
    gc.collect()
    gc.disable()
    a = gc.mem_free()
    for i in range(n):
        fn(i)
    b = gc.mem_free()
    gc.enable()
    return (a - b) // n


bus = Bus()
ui = UI(SSD1306_I2C(128, int(sys.argv[1]), bus))
ui.prepare("GitHub", "alice@example.com", 1, 5)
rtc = DS3231(bus)
print("ui6", per_frame(lambda i: ui.code("123456", 30 - i % 30, 30), 60))
print("ui8", per_frame(lambda i: ui.code("12345678", 60 - i % 60, 60), 60))
print("rtc", per_frame(lambda i: rtc.unix(), 60))
# A name too long for its line scrolls a character a step (Latin-1 too).
ui.prepare("Amazon Web Services \u00c9ire", "\u00f6laf.l\u00e5ngn\u00e4m@example-corp.com", 1, 5)
ui.code("123456", 30, 30)
print("scroll", per_frame(lambda i: ui.scroll(), 60))


# The app's loop calls screen.draw() every LOOP_MS; most calls find nothing new to
# show.  Measured on a store with one TOTP account and a trusted clock.
from fob.app import App
from fob.hw import Hardware


class Board:
    NAME = "probe"


hw = Hardware()
hw.name = "probe"
hw.display = ui.d
hw.rtc = rtc
hw.button = None
app = App(Board, hw=hw, stdin=open("/dev/null", "rb"), stdout=open("/dev/null", "wb"))
if app.store.count() == 0:
    app.store.add("alice", "Example", b"k" * 20)
app.read_clock(0)
app.screen.draw()
print("idle", per_frame(lambda i: app.screen.draw(), 200))


def next_second(i):
    app.screen.time += 1
    app.screen.draw()


print("tick", per_frame(next_second, 30))
print("serve", per_frame(lambda i: app.link.serve(), 200))

# The loop's turns while a long name scrolls: a turn with a step due, and
# the turns between steps, allocate nothing.
from fob import screen as screen_mod

app.store.add("a.very.long.label@example.com", "Amazon Web Services", b"k" * 20)
app.screen.index = app.store.count() - 1
screen_mod.SCROLL_MS = 0  # a step due every turn
app.screen.draw()
app.screen.draw()
assert app.screen.ui.scrolls


before = app.screen.ui._tick
print("scroll_idle", per_frame(lambda i: app.screen.draw(), 200))
print("scroll_steps", app.screen.ui._tick - before)

# Whole loop turns (serial poll, button, clock schedule, screen), blanked and
# awake, with nothing new to show.
app.screen.ui.sleep()
app.step()
print("step_blank", per_frame(lambda i: app.step(), 200))
app.screen.ui.wake()
app.screen.force = True
app.step()
print("step_awake", per_frame(lambda i: app.step(), 200))
