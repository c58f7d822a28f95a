"""`gate add --rotate-key` never strands a gate (real agent, hub and mosquitto).

The hub pushes the new key to the gate, wrapped and signed with the key the gate holds, the
next time it hears the gate; the agent keeps it in data_dir and signs with it; the hub
forgets the old key once the gate uses the new one. Then the old key alone can forge
nothing at either end.
"""

from __future__ import annotations

import os
import stat
import uuid
from datetime import datetime, timezone

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from gate_agent.agent import GateAgent
from gate_agent.keys import KEY_FILE
from hub.gates.service import register_gate
from protocols.acl import AclEntry, checksum_update
from protocols.cards import CardStatus, CardType
from protocols.messages import AclUpdate, GateEvent
from protocols.signing import sign
from protocols.topics import gate_topic
from tests.conftest import need_mosquitto
from tests.rigs import stack
from tests.rigs.broker import Mosquitto
from tests.rigs.wait import wait_for
from tests.security.test_wire_auth import Wire

DOOR = "north-in"
CARD = {"card_type": "owner", "holder": {"name": "Li Wei", "unit": "A-12-03"}}


def _rotate(hub) -> str:
    """What `gate-hub gate add north --rotate-key` does to the hub's database."""
    return register_gate(hub.store, "north", "test", rotate=True, secret_file=hub.app.state.config.hub.secret_path)


def _hub_keys(hub) -> list[str]:
    return hub.app.state.gate_keys.keys("north")


def _agent(hub, tmp_path, broker, key: str) -> GateAgent:
    agent = GateAgent(stack.agent_config(hub.site, "north", tmp_path / "agent", broker, [stack.sim_door(DOOR, 50)],
                                         gate_key=key))
    agent.start()
    return agent


def _stored(api, uid: str) -> list[dict]:
    return [e for e in stack.passes(api) if e["uid"] == uid]


def _publish(broker, topic: str, payload: bytes) -> None:
    c = paho.Client(CallbackAPIVersion.VERSION2, client_id="x-" + uuid.uuid4().hex[:8])
    c.connect(broker.host, broker.port)
    c.loop_start()
    try:
        c.publish(topic, payload, qos=1).wait_for_publish(5)
    finally:
        c.disconnect()
        c.loop_stop()


def _old_key_forges_nothing(hub, api, agent, broker, old: str) -> None:
    held = (agent.acl.rev, agent.acl.checksum)
    entry = AclEntry(uid="0BAD0BAD01", status=CardStatus.ACTIVE, card_type=CardType.OWNER)
    forged = AclUpdate(gate_id="north", kind="delta", rev=held[0] + 1, base_rev=held[0],
                       checksum=checksum_update(held[1], None, entry), upserts=(entry,))
    before = agent.counters["acl_forged"]
    _publish(broker, gate_topic(hub.site, "north", "acl"), sign(forged, old, hub.site, "acl").to_bytes())
    wait_for(lambda: agent.counters["acl_forged"] == before + 1, what="the old-key delta refused by the gate")
    assert (agent.acl.rev, agent.acl.checksum) == held and agent.acl.get("0BAD0BAD01") is None
    fake = GateEvent(event_id="ev-" + uuid.uuid4().hex, gate_id="north", door_id=DOOR, uid="0BAD0BAD01",
                     decision="granted", reason="valid_card", at=datetime.now(timezone.utc))
    forged_before = hub.app.state.drops.forged("north")
    _publish(broker, gate_topic(hub.site, "north", "event"), sign(fake, old, hub.site, "event").to_bytes())
    wait_for(lambda: hub.app.state.drops.forged("north") == forged_before + 1, what="the old-key event refused")
    assert _stored(api, "0BAD0BAD01") == []


def test_rotating_an_online_gate(tmp_path, broker) -> None:
    hub = stack.start(tmp_path / "hub", broker)
    api = stack.client(hub, "supervisor")
    old = stack.register(hub, "north")
    agent = _agent(hub, tmp_path, broker, old)
    try:
        assert api.post("/api/v1/cards", json={**CARD, "uid": "0A00000001"}).status_code == 201
        stack.in_step(hub, agent, what="north in step with its first key")

        tap = Wire(broker, gate_topic(hub.site, "north", "cmd"))
        connects = agent.link.connects
        new = _rotate(hub)
        assert _hub_keys(hub) == [old, new]
        wait_for(lambda: agent.key.current == new, timeout=10, what="the agent on its new key")
        # it reconnects to sign its last will with the new key: a replay sent before it has
        # subscribed again would never reach it
        wait_for(lambda: agent.link.connects > connects and agent.link.ready.is_set(), timeout=10,
                 what="the agent reconnected and subscribed with its new key")
        pushed = tap.take(lambda p: b'"rekey"' in p, what="the key update on the wire")
        assert new not in pushed.decode() and old not in pushed.decode(), "keys travel wrapped only"
        _publish(broker, gate_topic(hub.site, "north", "cmd"), pushed)  # replayed once the gate moved on
        wait_for(lambda: agent.counters["rekey_refused"] == 1, what="the replayed key update refused")
        assert agent.key.current == new
        tap.close()
        wait_for(lambda: _hub_keys(hub) == [new], timeout=10, what="the hub forgetting the old key")
        path = tmp_path / "agent" / KEY_FILE
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600 and new in path.read_text()

        assert api.post("/api/v1/cards", json={**CARD, "uid": "0A00000002"}).status_code == 201
        stack.in_step(hub, agent, what="an ACL update signed with the new key applied")
        agent.reader(f"{DOOR}/0").tap("0A00000002")
        (ev,) = wait_for(lambda: _stored(api, "0A00000002"), what="the gate's event stored after rotation")
        assert ev["decision"] == "granted"
        gate = wait_for(lambda: (g := api.get("/api/v1/gates/north").json())["online"] and g, what="north online")
        assert gate["forged"] == 0, "nothing the genuine gate sent was refused during the rotation"
        _old_key_forges_nothing(hub, api, agent, broker, old)
    finally:
        agent.stop()
    # restarted with the old key still in its config, the gate keeps the key it was sent
    again = _agent(hub, tmp_path, broker, old)
    try:
        assert again.key.current == new
        again.reader(f"{DOOR}/0").tap("0A00000001")
        wait_for(lambda: _stored(api, "0A00000001"), what="an event after a restart on the stored key")
    finally:
        again.stop()
        hub.stop()


