"""otpfob: host tool for the otpfob MicroPython TOTP token.

The layering follows ykman/yubikit: `transport` and `session` talk to the
token and know nothing about the command line; `cli` is a thin click layer.
"""

__version__ = "0.1.0"

# The protocol constants and the OTP core live in the firmware tree
# (`firmware/fob`), shared with the token. An installed package ships `fob`;
# in a source checkout whose install does not map it yet, use the tree next door.
try:
    import fob as _fob  # noqa: F401
except ImportError:  # pragma: no cover - depends on how otpfob was installed
    import os as _os
    import sys as _sys

    _fw = _os.path.join(_os.path.dirname(_os.path.dirname(_os.path.dirname(_os.path.abspath(__file__)))), "firmware")
    if _os.path.isfile(_os.path.join(_fw, "fob", "proto.py")):
        _sys.path.insert(0, _fw)
