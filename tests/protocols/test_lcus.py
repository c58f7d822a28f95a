"""LCUS-1 relay frames, byte for byte."""

from __future__ import annotations

import pytest

from protocols.lcus import parse_relay_frame, relay_frame


@pytest.mark.parametrize(
    ("channel", "on", "frame"),
    [(1, True, "A00101A2"), (1, False, "A00100A1"), (2, True, "A00201A3"), (8, False, "A00800A8")],
)
def test_frames(channel, on, frame):
    assert relay_frame(channel, on) == bytes.fromhex(frame)
    assert parse_relay_frame(bytes.fromhex(frame)) == (channel, on)


@pytest.mark.parametrize("channel", [0, 9, -1])
def test_channel_out_of_range(channel):
    with pytest.raises(ValueError, match="1-8"):
        relay_frame(channel, True)


@pytest.mark.parametrize("frame", ["A00101A3", "A10101A2", "A00102A3", "A00101", ""])
def test_bad_frames_refused(frame):
    with pytest.raises(ValueError):
        parse_relay_frame(bytes.fromhex(frame))