@pytest.fixture
def lasting_broker(tmp_path):
    """A broker this test restarts that keeps the hub's session (its subscriptions) across
    the restart, as a production broker with persistence does."""
    need_mosquitto()
    conf = f"allow_anonymous true\nmax_queued_messages 0\npersistence true\npersistence_location {tmp_path}/\n"
    b = Mosquitto(tmp_path, extra_conf=conf).start()
    yield b
    b.stop()


def test_rotating_an_offline_gate_loses_no_event(tmp_path, lasting_broker) -> None:
    """Taps made while the gate cannot reach the broker were signed with the old key; the
    rotation happens meanwhile; when the gate is back every one of them is stored."""
    own_broker = lasting_broker
    hub = stack.start(tmp_path / "hub", own_broker)
    api = stack.client(hub, "supervisor")
    old = stack.register(hub, "north")
    agent = _agent(hub, tmp_path, own_broker, old)
    try:
        assert api.post("/api/v1/cards", json={**CARD, "uid": "0A00000001"}).status_code == 201
        stack.in_step(hub, agent, what="north in step")
        own_broker.stop()
        wait_for(lambda: not agent.link.connected.is_set(), what="the gate cut off")
        uids = [f"0A0000F{i:03X}" for i in range(20)]
        for uid in uids:
            agent.reader(f"{DOOR}/0").tap(uid)
        wait_for(lambda: agent.outbox.depth >= len(uids), what="the taps in the outbox")
        new = _rotate(hub)
        assert api.post("/api/v1/cards", json={**CARD, "uid": "0A00000002"}).status_code == 201
        own_broker.start()
        wait_for(lambda: agent.key.current == new, timeout=20, what="the agent on its new key once back")
        wait_for(lambda: _hub_keys(hub) == [new], timeout=10, what="the hub forgetting the old key")
        wait_for(lambda: all(_stored(api, u) for u in uids), timeout=20,
                 what=f"every offline tap stored (drops {hub.app.state.drops.snapshot()}, outbox {agent.outbox.depth},"
                      f" agent {dict(agent.counters)})")
        stack.in_step(hub, agent, timeout=10, what="the change made while offline applied")
        assert agent.acl.get("0A00000002") is not None
        assert hub.app.state.drops.forged("north") == 0
        _old_key_forges_nothing(hub, api, agent, own_broker, old)
    finally:
        agent.stop()
        hub.stop()


def test_a_stopped_gate_rotated_twice_and_a_key_put_in_by_hand(tmp_path, broker) -> None:
    hub = stack.start(tmp_path / "hub", broker)
    api = stack.client(hub, "supervisor")
    old = stack.register(hub, "north")
    agent = _agent(hub, tmp_path, broker, old)
    assert agent.wait_online(10)
    agent.stop()
    _rotate(hub)
    newest = _rotate(hub)  # rotated twice while the gate was off: the newest is what it gets
    agent = _agent(hub, tmp_path, broker, old)
    try:
        wait_for(lambda: agent.key.current == newest, timeout=10, what="the agent on the newest key")
        wait_for(lambda: _hub_keys(hub) == [newest], timeout=10, what="the hub keeping only the newest")
        assert api.post("/api/v1/cards", json={**CARD, "uid": "0A00000003"}).status_code == 201
        stack.in_step(hub, agent, what="north in step on the newest key")
    finally:
        agent.stop()
    # the installer writes a newer key into the config by hand: the config wins over the stored key
    by_hand = _rotate(hub)
    agent = _agent(hub, tmp_path, broker, by_hand)
    try:
        assert agent.key.current == by_hand
        wait_for(lambda: _hub_keys(hub) == [by_hand], timeout=10, what="the hub on the hand-installed key")
        agent.reader(f"{DOOR}/0").tap("0A00000003")
        wait_for(lambda: _stored(api, "0A00000003"), what="an event signed with the hand-installed key")
        assert hub.app.state.drops.forged("north") == 0
    finally:
        agent.stop()
        hub.stop()
