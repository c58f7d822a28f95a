"""A gate with an OSDP reader: libosdp's own PeripheralDevice is the reader, on the far end of
a pty pair from the GateAgent's Control Panel; the lock is an LCUS relay on another pty."""

from __future__ import annotations


import pytest

osdp = pytest.importorskip("osdp")

from protocols.lcus import relay_frame  # noqa: E402
from protocols.wiegand import encode_wiegand  # noqa: E402
from tests.e2e_contactless.conftest import door_state, issue, passes  # noqa: E402
from tests.rigs.osdp_line import start_reader  # noqa: E402
from tests.rigs.wait import wait_for  # noqa: E402

GATE, DOOR = "east", "east-in"
KEY = bytes.fromhex("A0A1A2A3A4A5A6A7A8A9AAABACADAEAF")
WRONG_KEY = bytes.fromhex("5F5E5D5C5B5A59585756555453525150")
CARD = 0x12ABCD  # facility 0x12, number 0xABCD: UID "12ABCD" (the 24 data bits of Wiegand 26)
STRANGER = 0x03BEEF
OPEN, SHUT = relay_frame(2, True), relay_frame(2, False)




@pytest.fixture
def reader_pd(pty_device):
    """Make a PeripheralDevice with LED, buzzer and card reader on a fresh pty: (pd, port path)."""
    made = []

    def make(scbk: bytes):
        line = pty_device()
        pd = start_reader(line.master, scbk)
        made.append(pd)
        return pd, line.path

    yield make
    for pd in made:
        pd.teardown()


def tap(pd, data_bits: int) -> None:
    """A Wiegand 26 card read as the reader sends it: the bits first bit first, left-justified."""
    bits = encode_wiegand(data_bits, 26)
    pd.submit_event({"event": osdp.Event.CardRead, "reader_no": 0, "direction": 0, "format": osdp.CardFormat.Wiegand,
                     "length": 26, "data": (bits << 6).to_bytes(4, "big")})


def next_command(pd, kind) -> dict:
    """The next command the reader received of ``kind`` (LED or buzzer)."""
    for _ in range(10):
        cmd = pd.get_command(10)
        assert cmd is not None, f"the reader received no {kind} command within 10 s"
        if cmd["command"] == kind:
            return cmd
    raise AssertionError(f"no {kind} command among the reader's next 10")


def gate_doors(reader_port: str, relay_port: str, scbk: bytes) -> list[dict]:
    return [{"id": DOOR, "relay": {"kind": "lcus-serial", "port": relay_port, "channel": 2, "pulse_ms": 300},
             "readers": [{"kind": "osdp", "port": reader_port, "address": 1, "scbk": scbk.hex()}]}]


def test_a_card_read_opens_the_door_and_the_reader_shows_grant_and_deny(hub, make_agent, pty_device, reader_pd):
    pd, port = reader_pd(KEY)
    relay = pty_device()
    agent = make_agent(GATE, gate_doors(port, relay.path, KEY))
    assert relay.read_exactly(4, 5.0) == SHUT
    sup = hub.client("supervisor")
    # the door shows ok from the start; the reader is up once its secure channel is
    wait_for(lambda: agent.reader(f"{DOOR}/0").ok, 15, "the OSDP reader online")
    assert pd.is_sc_active()  # card data never crosses the line in clear
    door_state(sup, GATE, DOOR, "ok")
    issue(hub.client("clerk"), "12ABCD", name="Li Wei")
    wait_for(lambda: agent.acl.get("12ABCD") is not None, 10, "the issued card in the gate's list")

    tap(pd, CARD)
    assert relay.read_exactly(4, 10.0) == OPEN
    assert relay.read_exactly(4, 3.0) == SHUT
    led = next_command(pd, osdp.Command.LED)
    assert led["on_color"] == osdp.CommandLEDColor.Green and led["temporary"] is True
    beep = next_command(pd, osdp.Command.Buzzer)
    assert beep["rep_count"] == 1
    granted = wait_for(lambda: passes(sup, "12ABCD"), 10, "the pass at the hub")[0]
    assert (granted["decision"], granted["reason"], granted["holder"]["name"]) == ("granted", "valid_card", "Li Wei")

    tap(pd, STRANGER)
    led = next_command(pd, osdp.Command.LED)
    assert led["on_color"] == osdp.CommandLEDColor.Red and led["off_count"] > 0  # flashing red
    assert next_command(pd, osdp.Command.Buzzer)["rep_count"] == 3
    denied = wait_for(lambda: passes(sup, "03BEEF"), 10, "the denied pass at the hub")[0]
    assert (denied["decision"], denied["reason"]) == ("denied", "unknown_card")
    assert relay.read_available(0.5) == b""  # and the lock stayed shut


def test_a_reader_with_the_wrong_key_never_comes_online_and_the_door_is_degraded(
        hub, make_agent, pty_device, reader_pd):
    pd, port = reader_pd(WRONG_KEY)
    relay = pty_device()
    make_agent(GATE, gate_doors(port, relay.path, KEY))
    sup = hub.client("supervisor")
    first = door_state(sup, GATE, DOOR, "degraded")
    assert first["problems"], "degraded from the start: the reader has not said it is ready"
    door = door_state(sup, GATE, DOOR, "degraded", problem="refused the secure channel")
    assert not any(KEY.hex() in p.lower() or WRONG_KEY.hex() in p.lower() for p in door["problems"])
    listed = [g for g in sup.get("/api/v1/gates").json() if g["gate_id"] == GATE][0]
    assert listed["doors"][DOOR]["state"] == "degraded"

    issue(hub.client("clerk"), "12ABCD")
    tap(pd, CARD)  # a reader that is not online is not believed
    assert relay.read_available(1.5) == SHUT  # only the start's "locked"; never an open
    assert not passes(sup, "12ABCD")
    assert not pd.is_sc_active()
    assert sup.get(f"/api/v1/gates/{GATE}").json()["doors"][DOOR]["state"] == "degraded"
