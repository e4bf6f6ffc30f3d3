"""The emulated token's USB serial: a pty whose slave the host opens.

The child's stdin/stdout are pipes; a relay thread copies bytes between
them and the pty master, recording every byte the firmware wrote (security
tests scan that log for secrets).  The pty outlives the child, as the port
of a USB adapter would, so the host can keep its path across power cuts.
While no firmware runs, bytes from the host are dropped.
"""

from __future__ import annotations

import fcntl
import os
import queue
import select
import threading
import tty

from . import leakscan

# What the relay buffers for a host that does not read, before dropping.
MAX_PENDING = 256 * 1024


def _nonblocking(fd: int) -> None:
    fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_NONBLOCK)


class SerialPty(threading.Thread):
    def __init__(self) -> None:
        super().__init__(name="otpfob-emu-serial", daemon=True)
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        self.port = os.ttyname(self.slave)
        _nonblocking(self.master)
        self.output = bytearray()  # every byte the firmware wrote to stdout
        self.stderr = bytearray()  # tracebacks and other stderr output
        self.input = bytearray()  # what the host sent (the secret scan reads keys from it)
        self.lock = threading.Lock()
        self._wake_r, self._wake_w = os.pipe()
        self._cmds: queue.Queue = queue.Queue()
        self._child: tuple[int, int, int] | None = None  # (stdin_w, stdout_r, stderr_r)
        self._to_host = bytearray()
        self._to_child = bytearray()
        self._stopping = False
        leakscan.register_serial(self)
        self.start()

    # -- control (from other threads) -----------------------------------------
    def _call(self, cmd: str, arg=None) -> None:
        done = threading.Event()
        self._cmds.put((cmd, arg, done))
        os.write(self._wake_w, b"x")
        done.wait(10)

    def attach(self, stdin_w: int, stdout_r: int, stderr_r: int) -> None:
        self._call("attach", (stdin_w, stdout_r, stderr_r))

    def detach(self) -> None:
        """Drain what the dead child wrote, then close its pipes."""
        self._call("detach")

    def close(self) -> None:
        self._call("stop")
        self.join(5)
        for fd in (self.master, self.slave, self._wake_r, self._wake_w):
            try:
                os.close(fd)
            except OSError:
                pass

    # -- the relay -----------------------------------------------------------------
    def _record(self, data: bytes, err: bool = False) -> None:
        with self.lock:
            (self.stderr if err else self.output).extend(data)
        if not err and len(self._to_host) < MAX_PENDING:
            self._to_host += data

    def _drop_child(self, drain: bool) -> None:
        if self._child is None:
            return
        stdin_w, stdout_r, stderr_r = self._child
        if drain:
            for fd, err in ((stdout_r, False), (stderr_r, True)):
                while True:
                    r, _, _ = select.select([fd], [], [], 0.5)
                    if not r:
                        break
                    try:
                        data = os.read(fd, 65536)
                    except OSError:
                        break
                    if not data:
                        break
                    self._record(data, err)
        for fd in self._child:
            try:
                os.close(fd)
            except OSError:
                pass
        self._child = None
        self._to_child.clear()

    def _commands(self) -> None:
        while not self._cmds.empty():
            cmd, arg, done = self._cmds.get()
            if cmd == "attach":
                self._drop_child(False)
                self._child = arg
                _nonblocking(arg[0])
            elif cmd == "detach":
                self._drop_child(True)
            elif cmd == "stop":
                self._drop_child(True)
                self._stopping = True
            done.set()

    def run(self) -> None:
        while not self._stopping:
            rl = [self.master, self._wake_r]
            wl = []
            if self._to_host:
                wl.append(self.master)
            if self._child:
                rl += [self._child[1], self._child[2]]
                if self._to_child:
                    wl.append(self._child[0])
            try:
                r, w, _ = select.select(rl, wl, [], 1.0)
            except (OSError, ValueError):
                r, w = [], []
            if self._wake_r in r:
                os.read(self._wake_r, 64)
                self._commands()
                continue
            if self.master in r:
                try:
                    data = os.read(self.master, 4096)
                except OSError:
                    data = b""
                if self._child:
                    self._to_child += data
                    with self.lock:
                        leakscan.record_input(self, data)
            if self._child:
                for fd, err in ((self._child[1], False), (self._child[2], True)):
                    if fd in r:
                        try:
                            data = os.read(fd, 65536)
                        except OSError:
                            data = b""
                        if data:
                            self._record(data, err)
                        else:
                            # The firmware exited or was killed; keep the
                            # pipes until detach() so nothing is lost.
                            self._drop_child(True)
                            break
            if self.master in w and self._to_host:
                try:
                    n = os.write(self.master, self._to_host[:4096])
                    del self._to_host[:n]
                except BlockingIOError:
                    pass
                except OSError:
                    self._to_host.clear()
            if self._child and self._child[0] in w and self._to_child:
                try:
                    n = os.write(self._child[0], self._to_child)
                    del self._to_child[:n]
                except BlockingIOError:
                    pass
                except OSError:
                    self._to_child.clear()
