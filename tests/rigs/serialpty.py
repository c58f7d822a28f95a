"""A pty pair standing in for a serial device: the driver opens ``path``, the test holds the master."""

from __future__ import annotations

import os
import pty
import select
import time
import tty


class PtyDevice:
    def __init__(self) -> None:
        self.master, self.slave = pty.openpty()
        tty.setraw(self.master)  # or 0x03 arrives as Ctrl-C
        tty.setraw(self.slave)
        self.path = os.ttyname(self.slave)

    def write(self, data: bytes) -> None:
        os.write(self.master, data)

    def read_exactly(self, n: int, timeout: float = 3.0) -> bytes:
        """The next ``n`` bytes the driver wrote, or AssertionError with what did arrive."""
        got = b""
        deadline = time.monotonic() + timeout
        while len(got) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"expected {n} bytes from the driver within {timeout} s, got {got.hex()!r}")
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                got += os.read(self.master, n - len(got))
        return got

    def read_available(self, quiet: float = 0.3) -> bytes:
        """Everything the driver writes until it has been quiet for ``quiet`` seconds."""
        got = b""
        while True:
            ready, _, _ = select.select([self.master], [], [], quiet)
            if not ready:
                return got
            got += os.read(self.master, 4096)

    def close(self) -> None:
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass
