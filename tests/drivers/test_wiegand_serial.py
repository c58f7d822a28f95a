"""The serial Wiegand converter reader: its line format, and the reader against a real pty."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.config import WiegandSerialReader as Cfg
from drivers.wiegand_serial import WiegandLineDecoder, WiegandSerialReader
from protocols.wiegand import encode_wiegand


def record(data: int, n: int, flip: int | None = None, end: bytes = b"\r\n") -> bytes:
    raw = encode_wiegand(data, n)
    if flip is not None:
        raw ^= 1 << flip
    digits = (n + 3) // 4
    return f"W{n}:{raw:0{digits}X}".encode() + end


def test_documented_example():
    assert record(0x01E240, 26) == b"W26:003C481\r\n"
    assert WiegandLineDecoder().feed(b"W26:003C481\r\n") == ["01E240"]


@pytest.mark.parametrize("end", [b"\r\n", b"\r", b"\n"])
def test_line_ends(end):
    assert WiegandLineDecoder().feed(record(0xDEADBEEF, 34, end=end)) == ["DEADBEEF"]


def test_lower_case_digits():
    assert WiegandLineDecoder().feed(record(0xDEADBEEF, 34).lower().replace(b"w", b"W")) == ["DEADBEEF"]


@pytest.mark.parametrize(
    "line",
    [
        record(0x01E240, 26, flip=0),  # trailing parity
        record(0x01E240, 26, flip=25),  # leading parity
        record(0x01E240, 26, flip=12),  # a data bit
        b"W26:03C481\r\n",  # one digit short
        b"W26:0003C481\r\n",  # one digit long
        b"W37:0000000003C481\r\n",  # unsupported length
        b"W26:003C48G\r\n",  # not hex
        b"W26 003C481\r\n",
        b"w26:003C481\r\n",
        b"W26:\r\n",
        b"003C481\r\n",
        b"W26:003C481x\r\n",
    ],
)
def test_bad_lines_are_never_reads(line):
    d = WiegandLineDecoder()
    assert d.feed(line) == []
    assert d.bad_lines == (1 if line.startswith(b"W") else 0)  # without a W it is noise, not a record


def test_only_configured_formats():
    d = WiegandLineDecoder(formats=(26,))
    assert d.feed(record(0xDEADBEEF, 34)) == []
    assert d.feed(record(0x01E240, 26)) == ["01E240"]


def test_noise_and_cut_records_resynchronise_on_the_next_record():
    d = WiegandLineDecoder()
    stream = b"\x00\xff\x13" + record(1, 26)[:6] + record(0x01E240, 26) + b"A" * 200 + b"\n" + record(0xDEADBEEF, 34)
    assert d.feed(stream) == ["01E240", "DEADBEEF"]
    assert d.bad_lines >= 1


@settings(deadline=None)
@given(st.binary(max_size=200), st.lists(st.integers(1, 20), max_size=10))
def test_arbitrary_bytes_never_raise_and_never_give_a_read_without_a_whole_good_record(data, cuts):
    d = WiegandLineDecoder()
    got, pos = [], 0
    for size in cuts:
        got += d.feed(data[pos:pos + size])
        pos += size
    got += d.feed(data[pos:])
    for uid in got:  # any read must be a record present, byte for byte, in the input
        n = 26 if len(uid) == 6 else 34
        body = record(int(uid, 16), n, end=b"")
        assert body.upper() in data.upper()


@settings(deadline=None)
@given(st.integers(0, (1 << 24) - 1), st.binary(max_size=30))
def test_a_good_record_after_any_noise_and_a_line_end_is_read(value, noise):
    assert WiegandLineDecoder().feed(noise + b"\n" + record(value, 26))[-1:] == [f"{value:06X}"]


def test_reader_over_a_pty_with_noise(pty_device, sink):
    dev = pty_device()
    reader = WiegandSerialReader(Cfg(kind="wiegand-serial", port=dev.path), "east-in/0", sink)
    reader.start()
    try:
        sink.wait_state(True)
        dev.write(b"\x00\xfe garbage W3")
        dev.write(record(0x01E240, 26, flip=3))  # a bad parity
        dev.write(b"W26:003C4")  # cut short
        dev.write(record(0x01E240, 26))
        dev.write(bytes(range(256)) + b"\r\n")
        dev.write(record(0xDEADBEEF, 34))
        assert [sink.next_read().uid, sink.next_read().uid] == ["01E240", "DEADBEEF"]
        assert sink.no_more_reads() == []
        assert reader.bad_lines >= 3
        assert reader.ok
    finally:
        reader.stop()
