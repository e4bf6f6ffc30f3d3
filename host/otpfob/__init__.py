"""otpfob: host tool for the otpfob MicroPython TOTP token.

The layering follows ykman/yubikit: `transport` and `session` talk to the
token and know nothing about the command line; `cli` is a thin click layer.
"""

__version__ = "0.1.0"
