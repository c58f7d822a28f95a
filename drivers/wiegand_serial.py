"""A Wiegand reader behind a serial Wiegand converter, with the raw bits checked here.

Off-the-shelf Wiegand-to-RS232 converters commonly check parity themselves and send only
the data bits as ASCII (6 hex digits and CR for Wiegand 26, or 10 decimal digits and
CR LF); the parity and often the bit count are lost, so a noisy line can pass as a card.
gatehouse therefore reads converters (or a small microcontroller sketch) that pass the raw
bits through, in this line format (ASCII, 9600 8N1 unless configured):

    W<n>:<hex>\\r\\n

- ``<n>`` is the decimal bit count, 26, 34, 35 or 37 (and one of the reader's ``formats``);
- ``<hex>`` is every raw bit received, parity included, first bit most significant,
  right-aligned in exactly ceil(n/4) hex digits (7 for 26 bits, 9 for 34), either case;
- a line ends at CR, LF or CR LF.

Example: card data 0x01E240 as Wiegand 26 is ``W26:003C481\\r\\n``.

Robustness: bytes up to the last ``W`` of a line are ignored (noise before a record, or a
record cut short with no line end); a line that does not match exactly, has the wrong
digit count, an unconfigured length or bad parity is counted in ``bad_lines`` and is never
a read; an over-long line without a line end is dropped. The UID is the data bits
(protocols.wiegand.uid_from_wiegand): 6 hex digits for 26 bits, 8 for 34.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

from drivers.base import ReaderSink, SerialCardReader
from drivers.config import WiegandSerialReader as WiegandSerialConfig
from protocols.cardformats import FormatError, uid_of_reading
from protocols.wiegand import SUPPORTED, WiegandError, hex_digits, uid_from_wiegand

log = logging.getLogger(__name__)

MAX_LINE = 32  # longer than any record; a line past this is noise
_RECORD = re.compile(rb"^W(\d{2}):([0-9A-Fa-f]+)$")


@dataclass
class WiegandLineDecoder:
    """Feed it bytes as they come; it returns the UIDs of the good records completed."""

    formats: tuple[int, ...] = SUPPORTED
    bad_lines: int = 0
    _buf: bytearray = field(default_factory=bytearray)

    def feed(self, chunk: bytes) -> list[str]:
        uids: list[str] = []
        for byte in chunk:
            if byte in (0x0D, 0x0A):
                if self._buf:
                    uid = self._line(bytes(self._buf))
                    self._buf.clear()
                    if uid is not None:
                        uids.append(uid)
                continue
            if byte == ord("W"):
                if self._buf:
                    self.bad_lines += 1  # a record cut short by a new one
                self._buf = bytearray(b"W")
                continue
            if not self._buf:
                continue  # noise outside a record
            self._buf.append(byte)
            if len(self._buf) > MAX_LINE:
                self.bad_lines += 1
                self._buf.clear()
        return uids

    def _line(self, line: bytes) -> str | None:
        match = _RECORD.match(line)
        if match is None:
            self.bad_lines += 1
            return None
        bit_count = int(match.group(1))
        digits = match.group(2)
        if bit_count not in self.formats or len(digits) != hex_digits(bit_count):
            self.bad_lines += 1
            return None
        try:
            if bit_count in SUPPORTED:
                return uid_from_wiegand(int(digits, 16), bit_count)
            return uid_of_reading(int(digits, 16), bit_count)  # 35 (Corporate 1000), 37 (H10304)
        except (WiegandError, FormatError) as exc:
            self.bad_lines += 1
            log.debug("refused Wiegand record: %s", exc)
            return None


class WiegandSerialReader(SerialCardReader):
    def __init__(self, cfg: WiegandSerialConfig, name: str, sink: ReaderSink) -> None:
        super().__init__(name, sink, cfg.port, cfg.baudrate)
        self.cfg = cfg
        self._decoder = WiegandLineDecoder(tuple(cfg.formats))

    @property
    def bad_lines(self) -> int:
        return self._decoder.bad_lines

    def _reset_decoder(self) -> None:
        self._decoder = WiegandLineDecoder(tuple(self.cfg.formats))

    def _decode(self, chunk: bytes) -> list[str]:
        return self._decoder.feed(chunk)
