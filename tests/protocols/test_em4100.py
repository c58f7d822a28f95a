"""EM4100 frame decoder: known frames, resynchronisation, and fuzz."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocols.em4100 import Em4100Decoder, encode_frame


def framed_uids(data: bytes) -> list[str]:
    """Every correctly framed UID in ``data``, found by an independent scan of all windows."""
    found = []
    for i in range(len(data) - 13):
        window = data[i:i + 14]
        if window[0] != 0x02 or window[13] != 0x03:
            continue
        body = window[1:13]
        if not all(chr(b) in "0123456789abcdefABCDEF" for b in body):
            continue
        digits = body.decode()
        check = 0
        for k in range(0, 10, 2):
            check ^= int(digits[k:k + 2], 16)
        if check == int(digits[10:12], 16):
            found.append(digits[:10].upper())
    return found


def test_known_frame():
    frame = encode_frame("0A0012AB34")
    # 0A ^ 00 ^ 12 ^ AB ^ 34 = 0x87
    assert frame == b"\x020A0012AB3487\x03"
    assert Em4100Decoder().feed(frame) == ["0A0012AB34"]


def test_lower_case_hex_is_the_same_card():
    assert Em4100Decoder().feed(b"\x020a0012ab3487\x03") == ["0A0012AB34"]


def test_bytes_split_anywhere_decode_the_same():
    stream = b"\xff" + encode_frame("0A0012AB34") + b"junk" + encode_frame("1F00C0FFEE")
    for cut in range(len(stream) + 1):
        d = Em4100Decoder()
        assert d.feed(stream[:cut]) + d.feed(stream[cut:]) == ["0A0012AB34", "1F00C0FFEE"]


@pytest.mark.parametrize("uid", ["0A0012AB3", "0A0012AB3412", "ZZ0012AB34"])
def test_encode_refuses_what_is_not_five_bytes(uid):
    with pytest.raises(ValueError):
        encode_frame(uid)


uids = st.binary(min_size=5, max_size=5).map(lambda b: b.hex().upper())
frames = uids.map(encode_frame)
damaged = st.tuples(frames, st.integers(0, 13), st.integers(0, 255)).map(
    lambda t: t[0][:t[1]] + bytes([t[2]]) + t[0][t[1] + 1:])
pieces = st.lists(st.one_of(st.binary(max_size=40), frames, damaged, frames.map(lambda f: f[:7])), max_size=12)


@settings(max_examples=400, deadline=None)
@given(pieces, st.lists(st.integers(1, 30), max_size=10))
def test_fuzz_never_raises_and_never_yields_an_unframed_uid(parts, cuts):
    data = b"".join(parts)
    d = Em4100Decoder()
    got: list[str] = []
    pos = 0
    for size in cuts:  # fed in arbitrary chunks, as a serial port delivers
        got += d.feed(data[pos:pos + size])
        pos += size
    got += d.feed(data[pos:])
    framed = framed_uids(data)
    for uid in got:
        assert uid in framed
        assert len(uid) == 10 and uid == uid.upper()
    assert len(got) <= len(framed)


@settings(deadline=None)
@given(st.binary(max_size=60), uids)
def test_a_good_frame_is_found_after_any_noise(noise, uid):
    assert Em4100Decoder().feed(noise + encode_frame(uid))[-1:] == [uid]


@settings(deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_raise(data):
    result = Em4100Decoder().feed(data)
    assert all(u in framed_uids(data) for u in result)
