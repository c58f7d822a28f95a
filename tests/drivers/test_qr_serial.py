"""The qr-serial reader: the line rules as pure logic, then a real pty doing what a scanner's line can."""

from __future__ import annotations

import queue

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from drivers.base import CodeRead
from drivers.config import QrSerialReader as Cfg
from drivers.qr_serial import IDLE_S, Line, LineAssembler, QrSerialReader
from drivers.registry import build_reader
from gate_agent.config import AgentConfig
from protocols.visitpass import MAX_TEXT
from tests.drivers.conftest import RecordingSink, point
from tests.rigs.wait import wait_for

PASS = "GHP1.eyJhIjoxfQ.c2lnbmF0dXJl"  # the shape of a pass (two dots); not a genuine one
OTHER = "GHP1.eyJiIjoyfQ.b3RoZXJzaWc"


# -- the line rules, pure ------------------------------------------------------------------------

def feed(chunks: list[bytes], step: float = 0.001) -> list[Line]:
    a, out, now = LineAssembler(), [], 100.0
    for c in chunks:
        out += a.feed(c, now)
        now += step
    return out


def test_cr_crlf_and_lf_each_end_one_line():
    assert feed([PASS.encode() + b"\r", OTHER.encode() + b"\r\n", PASS.encode() + b"\n"]) == [
        Line(PASS), Line(OTHER), Line(PASS)]
    # bytes split anywhere across reads make the same lines
    raw = (PASS + "\r\n" + OTHER + "\r").encode()
    assert feed([raw[i:i + 3] for i in range(0, len(raw), 3)]) == [Line(PASS), Line(OTHER)]


def test_a_line_too_long_is_refused_and_memory_stays_bounded():
    a = LineAssembler()
    out = a.feed(b"A" * (MAX_TEXT * 5), 1.0)
    assert out == [] and len(a._buf) <= MAX_TEXT
    out += a.feed(b"\r" + PASS.encode() + b"\r", 1.0)
    assert out == [Line(None, f"longer than {MAX_TEXT} characters"), Line(PASS)]
    assert feed([b"B" * MAX_TEXT + b"\r"]) == [Line("B" * MAX_TEXT)]  # exactly the limit is a line


def test_bytes_that_are_not_printable_ascii_refuse_the_line():
    for bad in (b"GHP1.\x00abc.def", "GHP1.é.x".encode(), b"GHP1.a\tb.c", b"\xff\xfe"):
        assert feed([bad + b"\r", PASS.encode() + b"\r"]) == [Line(None, "not printable ASCII"), Line(PASS)]


def test_a_line_with_no_end_is_cut_off_after_the_idle_time():
    a = LineAssembler()
    assert a.feed(PASS[:20].encode(), 10.0) == []
    assert a.idle(10.0 + IDLE_S / 2) == []  # still arriving, perhaps
    assert a.idle(10.0 + IDLE_S * 2) == [Line(None, "cut off: no line end")]
    assert a.feed(PASS.encode() + b"\r", 11.0) == [Line(PASS)]
    # a chunk arriving after the gap refuses the hanging line first, then reads on
    a.feed(b"GHP1.abc", 20.0)
    assert a.feed(PASS.encode() + b"\r", 21.0) == [Line(None, "cut off: no line end"), Line(PASS)]


def test_a_new_pass_starting_mid_line_cuts_off_the_one_before():
    assert feed([(PASS[:17] + OTHER + "\r").encode()]) == [Line(None, "cut off by the next scan"), Line(OTHER)]
    assert feed([("noise" + PASS + "\r").encode()]) == [Line(None, "cut off by the next scan"), Line(PASS)]
    # a genuine pass whose claims end in "GHP1" holds "GHP1." once more at its separator: never split
    legit = "GHP1.eyJhIjoxGHP1.c2lnbmF0dXJl"
    assert feed([(legit + "\r").encode()]) == [Line(legit)]


def test_empty_lines_are_nothing():
    assert feed([b"\r\n\r\n\n\r"]) == []


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=400), max_size=20), st.floats(min_value=0, max_value=1))
def test_any_bytes_never_raise_and_every_line_is_bounded_printable_text(chunks, step):
    a, now = LineAssembler(), 0.0
    for c in chunks:
        for line in a.feed(c, now) + a.idle(now):
            if line.text is not None:
                assert 0 < len(line.text) <= MAX_TEXT and line.text.isprintable() and line.text.isascii()
            else:
                assert line.problem
        assert len(a._buf) <= MAX_TEXT
        now += step


def test_config_keys_and_defaults():
    cfg = Cfg.model_validate({"kind": "qr-serial", "port": "/dev/ttyACM0"})
    assert (cfg.baudrate, cfg.direction, cfg.repeat_s, cfg.uid_form.value) == (9600, "in", 1.5, "full")
    with pytest.raises(ValidationError, match="uid_form"):
        Cfg.model_validate({"kind": "qr-serial", "port": "/dev/ttyACM0", "uid_form": "full"})
    door = AgentConfig.model_validate({
        "agent": {"gate_id": "north", "site": "demo", "data_dir": "/tmp/x", "gate_key": "5a" * 32},
        "doors": [{"id": "d", "relay": {"kind": "sim"},
                   "readers": [{"kind": "qr-serial", "port": "/dev/ttyACM0", "direction": "out"}]}],
    }).doors[0]
    assert isinstance(build_reader(door.readers[0], "d/0", RecordingSink()), QrSerialReader)


