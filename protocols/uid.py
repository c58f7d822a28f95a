"""One canonical form for a card UID, whatever read it.

Every reader kind reports bytes; the UID is those bytes as upper-case hex with no
separators. Staff type UIDs with spaces, colons or lower case, so input is normalised
here and only here.
"""

from __future__ import annotations

import re

_SEPARATORS = re.compile(r"[\s:\-_.]")
_HEX = re.compile(r"^[0-9A-F]+$")
MIN_BYTES = 1
MAX_BYTES = 16


class InvalidUid(ValueError):
    """A string that cannot be a card UID."""


def normalise_uid(raw: str) -> str:
    """Return the canonical UID for ``raw`` or raise InvalidUid saying why."""
    if not isinstance(raw, str):
        raise InvalidUid("uid must be a string of hex digits")
    text = _SEPARATORS.sub("", raw.strip()).upper()
    if text.startswith("0X"):
        text = text[2:]
    if not text:
        raise InvalidUid("uid is empty")
    if not _HEX.match(text):
        raise InvalidUid(f"uid {raw!r} has characters that are not hex digits")
    if len(text) % 2:
        raise InvalidUid(f"uid {raw!r} has an odd number of hex digits; a UID is whole bytes")
    if not MIN_BYTES <= len(text) // 2 <= MAX_BYTES:
        raise InvalidUid(f"uid {raw!r} must be {MIN_BYTES} to {MAX_BYTES} bytes")
    return text


def uid_from_bytes(data: bytes) -> str:
    """The UID of bytes as a reader returned them, in that order."""
    return normalise_uid(data.hex())


def uid_from_bits(value: int, bit_count: int) -> str:
    """The UID of card data bits (Wiegand, OSDP): the bits as an integer, left-padded to whole bytes."""
    if bit_count <= 0 or value < 0 or value >> bit_count:
        raise InvalidUid(f"{value} does not fit in {bit_count} bits")
    width = (bit_count + 7) // 8
    return value.to_bytes(width, "big").hex().upper()
