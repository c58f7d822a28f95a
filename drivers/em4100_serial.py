"""EM4100 / RDM6300 125 kHz reader on a serial port (9600 8N1, or a USB-serial adapter).

The module sends one 14-byte frame per read and keeps sending while a card is held, so
the base class's repeat window turns a held card into one presentation. Framing,
checksum and resynchronisation after line noise are protocols.em4100's job; this module
only moves bytes from the port to the decoder.
"""

from __future__ import annotations

from drivers.base import ReaderSink, SerialCardReader
from drivers.config import Em4100SerialReader as Em4100SerialConfig
from protocols.em4100 import Em4100Decoder


class Em4100SerialReader(SerialCardReader):
    def __init__(self, cfg: Em4100SerialConfig, name: str, sink: ReaderSink) -> None:
        super().__init__(name, sink, cfg.port, cfg.baudrate)
        self.cfg = cfg
        self._decoder = Em4100Decoder()

    @property
    def bad_frames(self) -> int:
        """Frames refused since the port was last opened (noise, bad checksum, cut short)."""
        return self._decoder.bad_frames

    def _reset_decoder(self) -> None:
        self._decoder = Em4100Decoder()

    def _decode(self, chunk: bytes) -> list[str]:
        return self._decoder.feed(chunk)
