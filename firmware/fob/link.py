# The token's USB serial: bytes in without blocking, cut into bounded lines
# for the server, its replies out, and the Ctrl-C guard.
#
# With an access password set, Ctrl-C on the USB serial is turned off
# (micropython.kbd_intr(-1)) unless the button was held at power-on.

import sys

from fob import proto

try:
    import select
except ImportError:
    select = None

try:
    from micropython import const
except ImportError:  # CPython, for the tests

    def const(x):
        return x


_CTRL_C = const(3)


class LineReader:
    """Bytes from a stream, cut into lines of at most MAX_LINE bytes.

    A longer line is dropped as it arrives (the buffer never grows) and
    reported once its end comes, so one flood costs one error reply.
    """

    def __init__(self, limit=proto.MAX_LINE):
        self.buf = bytearray(limit)
        self.n = 0
        self.overflow = False

    def feed(self, b):
        """One byte in; returns bytes (a line), True (an overlong line), or None."""
        if b == 10:  # "\n"
            n = self.n
            over = self.overflow
            self.n = 0
            self.overflow = False
            if over:
                return True
            return bytes(self.buf[:n])
        if self.overflow:
            return None
        if self.n >= len(self.buf):
            self.overflow = True
            return None
        self.buf[self.n] = b
        self.n += 1
        return None

    def reset(self):
        self.n = 0
        self.overflow = False


def blank_line(line):
    """True for a line of only tabs, CRs and spaces (ignored, no reply)."""
    for b in line:
        if b not in (9, 13, 32):
            return False
    return True


class Link:
    """The serial side of the token: lines in to ``server``, replies out.

    ``maintenance``: the button was held at power-on, so Ctrl-C stays on.
    """

    def __init__(self, server, stdin=None, stdout=None, maintenance=False):
        self.server = server
        self.maintenance = maintenance
        # Bytes streams where the port has them (sys.stdin.buffer), else text.
        self.stdin = stdin if stdin is not None else getattr(sys.stdin, "buffer", sys.stdin)
        self._text_out = False
        if stdout is None:
            stdout = getattr(sys.stdout, "buffer", None)
            if stdout is None:
                stdout = sys.stdout
                self._text_out = True
        self.stdout = stdout
        self.reader = LineReader()
        self._one = bytearray(1)
        self._poll = None
        if select is not None:
            try:
                self._poll = select.poll()
                self._poll.register(self.stdin, select.POLLIN)
                self._ipoll = getattr(self._poll, "ipoll", self._poll.poll)
            except Exception:
                self._poll = None
        self._repl_off = None  # unknown: main.py may have turned Ctrl-C off already
        self.guard_repl()

    def _read_byte(self):
        s = self.stdin
        if hasattr(s, "readinto"):
            if s.readinto(self._one) != 1:
                return -1
            return self._one[0]
        c = s.read(1)
        if not c:
            return -1
        return c[0] if isinstance(c, (bytes, bytearray)) else ord(c)

    def write(self, data):
        """A whole reply line out, flushed."""
        self.put(data)
        self.flush()

    def put(self, data):
        """A piece of a reply line out (Server.respond writes a long reply
        in small pieces, so none needs one large block of heap)."""
        try:
            self.stdout.write(data.decode() if self._text_out else data)
        except OSError:
            pass  # nobody listening (pty closed): the reply is lost, not the token

    def flush(self):
        try:
            if hasattr(self.stdout, "flush"):
                self.stdout.flush()
        except OSError:
            pass

    def _readable(self):
        # One event check per byte: on bare-metal ports a read of n bytes
        # blocks until all n come, so only ever read what poll promised.
        if self._poll is None:
            return False
        # ipoll (MicroPython) reuses its result; poll builds a list each call.
        for _, ev in self._ipoll(0):
            if ev & select.POLLIN:
                return True
            if ev & (select.POLLHUP | select.POLLERR):
                # The other end went away (emulator pty): a new connection
                # starts from scratch.
                self.reader.reset()
                self.server.reset_session()
        return False

    def serve(self, budget=4 * proto.MAX_LINE):
        """Handle what arrived, at most `budget` bytes per call; returns how
        many requests the server handled (each may change what is shown)."""
        handled = 0
        for _ in range(budget):
            if not self._readable():
                break
            try:
                b = self._read_byte()
            except OSError:
                break
            if b < 0:
                break
            line = self.reader.feed(b)
            if line is None:
                continue
            if line is True:
                self.write(self.server.too_long())
            elif not blank_line(line):
                # Written piece by piece; nothing at all while deferred
                # until a button press (the app sends it: touch_finish).
                if self.server.respond(line, self.put):
                    self.flush()
                handled += 1
                self.guard_repl()  # a password may have been set or cleared
        return handled

    def idle(self):
        """No request half read and no byte waiting (the token may sleep)."""
        return self.reader.n == 0 and not self.reader.overflow and not self._readable()

    def guard_repl(self):
        """Ctrl-C off while a password is set, so mpremote cannot break in
        and read the flash over USB; on again in a maintenance boot."""
        off = self.server.access.is_set and not self.maintenance
        if off == self._repl_off:
            return
        try:
            import micropython
        except ImportError:
            return  # CPython
        if hasattr(micropython, "kbd_intr"):
            micropython.kbd_intr(-1 if off else _CTRL_C)
            self._repl_off = off