# -- on a real pty -------------------------------------------------------------------------------

class CodeSink(RecordingSink):
    def __init__(self) -> None:
        super().__init__()
        self.codes: queue.Queue[CodeRead] = queue.Queue()

    def code_read(self, read: CodeRead) -> None:
        self.codes.put(read)

    def next_code(self, timeout: float = 3.0) -> CodeRead:
        try:
            return self.codes.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no scan within {timeout} s") from None

    def no_more_codes(self) -> list[CodeRead]:
        left = []
        while not self.codes.empty():
            left.append(self.codes.get_nowait())
        return left


@pytest.fixture
def code_sink() -> CodeSink:
    return CodeSink()


@pytest.fixture
def scanner_on(code_sink):
    made = []

    def start(port: str, repeat_s: float = 0.0, refusal_gap_s: float = 0.0) -> QrSerialReader:
        r = QrSerialReader(Cfg(kind="qr-serial", port=port, repeat_s=repeat_s), "north-in/2", code_sink)
        r.refusal_gap_s = refusal_gap_s
        r.start()
        made.append(r)
        return r

    yield start
    for r in made:
        r.stop()


def test_a_scanned_line_is_one_code_read(pty_device, code_sink, scanner_on):
    dev = pty_device()
    scanner_on(dev.path)
    code_sink.wait_state(True)
    dev.write(PASS.encode() + b"\r\n")
    read = code_sink.next_code()
    assert (read.reader, read.text, read.problem) == ("north-in/2", PASS, None)
    dev.write(OTHER.encode() + b"\r")
    assert code_sink.next_code().text == OTHER
    assert code_sink.no_more_codes() == [] and code_sink.no_more_reads() == []


def test_bad_and_cut_lines_are_refused_and_the_reader_goes_on(pty_device, code_sink, scanner_on):
    dev = pty_device()
    reader = scanner_on(dev.path)
    code_sink.wait_state(True)
    dev.write(b"Z" * (MAX_TEXT + 10) + b"\r\n")
    assert code_sink.next_code().problem == f"longer than {MAX_TEXT} characters"
    dev.write(b"GHP1.\x03\x00\xff.x\r")
    assert code_sink.next_code().problem == "not printable ASCII"
    dev.write(PASS[:12].encode())  # the scanner stops mid-line: nothing ends it
    cut = code_sink.next_code()
    assert (cut.text, cut.problem) == (None, "cut off: no line end")
    dev.write(PASS.encode() + b"\r")
    assert code_sink.next_code().text == PASS
    assert code_sink.no_more_codes() == []
    assert reader.bad_lines == 3 and reader.ok and [s for s in code_sink.states if not s[1]] == []


def test_a_noisy_line_is_reported_in_a_short_burst_only(pty_device, code_sink, scanner_on):
    dev = pty_device()
    reader = scanner_on(dev.path, refusal_gap_s=60)
    code_sink.wait_state(True)
    dev.write(b"\x00\xff\r" * 50)
    dev.write(PASS.encode() + b"\r")  # a marker: everything before it has been read
    for _ in range(reader.refusal_burst):
        assert code_sink.next_code().problem == "not printable ASCII"
    assert code_sink.next_code().text == PASS
    assert code_sink.no_more_codes() == [] and reader.bad_lines == 50


def test_a_code_held_under_the_scanner_is_one_scan(pty_device, code_sink, scanner_on):
    dev = pty_device()
    scanner_on(dev.path, repeat_s=5.0)
    code_sink.wait_state(True)
    for _ in range(4):  # a scanner in continuous mode reads the phone again and again
        dev.write(PASS.encode() + b"\r")
    dev.write(OTHER.encode() + b"\r")
    assert [code_sink.next_code().text, code_sink.next_code().text] == [PASS, OTHER]
    assert code_sink.no_more_codes() == []


def test_a_vanished_scanner_is_reported_and_comes_back(pty_device, code_sink, scanner_on, tmp_path):
    link = tmp_path / "usb-scanner"
    first = pty_device()
    point(link, first.path)
    reader = scanner_on(str(link))
    code_sink.wait_state(True)
    first.write(PASS.encode() + b"\r")
    assert code_sink.next_code().text == PASS
    first.close()
    link.unlink()
    _, ok, problem = code_sink.wait_state(False)
    assert not ok and problem and problem.startswith("lost")
    second = pty_device()
    point(link, second.path)
    code_sink.wait_state(True, timeout=10)
    second.write(OTHER.encode() + b"\r")
    assert code_sink.next_code().text == OTHER and reader.ok


def test_a_sink_that_takes_no_codes_drops_scans_without_failing(pty_device, sink):
    dev = pty_device()
    reader = QrSerialReader(Cfg(kind="qr-serial", port=dev.path), "probe/0", sink)
    reader.start()
    try:
        sink.wait_state(True)
        dev.write(PASS.encode() + b"\r" + b"\x00\r" + b"\x01\r")
        # a good scan after the bad ones proves nothing raised on the reader's thread
        wait_for(lambda: reader.bad_lines == 2, what="both bad lines read after the good one")
        assert reader.ok and [s for s in sink.states if not s[1]] == []
    finally:
        reader.stop()
