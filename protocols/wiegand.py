"""Wiegand 26 (H10301) and 34 (H10306): card data bits between two parity bits.

Bits are numbered in transmission order; as an integer the first bit sent is the most
significant. The first bit is even parity over the first half of the data bits, the last
bit is odd parity over the second half. The UID is the data bits alone (facility code and
card number together, parity dropped), so the same card gives the same UID whether it
arrives over a serial converter or over OSDP: 26 bits give 6 hex digits, 34 give 8.

Parity is only two bits of protection, so a reading is refused outright on any parity or
length mismatch rather than repaired or guessed at.
"""

from __future__ import annotations

from protocols.uid import uid_from_bits

SUPPORTED = (26, 34)


class WiegandError(ValueError):
    """Bits that are not a valid Wiegand 26 or 34 reading; the message says why."""


def _ones(value: int) -> int:
    return bin(value).count("1")


def _split(bits: int, bit_count: int) -> tuple[int, int, int, int, int]:
    """(leading parity, first half, second half, trailing parity, half width) of a reading."""
    if bit_count not in SUPPORTED:
        raise WiegandError(f"unsupported Wiegand length {bit_count}; supported: {', '.join(map(str, SUPPORTED))}")
    if bits < 0 or bits >> bit_count:
        raise WiegandError(f"value does not fit in {bit_count} bits")
    half = (bit_count - 2) // 2
    mask = (1 << half) - 1
    lead = bits >> (bit_count - 1)
    first = (bits >> (half + 1)) & mask
    second = (bits >> 1) & mask
    trail = bits & 1
    return lead, first, second, trail, half


def uid_from_wiegand(bits: int, bit_count: int) -> str:
    """The canonical UID of a Wiegand reading's data bits; WiegandError if parity or length is wrong."""
    lead, first, second, trail, half = _split(bits, bit_count)
    if (_ones(first) + lead) % 2 != 0:
        raise WiegandError(f"Wiegand {bit_count}: leading even parity does not match the first {half} data bits")
    if (_ones(second) + trail) % 2 != 1:
        raise WiegandError(f"Wiegand {bit_count}: trailing odd parity does not match the last {half} data bits")
    return uid_from_bits((first << half) | second, bit_count - 2)


def encode_wiegand(data: int, bit_count: int) -> int:
    """The full reading (parity bits added) for ``data``, the ``bit_count - 2`` data bits."""
    if bit_count not in SUPPORTED:
        raise WiegandError(f"unsupported Wiegand length {bit_count}; supported: {', '.join(map(str, SUPPORTED))}")
    width = bit_count - 2
    if data < 0 or data >> width:
        raise WiegandError(f"data does not fit in the {width} data bits of Wiegand {bit_count}")
    half = width // 2
    first = data >> half
    second = data & ((1 << half) - 1)
    lead = _ones(first) % 2  # makes the count of ones even
    trail = 1 - _ones(second) % 2  # makes the count of ones odd
    return (lead << (bit_count - 1)) | (data << 1) | trail


def hex_digits(bit_count: int) -> int:
    """How many hex digits carry ``bit_count`` raw bits (the serial line format uses this)."""
    return (bit_count + 3) // 4
