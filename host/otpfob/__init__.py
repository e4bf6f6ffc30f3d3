"""otpfob: host tool for the otpfob MicroPython TOTP token.

The layering follows ykman/yubikit: `transport` and `session` talk to the
token and know nothing about the command line; `cli` is a thin click layer.
"""

from fob import VERSION as __version__  # the one version number: firmware, host and pyproject.toml

__all__ = ["__version__"]
