"""The terminal's keys as the button: a tap is a short press, a held key
(auto-repeat) holds the button until the repeats stop."""

from otpfob.emu.ui import REPEAT_DELAY, REPEAT_GAP, Keys


class FakeToken:
    def __init__(self):
        self.events = []

    def button_down(self):
        self.events.append("down")

    def button_up(self):
        self.events.append("up")

    def hold(self, ms):
        self.events.append("hold %d" % ms)


def run(keys, times, until):
    """Feed key events at `times` and ticks every 10 ms until `until`."""
    t = 0.0
    pending = sorted(times)
    timeline = []
    while t <= until:
        while pending and pending[0] <= t:
            keys.key(" ", pending.pop(0))
        keys.tick(t)
        timeline.append((round(t, 2), list(keys.token.events)))
        t += 0.01
    return timeline


def test_a_tap_becomes_one_short_press_after_the_repeat_delay():
    tok = FakeToken()
    timeline = run(Keys(tok), [0.0], 2.0)
    assert tok.events == ["down", "up"]
    down_at = next(t for t, ev in timeline if ev == ["down"])
    up_at = next(t for t, ev in timeline if ev == ["down", "up"])
    assert REPEAT_DELAY <= down_at <= REPEAT_DELAY + 0.05
    assert 0.08 <= up_at - down_at <= 0.15


def test_a_held_key_holds_the_button_while_repeats_come():
    tok = FakeToken()
    repeats = [0.0] + [0.5 + 0.033 * i for i in range(40)]  # 0.5 s delay, 30/s
    timeline = run(Keys(tok), repeats, 3.0)
    assert tok.events == ["down", "up"]
    down_at = next(t for t, ev in timeline if ev == ["down"])
    up_at = next(t for t, ev in timeline if ev == ["down", "up"])
    assert abs(down_at - 0.5) < 0.02
    assert repeats[-1] < up_at <= repeats[-1] + REPEAT_GAP + 0.02
    assert up_at - down_at > 1.0  # long enough for the firmware's long press


def test_l_is_an_explicit_long_press():
    import time

    tok = FakeToken()
    keys = Keys(tok)
    keys.key("l", 0.0)
    time.sleep(0.05)
    assert tok.events == ["hold 1200"]
