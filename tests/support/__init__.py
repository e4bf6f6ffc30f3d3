"""Test helpers shared by the tier folders (tests/unit, fw, emu, rel, rp2).

`cli`: the one CLI runner and the terminal helpers; `fw`: CPython harnesses
for the firmware (`ServerRig`, `AppRig`, `FakeRTC`, framebuf); `fake_token`: a
scriptable token on a pty; `reference`: RFC reference codes; `core_cases`,
`frames`, `qr_images`, `font_art`: generated inputs.  The `*_runner.py` and
`mpy_*_probe.py` scripts run inside MicroPython (by path: `conftest.SUPPORT`).
"""
