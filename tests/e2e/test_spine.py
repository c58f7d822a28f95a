"""The spine, on real parts: a card issued at the hub opens a door through a gate agent that
reads an EM4100 frame off a pty and writes LCUS frames to another, over a real mosquitto;
the pass reaches the hub; a revoked card is refused and the relay stays shut."""

from __future__ import annotations

import time

import pytest

from gate_agent.agent import GateAgent
from protocols.em4100 import encode_frame
from protocols.lcus import relay_frame
from tests.rigs import stack
from tests.rigs.wait import wait_for

CARD = {"uid": "0a:00:12:ab:34", "card_type": "owner", "holder": {"name": "Li Wei", "unit": "A-12-03"}}
UID = "0A0012AB34"
ON, OFF = relay_frame(1, True), relay_frame(1, False)


def serial_door(reader_path: str, relay_path: str, pulse_ms: int = 300) -> dict:
    return {
        "id": "north-in",
        "relay": {"kind": "lcus-serial", "port": relay_path, "channel": 1, "pulse_ms": pulse_ms},
        "readers": [{"kind": "em4100-serial", "port": reader_path, "direction": "in"}],
    }


@pytest.fixture
def persistent_broker(tmp_path):
    """A broker as config/mosquitto.conf sets one up: sessions persisted across restarts."""
    from tests.conftest import need_mosquitto
    from tests.rigs.broker import Mosquitto

    need_mosquitto()
    store = tmp_path / "mosquitto-db"
    store.mkdir()
    conf = (f"allow_anonymous true\npersistence true\npersistence_location {store}/\n"
            "autosave_interval 1\nmax_queued_messages 0\n")
    b = Mosquitto(tmp_path, extra_conf=conf).start()
    yield b
    b.stop()


@pytest.fixture
def site(tmp_path, pty_device, request):
    """A hub and one gate whose reader and relay are pty pairs, on the broker the test names."""
    broker = request.getfixturevalue(getattr(request, "param", "broker"))
    hub = stack.start(tmp_path / "hub", broker)
    reader, relay = pty_device(), pty_device()
    cfg = stack.agent_config(hub.site, "north", tmp_path / "agent", broker, [serial_door(reader.path, relay.path)],
                             gate_key=stack.register(hub, "north"))
    agent = GateAgent(cfg)
    agent.start()
    assert relay.read_exactly(4) == OFF, "the relay is driven locked when the agent starts"
    api = stack.client(hub, "clerk")
    yield hub, agent, api, reader, relay, broker
    agent.stop()
    hub.stop()


def test_issue_tap_grant_revoke_deny(site) -> None:
    hub, agent, api, reader, relay, _ = site
    r = api.post("/api/v1/cards", json=CARD)
    assert r.status_code == 201 and r.json()["status"] == "active"
    stack.in_step(hub, agent)

    reader.write(encode_frame(UID))
    tapped = time.monotonic()
    assert relay.read_exactly(4) == ON, "the relay opens on a granted tap"
    assert relay.read_exactly(4, timeout=3) == OFF, "and locks again after the pulse"
    granted = wait_for(lambda: stack.passes(api), what="the granted pass at the hub")
    assert [(e["uid"], e["decision"], e["reason"], e["gate_id"], e["door_id"]) for e in granted] == [
        (UID, "granted", "valid_card", "north", "north-in")
    ]
    assert granted[0]["at"].endswith(("+00:00", "Z")) or "+" in granted[0]["at"][10:]

    r = api.post(f"/api/v1/cards/{UID}/revoke")
    assert r.status_code == 200 and r.json()["status"] == "revoked"
    stack.in_step(hub, agent, timeout=15.0, what="the revocation at the gate")

    # the same card again counts as a new presentation only once it has been away for the
    # reader's repeat window (a held card repeats its frame): a physical gap, not a sync
    time.sleep(max(0.0, agent.reader("north-in/0").repeat_window_s - (time.monotonic() - tapped)) + 0.1)
    reader.write(encode_frame(UID))
    denied = wait_for(lambda: [e for e in stack.passes(api) if e["decision"] == "denied"], what="the denied pass")
    assert denied[0]["reason"] == "card_revoked"
    assert relay.read_available(quiet=0.5) == b"", "the relay stays shut for a revoked card"


@pytest.mark.parametrize("site", ["persistent_broker"], indirect=True)
def test_broker_down_taps_still_open_and_every_event_arrives_once(site) -> None:
    hub, agent, api, reader, relay, broker = site
    uids = [f"0A0000{i:04X}" for i in range(5)]
    for uid in uids:
        assert api.post("/api/v1/cards", json={**CARD, "uid": uid}).status_code == 201
    stack.in_step(hub, agent)

    broker.stop()
    wait_for(lambda: not agent.link.connected.is_set(), what="the agent to notice the broker is gone")
    for uid in uids + ["0BADC0FFEE"]:
        reader.write(encode_frame(uid))
        if uid == "0BADC0FFEE":
            break
        assert relay.read_exactly(4) == ON, f"{uid} opens the door with the broker down"
        assert relay.read_exactly(4) == OFF
    wait_for(lambda: agent.outbox.depth >= 6, what="six events waiting in the outbox")
    assert stack.passes(api) == []

    broker.start()
    events = wait_for(lambda: (lambda p: p if len(p) >= 6 else None)(stack.passes(api)), timeout=20,
                      what="all six buffered passes at the hub")
    wait_for(lambda: agent.outbox.depth == 0, what="the outbox drained")
    events = stack.passes(api)
    assert len(events) == 6 and len({e["event_id"] for e in events}) == 6, "each event stored exactly once"
    assert sorted(e["uid"] for e in events if e["decision"] == "granted") == sorted(uids)
    assert [e["reason"] for e in events if e["decision"] == "denied"] == ["unknown_card"]


def test_hub_down_events_wait_at_the_broker_and_arrive_once(tmp_path, pty_device, broker) -> None:
    """The gate forgets an event once the broker has it; the hub's persistent session must
    hold it while the hub restarts."""
    from hub.app import start_hub

    hub = stack.start(tmp_path / "hub", broker)
    reader, relay = pty_device(), pty_device()
    agent = GateAgent(stack.agent_config(hub.site, "north", tmp_path / "agent", broker,
                                         [serial_door(reader.path, relay.path)], gate_key=stack.register(hub, "north")))
    agent.start()
    try:
        assert relay.read_exactly(4) == OFF
        api = stack.client(hub, "clerk")
        uids = [f"0A0000{i:04X}" for i in range(3)]
        for uid in uids:
            assert api.post("/api/v1/cards", json={**CARD, "uid": uid}).status_code == 201
        stack.in_step(hub, agent)
        config = hub.app.state.config
        hub.stop()

        for uid in uids:
            reader.write(encode_frame(uid))
            assert relay.read_exactly(4) == ON and relay.read_exactly(4) == OFF
        wait_for(lambda: agent.outbox.depth == 0, what="the broker to acknowledge every event (the gate forgets them)")

        hub = start_hub(config)
        api = stack.client(hub, "clerk")
        events = wait_for(lambda: (lambda p: p if len(p) >= 3 else None)(stack.passes(api)), timeout=10,
                          what="the three passes queued at the broker for the hub")
        assert sorted(e["uid"] for e in events) == uids and {e["decision"] for e in events} == {"granted"}
    finally:
        agent.stop()
        hub.stop()
