"""The PC/SC reader driver through the real stack: pcscd, the vpcd reader, a virtual card."""

from __future__ import annotations

import pytest

from drivers.config import PcscReader as PcscConfig
from drivers.pcsc import NoUid, PcscReader, Presentations, uid_from_response
from tests.conftest import need
from tests.rigs.vcard import VPCD_PORT, VirtualCard

READER = "Virtual PCD 00 00"  # vpcd's first reader; the virtual card connects to its port


@pytest.fixture
def reader(pcscd, sink):
    r = PcscReader(PcscConfig(kind="pcsc", reader=READER), "north-in/0", sink)
    r.start()
    sink.wait_state(True, 15.0)
    yield r
    r.stop()


def test_a_presented_card_is_read_once_with_its_uid(reader, sink, vcard):
    vcard.present("04a1b2c3d4e5f6")
    read = sink.next_read(10.0)
    assert read.uid == "04A1B2C3D4E5F6"
    assert read.reader == "north-in/0"
    sink.no_read(1.5)  # held on the reader across several pcscd polls: still one read
    vcard.remove()
    sink.no_read(1.0)  # taking it away is not a read either


def test_removed_and_presented_again_is_a_second_read(reader, sink, vcard):
    vcard.present("11223344")
    assert sink.next_read(10.0).uid == "11223344"
    vcard.remove()
    vcard.present("11223344")
    assert sink.next_read(10.0).uid == "11223344"
    sink.no_read(1.0)


def test_card_without_uid_gives_no_read_and_the_reader_keeps_working(reader, sink, vcard):
    vcard.present(answer=bytes.fromhex("6A81"))
    assert vcard.wait_reader(present=True)
    sink.no_read(1.5)
    assert [a[:4].hex() for a in vcard.apdus] == ["ffca0000"]  # it was asked, once
    vcard.remove()
    assert reader.ok and reader._thread.is_alive()
    vcard.present("0A0B0C0D")
    assert sink.next_read(10.0).uid == "0A0B0C0D"


def test_pcscd_killed_and_restarted_is_survived(reader, sink, vcard, pcscd):
    need(pcscd.owned, "a pcscd not started by these tests is running; they will not kill it")
    vcard.present("CAFE0001")
    assert sink.next_read(10.0).uid == "CAFE0001"
    seen = len(sink.states)
    pcscd.stop(kill=True)
    _, ok, problem = sink.wait_state(False, 15.0, after=seen)
    assert "pcscd" in problem
    vcard.remove()
    seen = len(sink.states)
    pcscd.start()
    sink.wait_state(True, 20.0, after=seen)
    assert reader._thread.is_alive()
    vcard.present("CAFE0002")
    assert sink.next_read(10.0).uid == "CAFE0002"


def test_every_matching_reader_is_watched_and_a_card_already_on_is_read_once(pcscd, sink, vcard):
    second = VirtualCard(port=VPCD_PORT + 1)  # "Virtual PCD 00 01"
    vcard.present("0102030405060708")  # lying on the reader before the driver starts
    assert vcard.wait_reader(present=True)
    r = PcscReader(PcscConfig(kind="pcsc", reader="virtual pcd"), "south-in/0", sink)  # any case
    r.start()
    try:
        assert sink.next_read(10.0).uid == "0102030405060708"
        second.present("A0A1A2A3")
        assert sink.next_read(10.0).uid == "A0A1A2A3"
        sink.no_read(1.0)
    finally:
        second.remove()
        r.stop()


def test_no_matching_reader_is_reported_and_retried(pcscd, sink):
    r = PcscReader(PcscConfig(kind="pcsc", reader="ACS ACR122U"), "gate/9", sink)
    r.start()
    try:
        _, ok, problem = sink.wait_state(False, 10.0)
        assert "no PC/SC reader matching 'ACS ACR122U'" in problem
        assert "Virtual PCD 00 00" in problem  # names what is there, for the installer
        assert r._thread.is_alive()
    finally:
        r.stop()


# -- pure parts ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("response", "why"),
    [("6300", "63 00"), ("6A81", "6A 81"), ("04A1B26D00", "6D 00"), ("90", "too short"), ("9000", "not a UID")],
)
def test_responses_without_a_uid_are_refused_with_a_reason(response, why):
    with pytest.raises(NoUid, match=why):
        uid_from_response(bytes.fromhex(response))


def test_uid_is_the_bytes_in_the_order_returned():
    assert uid_from_response(bytes.fromhex("04A1B2C3D4E5F69000")) == "04A1B2C3D4E5F6"


def test_presentations_count_insertions_not_polls():
    p = Presentations()
    assert p.update("r", True, 1) is True  # first sight of a card: a presentation
    assert p.update("r", True, 1) is False  # still held
    assert p.update("r", False, 2) is False  # removed
    assert p.update("r", True, 3) is True  # presented again
    assert p.update("r", True, 5) is True  # lifted and put back between two polls
    assert p.update("r", False, 6) is False
