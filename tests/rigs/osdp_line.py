"""The reader's end of an OSDP line in tests: libosdp's PeripheralDevice on a pty master."""

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


def start_reader(fd: int, scbk: bytes | None, address: int = 1) -> osdp.PeripheralDevice:
    """A started reader with an LED, a buzzer and a card reader, as the gate's driver expects.

    With ``scbk`` it speaks only over the secure channel; without, it is in install mode.
    The caller tears it down.
    """
    caps = osdp.PDCapabilities([
        (osdp.Capability.LEDControl, 1, 1),
        (osdp.Capability.AudibleControl, 1, 1),
        (osdp.Capability.CommunicationSecurity, 1, 1),
        (osdp.Capability.CardDataFormat, 1, 1),
        (osdp.Capability.Readers, 1, 1),
    ])
    flags = [osdp.LibFlag.EnforceSecure] if scbk else [osdp.LibFlag.InstallMode]
    pd = osdp.PeripheralDevice(osdp.PDInfo(address, PtyEnd(fd), scbk=scbk, flags=flags), caps,
                               log_level=osdp.LogLevel.Error)
    pd.start()
    return pd
