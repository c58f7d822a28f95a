"""The EM4100 serial reader against a real pty: what a gate's RDM6300 line can do to it."""

from __future__ import annotations

import time

import pytest

from drivers.config import Em4100SerialReader as Cfg
from drivers.em4100_serial import Em4100SerialReader
from protocols.em4100 import encode_frame
from tests.drivers.conftest import point

CARD = "0A0012AB34"
OTHER = "1F00C0FFEE"


@pytest.fixture
def reader_on(sink):
    made = []

    def start(port: str, repeat_window_s: float | None = None) -> Em4100SerialReader:
        r = Em4100SerialReader(Cfg(kind="em4100-serial", port=port), "north-in/0", sink)
        if repeat_window_s is not None:
            r.repeat_window_s = repeat_window_s
        r.start()
        made.append(r)
        return r

    yield start
    for r in made:
        r.stop()


def test_a_good_frame_is_one_read(pty_device, sink, reader_on):
    dev = pty_device()
    reader_on(dev.path)
    sink.wait_state(True)
    dev.write(encode_frame(CARD))
    read = sink.next_read()
    assert (read.uid, read.reader) == (CARD, "north-in/0")
    dev.write(encode_frame(OTHER))  # a marker: everything before it has been decoded
    assert sink.next_read().uid == OTHER
    assert sink.no_more_reads() == []


def test_noise_bad_checksums_and_cut_frames_never_read_and_never_stop_the_reader(pty_device, sink, reader_on):
    dev = pty_device()
    reader = reader_on(dev.path)
    sink.wait_state(True)
    good = encode_frame(CARD)
    bad_check = good[:11] + (b"00" if good[11:13] != b"00" else b"11") + good[13:]
    garbage = [
        b"\x00\xff\x13\x37" * 20,  # line noise
        bad_check,
        good[:9],  # cut short, then silence
        b"\x03\x03",
        good[:7] + good,  # cut short by the next start: the second one is good
        bytes([0x02]) + b"0A0012AB3G" + good[11:],  # not hex
        good[:-1] + b"\x04",  # wrong end byte
        bytes(range(256)),
    ]
    for chunk in garbage:
        dev.write(chunk)
    assert sink.next_read().uid == CARD  # only the good frame resynchronised after a cut
    dev.write(encode_frame(OTHER))
    assert sink.next_read().uid == OTHER
    assert sink.no_more_reads() == []
    assert reader.bad_frames >= 6
    assert reader.ok and [s for s in sink.states if not s[1]] == []


def test_a_held_card_is_one_read_until_it_is_taken_away(pty_device, sink, reader_on):
    dev = pty_device()
    reader_on(dev.path, repeat_window_s=1.0)
    sink.wait_state(True)
    for _ in range(6):  # the module repeats about every 100 ms while the card is held
        dev.write(encode_frame(CARD))
        time.sleep(0.1)  # pacing the simulated module, not waiting for the driver
    dev.write(encode_frame(OTHER))
    assert [sink.next_read().uid, sink.next_read().uid] == [CARD, OTHER]
    assert sink.no_more_reads() == []
    time.sleep(1.2)  # the card is away for longer than the repeat window
    dev.write(encode_frame(OTHER))
    assert sink.next_read().uid == OTHER


def test_a_vanished_port_is_reported_and_the_reader_comes_back(pty_device, sink, reader_on, tmp_path):
    link = tmp_path / "usb-reader"
    first = pty_device()
    point(link, first.path)
    reader = reader_on(str(link))
    sink.wait_state(True)
    first.write(encode_frame(CARD))
    assert sink.next_read().uid == CARD

    first.close()  # USB pulled: the device and its name go away
    link.unlink()
    _, ok, problem = sink.wait_state(False)
    assert not ok and problem and problem.startswith("lost")
    assert not reader.ok

    second = pty_device()  # plugged back in: a new tty behind the same stable name
    point(link, second.path)
    sink.wait_state(True, timeout=10)
    second.write(encode_frame(OTHER))
    assert sink.next_read().uid == OTHER
    assert reader.ok


def test_a_port_missing_at_start_is_reported_not_raised(sink, reader_on, tmp_path):
    reader_on(str(tmp_path / "no-such-port"))
    _, ok, problem = sink.wait_state(False)
    assert problem and problem.startswith("cannot open")
