"""A 2D (QR) scanner in serial mode: one text line per scan, as a visitor shows a pass.

Most 2D scanners (USB CDC "virtual COM", or RS-232) send each decoded code as one line of
text ended by CR, CR LF or LF. The line is the whole input, so it is bounded and checked
here before anyone reads it as a pass:

- a line longer than protocols.visitpass.MAX_TEXT is refused (and memory stays bounded:
  only its last MAX_TEXT bytes are kept while it runs on);
- a line with a byte that is not printable ASCII (0x20-0x7E) is refused;
- a line cut off is refused: no line end within ``idle_s`` of its last byte, or a new pass
  starting mid-way (the text before a trailing ``GHP1.x.y`` that is a whole pass in shape;
  a pass holds exactly two dots, the first right after its prefix, so a genuine pass never
  contains a second pass's shape and is never split).

A refused line is still reported (a CodeRead with no text and the problem), so the agent
records an unreadable scan; the reader goes on with the next line. Refusals are reported at
most ``refusal_burst`` at a time and then one per ``refusal_gap_s`` (a noisy line must not
flood the outbox); ``bad_lines`` counts them all. The same text again within ``repeat_s`` is one scan: a scanner in
continuous mode reads a phone held under it several times a second, and each read must not
spend one of the pass's entries.

Keyboard-mode (USB HID) scanners type into whatever has focus; gatehouse has no driver for
them (one could not be tested here: no /dev/uinput). Switch such a scanner to serial mode
(most offer "USB CDC" or "virtual COM" by scanning a setup barcode from their manual).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from drivers.base import CodeRead, ReaderSink, SerialCardReader
from drivers.config import QrSerialReader as QrSerialConfig
from protocols.visitpass import MAX_TEXT, PREFIX

log = logging.getLogger(__name__)

#: a line with no line end this long after its last byte was cut off
IDLE_S = 0.3
_ENDS = (0x0D, 0x0A)
_MARKER = PREFIX.encode("ascii")


@dataclass(frozen=True)
class Line:
    """One scanned line: its text, or (text None) why it was refused."""

    text: str | None
    problem: str | None = None


def _printable(data: bytes) -> bool:
    return all(0x20 <= b <= 0x7E for b in data)


@dataclass
class LineAssembler:
    """Bytes in, lines out; pure (the caller passes the monotonic time of each chunk)."""

    max_len: int = MAX_TEXT
    idle_s: float = IDLE_S
    _buf: bytearray = field(default_factory=bytearray)
    _overflowed: bool = False
    _last_byte: float = 0.0

    def feed(self, chunk: bytes, now: float) -> list[Line]:
        """The lines ``chunk`` completes (a line left hanging before a gap first, refused)."""
        out = self.idle(now)
        for byte in chunk:
            if byte in _ENDS:
                if self._buf or self._overflowed:
                    out.extend(self._complete())
                continue
            self._buf.append(byte)
            if len(self._buf) > self.max_len:  # keep the tail: a new scan may start within it
                del self._buf[: len(self._buf) - self.max_len]
                self._overflowed = True
        if chunk:
            self._last_byte = now
        return out

    def idle(self, now: float) -> list[Line]:
        """A pending line with no line end for ``idle_s``: refused as cut off."""
        if (self._buf or self._overflowed) and now - self._last_byte > self.idle_s:
            self._reset()
            return [Line(None, "cut off: no line end")]
        return []

    def _reset(self) -> None:
        self._buf.clear()
        self._overflowed = False

    def _complete(self) -> list[Line]:
        data, overflowed = bytes(self._buf), self._overflowed
        self._reset()
        out: list[Line] = []
        head, tail = _split_restart(data)
        if tail is not None:  # the head was cut off by the next scan (and held any overflow)
            out.append(Line(None, f"longer than {self.max_len} characters" if overflowed
                            else "cut off by the next scan"))
            overflowed = False
        else:
            tail = data
        if overflowed:
            out.append(Line(None, f"longer than {self.max_len} characters"))
        elif not _printable(tail):
            out.append(Line(None, "not printable ASCII"))
        elif tail:
            out.append(Line(tail.decode("ascii")))
        return out


def _split_restart(data: bytes) -> tuple[bytes, bytes | None]:
    """(what came before, the pass that starts mid-way) or (b"", None) when none does.

    A pass starts mid-way when the line's last ``GHP1.`` (not at its start) begins a text
    with exactly two dots, a whole pass in shape: the earlier text was cut off by this scan.
    """
    i = data.rfind(_MARKER)
    if i <= 0 or data[i:].count(b".") != 2:
        return b"", None
    return data[:i], data[i:]


class QrSerialReader(SerialCardReader):
    """Reports each scanned line to the sink's ``code_read`` (never ``card_read``)."""

    #: refused lines are reported in bursts of at most ``refusal_burst``, then one per
    #: ``refusal_gap_s`` (all are counted in ``bad_lines``)
    refusal_burst: int = 3
    refusal_gap_s: float = 1.0

    def __init__(self, cfg: QrSerialConfig, name: str, sink: ReaderSink) -> None:
        super().__init__(name, sink, cfg.port, cfg.baudrate)
        self.cfg = cfg
        self.repeat_window_s = cfg.repeat_s
        self._lines = LineAssembler()
        self._last_text: tuple[str, float] | None = None
        self._refusal_tokens = float(self.refusal_burst)
        self._last_refusal = time.monotonic()
        self.bad_lines = 0
        #: scans handed to the sink (refusals reported included)
        self.scans = 0

    def _reset_decoder(self) -> None:
        self._lines = LineAssembler()

    def _decode(self, chunk: bytes) -> list[Line]:  # type: ignore[override]
        return self._lines.feed(chunk, time.monotonic())

    def _poll(self) -> list[Line]:  # type: ignore[override]
        lines: list[Line] = super()._poll()  # type: ignore[assignment]
        return lines + self._lines.idle(time.monotonic())

    def _deliver(self, line: Line) -> None:  # type: ignore[override]
        now = time.monotonic()
        if line.text is None:
            self.bad_lines += 1
            log.debug("reader %s refused a scanned line: %s", self.name, line.problem)
            gained = (now - self._last_refusal) / self.refusal_gap_s if self.refusal_gap_s > 0 else self.refusal_burst
            self._refusal_tokens = min(float(self.refusal_burst), self._refusal_tokens + gained)
            self._last_refusal = now
            if self._refusal_tokens < 1:
                return
            self._refusal_tokens -= 1
            self._send(CodeRead(self.name, None, now, line.problem))
            return
        last = self._last_text
        self._last_text = (line.text, now)
        if last is not None and last[0] == line.text and now - last[1] < self.repeat_window_s:
            return  # still held under the scanner
        self._send(CodeRead(self.name, line.text, now))

    def _send(self, read: CodeRead) -> None:
        code_read = getattr(self.sink, "code_read", None)
        if code_read is None:  # a sink that takes cards only (probe --listen): nothing to show
            log.debug("reader %s: a scan dropped, the sink takes no codes", self.name)
            return
        code_read(read)
        self.scans += 1
