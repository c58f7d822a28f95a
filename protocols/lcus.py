"""LCUS-1 style USB serial relay: ``A0 CH STATE SUM``, SUM = (A0 + CH + STATE) & 0xFF."""

from __future__ import annotations

HEADER = 0xA0
FRAME_LEN = 4


def relay_frame(channel: int, on: bool) -> bytes:
    if not 1 <= channel <= 8:
        raise ValueError(f"LCUS relay channel must be 1-8, not {channel}")
    state = 1 if on else 0
    return bytes([HEADER, channel, state, (HEADER + channel + state) & 0xFF])


def parse_relay_frame(frame: bytes) -> tuple[int, bool]:
    """(channel, on) of a frame, or ValueError: used by tests and by the simulated board."""
    if len(frame) != FRAME_LEN or frame[0] != HEADER:
        raise ValueError(f"not an LCUS frame: {frame.hex()}")
    if (frame[0] + frame[1] + frame[2]) & 0xFF != frame[3]:
        raise ValueError(f"bad LCUS checksum: {frame.hex()}")
    if frame[2] not in (0, 1):
        raise ValueError(f"bad LCUS state byte: {frame.hex()}")
    return frame[1], frame[2] == 1
