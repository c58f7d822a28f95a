"""EM4100 / RDM6300 serial frames: 0x02, 10 ASCII hex, 2 ASCII hex XOR checksum, 0x03.

The 10 hex are 5 bytes (version + 4 data) and are the UID. Serial lines at gates are
long and noisy, so the decoder is a byte-stream state machine that resynchronises on the
next 0x02 and never yields a frame whose checksum is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass, field

STX = 0x02
ETX = 0x03
FRAME_LEN = 14
_HEXDIGITS = frozenset(b"0123456789ABCDEFabcdef")


def encode_frame(uid: str) -> bytes:
    data = bytes.fromhex(uid)
    if len(data) != 5:
        raise ValueError("an EM4100 UID is 5 bytes (10 hex digits)")
    check = 0
    for b in data:
        check ^= b
    return bytes([STX]) + data.hex().upper().encode() + f"{check:02X}".encode() + bytes([ETX])


@dataclass
class Em4100Decoder:
    """Feed it bytes as they come; it returns the UIDs of the good frames completed."""

    bad_frames: int = 0
    _buf: bytearray = field(default_factory=bytearray)

    def feed(self, chunk: bytes) -> list[str]:
        uids: list[str] = []
        for byte in chunk:
            if byte == STX:
                if self._buf:
                    self.bad_frames += 1  # a frame cut short by a new start
                self._buf = bytearray([STX])
                continue
            if not self._buf:
                continue  # noise between frames
            self._buf.append(byte)
            if len(self._buf) < FRAME_LEN:
                if byte not in _HEXDIGITS:
                    self.bad_frames += 1
                    self._buf.clear()
                continue
            frame, self._buf = bytes(self._buf), bytearray()
            uid = _check(frame)
            if uid is None:
                self.bad_frames += 1
            else:
                uids.append(uid)
        return uids


def _check(frame: bytes) -> str | None:
    if frame[-1] != ETX:
        return None
    body = frame[1:13]
    try:
        data = bytes.fromhex(body[:10].decode())
        check = int(body[10:12].decode(), 16)
    except ValueError:
        return None
    x = 0
    for b in data:
        x ^= b
    return data.hex().upper() if x == check else None
