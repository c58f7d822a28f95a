"""Wiegand 26/34 codec: round trips, every single-bit error caught, checked against a bit-list model."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocols.wiegand import WiegandError, encode_wiegand, uid_from_wiegand


def model_reading(data_bits: list[int]) -> list[int]:
    """The reading as the format describes it, built as a list of bits in the order sent."""
    half = len(data_bits) // 2
    lead = sum(data_bits[:half]) % 2  # even parity: the ones including it are even
    trail = 1 - sum(data_bits[half:]) % 2  # odd parity: the ones including it are odd
    return [lead, *data_bits, trail]


def as_int(bits: list[int]) -> int:
    return int("".join(map(str, bits)), 2)


def bits_of(value: int, width: int) -> list[int]:
    return [int(c) for c in format(value, f"0{width}b")]


formats = st.sampled_from([26, 34])


@settings(deadline=None)
@given(st.data(), formats)
def test_encode_matches_the_bit_list_model_and_round_trips(data, n):
    value = data.draw(st.integers(0, (1 << (n - 2)) - 1))
    raw = encode_wiegand(value, n)
    assert raw == as_int(model_reading(bits_of(value, n - 2)))
    uid = uid_from_wiegand(raw, n)
    assert uid == format(value, f"0{(n - 2) // 4}X")
    assert len(uid) == {26: 6, 34: 8}[n]


@settings(deadline=None)
@given(st.data(), formats)
def test_every_single_bit_flip_is_refused(data, n):
    value = data.draw(st.integers(0, (1 << (n - 2)) - 1))
    position = data.draw(st.integers(0, n - 1))
    flipped = encode_wiegand(value, n) ^ (1 << position)
    with pytest.raises(WiegandError, match="parity"):
        uid_from_wiegand(flipped, n)


def test_known_h10301_reading():
    # facility code 1 (8 bits), card 1 (16 bits): data 0x010001.
    # first 12 data bits 0000 0001 0000 hold one 1 -> even parity bit 1;
    # last 12 data bits 0000 0000 0001 hold one 1 -> odd parity bit 0.
    raw = 0b1_000000010000_000000000001_0
    assert raw == 0x2020002
    assert encode_wiegand(0x010001, 26) == raw
    assert uid_from_wiegand(raw, 26) == "010001"


@pytest.mark.parametrize("n", [0, 24, 25, 32, 35, 37])
def test_unsupported_lengths_say_so(n):
    with pytest.raises(WiegandError, match="unsupported Wiegand length"):
        uid_from_wiegand(0, n)
    with pytest.raises(WiegandError, match="unsupported Wiegand length"):
        encode_wiegand(0, n)


def test_values_wider_than_the_length_are_refused():
    with pytest.raises(WiegandError, match="does not fit"):
        uid_from_wiegand(1 << 26, 26)
    with pytest.raises(WiegandError, match="does not fit"):
        uid_from_wiegand(-1, 34)
    with pytest.raises(WiegandError, match="does not fit"):
        encode_wiegand(1 << 24, 26)


def test_wiegand_error_is_a_value_error():
    assert issubclass(WiegandError, ValueError)
