"""The reader's end of an OSDP line for libosdp's PeripheralDevice in tests: a pty master."""

from __future__ import annotations

import os
import select

import osdp


class PtyEnd(osdp.Channel):
    """Read and write the pty master the test holds. Nothing may raise into libosdp's C loop
    (an exception there deadlocks its Python binding), so failures read as silence."""

    def __init__(self, fd: int) -> None:
        super().__init__()
        self.fd = fd

    def read(self, max_bytes: int) -> bytes:
        try:
            ready, _, _ = select.select([self.fd], [], [], 0)
            return os.read(self.fd, max_bytes) if ready else b""
        except (OSError, ValueError):
            return b""

    def write(self, buf: bytes) -> int:
        try:
            return os.write(self.fd, buf)
        except OSError:
            return 0

    def flush(self) -> None:
        pass
