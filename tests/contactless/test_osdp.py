"""The OSDP reader driver against libosdp's own PeripheralDevice as the reader, over a pty pair."""

from __future__ import annotations


import osdp
import pytest

from drivers.config import OsdpReader as OsdpConfig
from drivers.osdp import NoUid, OsdpReader, card_data_bits, uid_from_card_read
from protocols.wiegand import encode_wiegand
from tests.rigs.osdp_line import start_reader

KEY = bytes.fromhex("00112233445566778899AABBCCDDEEFF")
OTHER_KEY = bytes.fromhex("0F1E2D3C4B5A69788796A5B4C3D2E1F0")




@pytest.fixture
def make_pd(pty_device):
    """A libosdp PeripheralDevice (the reader) on a fresh pty; returns (pd, port path)."""
    made: list[osdp.PeripheralDevice] = []

    def make(scbk: bytes | None = KEY, address: int = 1, dev=None) -> tuple[osdp.PeripheralDevice, str]:
        """``dev``: an existing pty (from ``pd.dev``), for a reader that reboots on the same line."""
        dev = dev or pty_device()
        pd = start_reader(dev.master, scbk, address)
        pd.dev = dev
        made.append(pd)
        return pd, dev.path

    yield make
    for pd in made:
        if pd.thread is not None:  # not already torn down by the test
            pd.teardown()


@pytest.fixture
def run_reader(sink):
    started: list[OsdpReader] = []

    def run(port: str, scbk: bytes | None = KEY, address: int = 1) -> OsdpReader:
        cfg = OsdpConfig(kind="osdp", port=port, address=address, scbk=scbk.hex() if scbk else None)
        r = OsdpReader(cfg, "north-in/1", sink)
        r.start()
        started.append(r)
        return r

    yield run
    for r in started:
        r.stop(5.0)


def wiegand_event(bits: int, bit_count: int) -> dict:
    """A card read event as a reader sends it: the bits first bit first, left-justified in bytes."""
    width = (bit_count + 7) // 8
    data = (bits << (width * 8 - bit_count)).to_bytes(width, "big")
    return {"event": osdp.Event.CardRead, "reader_no": 0, "direction": 0,
            "format": osdp.CardFormat.Wiegand, "length": bit_count, "data": data}


def test_secure_channel_comes_up_and_a_card_read_is_one_read(make_pd, run_reader, sink):
    pd, port = make_pd(KEY)
    reader = run_reader(port, KEY)
    sink.wait_state(True, 15.0)
    assert reader.secure and pd.is_sc_active()
    pd.submit_event(wiegand_event(encode_wiegand(0x12ABCD, 26), 26))
    read = sink.next_read(10.0)
    assert read.uid == "12ABCD"  # facility 0x12, card 0xABCD; parity bits dropped
    assert read.reader == "north-in/1"
    sink.no_read(0.5)


def test_raw_bits_and_bad_parity(make_pd, run_reader, sink):
    pd, port = make_pd(KEY)
    run_reader(port, KEY)
    sink.wait_state(True, 15.0)
    bad = encode_wiegand(0x12ABCD, 26) ^ 1  # trailing parity flipped: noise on the line
    pd.submit_event(wiegand_event(bad, 26))
    pd.submit_event({"event": osdp.Event.CardRead, "reader_no": 0, "direction": 0,
                     "format": osdp.CardFormat.Unspecified, "length": 32, "data": bytes.fromhex("04A1B2C3")})
    assert sink.next_read(10.0).uid == "04A1B2C3"  # the bad one gave nothing; the raw one its 4 bytes
    sink.no_read(0.5)


def test_indicate_drives_led_and_buzzer(make_pd, run_reader, sink):
    pd, port = make_pd(KEY)
    reader = run_reader(port, KEY)
    sink.wait_state(True, 15.0)

    reader.indicate(True)
    led, beep = pd.get_command(10), pd.get_command(10)
    assert led["command"] == osdp.Command.LED and led["temporary"] is True
    assert led["on_color"] == osdp.CommandLEDColor.Green and led["timer_count"] > 0
    assert beep["command"] == osdp.Command.Buzzer and beep["rep_count"] == 1

    reader.indicate(False)
    led, beep = pd.get_command(10), pd.get_command(10)
    assert led["command"] == osdp.Command.LED
    assert led["on_color"] == osdp.CommandLEDColor.Red and led["off_count"] > 0  # flashing
    assert beep["command"] == osdp.Command.Buzzer and beep["rep_count"] == 3


def test_reader_with_the_wrong_key_never_comes_online(make_pd, run_reader, sink):
    pd, port = make_pd(OTHER_KEY)
    reader = run_reader(port, KEY)
    _, ok, problem = sink.wait_state(False, 15.0)
    assert "refused the secure channel" in problem and "scbk" in problem
    assert KEY.hex() not in problem.lower() and OTHER_KEY.hex() not in problem.lower()  # secrets never shown
    pd.submit_event(wiegand_event(encode_wiegand(0x12ABCD, 26), 26))
    sink.no_read(2.0)  # and across at least one retry it stays down and reads nothing
    assert not reader.ok
    assert all(not s[1] for s in sink.states)
    assert not pd.is_sc_active()
    reader.indicate(True)  # a decision for a down reader is a no-op, not an error


def test_reader_that_goes_away_is_reported_and_comes_back(make_pd, run_reader, sink):
    pd, port = make_pd(KEY)
    run_reader(port, KEY)
    sink.wait_state(True, 15.0)
    seen = len(sink.states)
    pd.teardown()  # the reader stops answering (power cut on the RS-485 side)
    _, _, problem = sink.wait_state(False, 20.0, after=seen)
    assert "offline" in problem
    # the reader boots again on the same line: the driver finds it without anybody's help
    pd2, _ = make_pd(KEY, dev=pd.dev)
    sink.wait_state(True, 30.0, after=seen)
    pd2.submit_event(wiegand_event(encode_wiegand(0x00BEEF, 26), 26))
    assert sink.next_read(10.0).uid == "00BEEF"


def test_serial_port_that_vanishes_is_reported(make_pd, run_reader, sink):
    pd, port = make_pd(KEY)
    reader = run_reader(port, KEY)
    sink.wait_state(True, 15.0)
    seen = len(sink.states)
    pd.teardown()
    pd.dev.close()  # the USB-RS485 adapter is pulled: the port itself is gone
    _, _, problem = sink.wait_state(False, 20.0, after=seen)
    assert port in problem
    assert reader._thread.is_alive()  # still trying, for when it is plugged back in


# -- pure parts ------------------------------------------------------------------------------


def test_card_bits_are_left_justified():
    assert card_data_bits(bytes.fromhex("ABCDEFC0"), 26) == 0xABCDEFC0 >> 6
    with pytest.raises(NoUid):
        card_data_bits(bytes.fromhex("ABCD"), 26)


def test_ascii_card_data_is_refused():
    with pytest.raises(NoUid, match="not supported"):
        uid_from_card_read({"event": osdp.Event.CardRead, "format": osdp.CardFormat.ASCII, "data": b"1234"})


def test_without_scbk_the_reader_is_used_in_install_mode(make_pd, run_reader, sink, caplog):
    pd, port = make_pd(None)  # a factory-fresh reader: install mode, no key of its own
    reader = run_reader(port, None)
    sink.wait_state(True, 15.0)
    assert not reader.secure  # no key on the Control Panel side: libosdp runs in clear
    assert "install mode" in caplog.text and "in clear" in caplog.text  # and says so
    pd.submit_event(wiegand_event(encode_wiegand(0x000001, 26), 26))
    assert sink.next_read(10.0).uid == "000001"
