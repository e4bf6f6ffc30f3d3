# Boot entry: the board file deployed as board.py says which pins and parts
# this token has; fob.app does the rest.
#
# The account store's buffer is reserved first, while the heap is still in
# one piece: importing the rest of the firmware leaves it fragmented.
# With an access password set, Ctrl-C goes off before anything else runs
# (docs/security.md); fob.app turns it on again for a maintenance boot.
import micropython
import os

try:
    os.stat("access.dat")
    micropython.kbd_intr(-1)
except OSError:
    pass

from fob import storage  # noqa: E402

buf = storage.reserve()

import board  # noqa: E402

from fob import app  # noqa: E402

app.main(board, buf)
