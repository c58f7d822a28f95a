"""A gate with a PC/SC reader, through the real stack: virtual card -> vpcd -> pcscd -> pyscard
-> GateAgent -> LCUS relay on a pty (frames checked) -> outbox -> mosquitto -> hub."""

from __future__ import annotations

from protocols.lcus import relay_frame
from tests.conftest import need
from tests.e2e_contactless.conftest import GATE_READER, door_state, issue, passes
from tests.rigs.wait import wait_for

GATE, DOOR = "north", "north-in"
UID = "04A1B2C3D4E5F6"
OPEN, SHUT = relay_frame(1, True), relay_frame(1, False)


def gate_doors(relay_path: str) -> list[dict]:
    return [{"id": DOOR, "relay": {"kind": "lcus-serial", "port": relay_path, "channel": 1, "pulse_ms": 300},
             "readers": [{"kind": "pcsc", "reader": GATE_READER, "direction": "in"}]}]


def start_gate(hub, make_agent, relay):
    agent = make_agent(GATE, gate_doors(relay.path))
    assert relay.read_exactly(4, 5.0) == SHUT  # the lock is driven shut before any card is read
    sup = hub.client("supervisor")
    door_state(sup, GATE, DOOR, "ok")
    issue(hub.client("clerk"), UID.lower())
    wait_for(lambda: agent.acl.get(UID) is not None, 10, "the issued card in the gate's list")
    return agent, sup


def opened(relay) -> None:
    """The relay got one whole open pulse: on, then off when pulse_ms ends."""
    assert relay.read_exactly(4, 10.0) == OPEN
    assert relay.read_exactly(4, 3.0) == SHUT


def test_a_tapped_card_opens_the_door_and_each_presentation_is_a_pass_at_the_hub(
        hub, make_agent, pty_device, gate_card):
    relay = pty_device()
    _, sup = start_gate(hub, make_agent, relay)

    gate_card.present(UID)
    opened(relay)
    first = wait_for(lambda: passes(sup, UID), 10, "the pass at the hub")
    assert (first[0]["decision"], first[0]["reason"], first[0]["gate_id"], first[0]["door_id"]) == (
        "granted", "valid_card", GATE, DOOR)
    assert first[0]["reader"] == f"{DOOR}/0" and first[0]["holder"]["name"] == "Wang Fang"
    assert relay.read_available(0.8) == b""  # held on the reader: one pulse, not one per poll

    gate_card.remove()
    gate_card.present(UID)
    opened(relay)
    both = wait_for(lambda: (p := passes(sup, UID)) and len(p) == 2 and p, 10, "a second pass at the hub")
    assert len({e["event_id"] for e in both}) == 2 and {e["decision"] for e in both} == {"granted"}

    gate_card.remove()
    gate_card.present("0BADCAFE")  # no such card: denied, the lock stays shut
    denied = wait_for(lambda: passes(sup, "0BADCAFE"), 10, "the denied pass at the hub")
    assert (denied[0]["decision"], denied[0]["reason"]) == ("denied", "unknown_card")
    assert relay.read_available(0.5) == b""


def test_pcscd_restarted_under_the_running_gate_is_survived(hub, make_agent, pty_device, gate_card, pcscd):
    need(pcscd.owned, "a pcscd not started by these tests is running; they will not kill it")
    relay = pty_device()
    agent, sup = start_gate(hub, make_agent, relay)

    pcscd.stop(kill=True)
    down = door_state(sup, GATE, DOOR, "degraded")
    assert any("pcscd" in p for p in down["problems"]), down
    pcscd.start()
    door_state(sup, GATE, DOOR, "ok", timeout=30.0)

    gate_card.present(UID)
    opened(relay)
    after = wait_for(lambda: passes(sup, UID), 10, "the pass after the restart at the hub")
    assert after[0]["decision"] == "granted"
    device = [e for e in sup.get("/api/v1/events?limit=100").json() if e["kind"] == "device"]
    assert [e["door_id"] for e in device] == [DOOR, DOOR]  # the reader lost, then back: both on record
